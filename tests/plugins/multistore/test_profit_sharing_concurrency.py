"""Issue 14 profit sharing under concurrency (real concurrent transactions
on PostgreSQL, each in its own thread, session and connection; SQLite
serialises the writers, which must stay correct too): the same share sent
at once by several workers pays out once; simultaneous refunds of one
shared order never return more than was shared, to the fen."""

from __future__ import annotations

import pytest
from jishi.db import db
from jishi.gateways import GatewayResult
from jishi.orders.models import Order
from jishi.payments.models import SandboxOperation
from jishi.testing import parallel_config, run_parallel
from jishi_multistore import ledger, sharing
from jishi_multistore.models import LedgerJournal, ProfitShare
from sqlalchemy import func, select

from .finance_helpers import complete, fetch, journal_sums, pay, place, refund
from .test_profit_sharing import RECEIVER


@pytest.fixture
def app_config():
    return parallel_config()


def _shared_order(factory, ms, items):
    from jishi import settings

    settings.set_many(
        {ledger.COMMISSION_SETTING: 1000, "delivery.flat_fee": 0, sharing.MODE_SETTING: sharing.PROFIT_SHARING}
    )
    db.session.commit()
    m = ms.merchant()
    sharing.bind(m, None, "sandbox", RECEIVER)
    db.session.commit()
    buyer = factory.user()
    skus = [(ms.product(m, price=price).skus[0].id, qty) for price, qty in items]
    [payment] = place(buyer, skus, factory.address(buyer))
    order = db.session.execute(select(Order).where(Order.payment_id == payment.id)).scalar_one()
    pay(payment)
    return m, order


def test_one_share_sent_by_six_workers_pays_out_once(app, factory, ms, monkeypatch):
    """Issue 14: the job and the after-commit send racing on one share: one
    claim wins, one payout is posted, the gateway shares once."""
    from jishi.defaults.payments import SandboxGateway

    real = SandboxGateway.profit_share
    monkeypatch.setattr(
        SandboxGateway, "profit_share", lambda self, s: GatewayResult("failed", message="down", retryable=True)
    )
    m, order = _shared_order(factory, ms, [(2345, 2)])
    complete(order)
    share = sharing.share_of(order.id)
    assert share.status == "failed"
    monkeypatch.setattr(SandboxGateway, "profit_share", real)
    share_id = share.id
    results, errors = run_parallel(app, 6, lambda i: sharing.send(share_id))
    assert not errors, errors
    assert "succeeded" in results and set(results) <= {"succeeded", "busy"}, results
    db.session.expire_all()
    assert db.session.scalar(select(func.count(LedgerJournal.id)).where(LedgerJournal.kind == "share_paid")) == 1
    assert db.session.scalar(select(func.count(SandboxOperation.id)).where(SandboxOperation.kind == "share")) == 1
    assert ledger.balances(m.id)[ledger.PAID_OUT] == 4221 and ledger.balances(m.id)[ledger.SHARING] == 0
    assert set(journal_sums().values()) == {0}


def test_simultaneous_refunds_of_a_shared_order_return_exactly(app, factory, ms):
    """Issue 14: three lines refunded at once after the sharing: each return
    is its line's merchant part, together they return the whole share, the
    merchant owes nothing and the commission is fully reversed."""
    m, order = _shared_order(factory, ms, [(1001, 3), (2002, 1), (3003, 1)])
    order = complete(order)
    share = sharing.share_of(order.id)
    total = 3003 + 2002 + 3003
    assert share.amount == total - (300 + 200 + 300)  # commission per line, half up
    line_ids = [line.id for line in order.lines]
    db.session.commit()

    def one(i):
        return refund(fetch(order.id), [(line_ids[i], fetch(order.id).lines[i].quantity)]).id

    results, errors = run_parallel(app, 3, one, request={"method": "POST"})
    ok = [r for r in results if r is not None]
    assert len(ok) + len(errors) == 3
    db.session.expire_all()
    # Whatever was refused (a conflict) is refunded now, one after another.
    done = {r.source_id for r in db.session.execute(select(ProfitShare).where(ProfitShare.kind == "return")).scalars()}
    for line_id in line_ids:
        line = next(x for x in fetch(order.id).lines if x.id == line_id)
        if line.refunded_quantity < line.quantity:
            refund(fetch(order.id), [(line_id, line.quantity - line.refunded_quantity)])
    db.session.expire_all()
    returns = db.session.execute(select(ProfitShare).where(ProfitShare.kind == "return")).scalars().all()
    assert len(returns) == 3 and {r.status for r in returns} == {"succeeded"}
    assert sum(r.amount for r in returns) == share.amount and sum(r.netted for r in returns) == 0
    bal = ledger.balances(m.id)
    assert (bal[ledger.PAID_OUT], bal[ledger.OWED], bal[ledger.RETURNING]) == (0, 0, 0)
    assert ledger.platform_balances()[ledger.COMMISSION] == 0
    assert set(journal_sums().values()) == {0}
    assert done <= {r.source_id for r in returns}
