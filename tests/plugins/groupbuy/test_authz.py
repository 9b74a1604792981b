"""GB: every groupbuy route × {anonymous, buyer, clerk of M1, admins of M1
and M2, platform admin}, in a world where each activity has a paid group
(see ``tests/plugins/promotion_authz.py`` for the rules and checks). A
route without a row fails :func:`test_every_route_has_a_row`.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from jishi.db import db, utcnow
from jishi.testing import authz

from .. import promotion_authz
from ..promotion_authz import rows, windows
from . import helpers as gb

BLUEPRINTS = ("groupbuy", "groupbuy_api")


def _body(kind: str, w: dict, who: str = "") -> dict | None:
    now = utcnow()
    day = next(windows)
    if kind in ("activity", "activity_update"):
        body = {
            "title": "新团",
            "group_size": 2,
            "time_limit_minutes": 30,
            "per_user_limit": 0,
            "starts_at": (now + timedelta(days=day)).isoformat(),
            "ends_at": (now + timedelta(days=day + 1)).isoformat(),
            "skus": [{"sku_id": w["sku1"], "group_price": 500}],
        }
        if kind == "activity":
            body["product_id"] = w["p1"]
        return body
    if kind == "web_activity":
        return {
            "action": "save",
            "product_id": str(w["p1"]),
            "title": "新团",
            "group_size": "2",
            "time_limit": "1",
            "time_unit": "hours",
            "per_user_limit": "0",
            "starts_at": f"{2030 + day}-01-01T10:00",
            "ends_at": f"{2030 + day}-01-02T10:00",
            "enabled": "1",
            f"price-{w['sku1']}": "5.00",
        }
    if kind == "web_buy":
        return {"sku_id": str(w["sku1"]), "quantity": "1", "activity_id": str(w["a1"])}
    if kind == "web_place":
        return {"sku_id": str(w["sku1"]), "quantity": "1", "activity_id": str(w["a1"]), "action": "refresh"}
    return None


R = rows(_body)
ROWS = [
    # JSON API
    R("GET", "/api/v1/groupbuy/products/{p1}", "public"),
    R("GET", "/api/v1/groupbuy/groups/{token1}", "public"),
    R("GET", "/api/v1/groupbuy/my-groups", "signed_in"),
    R("GET", "/api/v1/groupbuy/activities", "seller", lists=True),
    R("POST", "/api/v1/groupbuy/activities", "seller", body="activity", obj="product"),
    R("GET", "/api/v1/groupbuy/activities/{a1}", "seller", obj="activity"),
    R("PUT", "/api/v1/groupbuy/activities/{a1}", "seller", body="activity_update", obj="activity"),
    R("GET", "/api/v1/groupbuy/activities/{a1}/groups", "seller", obj="activity"),
    # web pages
    R("GET", "/groupbuy/groups/{token1}", "public"),
    R("POST", "/groupbuy/buy", "signed_in", body="web_buy"),
    R("GET", "/groupbuy/checkout?sku_id={sku1}&quantity=1&activity_id={a1}", "signed_in"),
    R("POST", "/groupbuy/checkout", "signed_in", body="web_place"),
    R("GET", "/seller/groupbuy/activities", "seller", lists=True),
    R("GET", "/seller/groupbuy/activities/new?product_id={p1}", "seller", obj="product"),
    R("POST", "/seller/groupbuy/activities/new", "seller", body="web_activity", obj="product"),
    R("GET", "/seller/groupbuy/activities/{a1}", "seller", obj="activity"),
    R("POST", "/seller/groupbuy/activities/{a1}", "seller", body="web_activity", obj="activity"),
]


@pytest.fixture
def world(app, factory):
    """The promotion world, and a paid group of each activity (led by another buyer)."""
    w = promotion_authz.world(factory, lambda p, title: gb.activity(p, size=3, platform=False, title=title))
    leader = gb.buyer(factory)
    o1 = gb.place(leader, w["sku1"], w["a1"])
    gb.pay(o1)
    gb.pay(gb.place(leader, w["sku2"], w["a2"]))
    return {**w, "token1": gb.group_of(o1).token}


@pytest.mark.jishi_plugins("multistore", "groupbuy")
@pytest.mark.parametrize("row", ROWS, ids=authz.label)
def test_authz_matrix(client, api, world, row):
    """GB / K15: each principal gets exactly its rights on every plugin route; other merchants' ids never give data."""
    promotion_authz.assert_row(row, world, client=client, api=api)


@pytest.mark.jishi_plugins("multistore", "groupbuy")
def test_every_route_has_a_row(app):
    """GB: a route of the plugin without an authorization row fails here."""
    authz.assert_every_route_has_a_row(app, ROWS, blueprints=BLUEPRINTS)


@pytest.mark.jishi_plugins("multistore", "groupbuy")
def test_merchant_cannot_create_on_another_merchants_product(api, world):
    """GB: a merchant creating an activity on another merchant's product gets 404 and nothing is written."""
    from jishi_groupbuy.models import Activity

    before = db.session.scalar(db.select(db.func.count()).select_from(Activity))
    body = _body("activity", world)
    resp = api.post("/groupbuy/activities", json=body, user=world["users"]["admin2"])
    assert resp.status_code == 404 and resp.json["field"] == "product_id", resp.json
    assert db.session.scalar(db.select(db.func.count()).select_from(Activity)) == before
    # the platform may, and the activity belongs to the product's merchant
    resp = api.post("/groupbuy/activities", json=body, user=world["users"]["platform"])
    assert resp.status_code == 201, resp.json
    assert resp.json["seller_id"] == world["m1"].id and resp.json["created_by_platform"] is True


def test_single_store_platform_and_buyers(api, factory):
    """GB (without multistore): platform admins manage activities, buyers and visitors may not."""
    p = factory.product(price=1000)
    admin, buyer = factory.admin(), gb.buyer(factory)
    now = utcnow()
    body = {
        "product_id": p.id,
        "title": "团",
        "group_size": 2,
        "time_limit_minutes": 60,
        "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(days=1)).isoformat(),
        "skus": [{"sku_id": p.skus[0].id, "group_price": 800}],
    }
    assert api.post("/groupbuy/activities", json=body).status_code == 401
    assert api.post("/groupbuy/activities", json=body, user=buyer).status_code == 403
    resp = api.post("/groupbuy/activities", json=body, user=admin)
    assert resp.status_code == 201, resp.json
    assert resp.json["seller_id"] is None
    assert api.get("/groupbuy/activities", user=buyer).status_code == 403
    assert api.get(f"/groupbuy/activities/{resp.json['id']}", user=admin).status_code == 200
