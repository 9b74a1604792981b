"""¥0 orders (0元订单自动支付): a payment that asks 0 after placement (a
points-only exchange, an order a coupon or points paid in full) is paid at
once inside the placement by the internal gateway ``free``: the same move
as a gateway's charge (order "pay", ``order_paid``, ``payment_succeeded``,
``order_transitioned``), exactly once; a retry with the same
Idempotency-Key pays nothing again; an after-sales refund moves no money
and still runs ``settle_refund``; a delivery fee makes it no ¥0 order."""

from __future__ import annotations

import pytest
from jishi import settings, signals
from jishi.catalog.models import Sku
from jishi.db import db
from jishi.hookspecs import hookimpl
from jishi.orders.models import OrderEvent, PaymentOrder
from jishi.payments import service as payments
from jishi.payments.models import PaymentEvent, PaymentRefund
from jishi.testing import flows
from sqlalchemy import func, select


class _Probe:
    """Counts the ``order_transitioned`` and ``settle_refund`` hook calls."""

    __name__ = "zero_probe"

    def __init__(self):
        self.moves: list[tuple[int, str]] = []
        self.settled: list[int] = []

    @hookimpl
    def order_transitioned(self, order, name, from_status, actor_kind):
        self.moves.append((order.id, name))

    @hookimpl
    def settle_refund(self, refund):
        self.settled.append(refund.id)


@pytest.fixture
def probe(app):
    """The probe registered in the app, and the ``order_paid`` and
    ``payment_succeeded`` signals it receives."""
    p = _Probe()
    p.signals = []  # type: ignore[attr-defined]
    pm = app.extensions["jishi"].pm
    pm.register(p, name="zero_probe")

    def on_paid(sender, **kw):
        p.signals.append(("order_paid", sender.id))  # type: ignore[attr-defined]

    def on_succeeded(sender, **kw):
        p.signals.append(("payment_succeeded", sender.id))  # type: ignore[attr-defined]

    with signals.order_paid.connected_to(on_paid), signals.payment_succeeded.connected_to(on_succeeded):
        yield p
    pm.unregister(name="zero_probe")


@pytest.fixture
def free_shipping(app):
    settings.set_many({"delivery.flat_fee": 0})
    db.session.commit()


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_zero_order_via_api_is_paid_at_once_exactly_once(api, factory, probe, free_shipping):
    """¥0 orders: a ¥0 checkout placed through the API answers its payment
    ``paid`` by ``free``; the order is paid, its stock taken and counted as
    sold; ``order_paid``, ``payment_succeeded`` and ``order_transitioned("pay")``
    ran once; the same Idempotency-Key again answers the same payment
    (``replayed``) and pays nothing twice. The gateway ``free`` is never
    offered, and paying the payment again is refused."""
    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product(price=0, stock=5).skus[0]
    data = flows.place_api(api, buyer, [(sku, 2)], addr, key="zero-1")
    [p] = data["payments"]
    assert (p["amount"], p["status"], p["method"]) == (0, "paid", "free") and p["paid_at"]
    [o] = data["orders"]
    assert o["status"] == "paid"
    again = flows.place_api(api, buyer, [(sku, 2)], addr, key="zero-1", expect=200)
    assert again["replayed"] and again["payments"][0]["id"] == p["id"]
    order = flows.fetch(o["id"])
    assert (order.status, order.payment_method, order.pay_amount) == ("paid", "free", 0) and order.paid_at
    assert db.session.get(Sku, sku.id).stock == 3
    assert db.session.get(Sku, sku.id).product.sales == 2
    assert probe.moves == [(order.id, "pay")]
    assert sorted(probe.signals) == [("order_paid", order.id), ("payment_succeeded", p["id"])]
    assert _count(OrderEvent, OrderEvent.order_id == order.id, OrderEvent.to_status == "paid") == 1
    [charge] = db.session.scalars(select(PaymentEvent).where(PaymentEvent.payment_id == p["id"])).all()
    assert (charge.gateway, charge.kind, charge.status, charge.amount) == ("free", "charge", "success", 0)
    assert "free" not in [g.code for g in payments.offered()] + [g.code for g in payments.offered("offline")]
    resp = api.post(f"/payments/{p['number']}/pay", user=buyer, json={"method": "free", "channel": "h5"})
    assert resp.status_code in (404, 409, 422), resp.get_json()
    assert db.session.get(PaymentOrder, p["id"]).status == "paid"


def test_zero_order_refund_moves_no_money_and_settles(api, factory, probe, free_shipping):
    """¥0 orders: a paid ¥0 order follows the normal after-sales path: a
    refund of ¥0 is refunded at once without a gateway refund and
    ``settle_refund`` runs (plugins give points and stock back)."""
    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product(price=0, stock=5).skus[0]
    data = flows.place_api(api, buyer, [(sku, 1)], addr)
    order = flows.fetch(data["orders"][0]["id"])
    refund = flows.refund(order)
    db.session.expire_all()
    assert refund.status == "refunded"
    assert probe.settled == [refund.id]
    assert _count(PaymentRefund) == 0
    assert flows.fetch(order).status == "closed"


def test_delivery_fee_makes_it_no_zero_order(api, factory, probe):
    """¥0 orders: goods of ¥0 with a delivery fee ask the fee: pending, not
    paid, nothing signalled."""
    settings.set_many({"delivery.flat_fee": 600})
    db.session.commit()
    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product(price=0, stock=5).skus[0]
    data = flows.place_api(api, buyer, [(sku, 1)], addr)
    [p] = data["payments"]
    assert (p["amount"], p["status"]) == (600, "pending")
    assert probe.moves == [] and probe.signals == []
    flows.pay(p["number"])
    assert flows.fetch(data["orders"][0]["id"]).payment_method == "sandbox"
