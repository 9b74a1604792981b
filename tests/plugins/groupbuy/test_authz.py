"""GB: the authorization matrix for every route the groupbuy plugin adds.

Principals: anonymous, buyer, clerk of M1, admin of M1, admin of M2 (using
M1's ids), platform admin — with multistore on. A route of the plugin
without a row here fails :func:`test_every_route_has_a_row`. Denied calls
answer 401/403/404 (web: a redirect to sign in) and never show the other
merchant's data; allowed calls never answer 5xx.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta

import pytest
from jishi.db import db, utcnow

from . import helpers as gb

PRINCIPALS = ("anonymous", "buyer", "clerk1", "admin1", "admin2", "platform")
MERCHANT_OF = {"clerk1": "m1", "admin1": "m1", "admin2": "m2"}


@dataclass(frozen=True)
class Row:
    endpoint: str
    method: str
    path: str  # formatted with the world: {a1}, {p1}, {token1}, {sku1}
    access: str  # public, signed_in, seller (products permission, own objects)
    body: str = ""  # "activity", "activity_update", "web_activity", "web_buy"
    own_object: bool = True  # the path names M1's object (admin2 must not reach it)


ROWS = [
    # JSON API
    Row("groupbuy_api.product_offer", "GET", "/api/v1/groupbuy/products/{p1}", "public"),
    Row("groupbuy_api.group_detail", "GET", "/api/v1/groupbuy/groups/{token1}", "public"),
    Row("groupbuy_api.my_groups", "GET", "/api/v1/groupbuy/my-groups", "signed_in"),
    Row("groupbuy_api.activities", "GET", "/api/v1/groupbuy/activities", "seller", own_object=False),
    Row("groupbuy_api.activity_create", "POST", "/api/v1/groupbuy/activities", "seller", body="activity"),
    Row("groupbuy_api.activity_get", "GET", "/api/v1/groupbuy/activities/{a1}", "seller"),
    Row("groupbuy_api.activity_update", "PUT", "/api/v1/groupbuy/activities/{a1}", "seller", body="activity_update"),
    Row("groupbuy_api.activity_groups", "GET", "/api/v1/groupbuy/activities/{a1}/groups", "seller"),
    # web pages
    Row("groupbuy.group_page", "GET", "/groupbuy/groups/{token1}", "public"),
    Row("groupbuy.buy", "POST", "/groupbuy/buy", "signed_in", body="web_buy"),
    Row("groupbuy.checkout", "GET", "/groupbuy/checkout?sku_id={sku1}&quantity=1&activity_id={a1}", "signed_in"),
    Row("groupbuy.checkout_place", "POST", "/groupbuy/checkout", "signed_in", body="web_place"),
    Row("groupbuy.activities", "GET", "/seller/groupbuy/activities", "seller", own_object=False),
    Row("groupbuy.activity_new", "GET", "/seller/groupbuy/activities/new?product_id={p1}", "seller"),
    Row("groupbuy.activity_new", "POST", "/seller/groupbuy/activities/new", "seller", body="web_activity"),
    Row("groupbuy.activity", "GET", "/seller/groupbuy/activities/{a1}", "seller"),
    Row("groupbuy.activity", "POST", "/seller/groupbuy/activities/{a1}", "seller", body="web_activity"),
]


def allowed(row: Row, who: str) -> bool:
    if row.access == "public":
        return True
    if row.access == "signed_in":
        return who != "anonymous"
    if who == "platform":
        return True
    if who not in ("admin1", "admin2"):
        return False  # anonymous, buyer, clerk (no "products" permission)
    return not row.own_object or MERCHANT_OF[who] == "m1"


@pytest.fixture
def world(app, factory):
    from jishi_multistore import testing as ms

    m1, m2 = ms.merchant("商户一"), ms.merchant("商户二")
    p1 = ms.product(m1, price=1000, stock=50)
    p2 = ms.product(m2, price=2000, stock=50)
    a1 = gb.activity(p1, size=3, platform=False, title="M1-ACT-SECRET")
    a2 = gb.activity(p2, size=3, platform=False, title="M2-ACT-SECRET")
    leader = gb.buyer(factory)
    o1 = gb.place(leader, p1.skus[0].id, a1.id)
    gb.pay(o1)
    o2 = gb.place(leader, p2.skus[0].id, a2.id)
    gb.pay(o2)
    users = {
        "buyer": gb.buyer(factory),
        "clerk1": ms.clerk(m1),
        "admin1": ms.admin_of(m1),
        "admin2": ms.admin_of(m2),
        "platform": factory.admin(),
    }
    for u in users.values():
        if not db.session.execute(db.text("select 1 from addresses where user_id = :u"), {"u": u.id}).first():
            factory.address(u)
    return {
        "m1": m1, "m2": m2, "p1": p1.id, "p2": p2.id, "a1": a1.id, "a2": a2.id, "sku1": p1.skus[0].id,
        "token1": gb.group_of(o1).token, "users": users,
    }


_windows = itertools.count(40, 2)


def _body(row: Row, w: dict) -> dict | None:
    now = utcnow()
    day = next(_windows)
    if row.body in ("activity", "activity_update"):
        body = {
            "title": "新团", "group_size": 2, "time_limit_minutes": 30, "per_user_limit": 0,
            "starts_at": (now + timedelta(days=day)).isoformat(), "ends_at": (now + timedelta(days=day + 1)).isoformat(),
            "skus": [{"sku_id": w["sku1"], "group_price": 500}],
        }
        if row.body == "activity":
            body["product_id"] = w["p1"]
        return body
    if row.body == "web_activity":
        return {
            "action": "save", "product_id": str(w["p1"]), "title": "新团", "group_size": "2", "time_limit": "1", "time_unit": "hours",
            "per_user_limit": "0", "starts_at": f"{2030 + day}-01-01T10:00", "ends_at": f"{2030 + day}-01-02T10:00", "enabled": "1", f"price-{w['sku1']}": "5.00",
        }
    if row.body == "web_buy":
        return {"sku_id": str(w["sku1"]), "quantity": "1", "activity_id": str(w["a1"])}
    if row.body == "web_place":
        return {"sku_id": str(w["sku1"]), "quantity": "1", "activity_id": str(w["a1"]), "action": "refresh"}
    return None


def _call(client, api, row: Row, w: dict, who: str):
    path = row.path.format(**{k: v for k, v in w.items() if k not in ("users", "m1", "m2")})
    user = w["users"].get(who)
    body = _body(row, w)
    if path.startswith("/api/"):
        return api.call(row.method, path, user=user, json=body)
    client.get("/logout")
    if user is not None:
        resp = client.post("/login", data={"phone": user.phone, "password": "secret123"})
        assert resp.status_code in (302, 303)
    return client.open(path, method=row.method, data=body)


@pytest.mark.jishi_plugins("multistore", "groupbuy")
@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r.method} {r.endpoint}")
def test_authz_matrix(client, api, world, row):
    """GB / K15: each principal gets exactly its rights on every plugin route; other merchants' ids never give data."""
    for who in PRINCIPALS:
        resp = _call(client, api, row, world, who)
        text = resp.get_data(as_text=True)
        assert resp.status_code < 500, (who, resp.status_code, text[:300])
        if allowed(row, who):
            assert resp.status_code < 400, (who, resp.status_code, text[:300])
            if row.endpoint.endswith("activities") and row.method == "GET":
                if who == "admin1":
                    assert "M1-ACT-SECRET" in text and "M2-ACT-SECRET" not in text
                if who == "admin2":
                    assert "M2-ACT-SECRET" in text and "M1-ACT-SECRET" not in text
                if who == "platform":
                    assert "M1-ACT-SECRET" in text and "M2-ACT-SECRET" in text
        else:
            if who == "anonymous":
                expected = (401,) if row.path.startswith("/api/") else (302,)
                assert resp.status_code in expected, (who, resp.status_code)
                if resp.status_code == 302:
                    assert "/login" in resp.headers["Location"]
            else:
                assert resp.status_code in (403, 404), (who, resp.status_code, text[:300])
            assert "M1-ACT-SECRET" not in text and "M2-ACT-SECRET" not in text


@pytest.mark.jishi_plugins("multistore", "groupbuy")
def test_every_route_has_a_row(app):
    """GB: a route of the plugin without an authorization row fails here."""
    have = {(r.endpoint, r.method) for r in ROWS}
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(("groupbuy.", "groupbuy_api.")):
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if (rule.endpoint, method) not in have:
                missing.append((rule.endpoint, method, rule.rule))
    assert not missing, f"routes without an authz row: {missing}"


@pytest.mark.jishi_plugins("multistore", "groupbuy")
def test_merchant_cannot_create_on_another_merchants_product(api, world):
    """GB: a merchant creating an activity on another merchant's product gets 404 and nothing is written."""
    from jishi_groupbuy.models import Activity

    before = db.session.scalar(db.select(db.func.count()).select_from(Activity))
    body = _body(Row("x", "POST", "", "seller", body="activity"), world)
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
    body = {"product_id": p.id, "title": "团", "group_size": 2, "time_limit_minutes": 60, "starts_at": now.isoformat(),
            "ends_at": (now + timedelta(days=1)).isoformat(), "skus": [{"sku_id": p.skus[0].id, "group_price": 800}]}
    assert api.post("/groupbuy/activities", json=body).status_code == 401
    assert api.post("/groupbuy/activities", json=body, user=buyer).status_code == 403
    resp = api.post("/groupbuy/activities", json=body, user=admin)
    assert resp.status_code == 201, resp.json
    assert resp.json["seller_id"] is None
    assert api.get("/groupbuy/activities", user=buyer).status_code == 403
    assert api.get(f"/groupbuy/activities/{resp.json['id']}", user=admin).status_code == 200
