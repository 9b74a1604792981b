"""LD: the authorization matrix of every route the plugin adds.

Each row is tried as {anonymous, buyer, clerk of M1, admin of M1, admin of
M2, platform admin} on {the shop's, M1's, M2's} local order (or without an
object). Seller routes take the seller from the principal
(:mod:`jishi.sellers`): the platform admin acts for the shop itself, a
merchant's staff for their merchant; a clerk holds ``orders`` but not
``settings``. Another seller's order answers 404, never data.
:func:`test_every_route_has_a_row` fails for a route without a row.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from jishi.db import db

pytestmark = pytest.mark.jishi_plugins("multistore", "delivery_local")

PRINCIPALS = ("anonymous", "buyer", "clerk1", "admin1", "admin2", "platform")
SELLER_OF = {"clerk1": "m1", "admin1": "m1", "admin2": "m2", "platform": "shop"}
PERMISSIONS = {"clerk1": {"orders", "comments"}}
PREFIXES = ("delivery_local.", "delivery_local_api.")
COURIER = {"courier_name": "王师傅", "courier_phone": "13900000001"}


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    access: str  # "public" or "seller:<permission>"
    obj: bool = False
    json: dict | None = None
    data: dict | None = None

    @property
    def is_api(self) -> bool:
        return self.path.startswith("/api/")


SETTINGS_JSON = {"enabled": False, "radius_m": 3000}
ROWS = [
    # seller API
    Row("GET", "/api/v1/seller/local/settings", "seller:settings"),
    Row("PUT", "/api/v1/seller/local/settings", "seller:settings", json=SETTINGS_JSON),
    Row("GET", "/api/v1/seller/local/orders", "seller:orders"),
    Row("POST", "/api/v1/seller/local/orders/{obj}/dispatch", "seller:orders", obj=True, json=COURIER),
    Row("POST", "/api/v1/seller/local/orders/{obj}/deliver", "seller:orders", obj=True),
    # public API
    Row("GET", "/api/v1/local/slots", "public"),
    # seller console
    Row("GET", "/seller/local/settings", "seller:settings"),
    Row("POST", "/seller/local/settings", "seller:settings", data={"radius_m": "3000"}),
    Row("GET", "/seller/local/orders", "seller:orders"),
    Row("POST", "/seller/local/orders/{obj}/dispatch", "seller:orders", obj=True, data=COURIER),
    Row("POST", "/seller/local/orders/{obj}/deliver", "seller:orders", obj=True),
]


def allowed(row: Row, who: str, owner: str | None) -> bool:
    if row.access == "public":
        return True
    permission = row.access.partition(":")[2]
    if who not in SELLER_OF:
        return False
    if who in PERMISSIONS and permission not in PERMISSIONS[who]:
        return False
    return owner is None or SELLER_OF[who] == owner


@dataclass
class World:
    users: dict
    orders: dict  # owner -> order id
    sellers: dict  # owner -> seller id (None for the shop)


def build_world(factory, ms, ld) -> World:
    from flask import current_app
    from jishi.checkout.service import place_order

    buyer = factory.user(name="买家")
    orderer = factory.user(name="下单人")
    address = factory.address(orderer, lat=ld.NEAR[0], lng=ld.NEAR[1])
    users = {"buyer": buyer, "platform": factory.admin()}
    orders, sellers = {}, {"shop": None}
    ld.setup(None)
    shop_sku = factory.product(name="店铺草莓", price=3000, stock=50).skus[0].id
    items = {"shop": (shop_sku, "shop")}
    for key, offset in (("m1", 0.001), ("m2", 0.002)):
        m = ms.merchant(f"商户{key}", lat=ld.SHOP[0] + offset, lng=ld.SHOP[1])
        if key == "m1":
            users["admin1"], users["clerk1"] = ms.admin_of(m), ms.clerk(m)
        else:
            users["admin2"] = ms.admin_of(m)
        ld.setup(m.id, lat=ld.SHOP[0] + offset, lng=ld.SHOP[1])
        sellers[key] = m.id
        items[key] = (ms.product(m, name=f"{key}的橙", price=3000, stock=50).skus[0].id, f"seller:{m.id}")
    for owner, (sku, group) in items.items():
        with current_app.test_request_context("/"):
            [payment] = place_order(orderer, [(sku, 1)], address.id, {"delivery": {group: "local"}, "local_slot": {group: ld.tomorrow()}},
                                    idempotency_key=f"authz-{owner}")
        ld.pay(payment)
        orders[owner] = payment.orders[0].id
        assert payment.orders[0].delivery_method == "local"
    return World(users, orders, sellers)


def _call(client, api, row: Row, path: str, who: str, world: World):
    user = world.users.get(who)
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


def _denied(resp, row: Row, who: str) -> bool:
    if resp.status_code in (401, 403, 404):
        return True
    if not row.is_api and who == "anonymous" and resp.status_code in (302, 303):
        return "/login" in resp.headers.get("Location", "")
    return False


def _label(row: Row) -> str:
    return f"{row.method} {row.path}"


@pytest.mark.parametrize("row", ROWS, ids=_label)
def test_matrix(app, client, api, factory, ms, ld, row: Row):
    """LD: who may call what, on the shop's, their own and another merchant's orders."""
    world = build_world(factory, ms, ld)
    owners = ("shop", "m1", "m2") if row.obj else (None,)
    cases = [(who, owner) for who in PRINCIPALS for owner in owners]
    cases.sort(key=lambda c: allowed(row, *c))  # denied calls first: allowed ones change the world
    failures = []
    for who, owner in cases:
        path = row.path.format(obj=world.orders[owner]) if row.obj else row.path
        resp = _call(client, api, row, path, who, world)
        db.session.rollback()
        ok = allowed(row, who, owner)
        if resp.status_code >= 500:
            failures.append(f"{who} on {owner}: {resp.status_code}")
        elif ok and _denied(resp, row, who):
            failures.append(f"{who} on {owner}: expected access, got {resp.status_code}")
        elif not ok and not _denied(resp, row, who):
            failures.append(f"{who} on {owner}: expected 401/403/404, got {resp.status_code}")
    assert not failures, f"{_label(row)} ({row.access}):\n" + "\n".join(failures)


def test_every_route_has_a_row(app):
    """LD: a route of the plugin without a row in ROWS fails here."""
    adapter = app.url_map.bind("shop.test")
    covered = set()
    for row in ROWS:
        rule, _args = adapter.match(row.path.format(obj=1), method=row.method, return_rule=True)
        covered.add((rule.rule, row.method))
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(PREFIXES):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if (rule.rule, method) not in covered:
                missing.append(f"{method} {rule.rule} ({rule.endpoint})")
    assert not missing, "routes without a row in tests/plugins/delivery_local/test_authz.py:\n" + "\n".join(missing)
    assert len(covered) == len(ROWS)


def test_each_seller_reads_and_lists_only_its_own(api, factory, ms, ld):
    """LD: settings and order lists come from the principal: each seller sees
    its own (the other merchant's ids never appear)."""
    world = build_world(factory, ms, ld)
    for who, owner in SELLER_OF.items():
        user = world.users[who]
        listed = api.get("/seller/local/orders", user=user).json["items"]
        assert [i["order_id"] for i in listed] == [world.orders[owner]], who
        if who != "clerk1":
            lat = api.get("/seller/local/settings", user=user).json["lat"]
            expected = {"shop": ld.SHOP[0], "m1": ld.SHOP[0] + 0.001, "m2": ld.SHOP[0] + 0.002}[owner]
            assert lat == pytest.approx(expected), who
    # admin2 writes its own settings only
    tiers = [{"max_distance_m": 1000, "fee": 300}, {"max_distance_m": 1234, "fee": 600}]
    resp = api.put("/seller/local/settings", json=ld.settings(radius_m=1234, tiers=tiers), user=world.users["admin2"])
    assert resp.status_code == 200, resp.json
    from jishi_delivery_local import service

    assert service.config_for(world.sellers["m2"]).radius_m == 1234
    assert service.config_for(world.sellers["m1"]).radius_m == 5000
    assert service.config_for(None).radius_m == 5000
