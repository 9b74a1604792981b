"""Issue 19: the points' figures in the reports (``report_sections``):
issued, adjusted, spent, the money spent points took off, expired, the
outstanding points and their liability, against a hand-computed fixture;
the platform's reports only (a merchant gets no points section)."""

from __future__ import annotations

import pytest
from jishi.db import db, utcnow
from jishi.i18n import to_shop_time
from jishi.testing import flows

from .helpers import give


def section(seller_id=None):
    from jishi_points.reports import points_sections

    today = to_shop_time(utcnow()).date()
    return points_sections(today, today, seller_id)


def test_points_figures(api, factory, queries):
    """Issue 19: 1,500 points adjusted in; 1,000 spent on a 100.00 order
    (¥10.00 off at 100 = ¥1) that is paid: 90 points frozen for its 90.00 of
    goods (1 a yuan); an unpaid order spending 100 more takes no money off
    in the figures (its points are spent until it closes). Outstanding: 400
    usable + 90 frozen = 490 points = ¥4.90."""
    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product(price=10000, stock=10).skus[0]
    give(buyer, 1500)
    paid = flows.place_api(api, buyer, [(sku, 1)], addr, {"points": 1000})
    flows.pay(paid["payments"][0]["number"])
    flows.place_api(api, buyer, [(sku, 1)], addr, {"points": 100})  # never paid
    db.session.commit()
    with queries() as q:
        [s] = section()
    assert q.count <= 4
    assert s.key == "points" and s.money == frozenset({"money", "liability"})
    assert s.rows == [
        {
            "issued": 90,
            "adjusted_in": 1500,
            "adjusted_out": 0,
            "spent": 1100,
            "money": 1000,
            "returned": 0,
            "expired": 0,
            "outstanding": 490,
            "liability": 490,
        }
    ]


@pytest.mark.jishi_plugins("multistore", "points")
def test_merchant_reports_have_no_points_section(factory, queries):
    """Issue 19: points are the platform's: a merchant's reports get none, reading nothing."""
    from jishi_multistore import testing as ms

    seller_id = ms.merchant("A店").id
    with queries() as q:
        assert section(seller_id) == []
    assert q.count == 0
