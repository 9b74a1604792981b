"""The distribution demo: a promoter tree (推广员 A refers B, B refers the
demo buyer) and, in ``demo_orders``, a paid order of the buyer that earns B
first-level and A second-level commission (frozen until completion)."""

from __future__ import annotations

from jishi.db import commit, db
from jishi.testing import factories

from jishi_distribution import service

PASSWORD = "demo1234"
PROMOTER_A = "13800000201"
PROMOTER_B = "13800000202"


def demo_data(data: dict) -> str:
    a = factories.user(phone=PROMOTER_A, password=PASSWORD, name="推广员甲")
    b = factories.user(phone=PROMOTER_B, password=PASSWORD, name="推广员乙")
    pa = service.ensure_promoter(a.id) or service._create(a.id, "active", "platform")
    pb = service.ensure_promoter(b.id) or service._create(b.id, "active", "platform")
    service.bind(b.id, pa.user_id, "demo")
    service.bind(data["buyer"].id, pb.user_id, "demo")
    # Issue 19: some of the shoppers came through 推广员乙 too (their past
    # orders earn commission), and the first merchant's goods are distributed.
    for user, _address, _rhythm in (data.get("shoppers") or [])[:4]:
        service.bind(user.id, pb.user_id, "demo")
    shop = next(iter((data.get("merchants") or {}).values()), None)
    if shop is not None and data.get("history", True):
        from jishi import settings
        from jishi.catalog.models import Product
        from sqlalchemy import select

        settings.set_many({service.MERCHANT_PRODUCTS: True})
        for product in db.session.execute(select(Product).where(Product.seller_id == shop.id)).scalars():
            service.set_product_rule(product.id, enabled=True, level1_bp=500, level2_bp=200)
    commit()
    data.setdefault("logins", {})["promoter"] = (PROMOTER_A, PASSWORD)
    data["logins"]["promoter (level 1)"] = (PROMOTER_B, PASSWORD)
    return "2 promoters (A -> B -> the demo buyer)"


def demo_orders(data: dict) -> str:
    from flask import current_app
    from jishi.checkout.entry import place_order
    from jishi.demo import pay

    products = [p for p in data["products"] if p.seller_id is None]
    with current_app.test_request_context("/"):
        payment = place_order(
            data["buyer"], [(products[1].skus[0].id, 1)], data["address"].id, idempotency_key="demo-distribution"
        )[0]
        pay(payment)
    return "1 order with two levels of commission"
