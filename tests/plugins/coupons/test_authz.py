"""CP authorization: every route of the plugin × {anonymous, buyer, clerk of
M1, admin of M1, admin of M2, platform admin} × {own object, the other's
object}. Denied calls answer 401/403/404 (a page may redirect an anonymous
visitor to the login page), never data; allowed ones never 5xx.
:func:`test_every_route_has_a_row` fails for a route without a row.

``access``: ``public``; ``signed_in``; ``seller`` (the platform or a merchant
admin — clerks hold neither ``products`` nor ``settings``; on an object only
its own seller's staff); ``owner`` (the buyer who holds the coupon).
Objects: ``template`` / ``activity`` of M1 and M2; ``coupon``: "m1" is the
buyer's own user coupon, "m2" another buyer's.
"""

from __future__ import annotations

import pytest
from jishi.testing import authz, principals
from jishi.testing.authz import Row

from .helpers import activity, give, template

pytestmark = pytest.mark.jishi_plugins("multistore", "coupons")

PRINCIPALS = ("anonymous", "buyer", "clerk1", "admin1", "admin2", "platform")
BLUEPRINTS = ("coupons", "coupons_seller", "coupons_api")

A = "/api/v1"
ROWS = [
    Row("GET", "/coupons", "public"),
    Row("POST", "/coupons/{obj}/claim", "signed_in", obj="template"),
    Row("GET", "/account/coupons", "signed_in"),
    Row("GET", "/seller/coupons/", "seller"),
    Row("GET", "/seller/coupons/new", "seller"),
    Row("POST", "/seller/coupons/new", "seller", data={"name": ""}),
    Row("GET", "/seller/coupons/activities/new", "seller"),
    Row("POST", "/seller/coupons/activities/new", "seller", data={"name": ""}),
    Row("POST", "/seller/coupons/{obj}/stop", "seller", obj="template"),
    Row("POST", "/seller/coupons/activities/{obj}/stop", "seller", obj="activity"),
    Row("GET", f"{A}/coupons", "public"),
    Row("POST", f"{A}/coupons/{{obj}}/claim", "signed_in", obj="template"),
    Row("GET", f"{A}/me/coupons", "signed_in"),
    Row("GET", f"{A}/me/coupons/{{obj}}", "owner", obj="coupon"),
    Row("GET", f"{A}/coupons/checkout-options", "signed_in"),
    Row("POST", f"{A}/coupons/checkout-options", "signed_in", json={"options": {"coupons": []}}),
    Row("GET", f"{A}/seller/coupons/templates", "seller"),
    Row("POST", f"{A}/seller/coupons/templates", "seller", json={"name": "x"}),
    Row("POST", f"{A}/seller/coupons/templates/{{obj}}/stop", "seller", obj="template"),
    Row("GET", f"{A}/seller/coupons/activities", "seller"),
    Row("POST", f"{A}/seller/coupons/activities", "seller", json={"name": "x"}),
    Row("POST", f"{A}/seller/coupons/activities/{{obj}}/stop", "seller", obj="activity"),
]


def expected_allowed(row: Row, who: str, owner: str | None) -> bool:
    if row.access == "public":
        return True
    if row.access == "signed_in":
        return who != "anonymous"
    if row.access == "owner":
        return who == "buyer" and owner == "m1"
    if row.access == "seller":
        if owner is None:
            return who in ("admin1", "admin2", "platform")
        return (who, owner) in (("admin1", "m1"), ("admin2", "m2"))
    raise AssertionError(row.access)


def build_world(factory) -> authz.World:
    """M1's and M2's templates and activities; the buyer holds M1's coupon,
    the other buyer M2's."""
    who = principals.standard(factory, multistore=True)
    objects = {}
    for key, m in who.merchants.items():
        t = template(m.id, name=f"{key}券", total_quantity=1000, per_user_limit=100)
        objects[("template", key)] = t.id
        objects[("activity", key)] = activity(m.id, name=f"{key}满减").id
        objects[("coupon", key)] = give(who["buyer" if key == "m1" else "other_buyer"], t).id
    return authz.World(who.users, objects)


@pytest.mark.parametrize("row", ROWS, ids=authz.label)
def test_matrix(app, client, api, factory, row):
    """CP: who may call what, on own and other sellers' (buyers') objects."""
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
    """CP: a route of the plugin without a row above fails here."""
    authz.assert_every_route_has_a_row(app, ROWS, blueprints=BLUEPRINTS)


def test_platform_stops_only_platform_coupons(api, factory, ms):
    """CP: the platform stops its own coupons; a merchant's id is 404 for it,
    and the platform's coupon id is 404 for a merchant admin."""
    m = ms.merchant()
    mine = template(None, name="平台券")
    theirs = template(m.id, name="店券")
    admin = factory.admin()
    assert api.post(f"/seller/coupons/templates/{theirs.id}/stop", user=admin).status_code == 404
    assert api.post(f"/seller/coupons/templates/{mine.id}/stop", user=ms.admin_of(m)).status_code == 404
    r = api.post(f"/seller/coupons/templates/{mine.id}/stop", user=admin)
    assert r.status_code == 200 and r.json["status"] == "stopped"
