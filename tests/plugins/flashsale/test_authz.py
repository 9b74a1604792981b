"""FS: the authorization matrix for every route the flashsale plugin adds
(the promotion plugins' matrix, ``tests/plugins/promotion_authz.py``: who
may use an activity's routes, strictly checked, no other merchant's
activity shown). A route without a row fails :func:`test_every_route_has_a_row`.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from jishi.db import db, utcnow
from jishi.testing import authz

from .. import promotion_authz
from ..promotion_authz import rows, windows
from . import helpers as fs

BLUEPRINTS = ("flashsale", "flashsale_api")


def _body(kind: str, w: dict, who: str) -> dict | None:
    now = utcnow()
    day = next(windows)
    if kind in ("activity", "activity_update"):
        body = {
            "title": "新秒杀",
            "per_user_limit": 1,
            "starts_at": (now + timedelta(days=day)).isoformat(),
            "ends_at": (now + timedelta(days=day + 1)).isoformat(),
            "skus": [{"sku_id": w["sku1"], "flash_price": 500, "stock": 5}],
        }
        if kind == "activity":
            body["product_id"] = w["p1"]
        return body
    if kind == "web_activity":
        return {
            "action": "save",
            "product_id": str(w["p1"]),
            "title": "新秒杀",
            "per_user_limit": "1",
            "starts_at": f"{2030 + day}-01-01T10:00",
            "ends_at": f"{2030 + day}-01-02T10:00",
            "enabled": "1",
            f"price-{w['sku1']}": "5.00",
            f"stock-{w['sku1']}": "5",
        }
    if kind == "buy":
        user = w["users"].get(who)
        return {"sku_id": w["sku1"], "quantity": 1, "address_id": fs.address_id(user) if user else None}
    if kind == "web_buy":
        return {"sku_id": str(w["sku1"]), "quantity": "1"}
    if kind == "web_place":
        return {"sku_id": str(w["sku1"]), "quantity": "1", "action": "refresh"}
    return None


R = rows(_body)
ROWS = [
    # JSON API
    R("GET", "/api/v1/flashsale/activities", "public"),
    R("GET", "/api/v1/flashsale/products/{p1}", "public"),
    R("POST", "/api/v1/flashsale/buy", "signed_in", body="buy"),
    # a ticket is its buyer's only: with the queue off (here) nobody has one;
    # with it on, tests/plugins/flashsale/test_queue.py::test_ticket_is_the_buyers_own
    R("GET", "/api/v1/flashsale/tickets/{ticket}", "ticket_owner"),
    R("GET", "/api/v1/flashsale/seller/activities", "seller", lists=True),
    R("POST", "/api/v1/flashsale/seller/activities", "seller", body="activity", obj="product"),
    R("GET", "/api/v1/flashsale/seller/activities/{a1}", "seller", obj="activity"),
    R("PUT", "/api/v1/flashsale/seller/activities/{a1}", "seller", body="activity_update", obj="activity"),
    # web pages
    R("GET", "/flashsale", "public"),
    R("POST", "/flashsale/buy", "signed_in", body="web_buy"),
    R("GET", "/flashsale/checkout?sku_id={sku1}&quantity=1", "signed_in"),
    R("POST", "/flashsale/checkout", "signed_in", body="web_place"),
    R("GET", "/seller/flashsale/activities", "seller", lists=True),
    R("GET", "/seller/flashsale/activities/new?product_id={p1}", "seller", obj="product"),
    R("POST", "/seller/flashsale/activities/new", "seller", body="web_activity", obj="product"),
    R("GET", "/seller/flashsale/activities/{a1}", "seller", obj="activity"),
    R("POST", "/seller/flashsale/activities/{a1}", "seller", body="web_activity", obj="activity"),
]


@pytest.fixture
def world(app, factory):
    w = promotion_authz.world(
        factory, lambda p, title: fs.activity(p, stock=1000, per_user=0, platform=False, title=title)
    )
    return {**w, "ticket": "0" * 32}


def idempotency_key(case):
    return {"Idempotency-Key": f"authz-{case.who}-{next(windows)}"} if case.row.is_api else None


@pytest.mark.jishi_plugins("multistore", "flashsale")
@pytest.mark.parametrize("row", ROWS, ids=authz.label)
def test_authz_matrix(client, api, world, row):
    """FS / K15: each principal gets exactly its rights on every plugin route; other merchants' ids never give data."""
    promotion_authz.assert_row(row, world, client=client, api=api, headers=idempotency_key)


@pytest.mark.jishi_plugins("multistore", "flashsale")
def test_every_route_has_a_row(app):
    """FS: a route of the plugin without an authorization row fails here."""
    authz.assert_every_route_has_a_row(app, ROWS, blueprints=BLUEPRINTS)


@pytest.mark.jishi_plugins("multistore", "flashsale")
def test_merchant_cannot_touch_another_merchants_activity(api, world):
    """FS: admin of M2 with M1's product and activity ids gets 404 and nothing changes; the platform may, the activity then belongs to M1."""
    from jishi_flashsale.models import Activity

    before = db.session.scalar(db.select(db.func.count()).select_from(Activity))
    body = _body("activity", world, "admin2")
    resp = api.post("/flashsale/seller/activities", json=body, user=world["users"]["admin2"])
    assert resp.status_code == 404 and resp.json["field"] == "product_id", resp.json
    assert db.session.scalar(db.select(db.func.count()).select_from(Activity)) == before
    upd = _body("activity_update", world, "admin2")
    resp = api.put(f"/flashsale/seller/activities/{world['a1']}", json=upd, user=world["users"]["admin2"])
    assert resp.status_code == 404
    db.session.expire_all()
    assert db.session.get(Activity, world["a1"]).title == "M1-ACT-SECRET"
    resp = api.post("/flashsale/seller/activities", json=body, user=world["users"]["platform"])
    assert resp.status_code == 201, resp.json
    assert resp.json["seller_id"] == world["m1"].id and resp.json["created_by_platform"] is True
    # a merchant's own activity records the merchant
    resp = api.post(
        "/flashsale/seller/activities",
        json={
            **body,
            "starts_at": (utcnow() + timedelta(days=900)).isoformat(),
            "ends_at": (utcnow() + timedelta(days=901)).isoformat(),
        },
        user=world["users"]["admin1"],
    )
    assert (
        resp.status_code == 201
        and resp.json["seller_id"] == world["m1"].id
        and resp.json["created_by_platform"] is False
    )


@pytest.mark.jishi_plugins("multistore", "flashsale")
def test_flash_order_of_a_merchant_belongs_to_the_merchant(api, world):
    """FS (multistore): a flash order of M1's product is M1's order at the flash price."""
    buyer = world["users"]["buyer"]
    resp = fs.buy_api(api, buyer, world["sku1"])
    assert resp.status_code == 201, resp.json
    order = fs.order(resp.json["orders"][0]["id"])
    assert order.seller_id == world["m1"].id and order.lines[0].price_source == "flashsale"


def test_single_store_platform_and_buyers(api, factory):
    """FS (without multistore): platform admins manage activities, buyers and visitors may not."""
    p = factory.product(price=1000)
    admin, buyer = factory.admin(), fs.buyer(factory)
    now = utcnow()
    body = {
        "product_id": p.id,
        "title": "秒杀",
        "per_user_limit": 1,
        "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(days=1)).isoformat(),
        "skus": [{"sku_id": p.skus[0].id, "flash_price": 800, "stock": 3}],
    }
    assert api.post("/flashsale/seller/activities", json=body).status_code == 401
    assert api.post("/flashsale/seller/activities", json=body, user=buyer).status_code == 403
    resp = api.post("/flashsale/seller/activities", json=body, user=admin)
    assert resp.status_code == 201, resp.json
    assert resp.json["seller_id"] is None and resp.json["state"] == "running"
    assert api.get("/flashsale/seller/activities", user=buyer).status_code == 403
    assert api.get(f"/flashsale/seller/activities/{resp.json['id']}", user=admin).status_code == 200
    assert fs.buy_api(api, buyer, p.skus[0].id).status_code == 201
