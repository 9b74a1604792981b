"""Issue 16 "Surfaces" for the points exchange: the buyer's pages
(``/points/exchange``, an item, a product's checkout, a coupon redeemed in
place) and the platform console (``/console/points/exchange``: list,
create, edit, stop, start; bad input answered as the form naming the
field); zh_CN by default, English on request."""

from __future__ import annotations

import re

import pytest
from jishi.db import db
from jishi.orders.models import Order
from jishi_points.models import PointsExchangeItem, PointsExchangeRedemption
from sqlalchemy import select

from .helpers import balance, coupon_template, exchange_item, give


def test_buyer_pages_and_product_checkout(client, factory, login):
    """Issue 16/Surfaces: the list and the item page show the price in
    points + cash and the buyer's points; "Redeem" leads to the kernel's
    checkout page of the SKU at the cash part; placing it spends the points
    and goes on to payment."""
    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product(name="保温杯", price=5000, stock=20).skus[0]
    item = exchange_item(sku, title="积分换保温杯", points=300, cash=990)
    give(buyer, 1000)
    page = client.get("/points/exchange").get_data(as_text=True)
    assert "积分商城" in page and "积分换保温杯" in page and "300 积分" in page and "登录后兑换" in page
    login(buyer)
    page = client.get(f"/points/exchange/{item.id}").get_data(as_text=True)
    assert "您有 1000 积分。" in page and f"/points/exchange/{item.id}/checkout" in page
    resp = client.get(f"/points/exchange/{item.id}/checkout?quantity=2")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "积分兑换结算" in html and "600 积分" in html
    key = re.search(r'name="idempotency_key" value="([^"]+)"', html).group(1)
    resp = client.post(
        f"/points/exchange/{item.id}/checkout",
        data={"idempotency_key": key, "address_id": addr.id, "quantity": "2", "action": "place"},
    )
    assert resp.status_code == 302 and "/pay/" in resp.headers["Location"], resp.get_data(as_text=True)[:500]
    order = db.session.scalars(select(Order)).one()
    assert order.goods_amount == 1980 and balance(buyer) == (400, 0)
    assert "积分兑换：此订单使用了 600 积分。" in client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert client.post(f"/orders/{order.id}/cancel").status_code == 302
    assert balance(buyer) == (1000, 0)
    assert "已退回 600 积分。" in client.get(f"/orders/{order.id}").get_data(as_text=True)


def test_points_only_product_on_the_web_is_paid_at_once(client, factory, login):
    """Issue 16/Surfaces, ¥0 orders: a points-only item (cash 0, no delivery
    fee) placed from its checkout page goes straight to the "支付成功" page,
    never to the payment page; the order is paid and the points spent."""
    from jishi import settings

    settings.set_many({"delivery.flat_fee": 0})
    db.session.commit()
    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product(name="保温杯", price=5000, stock=20).skus[0]
    item = exchange_item(sku, title="纯积分保温杯", points=300, cash=0)
    give(buyer, 1000)
    login(buyer)
    html = client.get(f"/points/exchange/{item.id}/checkout?quantity=1").get_data(as_text=True)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', html).group(1)
    resp = client.post(
        f"/points/exchange/{item.id}/checkout",
        data={"idempotency_key": key, "address_id": addr.id, "quantity": "1", "action": "place"},
    )
    assert resp.status_code == 302 and "/pay/return/" in resp.headers["Location"], resp.headers.get("Location")
    assert "支付成功" in client.get(resp.headers["Location"]).get_data(as_text=True)
    order = db.session.scalars(select(Order)).one()
    assert (order.status, order.pay_amount, order.payment_method) == ("paid", 0, "free")
    assert balance(buyer) == (700, 0)


def test_points_short_on_the_web_places_nothing(client, factory, login):
    """Issue 16/Points exchange: short of points, the checkout page says so
    and placing goes back to it with nothing placed."""
    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product(price=5000, stock=20).skus[0]
    item = exchange_item(sku, points=300)
    give(buyer, 100)
    login(buyer)
    html = client.get(f"/points/exchange/{item.id}/checkout").get_data(as_text=True)
    assert "您有 100 积分，需要 300 积分。" in html
    key = re.search(r'name="idempotency_key" value="([^"]+)"', html).group(1)
    resp = client.post(
        f"/points/exchange/{item.id}/checkout", data={"idempotency_key": key, "address_id": addr.id, "action": "place"}
    )
    assert resp.status_code == 302 and f"/points/exchange/{item.id}/checkout" in resp.headers["Location"]
    assert db.session.scalars(select(Order)).all() == [] and balance(buyer) == (100, 0)


@pytest.mark.jishi_plugins("coupons", "points")
def test_coupon_redeemed_in_place(client, factory, login):
    """Issue 16/Points exchange: a coupon item is redeemed from its page: the
    points are spent and the coupon is the buyer's; English on request."""
    from jishi_coupons.models import UserCoupon

    t = coupon_template()
    item = exchange_item(kind="coupon", coupon_template_id=t.id, points=300, title="300积分换5元券")
    buyer = factory.user()
    give(buyer, 500)
    login(buyer)
    page = client.get(f"/points/exchange/{item.id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Coupon" in page and "300 points" in page and "Redeem" in page
    resp = client.post(f"/points/exchange/{item.id}/redeem", follow_redirects=True)
    assert resp.status_code == 200 and "兑换成功" in resp.get_data(as_text=True)
    assert balance(buyer) == (200, 0)
    assert db.session.scalars(select(UserCoupon.user_id)).all() == [buyer.id]
    resp = client.post(f"/points/exchange/{item.id}/redeem", follow_redirects=True)
    assert "您有 200 积分，需要 300 积分。" in resp.get_data(as_text=True)
    assert db.session.query(PointsExchangeRedemption).count() == 1


@pytest.mark.jishi_plugins("coupons", "points")
def test_console_create_edit_stop(client, factory, login):
    """Issue 16/Surfaces (console): platform staff create a product item and a
    coupon item, edit and stop one; bad input answers the form (422) naming
    the field with nothing written; a buyer is refused."""
    admin = factory.admin()
    sku = factory.product(name="保温杯", price=5000, stock=20).skus[0]
    t = coupon_template(name="积分券")
    login(admin)
    assert client.get("/console/points/exchange/").status_code == 200
    form = client.get("/console/points/exchange/new").get_data(as_text=True)
    assert "保温杯" in form and "积分券" in form
    base = {"kind": "product", "sku_id": str(sku.id), "title": "换杯子", "points": "300", "cash": "9.90"}
    base.update({"stock": "10", "per_user_limit": "2", "sort": "0", "enabled": "1"})
    for bad, field in (
        ({"cash": "-1"}, "cash"),
        ({"cash": "abc"}, "cash"),
        ({"points": ""}, "points"),
        ({"sku_id": ""}, "sku_id"),
        ({"ends_at": "2020-01-01T00:00", "starts_at": "2020-02-01T00:00"}, "ends_at"),
        ({"starts_at": "nope"}, "starts_at"),
    ):
        resp = client.post("/console/points/exchange/new", data={**base, **bad})
        assert resp.status_code == 422 and f'data-field="{field}"' in resp.get_data(as_text=True), bad
    assert db.session.scalars(select(PointsExchangeItem)).all() == []
    resp = client.post("/console/points/exchange/new", data=base)
    assert resp.status_code == 302
    item = db.session.scalars(select(PointsExchangeItem)).one()
    assert (item.kind, item.sku_id, item.points, item.cash, item.stock) == ("product", sku.id, 300, 990, 10)
    resp = client.post(
        "/console/points/exchange/new",
        data={"kind": "coupon", "coupon_template_id": str(t.id), "title": "换券", "points": "50", "stock": "5"},
    )
    assert resp.status_code == 302
    edit = {**base, "title": "换保温杯", "points": "250"}
    assert client.post(f"/console/points/exchange/{item.id}", data=edit).status_code == 302
    db.session.expire_all()
    assert (item.title, item.points) == ("换保温杯", 250)
    assert client.post(f"/console/points/exchange/{item.id}/stop").status_code == 302
    db.session.expire_all()
    assert item.enabled is False
    listing = client.get("/console/points/exchange/").get_data(as_text=True)
    assert "换保温杯" in listing and "换券" in listing and "不可兑换" in listing
    assert client.post(f"/console/points/exchange/{item.id}/start").status_code == 302
    db.session.expire_all()
    assert item.enabled is True
    login(factory.user())
    assert client.get("/console/points/exchange/").status_code == 403


def test_demo_data_lists_a_product_item(app, factory):
    """Issue 16/Proof: the demo has an exchange item (a product; with coupons
    also a coupon) and gives the demo buyer points to try it."""
    from jishi_points import demo_exchange

    buyer = factory.user()
    product = factory.product(price=5000, stock=20)
    summary = demo_exchange.demo_data({"products": [product], "buyer": buyer})
    assert summary == "points exchange: 1 product item"
    assert db.session.scalars(select(PointsExchangeItem.kind)).all() == ["product"]
    assert balance(buyer) == (2000, 0)


@pytest.mark.jishi_plugins("coupons", "points")
def test_demo_data_with_coupons(app, factory):
    """Issue 16/Proof: with coupons the demo also lists a coupon item."""
    from jishi_points import demo_exchange

    summary = demo_exchange.demo_data({"products": [factory.product(price=5000, stock=20)], "buyer": factory.user()})
    assert summary == "points exchange: 1 product item, 1 coupon item"


@pytest.mark.jishi_plugins("coupons", "points")
def test_full_demo_has_exchange_items_and_pages_render(app, client):
    """Issue 16/Proof: ``jishi demo`` with coupons and points lists a product
    and a coupon item, and the exchange pages render them."""
    from jishi.demo import load_demo

    with app.test_request_context("/"):
        summary = load_demo()
    assert "points exchange: 1 product item, 1 coupon item" in str(summary)
    page = client.get("/points/exchange").get_data(as_text=True)
    ids = db.session.scalars(select(PointsExchangeItem.id)).all()
    assert len(ids) == 2 and all(f"/points/exchange/{i}" in page for i in ids)
    for i in ids:
        assert client.get(f"/points/exchange/{i}").status_code == 200
