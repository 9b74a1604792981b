"""Demo data: pickup points for the shop itself and every multistore
merchant; one paid pickup order for the demo buyer (so the demo shows a code)."""

from __future__ import annotations

from jishi.db import commit, db

from jishi_pickup import service

SHOP_POINTS = (
    {
        "name": "西湖旗舰店",
        "address": "杭州市西湖区南山路 188 号",
        "hours": "09:00-21:00",
        "phone": "0571-88880001",
        "lat": 30.2455,
        "lng": 120.1628,
    },
    {
        "name": "滨江自提点",
        "address": "杭州市滨江区江南大道 588 号",
        "hours": "10:00-20:00",
        "phone": "0571-88880002",
        "lat": 30.2084,
        "lng": 120.2107,
    },
)


def demo_data(data: dict) -> str | None:
    made = 0
    if not service.points_of(None):
        for values in SHOP_POINTS:
            service.create_point(None, values)
            made += 1
    for name, merchant in (data.get("merchants") or {}).items():
        if service.points_of(merchant.id):
            continue
        lat, lng = getattr(merchant, "lat", None), getattr(merchant, "lng", None)
        values = {
            "name": f"{name}门店"[:60],
            "address": (getattr(merchant, "address", "") or f"{name} 门店柜台")[:200],
            "hours": (getattr(merchant, "hours", "") or "09:00-21:00")[:100],
            "phone": "0571-88886666",
        }
        if lat is not None and lng is not None:
            values.update(lat=lat, lng=lng)
        service.create_point(merchant.id, values)
        made += 1
    commit()
    return f"{made} pickup points" if made else None


def demo_orders(data: dict) -> str | None:
    """The buyer buys one of the shop's goods for pickup and pays."""
    from flask import current_app
    from jishi.checkout.entry import build_checkout, place_order
    from jishi.demo import pay

    buyer, products = data.get("buyer"), data.get("products") or []
    own = [p for p in products if p.seller_id is None and not p.is_virtual and p.skus]
    if buyer is None or not own:
        return None
    items = [(own[-1].skus[0].id, 1)]
    with current_app.test_request_context("/"):
        preview = build_checkout(buyer, items)
        groups = [g for g in preview.groups if any(o.code == service.CODE for o in g.delivery_options)]
        if not groups:
            db.session.rollback()
            return None
        group = groups[0]
        point = service.points_of(group.seller_id, active_only=True)[0]
        options = {"delivery": {group.key: service.CODE}, service.OPTION: {group.key: point.id}}
        [payment] = place_order(buyer, items, None, options, idempotency_key="demo-pickup-1")
        pay(payment)
    order = payment.orders[0]
    code = service.code_of(order.id)
    return "1 pickup order with its pickup code" if code is not None else "1 pickup order (no code)"
