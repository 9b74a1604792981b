"""LD with and without multistore: per-merchant settings and slots in one
cross-store checkout; the plugin disabled leaves old orders readable;
the demo sets every seller up; the console menus."""

from __future__ import annotations

import pytest
from jishi.db import db
from jishi.models import Order
from jishi.testing import make_app
from jishi_delivery_local import service

MS = pytest.mark.jishi_plugins("multistore", "delivery_local")


@MS
def test_cross_store_checkout_with_two_merchants(api, factory, ms, ld):
    """LD/MS8: each merchant's group gets its own local option (own radius,
    fee, slots); each order claims its own merchant's slot."""
    near, far_shop = (
        ms.merchant("鲜果多多", lat=ld.SHOP[0], lng=ld.SHOP[1]),
        ms.merchant("远方小店", lat=ld.FAR[0], lng=ld.FAR[1]),
    )
    ld.setup(near.id)
    ld.setup(far_shop.id, lat=ld.FAR[0], lng=ld.FAR[1])
    plain = ms.merchant("没设置")
    skus = [ms.product(m, price=3000, stock=10).skus[0].id for m in (near, far_shop, plain)]
    buyer = factory.user()
    address = factory.address(buyer, lat=ld.NEAR[0], lng=ld.NEAR[1])
    body = {"items": [{"sku_id": s, "quantity": 1} for s in skus], "address_id": address.id}
    preview = api.post("/checkout/preview", json=body, user=buyer).json
    options = {g["seller_id"]: {o["code"]: o for o in g["delivery_options"]} for g in preview["groups"]}
    assert options[near.id]["local"]["available"] and options[near.id]["local"]["fee"] == 500
    assert not options[far_shop.id]["local"]["available"] and "outside" in options[far_shop.id]["local"]["reason"]
    assert set(options[plain.id]) == {"standard"}

    g_near, g_plain = f"seller:{near.id}", f"seller:{plain.id}"
    body2 = {
        "items": [{"sku_id": skus[0], "quantity": 1}, {"sku_id": skus[2], "quantity": 1}],
        "address_id": address.id,
        "delivery": {g_near: "local", g_plain: "standard"},
    }
    resp = api.post("/checkout/place", json=body2, user=buyer, headers={"Idempotency-Key": "a"})
    assert resp.status_code == 422 and resp.json["field"] == "options.local_slot"
    body2["options"] = {"local_slot": {g_near: ld.tomorrow()}}
    resp = api.post("/checkout/place", json=body2, user=buyer, headers={"Idempotency-Key": "b"})
    assert resp.status_code == 201, resp.json
    orders = {o["seller_id"]: o for o in resp.json["orders"]}
    assert db.session.get(Order, orders[near.id]["id"]).delivery_method == "local"
    assert db.session.get(Order, orders[plain.id]["id"]).delivery_method == "standard"
    assert ld.used(near.id) == 1 and ld.used(None) == 0
    slots = api.get(f"/local/slots?seller_id={near.id}&date={ld.tomorrow().split()[0]}").json["slots"]
    assert slots[0]["remaining"] == 2
    # The merchant's clerk sends it out; the merchant's admin sees it listed.
    ld.pay(db.session.get(Order, orders[near.id]["id"]).payment)
    clerk = ms.clerk(near)
    resp = api.post(
        f"/seller/local/orders/{orders[near.id]['id']}/dispatch",
        json={"courier_name": "小李", "courier_phone": "13700000000"},
        user=clerk,
    )
    assert resp.status_code == 200 and resp.json["status"] == "shipped"
    assert [i["order_id"] for i in api.get("/seller/local/orders", user=ms.admin_of(near)).json["items"]] == [
        orders[near.id]["id"]
    ]


@MS
def test_merchant_console_menu_and_pages(client, factory, ms, ld, login):
    """LD: the merchant console shows local delivery entries (settings for admins only)."""
    m = ms.merchant("鲜果多多", lat=ld.SHOP[0], lng=ld.SHOP[1])
    login(ms.admin_of(m))
    page = client.get("/seller/local/settings").get_data(as_text=True)
    assert "/seller/local/orders" in page and "/seller/local/settings" in page
    login(ms.clerk(m))
    assert client.get("/seller/local/settings").status_code == 403
    page = client.get("/seller/local/orders").get_data(as_text=True)
    assert "/seller/local/orders" in page and 'href="/seller/local/settings"' not in page


@pytest.mark.jishi_fresh_app  # a second app opens this test's database file
def test_plugin_disabled_local_vanishes_old_orders_display(app, api, factory, ld, tmp_path):
    """LD: with the plugin disabled "local" is no longer offered, and an
    existing local order still shows (kernel label and stored data)."""
    ld.setup()
    buyer = factory.user()
    address = factory.address(buyer, lat=ld.NEAR[0], lng=ld.NEAR[1])
    sku = factory.product(price=3000, stock=10).skus[0].id
    resp = api.post(
        "/checkout/place",
        json=ld.body(sku, 1, address.id, slot=ld.tomorrow()),
        user=buyer,
        headers={"Idempotency-Key": "k"},
    )
    order_id = resp.json["orders"][0]["id"]
    from jishi.testing import factories

    token = factories.token(buyer)
    address_id, user_key = address.id, buyer.get_id()
    db.session.commit()
    db.session.remove()

    plain = make_app(tmp_path, plugins=[])
    with plain.app_context():
        client = plain.test_client()
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        headers = {"Authorization": f"Bearer {token}"}
        detail = client.get(f"/api/v1/orders/{order_id}", headers=headers)
        assert detail.status_code == 200
        delivery = detail.json["delivery"]
        assert delivery["method"] == "local" and delivery["label"] == "Local delivery"
        assert delivery["data"]["slot"] == ld.tomorrow()
        preview = client.post(
            "/api/v1/checkout/preview",
            json={"items": [{"sku_id": sku, "quantity": 1}], "address_id": address_id},
            headers=headers,
        )
        assert [o["code"] for o in preview.json["groups"][0]["delivery_options"]] == ["standard"]
        with client.session_transaction() as sess:
            sess["_user_id"] = user_key
            sess["_fresh"] = True
        page = client.get(f"/orders/{order_id}")
        assert page.status_code == 200 and "Local delivery" in page.get_data(as_text=True)
        assert client.get("/api/v1/local/slots").status_code == 404  # the route is gone
        db.session.remove()
        db.engine.dispose()  # the second app's connections (PostgreSQL)


@MS
def test_demo_sets_up_every_seller(app, client, ld):
    """LD: the demo enables local delivery for the shop and every merchant
    (merchants' own coordinates), puts the buyer inside the radius and sends
    one local order out for delivery."""
    from jishi.demo import load_demo
    from jishi_multistore.models import Merchant

    with app.test_request_context("/"):
        summary = load_demo({})
    assert "local delivery for the shop and 5 merchants" in summary
    assert "1 local order out for delivery" in summary
    assert service.config_for(None).enabled
    for m in db.session.execute(db.select(Merchant).where(Merchant.review_status == "approved")).scalars():
        cfg = service.config_for(m.id)
        assert cfg.enabled and (cfg.lat, cfg.lng) == (m.lat, m.lng) and cfg.radius_m == 5000
    fruit = db.session.execute(db.select(Merchant).where(Merchant.name == "鲜果多多")).scalar_one()
    assert (fruit.lat, fruit.lng) == (30.2741, 120.1551)
    local = db.session.execute(db.select(Order).where(Order.delivery_method == "local")).scalars().all()
    assert [o.status for o in local] == ["shipped"] and local[0].carrier == "同城配送"
