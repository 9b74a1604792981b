"""favorites authorization (K15): every route × {anonymous, buyer, other
buyer, a merchant's staff, the platform}. Everything is the signed-in
user's own (the principal): any signed-in user may call every route, for
their own favorites only; anonymous is refused (401 on the API, sign-in on
the pages). :func:`test_every_route_has_a_row` fails for a route without a
row."""

from __future__ import annotations

import pytest
from jishi.testing import authz, principals
from jishi.testing.authz import Row

pytestmark = pytest.mark.jishi_plugins("multistore", "favorites")

PRINCIPALS = ("anonymous", "buyer", "other_buyer", "clerk1", "admin1", "platform")
BLUEPRINTS = ("favorites", "favorites_api")
A = "/api/v1"

ROWS = [
    Row("GET", "/favorites", "signed_in"),
    Row("POST", "/favorites/products/{obj}", "signed_in", obj="product", data={"action": "keep"}),
    Row("GET", f"{A}/favorites", "signed_in"),
    Row("GET", f"{A}/favorites/products/{{obj}}", "signed_in", obj="product"),
    Row("PUT", f"{A}/favorites/products/{{obj}}", "signed_in", obj="product"),
    Row("DELETE", f"{A}/favorites/products/{{obj}}", "signed_in", obj="product"),
]


def expected_allowed(row: Row, who: str, owner: str | None) -> bool:
    assert row.access == "signed_in"
    return who != "anonymous"


def build_world(factory) -> authz.World:
    from jishi_multistore import testing as ms

    who = principals.standard(factory, multistore=True)
    objects = {("product", key): ms.product(m, name=f"{key}的茶").id for key, m in who.merchants.items()}
    return authz.World(who.users, objects)


@pytest.mark.parametrize("row", ROWS, ids=authz.label)
def test_matrix(app, client, api, factory, row):
    authz.assert_row(
        row,
        build_world(factory),
        client=client,
        api=api,
        principals=PRINCIPALS,
        allowed=expected_allowed,
        check=authz.no_data_leaked,
    )


def test_every_route_has_a_row(app):
    covered = authz.assert_every_route_has_a_row(app, ROWS, blueprints=BLUEPRINTS)
    assert len(covered) == len(ROWS)


def test_a_buyer_s_favorites_are_never_another_s(api, factory):
    """K15: what one buyer keeps no other principal reads or changes (no
    route takes a user id: the same paths answer each their own)."""
    from jishi_multistore import testing as ms

    who = principals.standard(factory, multistore=True)
    tea = ms.product(who.merchants["m1"], name="秘密的茶").id
    assert api.put(f"/favorites/products/{tea}", user=who["buyer"]).status_code == 201
    for name in ("other_buyer", "clerk1", "admin1", "platform"):
        body = api.get("/favorites", user=who[name]).json
        assert body["total"] == 0 and "秘密的茶" not in str(body), name
        assert api.delete(f"/favorites/products/{tea}", user=who[name]).status_code == 204
    assert api.get(f"/favorites/products/{tea}", user=who["buyer"]).json == {"kept": True}
