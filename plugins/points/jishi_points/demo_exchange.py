"""Points-exchange demo data (``jishi demo``): a product item (500 points
+ ¥9.90 a unit, 2 per buyer) on a demo product, and, with
the coupons plugin, a coupon item (a ¥5 no-threshold platform coupon for
300 points); the demo buyer gets 2,000 points to try them."""

from __future__ import annotations

from datetime import timedelta

from jishi.db import commit, utcnow

from jishi_points import exchange, ledger
from jishi_points.ledger import Post
from jishi_points.models import ADJUSTED, EXCHANGE_COUPON, EXCHANGE_PRODUCT, SOURCE_ADJUSTMENT


def demo_data(data: dict) -> str | None:
    made = []
    products = [p for p in data.get("products") or [] if p.on_shelf and p.skus and not p.is_virtual]
    if products:
        product = products[0]
        sku = next((s for s in product.skus if s.is_active and s.stock > 0), None)
        if sku is not None:
            item = exchange.save_item(
                {
                    "kind": EXCHANGE_PRODUCT,
                    "title": "积分换购 · " + product.name[:40],
                    "description": "500 积分 + ¥9.90 换购，每人限 2 件。",
                    "sku_id": sku.id,
                    "points": 500,
                    "cash": 990,
                    "stock": 50,
                    "per_user_limit": 2,
                }
            )
            data["points_exchange_product_item_id"] = item.id
            made.append("1 product item")
    if exchange.coupons_enabled():
        from jishi_coupons import service as coupons

        now = utcnow()
        template = coupons.create_template(  # commits
            None,
            {
                "name": "积分兑换 · 5元无门槛券",
                "kind": "fixed",
                "threshold": 0,
                "amount": 500,
                "scope": "all",
                "valid_days": 30,
                "total_quantity": 200,
                "per_user_limit": 5,
                "starts_at": now - timedelta(days=1),
                "ends_at": now + timedelta(days=90),
            },
            data.get("admin"),
        )
        item = exchange.save_item(
            {
                "kind": EXCHANGE_COUPON,
                "title": "300 积分换 5 元无门槛券",
                "coupon_template_id": template.id,
                "points": 300,
                "stock": 200,
                "per_user_limit": 3,
            }
        )
        data["points_exchange_coupon_item_id"] = item.id
        made.append("1 coupon item")
    buyer = data.get("buyer")
    if made and buyer is not None:
        ledger.post(buyer.id, Post(ADJUSTED, SOURCE_ADJUSTMENT, None, delta=2000, reason="演示积分"))
    commit()
    return "points exchange: " + ", ".join(made) if made else None
