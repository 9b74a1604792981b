"""Issue 19: the group buys' campaign effect in the reports
(``report_sections``): groups opened, succeeded, failed, success rate and
GMV per activity against a hand-computed fixture; a merchant sees the group
buys of its own products only; two statements."""

from __future__ import annotations

import pytest
from jishi.db import db, utcnow
from jishi.i18n import to_shop_time
from jishi_groupbuy import service

from . import helpers as gb

pytestmark = pytest.mark.jishi_plugins("multistore", "groupbuy")


def rows_of(seller_id=None):
    from jishi_groupbuy.reports import groupbuy_section

    today = to_shop_time(utcnow()).date()
    return {r["activity_id"]: r for r in groupbuy_section(today, today, seller_id).rows}


def test_groupbuy_figures_and_merchant_scope(factory, queries):
    """Issue 19: A's group buy (groups of 2 at 6.00, each order with 10.00
    delivery): one group fills and succeeds (2 × 16.00 paid), another fails
    at its deadline (its leader is refunded: no GMV) → opened 2, succeeded
    1, failed 1, 500‰, GMV 32.00. C's group buy: one group still forming →
    opened 1, 0‰, GMV 16.00."""
    from jishi_multistore import testing as ms

    a, c = ms.merchant("A店"), ms.merchant("C店")
    pa = ms.product(a, price=1000, stock=30)
    pc = ms.product(c, price=1000, stock=30)
    ga, gc = gb.activity(pa, size=2, price=600), gb.activity(pc, size=2, price=600)
    sa, sc = pa.skus[0].id, pc.skus[0].id
    b1, b2, b3 = (gb.buyer(factory) for _ in range(3))
    first = gb.place(b1, sa, ga.id)
    gb.pay(first)
    gb.pay(gb.place(b2, sa, ga.id, gb.group_of(first).token))
    lonely = gb.place(b3, sa, ga.id)
    gb.pay(lonely)
    gb.expire(gb.group_of(lonely))
    service.expire_groups()
    gb.pay(gb.place(b1, sc, gc.id))
    assert gb.group_of(first).state == service.SUCCEEDED and gb.group_of(lonely).state == service.FAILED
    db.session.commit()
    with queries() as q:
        rows = rows_of()
    assert q.count == 2
    assert rows == {
        ga.id: {
            "activity_id": ga.id,
            "title": "拼团",
            "opened": 2,
            "succeeded": 1,
            "failed": 1,
            "success_rate": 500,
            "gmv": 3200,
        },
        gc.id: {
            "activity_id": gc.id,
            "title": "拼团",
            "opened": 1,
            "succeeded": 0,
            "failed": 0,
            "success_rate": 0,
            "gmv": 1600,
        },
    }
    assert list(rows_of(a.id)) == [ga.id]
    assert list(rows_of(c.id)) == [gc.id]
