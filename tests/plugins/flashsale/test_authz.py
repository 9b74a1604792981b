"""FS: the authorization matrix for every route the flashsale plugin adds.

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

from . import helpers as fs

PRINCIPALS = ("anonymous", "buyer", "clerk1", "admin1", "admin2", "platform")
MERCHANT_OF = {"clerk1": "m1", "admin1": "m1", "admin2": "m2"}


@dataclass(frozen=True)
class Row:
    endpoint: str
    method: str
    path: str  # formatted with the world: {a1}, {p1}, {sku1}
    access: str  # public, signed_in, seller (products permission, own objects), ticket_owner
    body: str = ""
    own_object: bool = True  # the path names M1's object (admin2 must not reach it)


ROWS = [
    # JSON API
    Row("flashsale_api.listing", "GET", "/api/v1/flashsale/activities", "public"),
    Row("flashsale_api.product_offer", "GET", "/api/v1/flashsale/products/{p1}", "public"),
    Row("flashsale_api.buy", "POST", "/api/v1/flashsale/buy", "signed_in", body="buy"),
    # a ticket is its buyer's only: with the queue off (here) nobody has one;
    # with it on, tests/plugins/flashsale/test_queue.py::test_ticket_is_the_buyers_own
    Row("flashsale_api.ticket", "GET", "/api/v1/flashsale/tickets/{ticket}", "ticket_owner"),
    Row("flashsale_api.activities", "GET", "/api/v1/flashsale/seller/activities", "seller", own_object=False),
    Row("flashsale_api.activity_create", "POST", "/api/v1/flashsale/seller/activities", "seller", body="activity"),
    Row("flashsale_api.activity_get", "GET", "/api/v1/flashsale/seller/activities/{a1}", "seller"),
    Row("flashsale_api.activity_update", "PUT", "/api/v1/flashsale/seller/activities/{a1}", "seller", body="activity_update"),
    # web pages
    Row("flashsale.listing", "GET", "/flashsale", "public"),
    Row("flashsale.buy", "POST", "/flashsale/buy", "signed_in", body="web_buy"),
    Row("flashsale.checkout", "GET", "/flashsale/checkout?sku_id={sku1}&quantity=1", "signed_in"),
    Row("flashsale.checkout_place", "POST", "/flashsale/checkout", "signed_in", body="web_place"),
    Row("flashsale.activities", "GET", "/seller/flashsale/activities", "seller", own_object=False),
    Row("flashsale.activity_new", "GET", "/seller/flashsale/activities/new?product_id={p1}", "seller"),
    Row("flashsale.activity_new", "POST", "/seller/flashsale/activities/new", "seller", body="web_activity"),
    Row("flashsale.activity", "GET", "/seller/flashsale/activities/{a1}", "seller"),
    Row("flashsale.activity", "POST", "/seller/flashsale/activities/{a1}", "seller", body="web_activity"),
]


def allowed(row: Row, who: str) -> bool:
    if row.access == "public":
        return True
    if row.access == "signed_in":
        return who != "anonymous"
    if row.access == "ticket_owner":
        return False
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
    a1 = fs.activity(p1, stock=1000, per_user=0, platform=False, title="M1-ACT-SECRET")
    a2 = fs.activity(p2, stock=1000, per_user=0, platform=False, title="M2-ACT-SECRET")
    users = {
        "buyer": fs.buyer(factory),
        "clerk1": ms.clerk(m1),
        "admin1": ms.admin_of(m1),
        "admin2": ms.admin_of(m2),
        "platform": factory.admin(),
    }
    for u in users.values():
        if not db.session.execute(db.text("select 1 from addresses where user_id = :u"), {"u": u.id}).first():
            factory.address(u)
    return {"m1": m1, "m2": m2, "p1": p1.id, "p2": p2.id, "a1": a1.id, "a2": a2.id, "sku1": p1.skus[0].id, "ticket": "0" * 32, "users": users}


_windows = itertools.count(40, 2)


def _body(row: Row, w: dict, who: str) -> dict | None:
    now = utcnow()
    day = next(_windows)
    if row.body in ("activity", "activity_update"):
        body = {
            "title": "新秒杀", "per_user_limit": 1,
            "starts_at": (now + timedelta(days=day)).isoformat(), "ends_at": (now + timedelta(days=day + 1)).isoformat(),
            "skus": [{"sku_id": w["sku1"], "flash_price": 500, "stock": 5}],
        }
        if row.body == "activity":
            body["product_id"] = w["p1"]
        return body
    if row.body == "web_activity":
        return {
            "action": "save", "product_id": str(w["p1"]), "title": "新秒杀", "per_user_limit": "1",
            "starts_at": f"{2030 + day}-01-01T10:00", "ends_at": f"{2030 + day}-01-02T10:00", "enabled": "1",
            f"price-{w['sku1']}": "5.00", f"stock-{w['sku1']}": "5",
        }
    if row.body == "buy":
        user = w["users"].get(who)
        return {"sku_id": w["sku1"], "quantity": 1, "address_id": fs.address_id(user) if user else None}
    if row.body == "web_buy":
        return {"sku_id": str(w["sku1"]), "quantity": "1"}
    if row.body == "web_place":
        return {"sku_id": str(w["sku1"]), "quantity": "1", "action": "refresh"}
    return None


def _call(client, api, row: Row, w: dict, who: str):
    path = row.path.format(**{k: v for k, v in w.items() if k not in ("users", "m1", "m2")})
    user = w["users"].get(who)
    body = _body(row, w, who)
    if path.startswith("/api/"):
        return api.call(row.method, path, user=user, json=body, headers={"Idempotency-Key": f"authz-{who}-{next(_windows)}"})
    client.get("/logout")
    if user is not None:
        resp = client.post("/login", data={"phone": user.phone, "password": "secret123"})
        assert resp.status_code in (302, 303)
    return client.open(path, method=row.method, data=body)


@pytest.mark.jishi_plugins("multistore", "flashsale")
@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r.method} {r.endpoint}")
def test_authz_matrix(client, api, world, row):
    """FS / K15: each principal gets exactly its rights on every plugin route; other merchants' ids never give data."""
    for who in PRINCIPALS:
        resp = _call(client, api, row, world, who)
        text = resp.get_data(as_text=True)
        assert resp.status_code < 500, (who, resp.status_code, text[:300])
        if allowed(row, who):
            assert resp.status_code < 400, (who, resp.status_code, text[:300])
            if row.endpoint.endswith(".activities") and row.method == "GET":
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


@pytest.mark.jishi_plugins("multistore", "flashsale")
def test_every_route_has_a_row(app):
    """FS: a route of the plugin without an authorization row fails here."""
    have = {(r.endpoint, r.method) for r in ROWS}
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(("flashsale.", "flashsale_api.")):
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if (rule.endpoint, method) not in have:
                missing.append((rule.endpoint, method, rule.rule))
    assert not missing, f"routes without an authz row: {missing}"


@pytest.mark.jishi_plugins("multistore", "flashsale")
def test_merchant_cannot_touch_another_merchants_activity(api, world):
    """FS: admin of M2 with M1's product and activity ids gets 404 and nothing changes; the platform may, the activity then belongs to M1."""
    from jishi_flashsale.models import Activity

    before = db.session.scalar(db.select(db.func.count()).select_from(Activity))
    body = _body(Row("x", "POST", "", "seller", body="activity"), world, "admin2")
    resp = api.post("/flashsale/seller/activities", json=body, user=world["users"]["admin2"])
    assert resp.status_code == 404 and resp.json["field"] == "product_id", resp.json
    assert db.session.scalar(db.select(db.func.count()).select_from(Activity)) == before
    upd = _body(Row("x", "PUT", "", "seller", body="activity_update"), world, "admin2")
    resp = api.put(f"/flashsale/seller/activities/{world['a1']}", json=upd, user=world["users"]["admin2"])
    assert resp.status_code == 404
    db.session.expire_all()
    assert db.session.get(Activity, world["a1"]).title == "M1-ACT-SECRET"
    resp = api.post("/flashsale/seller/activities", json=body, user=world["users"]["platform"])
    assert resp.status_code == 201, resp.json
    assert resp.json["seller_id"] == world["m1"].id and resp.json["created_by_platform"] is True
    # a merchant's own activity records the merchant
    resp = api.post("/flashsale/seller/activities", json={**body, "starts_at": (utcnow() + timedelta(days=900)).isoformat(),
                                                          "ends_at": (utcnow() + timedelta(days=901)).isoformat()},
                    user=world["users"]["admin1"])
    assert resp.status_code == 201 and resp.json["seller_id"] == world["m1"].id and resp.json["created_by_platform"] is False


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
    body = {"product_id": p.id, "title": "秒杀", "per_user_limit": 1, "starts_at": now.isoformat(),
            "ends_at": (now + timedelta(days=1)).isoformat(), "skus": [{"sku_id": p.skus[0].id, "flash_price": 800, "stock": 3}]}
    assert api.post("/flashsale/seller/activities", json=body).status_code == 401
    assert api.post("/flashsale/seller/activities", json=body, user=buyer).status_code == 403
    resp = api.post("/flashsale/seller/activities", json=body, user=admin)
    assert resp.status_code == 201, resp.json
    assert resp.json["seller_id"] is None and resp.json["state"] == "running"
    assert api.get("/flashsale/seller/activities", user=buyer).status_code == 403
    assert api.get(f"/flashsale/seller/activities/{resp.json['id']}", user=admin).status_code == 200
    assert fs.buy_api(api, buyer, p.skus[0].id).status_code == 201
