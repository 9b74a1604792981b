"""Storefront and console test helpers: demo-like data; ``admin_client``
and ``buyer_client`` sign in through the login form (``login`` comes from
the ``jishi.testing`` kit)."""

from __future__ import annotations

import pytest
from jishi.testing.principals import sign_in_form


@pytest.fixture
def shop(app, factory):
    """A small shop: a category tree, a product with specs (two SKUs, a
    member price), a plain product, tags and params."""
    from jishi.catalog.models import ProductParam, ProductSpec, Tag
    from jishi.catalog.service import refresh_product
    from jishi.db import db

    fruit = factory.category("水果")
    citrus = factory.category("柑橘", parent=fruit)
    tea = factory.product(
        name="龙井茶",
        category=fruit,
        skus=[
            {"price": 1234, "stock": 10, "spec_values": {"规格": "100g"}, "member_price": 1100, "original_price": 1500},
            {"price": 2468, "stock": 0, "spec_values": {"规格": "200g"}},
        ],
        subtitle="明前新茶",
        description="西湖龙井。",
    )
    tea.specs.append(ProductSpec(name="规格", values=["100g", "200g"], sort=0))
    tea.params.append(ProductParam(name="产地", value="杭州", sort=0))
    tag = Tag(name="新品")
    db.session.add(tag)
    tea.tags.append(tag)
    refresh_product(tea)
    orange = factory.product(name="赣南脐橙", price=3990, stock=50, category=citrus)
    hidden = factory.product(name="下架商品", price=500, on_shelf=False)
    db.session.commit()
    return {"fruit": fruit, "citrus": citrus, "tea": tea, "orange": orange, "hidden": hidden, "tag": tag}


@pytest.fixture
def buy(app):
    """``buy(client, sku, quantity=1, pay=True)``: a signed-in buyer's client
    puts a SKU in the cart, checks out through the forms and pays on the
    sandbox gateway; returns the Order."""
    from urllib.parse import urlsplit

    from jishi.db import db
    from jishi.orders.models import Order
    from webforms import page_form

    def location(resp):
        parts = urlsplit(resp.headers["Location"])
        return parts.path + (("?" + parts.query) if parts.query else "")

    def buy(client, sku, quantity=1, pay=True):
        assert client.post("/cart/add", data={"sku_id": sku.id, "quantity": quantity}).status_code == 302
        form = page_form(client.get("/checkout"), "/checkout")
        placed = client.post("/checkout", data=form | {"action": "place"})
        assert placed.status_code == 302 and "/pay/" in placed.headers["Location"], placed.headers.get("Location")
        pay_path = location(placed)
        if pay:
            gateway = location(client.post(pay_path, data={"method": "sandbox"}))
            client.post(gateway, data={"action": "pay"})
        number = pay_path.rsplit("/", 1)[1]
        from jishi.orders.models import PaymentOrder

        payment = db.session.execute(db.select(PaymentOrder).where(PaymentOrder.number == number)).scalar_one()
        order = db.session.execute(db.select(Order).where(Order.payment_id == payment.id)).scalars().first()
        db.session.refresh(order)
        return order

    return buy


@pytest.fixture
def buyer(factory):
    user = factory.user(name="买家甲")
    factory.address(user)
    return user


@pytest.fixture
def admin_client(app, factory):
    admin = factory.admin()
    return sign_in_form(app.test_client(), admin)


@pytest.fixture
def buyer_client(app, buyer):
    return sign_in_form(app.test_client(), buyer)
