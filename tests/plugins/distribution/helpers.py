"""Shared helpers of the distribution tests."""

from __future__ import annotations

from datetime import timedelta

from jishi import settings
from jishi.db import commit, db, utcnow
from jishi.orders.models import Order
from jishi.testing import flows
from jishi_distribution import ledger, service
from jishi_distribution.models import Commission
from sqlalchemy import select, update


def configure(**values) -> None:
    """Set ``distribution.<key>`` settings and commit."""
    from flask import g

    settings.set_many({f"distribution.{k}": v for k, v in values.items()})
    commit()
    g.pop("jishi_settings", None)  # the app context's cache (set_many clears it only inside a request)


def promoter(factory, upline=None, **kw):
    """A user who is an active promoter, bound to ``upline`` when given."""
    user = factory.user(**kw)
    p = service.ensure_promoter(user.id) or service._create(user.id, "active", "test")
    if upline is not None:
        service.bind(user.id, upline.id, "test")
    commit()
    assert p.status == "active"
    return user


def buyer_of(factory, upline):
    user = factory.user()
    service.bind(user.id, upline.id, "test")
    commit()
    return user


def code(user) -> str:
    return service.promoter(user.id).code


def balances(user) -> dict:
    """The account, checked equal to the ledger's sums."""
    got = ledger.balances(user.id)
    assert got == ledger.ledger_sums(user.id), (got, ledger.ledger_sums(user.id))
    return got


def commissions(order_id=None, promoter=None) -> list[Commission]:
    db.session.expire_all()
    q = select(Commission).order_by(Commission.id)
    if order_id is not None:
        q = q.where(Commission.order_id == order_id)
    if promoter is not None:
        q = q.where(Commission.promoter_id == promoter.id)
    return list(db.session.scalars(q))


def buy(factory, buyer, items, *, pay=True):
    """Place (and pay) ``items`` [(product, qty)]; the payment's orders re-read."""
    [payment] = flows.place(buyer, [(p.skus[0], q) for p, q in items], factory.address(buyer))
    if pay:
        flows.pay(payment)
    db.session.expire_all()
    return [flows.fetch(o) for o in payment.orders]


def age_completion(order, days: int) -> None:
    """Pretend the order was completed ``days`` ago (the return window)."""
    db.session.execute(update(Order).where(Order.id == order.id).values(completed_at=utcnow() - timedelta(days=days)))
    commit()


def check_records(user) -> None:
    """The records agree with the account: paid out, debt, and what is left
    to pay (available + withdrawing)."""
    got = balances(user)
    rows = [r for r in commissions(promoter=user) if r.status in ("released", "reversed")]
    assert sum(r.paid_amount for r in rows) == got["paid"]
    assert sum(r.debt for r in rows) == got["debt"]
    assert sum(max(0, r.net - r.paid_amount) for r in rows) == got["available"] + got["withdrawing"]
