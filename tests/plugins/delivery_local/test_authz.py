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
from jishi.testing import authz, flows, principals
from jishi.testing.authz import Row

pytestmark = pytest.mark.jishi_plugins("multistore", "delivery_local")

PRINCIPALS = ("anonymous", "other_buyer", "clerk1", "admin1", "admin2", "platform")
SELLER_OF = {"clerk1": "m1", "admin1": "m1", "admin2": "m2", "platform": "shop"}
BLUEPRINTS = ("delivery_local", "delivery_local_api")
COURIER = {"courier_name": "王师傅", "courier_phone": "13900000001"}


SETTINGS_JSON = {"enabled": False, "radius_m": 3000}
ROWS = [  # access: "public" or "seller:<permission>"
    # seller API
    Row("GET", "/api/v1/seller/local/settings", "seller:settings"),
    Row("PUT", "/api/v1/seller/local/settings", "seller:settings", json=SETTINGS_JSON),
    Row("GET", "/api/v1/seller/local/orders", "seller:orders"),
    Row("POST", "/api/v1/seller/local/orders/{obj}/dispatch", "seller:orders", obj="order", json=COURIER),
    Row("POST", "/api/v1/seller/local/orders/{obj}/deliver", "seller:orders", obj="order"),
    # public API
    Row("GET", "/api/v1/local/slots", "public"),
    # seller console
    Row("GET", "/seller/local/settings", "seller:settings"),
    Row("POST", "/seller/local/settings", "seller:settings", data={"radius_m": "3000"}),
    Row("GET", "/seller/local/orders", "seller:orders"),
    Row("POST", "/seller/local/orders/{obj}/dispatch", "seller:orders", obj="order", data=COURIER),
    Row("POST", "/seller/local/orders/{obj}/deliver", "seller:orders", obj="order"),
]


@dataclass
class World(authz.World):
    sellers: dict = None  # owner -> seller id (None for the shop)

    @property
    def orders(self) -> dict:  # owner -> order id
        return {owner: oid for (_kind, owner), oid in self.objects.items()}


def build_world(factory, ms, ld) -> World:
    offsets = {"m1": 0.001, "m2": 0.002}
    places = {key: {"lat": ld.SHOP[0] + offset, "lng": ld.SHOP[1]} for key, offset in offsets.items()}
    who = principals.standard(factory, multistore=True, merchant_options=places)
    orderer = who["buyer"]
    address = factory.address(orderer, lat=ld.NEAR[0], lng=ld.NEAR[1])
    orders, sellers = {}, {"shop": None}
    ld.setup(None)
    shop_sku = factory.product(name="店铺草莓", price=3000, stock=50).skus[0].id
    items = {"shop": (shop_sku, "shop")}
    for key, m in who.merchants.items():
        ld.setup(m.id, **places[key])
        sellers[key] = m.id
        items[key] = (ms.product(m, name=f"{key}的橙", price=3000, stock=50).skus[0].id, f"seller:{m.id}")
    for owner, (sku, group) in items.items():
        [payment] = flows.place(
            orderer,
            [(sku, 1)],
            address,
            {"delivery": {group: "local"}, "local_slot": {group: ld.tomorrow()}},
            key=f"authz-{owner}",
        )
        ld.pay(payment)
        orders[("order", owner)] = payment.orders[0].id
        assert payment.orders[0].delivery_method == "local"
    return World(who.users, orders, sellers=sellers)


def allowed(row: Row, who: str, owner: str | None) -> bool:
    # the platform admin acts for the shop itself (owner "shop")
    return authz.standard_access(row, who, owner, merchant_of=SELLER_OF)


@pytest.mark.parametrize("row", ROWS, ids=authz.label)
def test_matrix(app, client, api, factory, ms, ld, row: Row):
    """LD: who may call what, on the shop's, their own and another merchant's orders."""
    authz.assert_row(
        row,
        build_world(factory, ms, ld),
        client=client,
        api=api,
        principals=PRINCIPALS,
        owners=("shop", "m1", "m2"),
        allowed=allowed,
    )


def test_every_route_has_a_row(app):
    """LD: a route of the plugin without a row in ROWS fails here."""
    covered = authz.assert_every_route_has_a_row(app, ROWS, blueprints=BLUEPRINTS)
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
