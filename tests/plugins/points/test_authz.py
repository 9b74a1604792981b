"""Issue 16 / C7 authorization matrix of the points plugin's routes: the
buyer's points centre and API, the platform console's points pages and the
platform's adjustment API × {anonymous, buyer, other buyer, clerk and
admin of M1, admin of M2, platform staff without and with the ``points``
permission, platform admin}. Denied calls answer 401/403/404 (a page may
send an anonymous visitor to the login page), never data; allowed ones
never 5xx. :func:`test_every_route_has_a_row` fails for a route of the
blueprints below without a row (other parts of issue 16 keep the matrix of
their own blueprints in ``test_authz_<part>.py``).

``access``: ``signed_in`` (every signed-in principal, each seeing only its
own points); ``points`` (platform staff holding the ``points`` permission:
the platform admin and ``points_staff``; plain platform staff hold the
default staff permissions, not this one).
"""

from __future__ import annotations

import pytest
from jishi.testing import authz, principals
from jishi.testing.authz import Row

from .helpers import give

pytestmark = pytest.mark.jishi_plugins("multistore", "points")

PRINCIPALS = (*principals.STANDARD, "staff", "points_staff")
BLUEPRINTS = ("points", "points_console", "points_api")
SECRET = "只给买家看的补偿"

A = "/api/v1"
C = "/console/points"
ROWS = [
    Row("GET", "/account/points", "signed_in"),
    Row("GET", "/account/points?before=999999", "signed_in"),
    Row("GET", f"{C}/", "points"),
    Row("GET", f"{C}/?q=买家", "points"),
    Row("GET", f"{C}/buyers/{{buyer_id}}", "points"),
    Row("POST", f"{C}/buyers/{{buyer_id}}/adjust", "points", data={"points": "5", "reason": "补偿"}),
    Row("GET", f"{C}/report", "points"),
    Row("GET", f"{C}/report.csv", "points"),
    Row("GET", f"{A}/points", "signed_in"),
    Row("GET", f"{A}/points?before=999999", "signed_in"),
    Row(
        "POST",
        f"{A}/platform/points/adjustments",
        "points",
        json={"user_id": "{buyer_id}", "points": 5, "reason": "补偿"},
    ),
]


def expected_allowed(row: Row, who: str, owner: str | None) -> bool:
    if row.access == "signed_in":
        return who != "anonymous"
    if row.access == "points":
        return who in ("platform", "points_staff")
    raise AssertionError(row.access)


def build_world(factory) -> authz.World:
    """The standard principals with merchants M1 and M2, platform staff
    without and with a role holding ``points``; the buyer has points with a
    reason nobody else may see."""
    from jishi import roles
    from jishi.db import commit

    who = principals.standard(factory, multistore=True)
    role = roles.save_role(None, "积分运营", ["points"])
    commit()
    users = dict(who.users)
    users["staff"] = factory.user(role="platform_staff", name="普通员工")
    users["points_staff"] = factory.user(role="platform_staff", staff_role_id=role.id, name="积分员工")
    buyer = users["buyer"]
    from jishi_points import ledger
    from jishi_points.ledger import Post
    from jishi_points.models import ADJUSTED, SOURCE_ADJUSTMENT

    ledger.post(buyer.id, Post(ADJUSTED, SOURCE_ADJUSTMENT, None, delta=10, reason=SECRET))
    give(users["other_buyer"], 3)
    return authz.World(users, {}, values={"buyer_id": buyer.id})


def own_points_only(case, resp, expected):
    """A buyer's page or API shows its own points, never another buyer's."""
    if expected is not True or case.row.method != "GET" or "points" not in case.row.path:
        return []
    if case.row.path.startswith((C,)):
        return []
    body = resp.get_data(as_text=True)
    if (SECRET in body) != (case.who == "buyer"):
        problem = "its own points missing" if case.who == "buyer" else "sees the buyer's points"
        return [f"{case.describe()}: {problem}"]
    return []


@pytest.mark.parametrize("row", ROWS, ids=authz.label)
def test_matrix(app, client, api, factory, row):
    """C7 (issue 16): who may call what on the points plugin's routes."""
    authz.assert_row(
        row,
        build_world(factory),
        client=client,
        api=api,
        principals=PRINCIPALS,
        allowed=expected_allowed,
        check=lambda case, resp, expected: (
            own_points_only(case, resp, expected) + authz.no_data_leaked(case, resp, expected)
        ),
    )


def test_every_route_has_a_row(app):
    """C7 (issue 16): a route of these blueprints without a row above fails here."""
    authz.assert_every_route_has_a_row(app, ROWS, blueprints=BLUEPRINTS)


def test_adjustment_api_needs_the_points_permission(api, factory):
    """C7 (issue 16): the adjustment API asks for ``points``: plain platform staff are refused."""
    from jishi import roles
    from jishi.db import commit

    buyer = factory.user()
    role = roles.save_role(None, "积分运营", ["points"])
    commit()
    body = {"user_id": buyer.id, "points": 5, "reason": "补偿"}
    url = "/platform/points/adjustments"
    assert api.post(url, user=factory.user(role="platform_staff"), json=body).status_code == 403
    holder = factory.user(role="platform_staff", staff_role_id=role.id)
    assert api.post(url, user=holder, json=body).status_code == 201
