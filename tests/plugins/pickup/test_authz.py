"""PU6 (authorization): every route of the pickup plugin × {anonymous, a
buyer, the orders' buyer, clerk of M1, admin of M1, admin of M2, platform
admin} × {M1's, M2's, the shop's own object}, with multistore on and off.

Denied calls answer 401/403/404 (a page may redirect an anonymous visitor
to the login page), never data; allowed calls never 401/403/404 nor 5xx.
:func:`test_every_route_has_a_row` fails for a route of the plugin without
a row here.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from jishi.db import db

PRINCIPALS = ("anonymous", "buyer", "orderer", "clerk1", "admin1", "admin2", "platform")
PLUGIN_ENDPOINT_PREFIXES = ("pickup.", "pickup_api.")


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    access: str  # "seller:<permission>" or "orderer" (the order's buyer)
    obj: str | None = None  # "point", "order" or "code" (substituted for {obj})
    json: dict | None = None
    data: dict | None = None

    @property
    def is_api(self) -> bool:
        return self.path.startswith("/api/")


POINT = {"name": "新店", "address": "某路 1 号", "hours": "9-18", "phone": "123"}
ROWS = [
    # Seller API: points (settings), verify (orders).
    Row("GET", "/api/v1/seller/pickup/points", "seller:settings"),
    Row("POST", "/api/v1/seller/pickup/points", "seller:settings", json=POINT),
    Row("GET", "/api/v1/seller/pickup/points/{obj}", "seller:settings", "point"),
    Row("PUT", "/api/v1/seller/pickup/points/{obj}", "seller:settings", "point", json={"hours": "10-20"}),
    Row("DELETE", "/api/v1/seller/pickup/points/{obj}", "seller:settings", "point"),
    Row("POST", "/api/v1/seller/pickup/verify", "seller:orders", "code", json={"code": "{obj}"}),
    # Buyer API.
    Row("GET", "/api/v1/orders/{obj}/pickup", "orderer", "order"),
    Row("GET", "/api/v1/orders/{obj}/pickup/qr.svg", "orderer", "order"),
    # Seller pages.
    Row("GET", "/seller/pickup/points", "seller:settings"),
    Row("POST", "/seller/pickup/points", "seller:settings", data=POINT),
    Row("GET", "/seller/pickup/points/{obj}", "seller:settings", "point"),
    Row("POST", "/seller/pickup/points/{obj}", "seller:settings", "point", data={**POINT, "is_active": "1"}),
    Row("POST", "/seller/pickup/points/{obj}/delete", "seller:settings", "point"),
    Row("GET", "/seller/pickup/verify", "seller:orders"),
    Row("POST", "/seller/pickup/verify", "seller:orders", "code", data={"code": "{obj}"}),
    # The buyer's QR image.
    Row("GET", "/orders/{obj}/pickup/qr.svg", "orderer", "order"),
]

CLERK_PERMISSIONS = {"orders", "comments"}


@dataclass
class World:
    multistore: bool
    users: dict
    objects: dict  # (kind, owner) -> id or code
    owners: tuple

    def seller_of(self, who):
        if who == "platform":
            return "shop"
        if self.multistore:
            return {"clerk1": "m1", "admin1": "m1", "admin2": "m2"}.get(who)
        return None


def expected_allowed(world: World, row: Row, who: str, owner: str | None) -> bool:
    if row.access == "orderer":
        return who == "orderer"
    permission = row.access.partition(":")[2]
    seller = world.seller_of(who)
    if seller is None:
        return False
    if who == "clerk1" and permission not in CLERK_PERMISSIONS:
        return False
    return owner is None or owner == seller


def build_world(factory, pk, multistore: bool) -> World:
    users = {"buyer": factory.user(name="路人"), "orderer": factory.user(name="下单人"), "platform": factory.admin()}
    sellers = {"shop": (None, factory.product(price=1200, stock=50))}
    if multistore:
        from jishi_multistore import testing as ms

        for key in ("m1", "m2"):
            m = ms.merchant(f"商户{key}")
            sellers[key] = (m.id, ms.product(m, price=2000, stock=50))
            if key == "m1":
                users["admin1"], users["clerk1"] = ms.admin_of(m), ms.clerk(m)
            else:
                users["admin2"] = ms.admin_of(m)
    else:
        users.update(admin1=factory.user(), clerk1=factory.user(), admin2=factory.user())
    objects = {}
    for key, (seller_id, product) in sellers.items():
        pt = pk.point(seller_id, name=f"{key}门店")
        order, code = pk.paid_pickup_order(factory, seller_id=seller_id, buyer=users["orderer"], product=product, pt=pt)
        objects[("point", key)] = pt.id
        objects[("order", key)] = order.id
        objects[("code", key)] = code.code
    return World(multistore, users, objects, tuple(sellers))


def _fill(value, obj):
    if isinstance(value, dict):
        return {k: _fill(v, obj) for k, v in value.items()}
    return str(obj) if value == "{obj}" else value


def _call(client, api, row: Row, path: str, who: str, world: World, obj):
    user = world.users.get(who)
    if row.is_api:
        return api.call(row.method, path, user=user, json=_fill(row.json, obj) if row.json else None)
    with client.session_transaction() as sess:
        sess.clear()
        if user is not None:
            sess["_user_id"] = user.get_id()
            sess["_fresh"] = True
    if row.method == "GET":
        return client.get(path)
    return client.open(path, method=row.method, data=_fill(row.data or {}, obj))


def _denied(resp, row: Row, who: str) -> bool:
    if resp.status_code in (401, 403, 404):
        return True
    if not row.is_api and who == "anonymous" and resp.status_code in (302, 303):
        return "/login" in resp.headers.get("Location", "")
    return False


def _label(row: Row) -> str:
    return f"{row.method} {row.path}"


@pytest.mark.parametrize("app_plugins", [["pickup"], ["multistore", "pickup"]], ids=["single", "multistore"])
@pytest.mark.parametrize("row", ROWS, ids=_label)
def test_matrix(app, app_plugins, client, api, factory, pk, row: Row):
    """PU6/MS17: who may call what, own and other sellers' objects."""
    world = build_world(factory, pk, "multistore" in app_plugins)
    owners = world.owners if row.obj else (None,)
    cases = [(who, owner) for who in PRINCIPALS for owner in owners]
    cases.sort(key=lambda c: expected_allowed(world, row, *c))  # denied first: allowed ones change the world
    failures = []
    for who, owner in cases:
        obj = world.objects[(row.obj, owner)] if row.obj else None
        path = row.path.replace("{obj}", str(obj)) if row.obj and "{obj}" in row.path else row.path
        resp = _call(client, api, row, path, who, world, obj)
        db.session.rollback()
        allowed = expected_allowed(world, row, who, owner)
        if resp.status_code >= 500:
            failures.append(f"{who} on {owner}'s object: {resp.status_code}")
        elif allowed and _denied(resp, row, who):
            failures.append(f"{who} on {owner}'s object: expected access, got {resp.status_code}")
        elif not allowed and not _denied(resp, row, who):
            failures.append(f"{who} on {owner}'s object: expected 401/403/404, got {resp.status_code}")
        if not allowed and row.obj == "code" and resp.status_code == 404 and row.is_api:
            assert resp.json["code"] in ("wrong_code", "not_found", "forbidden", "unauthorized"), resp.json
    assert not failures, f"{_label(row)} ({row.access}):\n" + "\n".join(failures)


@pytest.mark.jishi_plugins("multistore", "pickup")
def test_every_route_has_a_row(app):
    """PU6: a route of the plugin without a row above fails here."""
    adapter = app.url_map.bind("shop.test")
    covered = set()
    for row in ROWS:
        rule, _args = adapter.match(row.path.replace("{obj}", "1"), method=row.method, return_rule=True)
        covered.add((rule.rule, row.method))
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(PLUGIN_ENDPOINT_PREFIXES):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if (rule.rule, method) not in covered:
                missing.append(f"{method} {rule.rule} ({rule.endpoint})")
    assert not missing, "pickup routes without a row in tests/plugins/pickup/test_authz.py:\n" + "\n".join(missing)
    assert len(covered) == len(ROWS)


@pytest.mark.jishi_plugins("multistore", "pickup")
def test_point_list_shows_own_points_only(app, api, factory, pk):
    """PU1/MS17: each seller's list holds its own points only."""
    world = build_world(factory, pk, True)
    for who, owner in (("admin1", "m1"), ("admin2", "m2"), ("platform", "shop")):
        resp = api.get("/seller/pickup/points", user=world.users[who])
        assert [p["id"] for p in resp.json["items"]] == [world.objects[("point", owner)]], who
