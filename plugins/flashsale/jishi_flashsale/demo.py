"""Demo data: a running flash sale on a demo product (from an hour ago for
three days), so ``jishi demo`` shows a countdown and a flash price."""

from __future__ import annotations

from datetime import timedelta

from jishi.db import commit, utcnow

from jishi_flashsale import service


def demo_data(data: dict) -> str | None:
    products = [p for p in data.get("products") or [] if p.on_shelf and p.skus and not p.is_virtual]
    if not products:
        return None
    product = products[-1] if len(products) > 1 else products[0]
    now = utcnow()
    skus = [
        {"sku_id": s.id, "flash_price": max(1, s.price * 6 // 10), "stock": 20} for s in product.skus if s.is_active
    ]
    activity = service.save_activity(
        {
            "product_id": product.id,
            "title": "限时秒杀 · " + product.name[:40],
            "per_user_limit": 2,
            "starts_at": now - timedelta(hours=1),
            "ends_at": now + timedelta(days=3),
            "skus": skus,
        },
        seller_id=product.seller_id,
        platform=True,
    )
    commit()
    data["flashsale_activity_id"] = activity.id
    return "1 running flash sale"
