"""Issue 19: the flash sales' campaign effect in the reports
(``report_sections``): sold/stock, orders placed and paid, buyers, GMV and
conversion (paid ÷ placed) and the visitor conversion (paid buyers ÷ the
product's unique visitors over the activity's window, through the kernel's
``service.product_visitors``) per activity against a hand-computed fixture;
a merchant sees the flash sales of its own products only; two statements
plus one per distinct window."""

from __future__ import annotations

import csv
import io

import pytest
from jishi.db import db, utcnow
from jishi.i18n import to_shop_time

from .helpers import activity, buyer, pay, place

pytestmark = pytest.mark.jishi_plugins("multistore", "flashsale")


def rows_of(seller_id=None):
    from jishi_flashsale.reports import flashsale_section

    today = to_shop_time(utcnow()).date()
    return {r["activity_id"]: r for r in flashsale_section(today, today, seller_id).rows}


def test_flashsale_figures_and_merchant_scope(api, factory, ms, queries):
    """Issue 19: A's product (100.00, flash 50.00, 5 flash units): three
    buyers place one unit each, two pay → sold 3/5, 3 placed, 2 paid, 2
    buyers, GMV 100.00, conversion 666‰. C's product (60.00, flash 30.00):
    one paid order → 1/5, GMV 30.00, 1000‰. A sees only its own sale."""
    a, c = ms.merchant("A店"), ms.merchant("C店")
    pa = ms.product(a, name="A货", price=10000, stock=20)
    pc = ms.product(c, name="C货", price=6000, stock=20)
    fa, fc = activity(pa, stock=5), activity(pc, stock=5)
    b1, b2, b3 = buyer(factory), buyer(factory), buyer(factory)
    pay(place(b1, pa.skus[0].id))
    pay(place(b2, pa.skus[0].id))
    place(b3, pa.skus[0].id)  # never paid
    pay(place(b1, pc.skus[0].id))
    db.session.commit()
    with queries() as q:
        rows = rows_of()
    assert q.count == 3  # the two activities share their window's days: one visitor read
    base = {"title": "秒杀", "stock": 5, "visitors": 0, "visitor_conversion": 0}
    assert rows == {
        fa.id: {
            **base,
            "activity_id": fa.id,
            "sold": 3,
            "attempts": 3,
            "orders": 2,
            "buyers": 2,
            "gmv": 10000,
            "conversion": 666,
        },
        fc.id: {
            **base,
            "activity_id": fc.id,
            "sold": 1,
            "attempts": 1,
            "orders": 1,
            "buyers": 1,
            "gmv": 3000,
            "conversion": 1000,
        },
    }
    assert list(rows_of(a.id)) == [fa.id]
    assert list(rows_of(c.id)) == [fc.id]
    # through the merchant data API and its export: A's own sale only, in Chinese
    report = api.get("/merchant/data", user=ms.admin_of(a)).json["report"]
    [section] = [sec for sec in report["sections"] if sec["key"] == "flashsale"]
    assert [r["activity_id"] for r in section["rows"]] == [fa.id]
    exported = api.get("/merchant/data/export?section=flashsale", user=ms.admin_of(a)).get_data(as_text=True)
    table = list(csv.reader(io.StringIO(exported.lstrip("\ufeff"))))
    assert table[0] == [
        "ID",
        "秒杀",
        "已售",
        "秒杀库存",
        "下单数",
        "付款订单数",
        "买家数",
        "成交额",
        "转化率",
        "商品访客数",
        "访客转化率",
    ]
    assert table[1:] == [[str(fa.id), "秒杀", "3", "5", "3", "2", "2", "100.00", "66.6%", "0", "0.0%"]]


def test_flashsale_conversion_per_visitor(api, factory, ms, queries):
    """Issue 19: paid buyers ÷ the product's unique visitors over the shop days
    of the activity's window within the range. Range T-1 .. T. A's sale runs
    from T-3 (window in range: T-1 .. T); its product's visitors: v1 on T-1
    and T (once), v2 on T, v3 on T-1, v9 on T-5 (out of the range): 3, summed
    per day 4; buyers b1, b2 paid → 2 ÷ 3 = 666‰, and paid ÷ placed 2 ÷ 3 =
    666‰. C's sale starts at T's midnight (window T .. T): its product's
    visitors v4 on T-1 (before the window) and v5 on T: 1; one buyer → 1000‰.
    Two windows: two visitor reads."""
    from datetime import datetime, time, timedelta

    from jishi.i18n import from_shop_time, shop_today
    from jishi.reports import tracking
    from jishi_flashsale.reports import flashsale_section

    t = shop_today()
    a, c = ms.merchant("A店"), ms.merchant("C店")
    pa = ms.product(a, name="A货", price=10000, stock=20)
    pc = ms.product(c, name="C货", price=6000, stock=20)
    fa = activity(pa, stock=5, starts_at=utcnow() - timedelta(days=3))
    fc = activity(pc, stock=5, starts_at=from_shop_time(datetime.combine(t, time())))
    b1, b2, b3 = buyer(factory), buyer(factory), buyer(factory)
    pay(place(b1, pa.skus[0].id))
    pay(place(b2, pa.skus[0].id))
    place(b3, pa.skus[0].id)  # never paid
    pay(place(b1, pc.skus[0].id))
    ia, ic, sa, sc = pa.id, pc.id, a.id, c.id
    db.session.commit()  # SQLite's one writer: the test's transaction ends before the visit writer's
    day = {n: (t - timedelta(days=n)).isoformat() for n in (0, 1, 5)}
    tracking.write(
        [
            [day[1], "product", ia, sa, "cv1xxxxxxxx"],
            [day[0], "product", ia, sa, "cv1xxxxxxxx"],
            [day[0], "product", ia, sa, "cv2xxxxxxxx"],
            [day[1], "product", ia, sa, "cv3xxxxxxxx"],
            [day[5], "product", ia, sa, "cv9xxxxxxxx"],
            [day[1], "product", ic, sc, "cv4xxxxxxxx"],
            [day[0], "product", ic, sc, "cv5xxxxxxxx"],
        ]
    )
    db.session.rollback()
    with queries() as q:
        rows = {r["activity_id"]: r for r in flashsale_section(t - timedelta(days=1), t, None).rows}
    assert q.count == 4
    assert {aid: (r["buyers"], r["visitors"], r["visitor_conversion"], r["conversion"]) for aid, r in rows.items()} == {
        fa.id: (2, 3, 666, 666),
        fc.id: (1, 1, 1000, 1000),
    }
