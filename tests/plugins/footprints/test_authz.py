"""footprints authorization (K15): every route × {anonymous, buyer, other
buyer, a merchant's staff, the platform}. Everything is the signed-in
user's own (the principal): any signed-in user may call every route, for
their own footprints only; anonymous is refused (401 on the API, sign-in on
the pages). :func:`test_every_route_has_a_row` fails for a route without a
row."""

from __future__ import annotations

from datetime import datetime

import pytest
from jishi.hookspecs import ProductView
from jishi.testing import authz, principals
from jishi.testing.authz import Row

pytestmark = pytest.mark.jishi_plugins("multistore", "footprints")

PRINCIPALS = ("anonymous", "buyer", "other_buyer", "clerk1", "admin1", "platform")
BLUEPRINTS = ("footprints", "footprints_api")
A = "/api/v1"

ROWS = [
    Row("GET", "/footprints", "signed_in"),
    Row("POST", "/footprints/products/{obj}/remove", "signed_in", obj="product"),
    Row("POST", "/footprints/clear", "signed_in"),
    Row("GET", f"{A}/footprints", "signed_in"),
    Row("DELETE", f"{A}/footprints/products/{{obj}}", "signed_in", obj="product"),
    Row("DELETE", f"{A}/footprints", "signed_in"),
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


def test_a_buyer_s_footprints_are_never_another_s(api, factory):
    """K15: what one buyer opened no other principal reads or forgets (no
    route takes a user id: the same paths answer each their own)."""
    from jishi_footprints import service
    from jishi_multistore import testing as ms

    who = principals.standard(factory, multistore=True)
    tea = ms.product(who.merchants["m1"], name="秘密的茶").id
    service.record([ProductView(who["buyer"].id, tea, datetime(2026, 12, 1, 8, 0, 0))])
    for name in ("other_buyer", "clerk1", "admin1", "platform"):
        body = api.get("/footprints", user=who[name]).json
        assert body["total"] == 0 and "秘密的茶" not in str(body), name
        assert api.delete(f"/footprints/products/{tea}", user=who[name]).status_code == 204
        assert api.delete("/footprints", user=who[name]).status_code == 204
    assert [i["name"] for i in api.get("/footprints", user=who["buyer"]).json["items"]] == ["秘密的茶"]
