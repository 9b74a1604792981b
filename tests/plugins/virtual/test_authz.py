"""C7 (authorization): every route of the virtual plugin × {anonymous, a
buyer, the orders' buyer, clerk of M1, admin of M1, admin of M2, platform
admin} × {M1's, M2's, the shop's own object}, with multistore on and off.

Denied calls answer 401/403/404 (a page may redirect an anonymous visitor
to the login page), never codes; allowed calls never 401/403/404 nor 5xx.
:func:`test_every_route_has_a_row` fails for a route of the plugin without
a row here.
"""

from __future__ import annotations

import pytest
from jishi.testing import authz, flows, principals
from jishi.testing.authz import Row

PRINCIPALS = ("anonymous", "other_buyer", "buyer", "clerk1", "admin1", "admin2", "platform")
BLUEPRINTS = ("virtual", "virtual_api")

ROWS = [
    # Buyer API: the codes of the buyer's own order.
    Row("GET", "/api/v1/orders/{obj}/virtual", "buyer", "order"),
    # Seller API: the seller's own order (permission orders).
    Row("GET", "/api/v1/seller/virtual/orders/{obj}", "seller:orders", "order"),
    Row("POST", "/api/v1/seller/virtual/orders/{obj}/deliver", "seller:orders", "order"),
    # Seller pages: products (permission products), a retried delivery (orders).
    Row("GET", "/seller/virtual/", "seller:products"),
    Row("GET", "/seller/virtual/products/{obj}", "seller:products", "product"),
    Row("POST", "/seller/virtual/products/{obj}", "seller:products", "product", data={"kind": "codes", "content": ""}),
    Row("POST", "/seller/virtual/products/{obj}/codes", "seller:products", "product", data={"codes": "NEW-1\nNEW-2"}),
    Row("POST", "/seller/virtual/products/{obj}/codes/clear", "seller:products", "product", data={"sku_id": ""}),
    Row("POST", "/seller/virtual/orders/{obj}/deliver", "seller:orders", "order"),
]


class World(authz.World):
    def seller_of(self) -> dict:
        """principal -> the seller it works for ("shop": the platform)."""
        return {"platform": "shop", **(principals.MERCHANT_OF if self.values["multistore"] else {})}

    @property
    def owners(self) -> tuple:
        return ("shop", "m1", "m2") if self.values["multistore"] else ("shop",)


def build_world(factory, vg, multistore: bool) -> World:
    from jishi_multistore import testing as ms

    who = principals.standard(factory, multistore=multistore)
    sellers = {"shop": factory.product(name="shop点卡", price=1000, is_virtual=True)}
    for key, m in who.merchants.items():
        sellers[key] = ms.product(m, name=f"{key}点卡", price=2000, is_virtual=True)
    objects = {}
    for key, product in sellers.items():
        # placed before the product had codes: paid short, so "deliver" has work
        [payment] = flows.place(who["buyer"], [(product.skus[0], 1)])
        vg.deliver_by_codes(product)
        flows.pay(payment)
        vg.deliver_by_codes(product, [f"CODE-{key}-1", f"CODE-{key}-2"])
        objects[("product", key)] = product.id
        objects[("order", key)] = payment.orders[0].id
    return World(who.users, objects, {"multistore": multistore})


def expected_allowed(world: World, row: Row, who: str, owner: str | None) -> bool:
    return authz.standard_access(row, who, owner, merchant_of=world.seller_of())


def no_codes_when_denied(case, resp, expected):
    """A refused call never carries a code."""
    if expected is False:
        assert "CODE-" not in resp.get_data(as_text=True), (case, resp.status_code)


@pytest.mark.parametrize("app_plugins", [["virtual"], ["multistore", "virtual"]], ids=["single", "multistore"])
@pytest.mark.parametrize("row", ROWS, ids=authz.label)
def test_matrix(app, app_plugins, client, api, factory, vg, row: Row):
    """C7/MS17: who may call what, own and other sellers' objects."""
    world = build_world(factory, vg, "multistore" in app_plugins)
    authz.assert_row(
        row,
        world,
        client=client,
        api=api,
        principals=PRINCIPALS,
        owners=world.owners,
        allowed=lambda *case: expected_allowed(world, *case),
        check=no_codes_when_denied,
    )


@pytest.mark.jishi_plugins("multistore", "virtual")
def test_every_route_has_a_row(app):
    """C7: a route of the plugin without a row above fails here."""
    covered = authz.assert_every_route_has_a_row(app, ROWS, blueprints=BLUEPRINTS)
    assert len(covered) == len(ROWS)


@pytest.mark.jishi_plugins("multistore", "virtual")
def test_seller_sees_own_products_and_codes_only(app, client, factory, vg):
    """C7/MS17: each seller's virtual goods page lists its own products only;
    another merchant's order page never shows this order's codes."""
    world = build_world(factory, vg, True)
    for who, mine, theirs in (("admin1", "m1", "m2"), ("admin2", "m2", "m1"), ("platform", "shop", "m1")):
        principals.sign_in(client, world.users[who])
        html = client.get("/seller/virtual/").get_data(as_text=True)
        assert f"{mine}点卡" in html and f"{theirs}点卡" not in html, who
