"""K11/K15 (authorization): every route of the reviews API (blueprint
"reviews") × {anonymous, a buyer, another buyer, staff, platform admin}:
the product's reviews are public; a review is posted by the buyer of the
order line only (another principal's line is a 404); a review picture is
uploaded by any signed-in principal, as its own (owner from the signed-in
principal). :func:`test_every_route_has_a_row` fails for a reviews route
without a row."""

from __future__ import annotations

import pytest
from jishi.testing import authz, principals
from jishi.testing.authz import Row

from tests.api.review_helpers import received_lines

PRINCIPALS = ("anonymous", "buyer", "other_buyer", "clerk1", "admin1", "platform")
BLUEPRINTS = ("reviews",)


def _review_body(case) -> dict:
    return {"order_line_id": case.obj, "rating": 5, "content": "authz"}


ROWS = [
    Row("GET", "/api/v1/products/{product}/reviews", "public"),
    Row("POST", "/api/v1/reviews", "own line", "line", json=_review_body),
    # a JSON body has no file: an allowed caller gets 422 (past authorization)
    Row("POST", "/api/v1/reviews/images", "signed_in", json={}),
]


def build_world(factory) -> authz.World:
    who = principals.standard(factory, multistore=False)
    objects = {}
    product = None
    for key in ("buyer", "other_buyer"):
        [line] = received_lines(factory, who.users[key])
        objects[("line", key)] = line.id
        product = line.product_id
    return authz.World(who.users, objects, {"product": product})


def allowed(row: Row, who: str, owner: str | None):
    if row.access == "own line":
        return who == owner
    return authz.standard_access(row, who, owner)


@pytest.mark.parametrize("row", ROWS, ids=authz.label)
def test_matrix(client, api, factory, row: Row):
    """K15: who may read reviews, post one of a line, upload a picture."""
    world = build_world(factory)
    authz.assert_row(
        row,
        world,
        client=client,
        api=api,
        principals=PRINCIPALS,
        owners=("buyer", "other_buyer"),
        allowed=allowed,
        strict=row.method == "POST" and row.obj is not None,
    )


def test_every_route_has_a_row(app):
    """K15: a reviews API route without a row above fails here."""
    covered = authz.assert_every_route_has_a_row(app, ROWS, blueprints=BLUEPRINTS)
    assert len(covered) == len(ROWS)
