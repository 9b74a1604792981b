"""CP authorization: every route of the plugin × {anonymous, buyer, clerk of
M1, admin of M1, admin of M2, platform admin} × {own object, the other's
object}. Denied calls answer 401/403/404 (a page may redirect an anonymous
visitor to the login page), never data; allowed ones never 5xx.
:func:`test_every_route_has_a_row` fails for a route without a row.

``access``: ``public``; ``signed_in``; ``seller`` (the platform or a merchant
admin — clerks hold neither ``products`` nor ``settings``; on an object only
its own seller's staff); ``owner`` (the buyer who holds the coupon).
Objects: ``template`` / ``activity`` of M1 and M2; ``coupon``: "m1" is the
buyer's own user coupon, "m2" another buyer's.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from jishi.db import db

from .helpers import activity, give, template

pytestmark = pytest.mark.jishi_plugins("multistore", "coupons")

PRINCIPALS = ("anonymous", "buyer", "clerk1", "admin1", "admin2", "platform")
PLUGIN_ENDPOINT_PREFIXES = ("coupons.", "coupons_seller.", "coupons_api.")


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    access: str
    obj: str | None = None
    json: dict | None = None
    data: dict | None = None

    @property
    def is_api(self) -> bool:
        return self.path.startswith("/api/")


A = "/api/v1"
ROWS = [
    Row("GET", "/coupons", "public"),
    Row("POST", "/coupons/{obj}/claim", "signed_in", obj="template"),
    Row("GET", "/account/coupons", "signed_in"),
    Row("GET", "/seller/coupons/", "seller"),
    Row("GET", "/seller/coupons/new", "seller"),
    Row("POST", "/seller/coupons/new", "seller", data={"name": ""}),
    Row("GET", "/seller/coupons/activities/new", "seller"),
    Row("POST", "/seller/coupons/activities/new", "seller", data={"name": ""}),
    Row("POST", "/seller/coupons/{obj}/stop", "seller", obj="template"),
    Row("POST", "/seller/coupons/activities/{obj}/stop", "seller", obj="activity"),
    Row("GET", f"{A}/coupons", "public"),
    Row("POST", f"{A}/coupons/{{obj}}/claim", "signed_in", obj="template"),
    Row("GET", f"{A}/me/coupons", "signed_in"),
    Row("GET", f"{A}/me/coupons/{{obj}}", "owner", obj="coupon"),
    Row("GET", f"{A}/coupons/checkout-options", "signed_in"),
    Row("POST", f"{A}/coupons/checkout-options", "signed_in", json={"options": {"coupons": []}}),
    Row("GET", f"{A}/seller/coupons/templates", "seller"),
    Row("POST", f"{A}/seller/coupons/templates", "seller", json={"name": "x"}),
    Row("POST", f"{A}/seller/coupons/templates/{{obj}}/stop", "seller", obj="template"),
    Row("GET", f"{A}/seller/coupons/activities", "seller"),
    Row("POST", f"{A}/seller/coupons/activities", "seller", json={"name": "x"}),
    Row("POST", f"{A}/seller/coupons/activities/{{obj}}/stop", "seller", obj="activity"),
]


def expected_allowed(row: Row, who: str, owner: str | None) -> bool:
    if row.access == "public":
        return True
    if row.access == "signed_in":
        return who != "anonymous"
    if row.access == "owner":
        return who == "buyer" and owner == "m1"
    if row.access == "seller":
        if owner is None:
            return who in ("admin1", "admin2", "platform")
        return (who, owner) in (("admin1", "m1"), ("admin2", "m2"))
    raise AssertionError(row.access)


def build_world(factory, ms):
    buyer, other = factory.user(name="买家"), factory.user(name="别人")
    users = {"buyer": buyer, "platform": factory.admin()}
    objects = {}
    for key in ("m1", "m2"):
        m = ms.merchant(f"商户{key}")
        if key == "m1":
            users["admin1"], users["clerk1"] = ms.admin_of(m), ms.clerk(m)
        else:
            users["admin2"] = ms.admin_of(m)
        t = template(m.id, name=f"{key}券", total_quantity=1000, per_user_limit=100)
        objects[("template", key)] = t.id
        objects[("activity", key)] = activity(m.id, name=f"{key}满减").id
        objects[("coupon", key)] = give(buyer if key == "m1" else other, t).id
    return users, objects


def _call(client, api, row, path, user):
    if row.is_api:
        return api.call(row.method, path, user=user, json=row.json)
    with client.session_transaction() as sess:
        sess.clear()
        if user is not None:
            sess["_user_id"] = user.get_id()
            sess["_fresh"] = True
    if row.method == "GET":
        return client.get(path)
    return client.open(path, method=row.method, data=row.data or {})


def _denied(resp, row, who) -> bool:
    if resp.status_code in (401, 403, 404):
        return True
    return not row.is_api and who == "anonymous" and resp.status_code in (302, 303) and "/login" in resp.headers.get("Location", "")


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r.method} {r.path}")
def test_matrix(app, client, api, factory, ms, row):
    """CP: who may call what, on own and other sellers' (buyers') objects."""
    users, objects = build_world(factory, ms)
    owners = ("m1", "m2") if row.obj else (None,)
    cases = sorted(((w, o) for w in PRINCIPALS for o in owners), key=lambda c: expected_allowed(row, *c))
    failures = []
    for who, owner in cases:
        path = row.path.format(obj=objects[(row.obj, owner)]) if row.obj else row.path
        resp = _call(client, api, row, path, users.get(who))
        db.session.rollback()
        allowed = expected_allowed(row, who, owner)
        if resp.status_code >= 500:
            failures.append(f"{who} on {owner}: {resp.status_code}")
        elif allowed and _denied(resp, row, who):
            failures.append(f"{who} on {owner}: expected access, got {resp.status_code}")
        elif not allowed and not _denied(resp, row, who):
            failures.append(f"{who} on {owner}: expected 401/403/404, got {resp.status_code}")
        if not allowed and row.is_api and resp.is_json and resp.status_code < 300:
            failures.append(f"{who} on {owner}: data leaked")
    assert not failures, f"{row.method} {row.path}:\n" + "\n".join(failures)


def test_every_route_has_a_row(app):
    """CP: a route of the plugin without a row above fails here."""
    adapter = app.url_map.bind("shop.test")
    covered = set()
    for row in ROWS:
        path = row.path.format(obj=1) if row.obj else row.path
        rule, _args = adapter.match(path.split("?")[0], method=row.method, return_rule=True)
        covered.add((rule.rule, row.method))
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(PLUGIN_ENDPOINT_PREFIXES):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if (rule.rule, method) not in covered:
                missing.append(f"{method} {rule.rule} ({rule.endpoint})")
    assert not missing, "routes without a row in tests/plugins/coupons/test_authz.py:\n" + "\n".join(missing)


def test_platform_stops_only_platform_coupons(api, factory, ms):
    """CP: the platform stops its own coupons; a merchant's id is 404 for it,
    and the platform's coupon id is 404 for a merchant admin."""
    m = ms.merchant()
    mine = template(None, name="平台券")
    theirs = template(m.id, name="店券")
    admin = factory.admin()
    assert api.post(f"/seller/coupons/templates/{theirs.id}/stop", user=admin).status_code == 404
    assert api.post(f"/seller/coupons/templates/{mine.id}/stop", user=ms.admin_of(m)).status_code == 404
    r = api.post(f"/seller/coupons/templates/{mine.id}/stop", user=admin)
    assert r.status_code == 200 and r.json["status"] == "stopped"
