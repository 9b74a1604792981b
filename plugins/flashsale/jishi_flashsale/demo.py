"""Demo data: a running flash sale on a demo product (from an hour ago for
three days), so ``jishi demo`` shows a countdown and a flash price; and
(issue 19) a two-hour flash sale 20 days ago that the shoppers bought in."""

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


def demo_orders(data: dict) -> str | None:
    """Issue 19: a finished two-hour flash sale 20 days ago on another
    product, bought by the shoppers through the real checkout (one never
    paid), :func:`jishi.demo.backdated`."""
    import random

    from flask import current_app
    from jishi.checkout.entry import place_order
    from jishi.checkout.errors import CheckoutError
    from jishi.db import db
    from jishi.demo import at_day, backdated, pay

    products = [p for p in data.get("products") or [] if p.on_shelf and p.skus and not p.is_virtual]
    shoppers = data.get("shoppers") or []
    if len(products) < 3 or not shoppers:
        return None
    sales = [(20, products[-3], True)]
    shop = next(iter((data.get("merchants") or {}).values()), None)
    if shop is not None:  # multistore: a merchant's own flash sale too
        from jishi.catalog.models import Product
        from sqlalchemy import select

        own = db.session.execute(select(Product).where(Product.seller_id == shop.id).order_by(Product.id)).scalars()
        sales += [(11, p, False) for p in own if p.skus and p.on_shelf][:1]
    rng = random.Random(22)
    sold = 0
    for s, (back, product, platform) in enumerate(sales):
        with current_app.test_request_context("/"), backdated(at_day(back, rng)):
            now = utcnow()
            sku = product.skus[0]
            service.save_activity(
                {
                    "product_id": product.id,
                    "title": "周末秒杀 · " + product.name[:40],
                    "per_user_limit": 2,
                    "starts_at": now - timedelta(minutes=5),
                    "ends_at": now + timedelta(hours=2),
                    "skus": [{"sku_id": sku.id, "flash_price": max(1, sku.price * 5 // 10), "stock": 30}],
                },
                seller_id=product.seller_id,
                platform=platform,
            )
            commit()
            for n, (user, address, _rhythm) in enumerate(shoppers[s : s + 6]):
                try:
                    payments = place_order(
                        user, [(sku.id, 1 + n % 2)], address.id, {"coupons": []}, idempotency_key=f"demo-flash-{s}-{n}"
                    )
                except CheckoutError:
                    db.session.rollback()
                    continue
                if n != 5:  # the last one never paid
                    for payment in payments:
                        pay(payment)
                    sold += 1
    return f"{len(sales)} finished flash sales in the last 20 days, {sold} paid orders"
