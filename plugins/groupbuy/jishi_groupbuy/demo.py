"""Demo data: a running group buy on a demo product, and one open group
(paid by the demo buyer) so ``jishi demo`` shows a group to join."""

from __future__ import annotations

from datetime import timedelta

from jishi.db import commit, db, utcnow
from jishi.demo import pay

from jishi_groupbuy import service
from jishi_groupbuy.models import Activity


def _product(data: dict):
    products = [p for p in data.get("products") or [] if p.on_shelf and p.skus and not p.is_virtual]
    return products[0] if products else None


def demo_data(data: dict) -> str | None:
    product = _product(data)
    if product is None:
        return None
    now = utcnow()
    skus = [{"sku_id": s.id, "group_price": max(1, s.price * 8 // 10)} for s in product.skus if s.is_active]
    activity = service.save_activity(
        {
            "product_id": product.id,
            "title": "3 人团 · " + product.name[:40],
            "group_size": 3,
            "time_limit_minutes": 24 * 60,
            "per_user_limit": 5,
            "starts_at": now - timedelta(hours=1),
            "ends_at": now + timedelta(days=30),
            "skus": skus,
        },
        seller_id=product.seller_id,
        platform=True,
    )
    commit()
    data["groupbuy_activity_id"] = activity.id
    return "1 group-buy activity"


def demo_orders(data: dict) -> str | None:
    from flask import current_app
    from jishi.checkout.entry import place_order

    aid = data.get("groupbuy_activity_id")
    buyer, address = data.get("buyer"), data.get("address")
    if not aid or buyer is None:
        return None
    activity = db.session.get(Activity, aid)
    sku_id = activity.skus[0].sku_id
    items, address_id = [(sku_id, 1)], getattr(address, "id", None)
    options = {
        service.OPTION: {"activity_id": aid},
        "delivery": _delivery_choice(buyer, items, address_id, {service.OPTION: {"activity_id": aid}}),
    }
    with current_app.test_request_context("/", method="POST"):
        payment = place_order(buyer, items, address_id, options, idempotency_key="demo-groupbuy-1")[0]
        pay(payment)
    return "1 open group"


def _delivery_choice(buyer, items, address_id, options) -> dict:
    """The first delivery option (of whatever delivery plugins are on) with
    which the checkout has no problem: a pickup point or a time slot may
    need choices the demo does not make."""
    from jishi.checkout.entry import build_checkout
    from jishi.db import rollback

    co = build_checkout(buyer, items, address_id, options)
    group = co.groups[0]
    for option in group.delivery_options:
        if not option.available:
            continue
        tried = build_checkout(buyer, items, address_id, {**options, "delivery": {group.key: option.code}})
        if not tried.problems:
            rollback()
            return {group.key: option.code}
    rollback()
    return {}
