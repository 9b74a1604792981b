"""The JSON API: buyers read a product's rule; sellers list, set and remove
rules of their own products (the seller from the signed-in user). Every
route is in ``ROUTES`` with the test covering its authorization."""

from __future__ import annotations

import pytest
from jishi.db import db
from jishi_buy_n_get_m.models import BuyNGetMRule
from sqlalchemy import func, select

ROUTES = {
    "buy_n_get_m_api.product_rule": "test_buyers_read_a_products_rule",
    "buy_n_get_m_api.seller_rules": "test_seller_api_who_may",
    "buy_n_get_m_api.put_rule": "test_seller_api_other_sellers_products_are_404",
    "buy_n_get_m_api.delete_rule": "test_seller_api_other_sellers_products_are_404",
}


def count_rules():
    return db.session.execute(select(func.count(BuyNGetMRule.id))).scalar_one()


def test_every_api_route_has_an_authz_test(app):
    """K15: adding an API route without a row in ROUTES fails here."""
    endpoints = {r.endpoint for r in app.url_map.iter_rules() if r.endpoint.startswith("buy_n_get_m_api.")}
    assert endpoints == set(ROUTES)
    assert all(name in globals() for name in ROUTES.values())


def test_openapi_documents_the_routes(client):
    """K14: the routes and their schemas are in the OpenAPI document."""
    doc = client.get("/api/v1/openapi.json").json
    assert "/api/v1/seller/buy-n-get-m/rules/{product_id}" in doc["paths"]
    assert "BuyNGetMRuleArgs" in doc["components"]["schemas"]


def test_buyers_read_a_products_rule(api, factory):
    """K14: anyone reads a product's active rule; none or inactive: 404."""
    admin, product, plain = factory.admin(), factory.product(), factory.product()
    assert (
        api.put(f"/seller/buy-n-get-m/rules/{product.id}", user=admin, json={"buy_qty": 3, "pay_qty": 2}).status_code
        == 200
    )
    for user in (None, factory.user()):
        r = api.get(f"/buy-n-get-m/products/{product.id}", user=user)
        assert r.status_code == 200
        assert (r.json["buy_qty"], r.json["pay_qty"], r.json["label"]) == (3, 2, "买3付2")
    assert api.get(f"/buy-n-get-m/products/{plain.id}").status_code == 404
    assert api.get(f"/buy-n-get-m/products/{2**31}").status_code == 404
    for odd in (0, "false"):  # a boolean is JSON false, not 0 (1 == True in Python)
        r = api.put(
            f"/seller/buy-n-get-m/rules/{product.id}", user=admin, json={"buy_qty": 3, "pay_qty": 2, "active": odd}
        )
        assert r.status_code == 422 and r.json["field"] == "active"
    api.put(f"/seller/buy-n-get-m/rules/{product.id}", user=admin, json={"buy_qty": 3, "pay_qty": 2, "active": False})
    assert api.get(f"/buy-n-get-m/products/{product.id}").status_code == 404


def test_seller_api_who_may(api, factory):
    """K15: signed out 401, buyer 403 (JSON errors); the shop's admin works."""
    product = factory.product()
    body = {"buy_qty": 3, "pay_qty": 2}
    for user, status in ((None, 401), (factory.user(), 403)):
        assert api.get("/seller/buy-n-get-m/rules", user=user).status_code == status
        r = api.put(f"/seller/buy-n-get-m/rules/{product.id}", user=user, json=body)
        assert r.status_code == status and r.json["code"] in ("unauthorized", "forbidden")
        assert api.delete(f"/seller/buy-n-get-m/rules/{product.id}", user=user).status_code == status
    assert count_rules() == 0
    admin = factory.admin()
    assert api.put(f"/seller/buy-n-get-m/rules/{product.id}", user=admin, json=body).status_code == 200
    items = api.get("/seller/buy-n-get-m/rules", user=admin).json["items"]
    assert [(i["product_id"], i["label"]) for i in items] == [(product.id, "买3付2")]
    assert api.delete(f"/seller/buy-n-get-m/rules/{product.id}", user=admin).status_code == 204
    assert api.delete(f"/seller/buy-n-get-m/rules/{product.id}", user=admin).status_code == 404
    assert count_rules() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"buy_qty": 3, "pay_qty": 3}, "pay_qty"),
        ({"buy_qty": 1, "pay_qty": 1}, "buy_qty"),
        ({"buy_qty": "3", "pay_qty": 2}, "buy_qty"),
        ({"buy_qty": 2.5, "pay_qty": 1}, "buy_qty"),
        ({"pay_qty": 1}, "buy_qty"),
        ({"buy_qty": 3, "pay_qty": 2, "active": "yes"}, "active"),
    ],
)
def test_seller_api_bad_input_names_the_field(api, factory, body, field):
    """K14: bad input is a 422 naming the field; nothing is written."""
    product = factory.product()
    r = api.put(f"/seller/buy-n-get-m/rules/{product.id}", user=factory.admin(), json=body)
    assert r.status_code == 422 and r.json["field"] == field, r.json
    assert count_rules() == 0


@pytest.mark.jishi_plugins("multistore", "buy_n_get_m")
def test_seller_api_other_sellers_products_are_404(api, factory, ms):
    """K15/MS17: merchant A's admin sets rules on A's products; B's product,
    a self-operated one and B's rule are 404; A's clerk 403; the platform
    (acting for the shop) cannot touch A's product."""
    a, b = ms.merchant(), ms.merchant()
    pa, pb, own = ms.product(a), ms.product(b), factory.product()
    admin_a, admin_b = ms.admin_of(a), ms.admin_of(b)
    body = {"buy_qty": 3, "pay_qty": 2}
    assert api.put(f"/seller/buy-n-get-m/rules/{pa.id}", user=admin_a, json=body).status_code == 200
    assert api.put(f"/seller/buy-n-get-m/rules/{pb.id}", user=admin_b, json=body).status_code == 200
    for pid in (pb.id, own.id, 999999):
        assert (
            api.put(f"/seller/buy-n-get-m/rules/{pid}", user=admin_a, json={"buy_qty": 2, "pay_qty": 1}).status_code
            == 404
        )
        assert api.delete(f"/seller/buy-n-get-m/rules/{pid}", user=admin_a).status_code == 404
    assert [i["product_id"] for i in api.get("/seller/buy-n-get-m/rules", user=admin_a).json["items"]] == [pa.id]
    clerk = ms.clerk(a)
    assert api.get("/seller/buy-n-get-m/rules", user=clerk).status_code == 403
    assert api.put(f"/seller/buy-n-get-m/rules/{pa.id}", user=clerk, json=body).status_code == 403
    platform = factory.admin()
    assert api.get("/seller/buy-n-get-m/rules", user=platform).json["items"] == []
    assert (
        api.put(f"/seller/buy-n-get-m/rules/{pa.id}", user=platform, json={"buy_qty": 2, "pay_qty": 1}).status_code
        == 404
    )
    assert api.delete(f"/seller/buy-n-get-m/rules/{pb.id}", user=platform).status_code == 404
    rows = db.session.execute(
        select(BuyNGetMRule.product_id, BuyNGetMRule.seller_id, BuyNGetMRule.buy_qty).order_by(BuyNGetMRule.id)
    ).all()
    assert [tuple(r) for r in rows] == [(pa.id, a.id, 3), (pb.id, b.id, 3)]
