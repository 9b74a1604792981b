"""Issue 16 "Earning": points per yuan paid (on what was actually paid),
frozen at payment, usable when the order completes, once per order; a
refund claws back in proportion, exact over several partial refunds
(cumulative targets, never the cumulative amount times the rate again)."""

from __future__ import annotations

from jishi import settings
from jishi.db import commit, db
from jishi.orders.models import Order
from jishi.testing import flows
from jishi_points import service
from jishi_points.models import PointsEntry
from sqlalchemy import select

from .helpers import balance, give, goods_paid


def _order(factory, buyer, price, qty=1):
    product = factory.product(price=price, stock=50)
    [payment] = flows.place(buyer, [(product.skus[0], qty)], factory.address(buyer))
    return payment


def test_frozen_at_payment_usable_at_completion_once(app, factory):
    """Issue 16/Earning: ¥123.45 of goods paid at 1 point per yuan -> 123 points (the delivery fee earns none),
    frozen at payment, usable at completion; a redelivered payment or
    completion posts nothing more."""
    buyer = factory.user()
    payment = _order(factory, buyer, 12345)
    assert balance(buyer) == (0, 0)
    flows.pay(payment)
    order = db.session.get(Order, payment.orders[0].id)
    paid = goods_paid(order)
    assert balance(buyer) == (0, paid // 100)
    service.on_paid(order)  # redelivered: nothing more
    commit()
    assert balance(buyer) == (0, paid // 100)
    flows.complete(order)
    assert balance(buyer) == (paid // 100, 0)
    service.on_completed(flows.fetch(order))
    commit()
    assert balance(buyer) == (paid // 100, 0)
    kinds = db.session.scalars(select(PointsEntry.kind).order_by(PointsEntry.id)).all()
    assert kinds == ["frozen", "unfrozen"]


def test_rate_setting_and_amount_actually_paid(app, factory):
    """Issue 16/Earning: the platform's points per yuan, on the amount paid."""
    settings.set_many({service.EARN_PER_YUAN: 7})
    commit()
    buyer = factory.user()
    payment = _order(factory, buyer, 1001, qty=3)
    flows.pay(payment)
    order = flows.fetch(payment.orders[0])
    assert balance(buyer) == (0, goods_paid(order) * 7 // 100)


def test_partial_refunds_claw_back_exactly(app, factory):
    """Issue 16/Earning: three partial refunds (one unit each) of a frozen
    order claw back floor(earned * refunded / paid) cumulatively: the sum is
    exactly what was earned, every step the difference of two targets."""
    settings.set_many({service.EARN_PER_YUAN: 7})
    commit()
    buyer = factory.user()
    payment = _order(factory, buyer, 1001, qty=3)
    flows.pay(payment)
    order = flows.fetch(payment.orders[0])
    paid = goods_paid(order)
    earned = paid * 7 // 100
    line = order.lines[0]
    steps = []
    for _i in range(3):
        flows.refund(order, [(line.id, 1)])
        steps.append((flows.fetch(order).lines[0].refunded_amount, balance(buyer)[1]))
    assert steps[-1] == (paid, 0)
    for refunded, frozen in steps:
        assert frozen == earned - earned * refunded // paid
    claws = db.session.scalars(select(PointsEntry.frozen_delta).where(PointsEntry.kind == "clawed_back")).all()
    assert sum(claws) == -earned and len(claws) == 3


def test_refund_after_completion_claws_back_usable_points_even_below_zero(app, factory):
    """Issue 16/Earning: after completion the claw-back takes usable points;
    when they were spent the balance goes negative (documented), never
    floored silently."""
    buyer = factory.user()
    payment = _order(factory, buyer, 10000)
    flows.pay(payment)
    order = flows.complete(payment.orders[0])
    earned = goods_paid(order) // 100
    assert balance(buyer) == (earned, 0)
    give(buyer, -earned)  # spent elsewhere
    flows.refund(order)
    assert balance(buyer) == (-earned, 0)
