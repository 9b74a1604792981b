"""MS11/MS12 property tests (hypothesis): random sequences of pay / ship /
complete / partial refund / withdraw / approve / reject / payout, online and
cash on delivery, with platform-funded discounts and delivery fees. After
every step:

- every journal balances (its entries sum to zero);
- no merchant account is ever negative;
- replaying any event (calling its hook again) posts nothing;
- the ledger matches the orders, refunds and withdrawals: what the merchant
  is owed for its online-paid orders (paid - refunded + the platform's
  remaining discount shares) = non-withdrawable + withdrawable + pending
  payout + paid out + net commission; the platform's cash = payments -
  refunds - payouts; the COD account = what completed COD orders collected.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jishi.db import db, rollback
from jishi.errors import DomainError
from jishi.orders.models import Order, OrderAllocation
from jishi_multistore import finance, ledger, withdrawals
from jishi_multistore.models import LedgerEntry, LedgerJournal, Merchant, Withdrawal
from sqlalchemy import func, select

from .finance_helpers import (
    DiscountPlugin,
    fetch,
    journal_count,
    journal_sums,
    pay,
    pay_cod,
    place,
    refund,
)


@pytest.fixture
def extra_plugins():
    return [DiscountPlugin()]


OPS = st.one_of(
    st.tuples(st.just("pay"), st.integers(0, 2)),
    st.tuples(st.just("ship"), st.integers(0, 2)),
    st.tuples(st.just("receive"), st.integers(0, 2)),
    st.tuples(st.just("complete"), st.integers(0, 2)),
    st.tuples(st.just("force_complete"), st.integers(0, 2)),
    st.tuples(st.just("refund"), st.integers(0, 2), st.integers(0, 1), st.integers(1, 2)),
    st.tuples(st.just("withdraw"), st.sampled_from((30, 60, 100, 150))),
    st.tuples(st.just("approve"), st.integers(0, 3)),
    st.tuples(st.just("reject"), st.integers(0, 3)),
    st.tuples(st.just("payout"), st.integers(0, 3)),
)

ORDERS = st.lists(
    st.tuples(
        st.integers(100, 5000),  # price of line 1
        st.integers(100, 5000),  # price of line 2
        st.integers(1, 3),  # quantity of each
        st.integers(0, 30),  # platform discount, % of the goods
        st.booleans(),  # cash on delivery
    ),
    min_size=1,
    max_size=3,
)


def _run(step, orders, wids, merchant_id, user):
    from jishi.orders import service

    name = step[0]
    if name in ("pay", "ship", "receive", "complete", "force_complete", "refund"):
        oid, cod = orders[step[1] % len(orders)]
        order = fetch(oid)
        if name == "pay":
            if order.status == "pending_payment":
                (pay_cod if cod else pay)(order.payment)
        elif name == "ship":
            service.ship(order, carrier="SF", tracking_no="1", actor_kind="platform")
        elif name == "receive":
            service.receive(order, actor_kind="buyer")
        elif name == "complete":
            service.complete(order, actor_kind="buyer")
        elif name == "force_complete":
            service.force_complete(order)
        else:
            line = order.lines[step[2] % len(order.lines)]
            refund(order, [(line.id, step[3])])
        return
    if name == "withdraw":
        m = db.session.get(Merchant, merchant_id)
        amount = ledger.balance(merchant_id, ledger.AVAILABLE) * step[1] // 100
        w = withdrawals.request_withdrawal(
            m, user, amount, account={"method": "alipay", "name": "张", "account": "a@b"}
        )
        db.session.commit()
        wids.append(w.id)
        return
    if not wids:
        return
    w = db.session.get(Withdrawal, wids[step[1] % len(wids)])
    {
        "approve": withdrawals.approve,
        "payout": withdrawals.confirm_paid,
        "reject": lambda w: withdrawals.reject(w, "不符"),
    }[name](w)
    db.session.commit()


def _sum(q):
    return int(db.session.scalar(q) or 0)


def _check(merchant_id, orders):
    db.session.expire_all()
    assert set(journal_sums().values()) <= {0}
    bal = ledger.balances(merchant_id)
    assert all(v >= 0 for v in bal.values()), bal
    ids = [oid for oid, _cod in orders]
    online = (
        db.session.execute(
            select(Order).where(Order.id.in_(ids), Order.paid_at.isnot(None), Order.payment_method != "cod")
        )
        .scalars()
        .all()
    )
    shares = _sum(
        select(func.sum(OrderAllocation.amount - OrderAllocation.reversed_amount)).where(
            OrderAllocation.order_id.in_([o.id for o in online] or [0]), OrderAllocation.funded_by == "platform"
        )
    )
    owed = sum(o.pay_amount - o.refunded_amount for o in online if o.status != "closed" or o.refunded_amount) + shares
    mine = (
        select(func.sum(LedgerEntry.amount))
        .join(LedgerJournal, LedgerJournal.id == LedgerEntry.journal_id)
        .where(LedgerJournal.merchant_id == merchant_id)
    )
    commission = _sum(mine.where(LedgerEntry.account == ledger.COMMISSION))
    assert (
        owed
        == bal[ledger.PENDING] + bal[ledger.AVAILABLE] + bal[ledger.PAYOUT_PENDING] + bal[ledger.PAID_OUT] + commission
    )
    paid_out = _sum(
        select(func.sum(Withdrawal.amount)).where(Withdrawal.merchant_id == merchant_id, Withdrawal.status == "paid")
    )
    pending = _sum(
        select(func.sum(Withdrawal.amount)).where(
            Withdrawal.merchant_id == merchant_id, Withdrawal.status.in_(withdrawals.OPEN)
        )
    )
    assert (bal[ledger.PAID_OUT], bal[ledger.PAYOUT_PENDING]) == (paid_out, pending)
    cash = _sum(mine.where(LedgerEntry.account == ledger.CASH))
    assert -cash == sum(o.pay_amount - o.refunded_amount for o in online) - paid_out
    cod = (
        db.session.execute(
            select(Order).where(Order.id.in_(ids), Order.payment_method == "cod", Order.status == "completed")
        )
        .scalars()
        .all()
    )
    assert bal[ledger.COD_COLLECTED] == sum(o.pay_amount - o.refunded_amount for o in cod)
    return bal


def _replay(orders):
    """Every hook again, for every event so far: nothing new is posted."""
    from jishi.aftersales.models import Refund

    before = (journal_count(), _sum(select(func.sum(func.abs(LedgerEntry.amount)))))
    for oid, _cod in orders:
        order = fetch(oid)
        if order.paid_at is not None or order.payment_method == "cod":
            finance.order_transitioned(order=order, name="pay", from_status="pending_payment", actor_kind="system")
        if order.status == "completed":
            finance.settle_order(order=order)
        for r in db.session.execute(
            select(Refund).where(Refund.order_id == oid, Refund.status == "refunded")
        ).scalars():
            finance.settle_refund(refund=r)
    db.session.commit()
    assert (journal_count(), _sum(select(func.sum(func.abs(LedgerEntry.amount))))) == before


@settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(specs=ORDERS, steps=st.lists(OPS, min_size=1, max_size=10), rate=st.sampled_from((0, 333, 1000, 2500)))
def test_ledger_invariants(app, factory, ms, monkeypatch, specs, steps, rate):
    """MS11/MS12: every journal balances, merchant balances never go negative,
    replaying events changes nothing, and the ledger matches the orders,
    refunds and withdrawals, across random event sequences."""
    from jishi import settings as shop_settings

    monkeypatch.setattr(withdrawals, "next_allowed_day", lambda *a, **k: None)
    shop_settings.set_many({"delivery.flat_fee": 500, "delivery.free_over": 0, "payment.cod_enabled": True})
    db.session.commit()
    m = ms.merchant(commission_bp=rate)
    user = ms.admin_of(m)
    buyer = factory.user()
    addr = factory.address(buyer)
    orders = []
    for price1, price2, qty, pct, cod in specs:
        p1, p2 = ms.product(m, price=price1), ms.product(m, price=price2)
        discount = (price1 + price2) * qty * pct // 100
        [payment] = place(
            buyer,
            [(p1.skus[0].id, qty), (p2.skus[0].id, qty)],
            addr,
            discounts=[(discount, "platform", None)] if discount else [],
        )
        orders.append((payment.orders[0].id, cod))
    wids: list[int] = []
    for step in steps:
        try:
            _run(step, orders, wids, m.id, user)
        except DomainError:
            rollback()
        _check(m.id, orders)
        _replay(orders)
