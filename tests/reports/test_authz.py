"""K15, K16, MS16, issue 19 authorization: every report route (platform console and API,
a merchant's data pages and API) × {anonymous, buyer, clerk of M1, admin of
M1, admin of M2, platform admin}; a merchant sees only its own shop's
figures. :func:`test_every_report_route_has_a_row` fails for a report
route without a row.

``access``: ``platform`` (the platform's ``data`` permission), ``merchant``
(a merchant's staff with ``data``: its admins; clerks do not hold it).
"""

from __future__ import annotations

import csv
import io

import pytest
from jishi.db import db, utcnow
from jishi.testing import authz, principals
from jishi.testing.authz import Row

pytestmark = pytest.mark.jishi_plugins("multistore", "coupons")

PRINCIPALS = ("anonymous", "buyer", "clerk1", "admin1", "admin2", "platform")
A = "/api/v1"
ROWS = [
    Row("GET", "/console/reports", "platform"),
    Row("GET", "/console/reports/products.csv", "platform"),
    Row("GET", "/console/reports/export.csv", "platform"),
    Row("GET", f"{A}/admin/reports/analytics", "platform"),
    Row("GET", f"{A}/admin/reports/analytics/export?section=overview", "platform"),
    Row("GET", f"{A}/admin/reports/overview", "platform"),
    Row("GET", f"{A}/admin/reports/funnel", "platform"),
    Row("GET", f"{A}/admin/reports/sales", "platform"),
    Row("GET", f"{A}/admin/reports/top-products", "platform"),
    Row("GET", "/merchant/data", "merchant"),
    Row("GET", "/merchant/data/products.csv", "merchant"),
    Row("GET", f"{A}/merchant/data", "merchant"),
    Row("GET", f"{A}/merchant/data/export?section=funnel", "merchant"),
]


def allowed(row: Row, who: str, owner: str | None) -> bool:
    if row.access == "platform":
        return who == "platform"
    return who in ("admin1", "admin2")


@pytest.mark.parametrize("row", ROWS, ids=authz.label)
def test_matrix(app, client, api, factory, row):
    """Issue 19: who may open which report."""
    who = principals.standard(factory, multistore=True)
    authz.assert_row(
        row, authz.World(who.users), client=client, api=api, principals=PRINCIPALS, allowed=allowed, strict=True
    )


def test_every_report_route_has_a_row(app):
    """Issue 19: a report route (the console's and the admin API's
    ``report*`` endpoints, the merchant's data page and API) without a row fails."""
    covered = {rule for rule, _method in authz.assert_every_route_has_a_row(app, ROWS, blueprints=())}
    wanted = {
        rule.rule
        for rule in app.url_map.iter_rules()
        if (rule.endpoint.startswith(("console.report", "admin_orders.report")))
        or rule.endpoint.startswith("merchant.data")
        or rule.rule.startswith(f"{A}/merchant/data")
    }
    assert wanted and wanted <= covered, sorted(wanted - covered)


def test_a_merchant_sees_only_its_own_shop(app, api, factory, ms):
    """Issue 19: the merchant's reports and exports hold its own products
    and figures, never the other shop's; the platform sees both."""
    from jishi.reports import aggregate, tracking

    m1, m2 = ms.merchant("一号店"), ms.merchant("二号店")
    p1, p2 = ms.product(m1, name="一号商品"), ms.product(m2, name="二号商品")
    day = tracking.day_of(utcnow())
    events = [[day, "product", p1.id, m1.id, "cvisitor-one"], [day, "product", p2.id, m2.id, "cvisitor-two"]] * 2
    a1 = ms.admin_of(m1)
    db.session.commit()
    tracking.write(events)
    aggregate.aggregate_recent()
    mine = api.get(f"{A}/merchant/data", user=a1).json["report"]
    assert [p["name"] for p in mine["products"]["items"]] == ["一号商品"]
    assert mine["overview"]["current"]["pv"] == 2
    body = api.get(f"{A}/merchant/data/export?section=products", user=a1).get_data(as_text=True)
    assert "一号商品" in body and "二号商品" not in body
    platform = api.get(f"{A}/admin/reports/analytics", user=factory.admin()).json
    assert {p["name"] for p in platform["products"]["items"]} == {"一号商品", "二号商品"}
    assert platform["overview"]["current"]["pv"] == 4
    rows = list(
        csv.reader(
            io.StringIO(
                api.get(f"{A}/admin/reports/analytics/export?section=products&seller_id={m2.id}", user=factory.admin())
                .get_data(as_text=True)
                .lstrip("\ufeff")
            )
        )
    )
    assert [r[1] for r in rows[1:]] == ["二号商品"]
