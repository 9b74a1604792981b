"""Issue 17 "Proof" (DS) authorization: every route of the plugin ×
{anonymous, buyer, clerk of M1, admin of M1, admin of M2, platform admin}
× {own object, the other's object}. Denied calls answer 401/403/404 (a page
may send an anonymous visitor to the login page), never data; allowed ones
never 5xx. :func:`test_every_route_has_a_row` fails for a route without a
row.

``access``: ``signed_in`` (the promoter centre: always the caller's own;
:func:`only_own` checks a promoter never sees another's commissions or
withdrawals); ``platform`` (the console pages, platform staff with
``marketing`` / ``money``); ``merchant:products`` (merchant staff holding
``products``, on their own merchant's product: opting it in). Objects:
``promoter`` and ``withdrawal``: "m1" the buyer's, "m2" the other
buyer's; ``product``: M1's and M2's.
"""

from __future__ import annotations

import pytest
from jishi.db import commit
from jishi.testing import authz, principals
from jishi.testing.authz import Row
from jishi_distribution import ledger, service
from jishi_distribution import withdrawals as wd

from .helpers import buy, buyer_of, configure

pytestmark = pytest.mark.jishi_plugins("multistore", "distribution")

PRINCIPALS = ("anonymous", "buyer", "clerk1", "admin1", "admin2", "platform")
BLUEPRINTS = ("distribution", "distribution_admin", "distribution_api", "distribution_seller")
A = "/api/v1"
C = "/console/distribution"
ACCOUNT = {"name": "甲", "account": "a@example.com"}

ROWS = [
    Row("GET", "/distribution", "signed_in"),
    Row("POST", "/distribution/apply", "signed_in", data={}),
    Row("POST", "/distribution/withdraw", "signed_in", data={"amount": "1"}),
    Row("GET", "/distribution/poster.png", "signed_in"),
    Row("GET", f"{C}/promoters", "platform"),
    Row("POST", f"{C}/promoters/{{obj}}/freeze", "platform", obj="promoter"),
    Row("GET", f"{C}/commissions", "platform"),
    Row("GET", f"{C}/commissions.csv", "platform"),
    Row("GET", f"{C}/rates", "platform"),
    Row("POST", f"{C}/rates/categories", "platform", data={}),
    Row("POST", f"{C}/rates/products", "platform", data={}),
    Row("GET", f"{C}/report", "platform"),
    Row("GET", f"{C}/withdrawals", "platform"),
    Row("POST", f"{C}/withdrawals/{{obj}}/approve", "platform", obj="withdrawal"),
    Row("GET", "/seller/distribution/", "merchant:products"),
    Row("POST", "/seller/distribution/products/{obj}", "merchant:products", obj="product", data={"enabled": "on"}),
    Row("GET", f"{A}/distribution/me", "signed_in"),
    Row("POST", f"{A}/distribution/apply", "signed_in", json={"answers": {}}),
    Row("POST", f"{A}/distribution/bind", "signed_in", json={"code": "NOPE"}),
    Row("GET", f"{A}/distribution/team", "signed_in"),
    Row("GET", f"{A}/distribution/commissions", "signed_in"),
    Row("GET", f"{A}/distribution/orders", "signed_in"),
    Row("GET", f"{A}/distribution/withdrawals", "signed_in"),
    Row("POST", f"{A}/distribution/withdrawals", "signed_in", json={"amount": 1, "method": "x", "account": {}}),
    Row("GET", f"{A}/distribution/poster", "signed_in"),
    Row("GET", f"{A}/admin/distribution/promoters", "platform"),
    Row("POST", f"{A}/admin/distribution/promoters/{{obj}}/freeze", "platform", obj="promoter", json={}),
    Row("GET", f"{A}/admin/distribution/commissions", "platform"),
    Row("GET", f"{A}/admin/distribution/withdrawals", "platform"),
    Row("POST", f"{A}/admin/distribution/withdrawals/{{obj}}/approve", "platform", obj="withdrawal", json={}),
]


def expected_allowed(row: Row, who: str, owner: str | None) -> bool:
    if row.access.startswith("merchant"):
        return authz.standard_access(row, who, owner)
    if row.access == "signed_in":
        return who != "anonymous"
    if row.access == "platform":
        return who == "platform"
    raise AssertionError(row.access)


def build_world(factory) -> authz.World:
    from jishi_multistore import testing as ms

    """The buyer and the other buyer are promoters, each with a commission
    (on a third user's order) and a withdrawal."""
    configure(withdraw_min=100, withdraw_interval_days=0, merchant_products=True)
    who = principals.standard(factory, multistore=True)
    objects, own = {}, {}
    for key, name in (("m1", "buyer"), ("m2", "other_buyer")):
        user = who.users[name]
        service.ensure_promoter(user.id)
        commit()
        [order] = buy(factory, buyer_of(factory, user), [(factory.product(price=5000), 1)])
        ledger.post(user.id, "released", f"seed{user.id}", available=5000)
        w = wd.request_withdrawal(user.id, 1000, "alipay", ACCOUNT)
        commit()
        objects[("promoter", key)] = user.id
        objects[("withdrawal", key)] = w.id
        objects[("product", key)] = ms.product(who.merchants[key]).id
        own[name] = {"order": order.id, "withdrawal": w.id}
    return authz.World(who.users, objects, values={"own": own})


def only_own(case, resp, expected):
    """Denied: no data. Allowed: a promoter's lists hold only their own rows."""
    failures = []
    if expected is False and case.row.is_api and resp.is_json and resp.status_code < 300:
        failures.append(f"{case.describe()}: data leaked")
    mine = case.row.path.startswith(f"{A}/distribution/")  # the promoter centre, not the platform's lists
    if expected is True and mine and case.row.method == "GET" and resp.status_code == 200:
        own = case.world.values["own"].get(case.who, {})
        if case.row.path.endswith("/commissions") or case.row.path.endswith("/orders"):
            got = {r["order_id"] for r in resp.get_json()}
            if got - {own.get("order")}:
                failures.append(f"{case.describe()}: sees orders {got}")
        if case.row.path.endswith("/withdrawals"):
            got = {r["id"] for r in resp.get_json()}
            if got - {own.get("withdrawal")}:
                failures.append(f"{case.describe()}: sees withdrawals {got}")
    return failures


@pytest.mark.parametrize("row", ROWS, ids=authz.label)
def test_matrix(app, client, api, factory, row):
    """Issue 17/Proof (DS): who may call what; a promoter never sees another's."""
    authz.assert_row(
        row,
        build_world(factory),
        client=client,
        api=api,
        principals=PRINCIPALS,
        allowed=expected_allowed,
        check=only_own,
    )


def test_every_route_has_a_row(app):
    """Issue 17/Proof (DS): a route of the plugin without a row above fails here."""
    authz.assert_every_route_has_a_row(app, ROWS, blueprints=BLUEPRINTS)
