"""C7 authorization for the sign-in (签到) routes of issue 16: every route
of the blueprints ``points_signin`` (web) and ``points_signin_api`` × every
standard principal. Anonymous callers get 401 (API) or are sent to sign in
(pages); every signed-in principal signs in and reads the calendar for
itself only: the account comes from the principal, never the request, so
nobody sees another's days (``other_buyer`` signed in today; nobody else
sees it)."""

from __future__ import annotations

import pytest
from jishi.db import commit
from jishi.testing import authz, principals
from jishi.testing.authz import Row
from jishi_points import signin

pytestmark = pytest.mark.jishi_plugins("multistore", "points")

BLUEPRINTS = ("points_signin", "points_signin_api")
A = "/api/v1"
ROWS = [
    Row("GET", "/account/points/signin", "signed_in"),
    Row("GET", "/account/points/signin?month=2026-01", "signed_in"),
    Row("POST", "/account/points/signin", "signed_in", data={"user_id": "{other}"}),
    Row("GET", f"{A}/points/signin", "signed_in"),
    Row("GET", f"{A}/points/signin?month=2026-01", "signed_in"),
    Row("POST", f"{A}/points/signin", "signed_in", json={"user_id": "{other}"}),
]


def build_world(factory) -> authz.World:
    who = principals.standard(factory, multistore=True)
    other = who["other_buyer"]
    signin.sign_in(other.id)
    commit()
    return authz.World(who.users, {}, values={"other": str(other.id)})


def only_own(case, resp, expected):
    """A signed-in caller's answers are its own: never ``other_buyer``'s sign-in."""
    if expected is not True or case.who == "other_buyer":
        return []
    failures = []
    if case.row.is_api and resp.is_json and resp.status_code < 300:
        data = resp.get_json()
        if data.get("days") or data.get("streak", 0) > 1:
            failures.append(f"{case.describe()}: another buyer's sign-ins shown")
    if case.row.is_api and case.row.method == "GET" and "month" not in case.row.path:
        if resp.get_json().get("signed_today"):
            failures.append(f"{case.describe()}: another buyer's sign-in shown as its own")
    if not case.row.is_api and case.row.method == "GET" and "data-signed=" in resp.get_data(as_text=True):
        failures.append(f"{case.describe()}: another buyer's days on the page")
    return failures


@pytest.mark.parametrize("row", ROWS, ids=authz.label)
def test_matrix(app, client, api, factory, row):
    """C7: signed-in principals only, each on its own sign-ins."""
    authz.assert_row(
        row,
        build_world(factory),
        client=client,
        api=api,
        principals=principals.STANDARD,
        allowed=authz.standard_access,
        check=only_own,
        strict=True,
    )


def test_a_posted_user_id_is_ignored(api, factory):
    """C7: the buyer is the principal: a ``user_id`` in the body signs in the caller, not that user."""
    buyer, other = factory.user(), factory.user()
    assert api.post(f"{A}/points/signin", user=buyer, json={"user_id": other.id}).status_code == 201
    assert api.get(f"{A}/points/signin", user=other).json["signed_today"] is False
    assert api.get(f"{A}/points/signin", user=buyer).json["signed_today"] is True


def test_every_route_has_a_row(app):
    """C7: a sign-in route without a row above fails here."""
    authz.assert_every_route_has_a_row(app, ROWS, blueprints=BLUEPRINTS)
