"""The coupons demo (``jishi demo``): a live platform coupon 满100减10 and a
9折 one, a merchant coupon of the first open multistore merchant (if any), a
platform 满减 activity (满200减15 / 满400减40); the demo buyer has claimed
满100减10 (after the other plugins' demo orders, so it is unused)."""

from __future__ import annotations

from datetime import timedelta

from jishi.db import utcnow

from jishi_coupons import service


def demo_data(data: dict) -> str:
    now = utcnow()
    window = {"starts_at": now - timedelta(days=1), "ends_at": now + timedelta(days=60)}
    admin = data.get("admin")
    platform = service.create_template(
        None,
        {
            "name": "满100减10",
            "kind": "fixed",
            "threshold": 10000,
            "amount": 1000,
            "scope": "all",
            "total_quantity": 1000,
            "per_user_limit": 1,
            **window,
        },
        admin,
    )
    percent = service.create_template(
        None,
        {
            "name": "9折券 最高减20元",
            "kind": "percent",
            "percent_off": 1000,
            "max_discount": 2000,
            "threshold": 0,
            "scope": "all",
            "valid_days": 7,
            "total_quantity": 500,
            "per_user_limit": 2,
            **window,
        },
        admin,
    )
    service.create_activity(
        None, {"name": "满200减15", "tiers": [[20000, 1500], [40000, 4000]], "scope": "all", **window}, admin
    )
    made = ["2 platform coupons", "1 activity"]
    merchants = [
        m
        for m in (data.get("merchants") or {}).values()
        if getattr(m, "review_status", "approved") == "approved"
        and getattr(m, "status", "open") == "open"
        and getattr(m, "deleted_at", None) is None
    ]
    if merchants:
        m = merchants[0]
        if data.get("history", True):  # its orders are the shops' past ones (issue 19)
            service.create_activity(
                m.id, {"name": f"{m.name} 满80减8", "tiers": [[8000, 800]], "scope": "all", **window}
            )
        data["coupons_demo_merchant_template"] = service.create_template(
            m.id,
            {
                "name": f"{m.name} 满50减5",
                "kind": "fixed",
                "threshold": 5000,
                "amount": 500,
                "scope": "all",
                "total_quantity": 200,
                "per_user_limit": 1,
                **window,
            },
            None,
        ).id
        made.append(f"a coupon and a 满减 activity of {m.name}")
    data["coupons_demo_template"] = platform.id
    data["coupons_demo_percent_template"] = percent.id
    return ", ".join(made)


def demo_orders(data: dict) -> str | None:
    """After every plugin's demo orders (so they are placed as without the
    plugin): the demo buyer claims 满100减10 and finds it under my coupons."""
    buyer, tid = data.get("buyer"), data.get("coupons_demo_template")
    if buyer is None or tid is None:
        return None
    history = _history(data) if data.get("shoppers") else ""
    service.claim(buyer, tid)
    return "the demo buyer holds 满100减10" + (f"; {history}" if history else "")


def _history(data: dict) -> str:
    """Issue 19: over the last 60 days the shoppers claim the 9折 coupon and
    the merchant's, and most use them on an order of the same day
    (:func:`jishi.demo.backdated`; seeded)."""
    import random

    from flask import current_app
    from jishi.checkout.entry import place_order
    from jishi.checkout.errors import CheckoutError
    from jishi.db import db
    from jishi.demo import at_day, backdated, pay

    rng = random.Random(21)
    shoppers = data.get("shoppers") or []
    own = [p.skus[0].id for p in data.get("products") or [] if p.seller_id is None and p.skus and p.skus[0].stock >= 40]
    merchant_tid = data.get("coupons_demo_merchant_template")
    shop_skus = []
    if merchant_tid is not None:
        from jishi_coupons.models import CouponTemplate

        seller = db.session.get(CouponTemplate, merchant_tid).seller_id
        shop_skus = [p.skus[0].id for p in data.get("products") or [] if p.seller_id == seller and p.skus]
        if not shop_skus:
            from jishi.catalog.models import Product
            from sqlalchemy import select

            shop_skus = [
                p.skus[0].id
                for p in db.session.execute(select(Product).where(Product.seller_id == seller).order_by(Product.id))
                .scalars()
                .all()
                if p.skus and p.on_shelf
            ]
    claims = [(data.get("coupons_demo_percent_template"), own), (merchant_tid, shop_skus)]
    claimed = used = 0
    with current_app.test_request_context("/"):
        for n, (user, address, _rhythm) in enumerate(shoppers):
            tid, skus = claims[n % 2]
            if tid is None or not skus:
                continue
            back = rng.randint(3, 57)
            with backdated(at_day(back, rng)):
                try:
                    coupon = service.claim(user, tid)
                except service.CouponError:
                    db.session.rollback()
                    continue
                claimed += 1
                if n % 4 == 3:
                    continue  # claimed, never used
                items = [(rng.choice(skus), 2)]
                try:
                    payments = place_order(
                        user, items, address.id, {"coupons": [coupon.id]}, idempotency_key=f"demo-coupon-{n}"
                    )
                except CheckoutError:
                    db.session.rollback()
                    continue
                for payment in payments:
                    pay(payment)
                used += 1
    return f"{claimed} coupons claimed in the last 60 days, {used} used"
