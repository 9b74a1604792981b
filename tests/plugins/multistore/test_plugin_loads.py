"""MS1: the plugin loads through its entry point and its console answers."""

from __future__ import annotations


def test_merchant_console_home(app, client, ms, login, factory):
    m = ms.merchant("一号店")
    buyer = factory.user()
    assert client.get("/merchant/").status_code in (302, 401)
    login(buyer)
    assert client.get("/merchant/").status_code == 403
    login(ms.admin_of(m))
    resp = client.get("/merchant/")
    assert resp.status_code == 200 and "一号店" in resp.get_data(as_text=True)


import pytest  # noqa: E402


@pytest.mark.jishi_plugins()
def test_disabled_plugin_leaves_a_single_store_shop(app, client, api, factory):
    """MS1: with the plugin off, none of its routes exist, its hooks are not
    called, and a checkout of several sellers' products is one order."""
    assert "multistore" not in app.extensions["jishi"].enabled_plugin_names()
    for path in ("/merchant/", "/shops", "/console/multistore/merchants", "/api/v1/shops"):
        assert client.get(path).status_code == 404, path
    buyer = factory.user()
    address = factory.address(buyer)
    a = factory.product(seller_id=1, price=1000)
    b = factory.product(seller_id=2, price=2000)
    items = [{"sku_id": a.skus[0].id, "quantity": 1}, {"sku_id": b.skus[0].id, "quantity": 1}]
    resp = api.post(
        "/checkout/place",
        user=buyer,
        json={"items": items, "address_id": address.id},
        headers={"Idempotency-Key": "one"},
    )
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert len(body["payments"]) == 1 and len(body["orders"]) == 1
