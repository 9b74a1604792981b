"""Helpers of the pickup tests: points, placing a pickup order, paying."""

from __future__ import annotations

from flask import current_app
from jishi.db import db
from jishi.testing import flows
from jishi_pickup import service
from jishi_pickup.models import PickupCode


def point(seller_id=None, name="西湖店", **kw):
    values = {"name": name, "address": "杭州市南山路 1 号", "hours": "09:00-21:00", "phone": "0571-1234567", **kw}
    p = service.create_point(seller_id, values)
    db.session.commit()
    return p


def group_key(seller_id):
    return "shop" if seller_id is None else f"seller:{seller_id}"


def place(user, items, points: dict | None = None, *, address_id=None, key=None):
    """Place ``items`` for pickup; ``points`` maps seller id -> point id
    (None values: let the plugin choose the only point)."""
    from jishi.checkout.service import build_checkout, place_order

    with current_app.test_request_context("/"):
        preview = build_checkout(user, items, address_id)
        delivery = {g.key: "pickup" for g in preview.groups}
        chosen = {g.key: points[g.seller_id] for g in preview.groups if points and points.get(g.seller_id) is not None}
        db.session.rollback()
        return place_order(user, items, address_id, {"delivery": delivery, "pickup": chosen}, idempotency_key=key)


def pay(payment, *, twice=False):
    """Pay (:func:`jishi.testing.flows.pay`); ``twice``: the gateway then
    repeats its notification twice (each answered ``success``, nothing changes)."""
    note = flows.pay(payment)
    if twice:
        from jishi.payments import sandbox
        from jishi.payments.models import SandboxTrade
        from jishi.payments.service import handle_notification

        with current_app.test_request_context("/"):
            assert handle_notification("sandbox", dict(note)) == "success"
            trade = db.session.execute(
                db.select(SandboxTrade).where(SandboxTrade.trade_no == note["trade_no"])
            ).scalar_one()
            assert handle_notification("sandbox", dict(sandbox.notification_for(trade))) == "success"
        db.session.expire_all()


def code_of(order) -> PickupCode | None:
    db.session.expire_all()
    return db.session.execute(db.select(PickupCode).where(PickupCode.order_id == order.id)).scalar_one_or_none()


def paid_pickup_order(factory, seller_id=None, buyer=None, product=None, pt=None):
    """A paid pickup order of ``seller_id`` (shop: None) and its code."""
    buyer = buyer or factory.user()
    if product is None:
        product = factory.product(price=1500, stock=50) if seller_id is None else None
    pt = pt or point(seller_id)
    [payment] = place(buyer, [(product.skus[0].id, 1)], {seller_id: pt.id})
    pay(payment)
    order = payment.orders[0]
    return order, code_of(order)
