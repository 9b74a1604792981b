"""¥0 orders (0元订单自动支付) in a two-merchant checkout (MS9/MS11): the
combined payment of ¥0 is paid at once at placement; each merchant's order
is paid with an allocation of 0 and the ledger posts nothing negative; a
platform discount that pays the whole checkout leaves each merchant owed
its goods (the platform bears it) as for a paid order."""

from __future__ import annotations

import pytest
from jishi.db import db
from jishi.orders.models import Order
from jishi_multistore import ledger
from sqlalchemy import select

from .finance_helpers import DiscountPlugin, balances, complete, fetch, journal_sums, place, refund


@pytest.fixture
def extra_plugins():
    return [DiscountPlugin()]


@pytest.fixture(autouse=True)
def _free_delivery(app):
    from jishi import settings

    settings.set_many({"delivery.flat_fee": 0})
    db.session.commit()


def _orders(payment):
    return db.session.execute(select(Order).where(Order.payment_id == payment.id).order_by(Order.id)).scalars().all()


def test_zero_checkout_of_two_merchants_is_paid_and_posts_nothing_negative(app, factory, ms):
    """¥0 orders/MS11: ¥0 goods of merchants A and B: one payment of 0, paid
    by ``free`` at placement; both orders paid with pay_amount 0; every
    journal balances, no merchant balance is negative, through completion
    and a refund of the ¥0 order."""
    buyer = factory.user()
    addr = factory.address(buyer)
    a, b = ms.merchant("A"), ms.merchant("B")
    pa, pb = ms.product(a, price=0), ms.product(b, price=0)
    [payment] = place(buyer, [(pa.skus[0].id, 1), (pb.skus[0].id, 2)], addr, key="zero-ms")
    assert (payment.amount, payment.status, payment.method) == (0, "paid", "free")
    orders = {o.seller_id: o for o in _orders(payment)}
    assert {sid: (o.status, o.pay_amount) for sid, o in orders.items()} == {a.id: ("paid", 0), b.id: ("paid", 0)}
    assert set(journal_sums().values()) <= {0}
    for m in (a, b):
        assert all(v >= 0 for v in balances(m.id).values()), balances(m.id)
    complete(orders[a.id])
    r = refund(orders[b.id])
    db.session.expire_all()
    assert r.status == "refunded" and fetch(orders[b.id].id).status == "closed"
    assert set(journal_sums().values()) <= {0}
    for m in (a, b):
        assert all(v >= 0 for v in balances(m.id).values()), balances(m.id)


def test_checkout_paid_in_full_by_a_platform_discount(app, factory, ms):
    """¥0 orders/MS9: a platform discount of the whole A ¥20 + B ¥30 leaves
    the payment at 0, paid at once; A and B are still owed ¥20 and ¥30 (the
    platform bears it), nothing negative on their side."""
    buyer = factory.user()
    addr = factory.address(buyer)
    a, b = ms.merchant("A"), ms.merchant("B")
    pa, pb = ms.product(a, price=2000), ms.product(b, price=3000)
    [payment] = place(buyer, [(pa.skus[0].id, 1), (pb.skus[0].id, 1)], addr, discounts=[(5000, "platform", None)])
    assert (payment.amount, payment.status) == (0, "paid")
    orders = {o.seller_id: o for o in _orders(payment)}
    assert [fetch(orders[m.id].id).pay_amount for m in (a, b)] == [0, 0]
    assert [balances(m.id)[ledger.PENDING] for m in (a, b)] == [2000, 3000]
    assert set(journal_sums().values()) == {0}
    for m in (a, b):
        complete(orders[m.id])
    assert [balances(m.id)[ledger.AVAILABLE] for m in (a, b)] == [2000, 3000]


def test_cancelling_the_paying_order_pays_the_zero_one_left(app, factory, ms):
    """¥0 orders/MS9: a combined payment for A's ¥0 order and B's ¥10 order;
    B's order is cancelled: the payment asks 0 and is paid at once by
    ``free``, A's order paid (once), B's closed."""
    from jishi.orders import service as orders_service
    from jishi.orders.models import OrderEvent, PaymentOrder

    buyer = factory.user()
    addr = factory.address(buyer)
    a, b = ms.merchant("A"), ms.merchant("B")
    pa, pb = ms.product(a, price=0), ms.product(b, price=1000)
    [payment] = place(buyer, [(pa.skus[0].id, 1), (pb.skus[0].id, 1)], addr)
    assert (payment.amount, payment.status) == (1000, "pending")
    orders = {o.seller_id: o for o in _orders(payment)}
    orders_service.cancel(fetch(orders[b.id].id), actor_kind="buyer")
    db.session.commit()
    db.session.expire_all()
    paid = db.session.get(PaymentOrder, payment.id)
    assert (paid.amount, paid.status, paid.method) == (0, "paid", "free")
    assert (fetch(orders[a.id].id).status, fetch(orders[b.id].id).status) == ("paid", "closed")
    events = select(OrderEvent).where(OrderEvent.order_id == orders[a.id].id, OrderEvent.to_status == "paid")
    assert len(db.session.execute(events).scalars().all()) == 1
    assert set(journal_sums().values()) <= {0}
