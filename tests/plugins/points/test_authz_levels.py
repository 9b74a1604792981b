"""C7 / issue 16 "Surfaces": the authorization matrix of the member level
routes: the buyer's ``GET /api/v1/points/level`` (every signed-in principal,
each sees their own) and the platform's ladder at ``/console/points/levels``
(platform staff with ``marketing``: here the platform admin only). Each row
is tried, with multistore on, as {anonymous, buyer, another buyer, clerk of
M1, admins of M1 and M2, platform admin}; denied calls answer 401/403/404
(or the login page), never data; a route of the blueprints without a row
fails :func:`test_every_route_has_a_row`."""

from __future__ import annotations

import pytest
from jishi.testing import authz, principals
from jishi.testing.authz import Row

from .helpers import make_ladder

BLUEPRINTS = ("points_levels_api", "points_levels_admin")

ROWS = [
    Row("GET", "/api/v1/points/level", "signed_in"),
    Row("GET", "/console/points/levels", "platform"),
    Row("GET", "/console/points/levels/new", "platform"),
    Row("POST", "/console/points/levels/new", "platform", data={"name": ""}),
    Row("GET", "/console/points/levels/{obj}", "platform", "level"),
    Row("POST", "/console/points/levels/{obj}", "platform", "level", data={"name": ""}),
    Row("POST", "/console/points/levels/{obj}/delete", "platform", "level"),
]


@pytest.mark.jishi_plugins("multistore", "points")
@pytest.mark.parametrize("row", ROWS, ids=authz.label)
def test_matrix(client, api, factory, ms, row):
    """C7: every principal reads its own level; only the platform manages the ladder."""
    who = principals.standard(factory, multistore=True)
    _bottom, silver, gold = make_ladder()
    authz.assert_row(
        row,
        authz.World(who.users, {("level", "m1"): silver.id, ("level", "m2"): gold.id}),
        client=client,
        api=api,
        principals=principals.STANDARD,
        allowed=authz.standard_access,
    )


@pytest.mark.jishi_plugins("multistore", "points")
def test_every_route_has_a_row(app):
    """C7: a member level route without a row fails here."""
    covered = authz.assert_every_route_has_a_row(app, ROWS, blueprints=BLUEPRINTS)
    assert len(covered) == len(ROWS)
