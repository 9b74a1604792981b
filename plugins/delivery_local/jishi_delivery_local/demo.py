"""Demo: local delivery for the shop and each multistore merchant around
West Lake, Hangzhou (radius 5 km, ¥5 up to 3 km, ¥8 up to 5 km, ¥20
minimum, free from ¥99, two daily slots), the buyer's address inside the
radius, and one local order placed, paid and out for delivery."""

from __future__ import annotations

from jishi.db import commit, db

from jishi_delivery_local import service

WEST_LAKE = (30.2741, 120.1551)
BUYER_AT = (30.2650, 120.1500)  # about 1.1 km south-west of the lake shop


def settings(lat: float, lng: float) -> dict:
    return {
        "enabled": True,
        "lat": lat,
        "lng": lng,
        "radius_m": 5000,
        "tiers": [{"max_distance_m": 3000, "fee": 500}, {"max_distance_m": 5000, "fee": 800}],
        "min_amount": 2000,
        "free_over": 9900,
        "slots": [
            {"start": "10:00", "end": "12:00", "capacity": 5},
            {"start": "14:00", "end": "16:00", "capacity": 5},
            {"start": "18:00", "end": "20:00", "capacity": 5},
        ],
        "days_ahead": 3,
        "lead_minutes": 30,
    }


def setup(data: dict) -> str:
    service.save(None, settings(*WEST_LAKE))
    merchants = data.get("merchants") or {}
    for i, merchant in enumerate(merchants.values()):
        lat, lng = getattr(merchant, "lat", None), getattr(merchant, "lng", None)
        if lat is None or lng is None:
            lat, lng = WEST_LAKE[0] + 0.002 * (i + 1), WEST_LAKE[1] - 0.002 * (i + 1)
        service.save(merchant.id, settings(lat, lng))
    address = data.get("address")
    if address is not None and (address.lat is None or address.lng is None):
        address.lat, address.lng = BUYER_AT
    commit()
    return f"local delivery for the shop and {len(merchants)} merchants"


def place(data: dict) -> str | None:
    """One local order from the shop's own products: placed with a slot,
    paid, out for delivery."""
    from flask import current_app
    from jishi.checkout.entry import build_checkout, place_order
    from jishi.checkout.errors import CheckoutError
    from jishi.demo import pay
    from jishi.orders.models import Order

    buyer, address = data.get("buyer"), data.get("address")
    products = [
        p
        for p in data.get("products") or []
        if p.seller_id is None and not p.is_virtual and p.skus and p.skus[0].stock > 2
    ]
    if buyer is None or address is None or not products:
        return None
    product = max(products, key=lambda p: p.skus[0].price)
    cfg = service.config_for(None)
    free = [s for s in service.slots(None, cfg) if s.bookable and not s.full]
    if not free:
        return None
    items = [(product.skus[0].id, 1 if product.skus[0].price >= cfg.min_amount else 3)]
    with current_app.test_request_context("/"):
        try:
            key = build_checkout(buyer, items, address.id).groups[0].key
            db.session.rollback()
            [payment] = place_order(
                buyer,
                items,
                address.id,
                {"delivery": {key: "local"}, "local_slot": {key: free[0].id}},
                idempotency_key="demo-local-1",
            )
        except CheckoutError:
            db.session.rollback()
            return None
        pay(payment)
        order = db.session.get(Order, payment.orders[0].id)
        service.dispatch(order, "王师傅", "13900000001")
    return "1 local order out for delivery"
