"""Issue 19: the 满减 activities' campaign effect in the reports
(``report_sections``): orders, GMV and discount cost per activity against a
hand-computed fixture; a merchant sees its own activities only; two
statements whatever the number of activities."""

from __future__ import annotations

import pytest
from jishi.db import db, utcnow
from jishi.i18n import to_shop_time
from jishi.testing import flows

from .helpers import activity

pytestmark = pytest.mark.jishi_plugins("multistore", "coupons")


def rows_of(seller_id=None):
    from jishi_coupons.reports import activity_section

    today = to_shop_time(utcnow()).date()
    return {r["name"]: r for r in activity_section(today, today, seller_id).rows}


def test_activity_figures_and_merchant_scope(api, factory, ms, queries):
    """Issue 19: A's 满100减10 and the platform's 满50减5. Buyer 1 pays A's
    120.00 item: A takes 10.00, the platform 5.00 of the remaining 110.00 →
    pays 105.00 (free delivery). Buyer 2 pays C's 50.00 item and 10.00 delivery:
    the platform takes 5.00 → 55.00.
    Buyer 2's unpaid order of A's item counts nothing. The platform sees both
    activities; A sees its own; C (no activity of its own) sees none."""
    a, c = ms.merchant("A店"), ms.merchant("C店")
    sa = ms.product(a, name="A货", price=12000, stock=20).skus[0]
    sc = ms.product(c, name="C货", price=5000, stock=20).skus[0]
    act_a = activity(a.id, name="A满100减10", tiers=[[10000, 1000]])
    act_p = activity(None, name="全场满50减5", tiers=[[5000, 500]])
    b1, b2 = factory.user(), factory.user()
    r1 = flows.place_api(api, b1, [(sa, 1)], factory.address(b1))
    flows.pay(r1["payments"][0]["number"])
    addr2 = factory.address(b2)
    r2 = flows.place_api(api, b2, [(sc, 1)], addr2)
    flows.pay(r2["payments"][0]["number"])
    flows.place_api(api, b2, [(sa, 1)], addr2)  # never paid
    assert [o["pay_amount"] for o in r1["orders"] + r2["orders"]] == [10500, 5500]
    db.session.commit()
    with queries() as q:
        rows = rows_of()
    assert q.count == 2
    assert rows == {
        "A满100减10": {"activity_id": act_a.id, "name": "A满100减10", "orders": 1, "gmv": 10500, "cost": 1000},
        "全场满50减5": {"activity_id": act_p.id, "name": "全场满50减5", "orders": 2, "gmv": 16000, "cost": 1000},
    }
    assert list(rows_of(a.id)) == ["A满100减10"]
    assert rows_of(c.id) == {}
