"""PU6 (authorization): every route of the pickup plugin × {anonymous, a
buyer, the orders' buyer, clerk of M1, admin of M1, admin of M2, platform
admin} × {M1's, M2's, the shop's own object}, with multistore on and off.

Denied calls answer 401/403/404 (a page may redirect an anonymous visitor
to the login page), never data; allowed calls never 401/403/404 nor 5xx.
:func:`test_every_route_has_a_row` fails for a route of the plugin without
a row here.
"""

from __future__ import annotations

import pytest
from jishi.testing import authz, principals
from jishi.testing.authz import Row

PRINCIPALS = ("anonymous", "other_buyer", "buyer", "clerk1", "admin1", "admin2", "platform")
BLUEPRINTS = ("pickup", "pickup_api")


# access: "seller:<permission>" or "buyer" (the order's buyer); obj: "point",
# "order" or "code" (substituted for {obj})
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
    Row("GET", "/api/v1/orders/{obj}/pickup", "buyer", "order"),
    Row("GET", "/api/v1/orders/{obj}/pickup/qr.svg", "buyer", "order"),
    # Seller pages.
    Row("GET", "/seller/pickup/points", "seller:settings"),
    Row("POST", "/seller/pickup/points", "seller:settings", data=POINT),
    Row("GET", "/seller/pickup/points/{obj}", "seller:settings", "point"),
    Row("POST", "/seller/pickup/points/{obj}", "seller:settings", "point", data={**POINT, "is_active": "1"}),
    Row("POST", "/seller/pickup/points/{obj}/delete", "seller:settings", "point"),
    Row("GET", "/seller/pickup/verify", "seller:orders"),
    Row("POST", "/seller/pickup/verify", "seller:orders", "code", data={"code": "{obj}"}),
    # The buyer's QR image.
    Row("GET", "/orders/{obj}/pickup/qr.svg", "buyer", "order"),
]


class World(authz.World):
    def seller_of(self) -> dict:
        """principal -> the seller it works for ("shop": the platform)."""
        return {"platform": "shop", **(principals.MERCHANT_OF if self.values["multistore"] else {})}

    @property
    def owners(self) -> tuple:
        return ("shop", "m1", "m2") if self.values["multistore"] else ("shop",)


def build_world(factory, pk, multistore: bool) -> World:
    from jishi_multistore import testing as ms

    who = principals.standard(factory, multistore=multistore)
    sellers = {"shop": (None, factory.product(price=1200, stock=50))}
    for key, m in who.merchants.items():
        sellers[key] = (m.id, ms.product(m, price=2000, stock=50))
    objects = {}
    for key, (seller_id, product) in sellers.items():
        pt = pk.point(seller_id, name=f"{key}门店")
        order, code = pk.paid_pickup_order(factory, seller_id=seller_id, buyer=who["buyer"], product=product, pt=pt)
        objects[("point", key)] = pt.id
        objects[("order", key)] = order.id
        objects[("code", key)] = code.code
    return World(who.users, objects, {"multistore": multistore})


def expected_allowed(world: World, row: Row, who: str, owner: str | None) -> bool:
    return authz.standard_access(row, who, owner, merchant_of=world.seller_of())


def wrong_code_answer(case, resp, expected):
    """A refused code answers with a known error code, never the order."""
    if expected is False and case.row.obj == "code" and resp.status_code == 404 and case.row.is_api:
        assert resp.json["code"] in ("wrong_code", "not_found", "forbidden", "unauthorized"), resp.json


@pytest.mark.parametrize("app_plugins", [["pickup"], ["multistore", "pickup"]], ids=["single", "multistore"])
@pytest.mark.parametrize("row", ROWS, ids=authz.label)
def test_matrix(app, app_plugins, client, api, factory, pk, row: Row):
    """PU6/MS17: who may call what, own and other sellers' objects."""
    world = build_world(factory, pk, "multistore" in app_plugins)
    authz.assert_row(
        row,
        world,
        client=client,
        api=api,
        principals=PRINCIPALS,
        owners=world.owners,
        allowed=lambda *case: expected_allowed(world, *case),
        check=wrong_code_answer,
    )


@pytest.mark.jishi_plugins("multistore", "pickup")
def test_every_route_has_a_row(app):
    """PU6: a route of the plugin without a row above fails here."""
    covered = authz.assert_every_route_has_a_row(app, ROWS, blueprints=BLUEPRINTS)
    assert len(covered) == len(ROWS)


@pytest.mark.jishi_plugins("multistore", "pickup")
def test_point_list_shows_own_points_only(app, api, factory, pk):
    """PU1/MS17: each seller's list holds its own points only."""
    world = build_world(factory, pk, True)
    for who, owner in (("admin1", "m1"), ("admin2", "m2"), ("platform", "shop")):
        resp = api.get("/seller/pickup/points", user=world.users[who])
        assert [p["id"] for p in resp.json["items"]] == [world.objects[("point", owner)]], who
