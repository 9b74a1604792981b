"""Issue 19: the flash sales' campaign effect in the reports
(``report_sections``): sold/stock, orders placed and paid, buyers, GMV and
conversion (paid ÷ placed) per activity against a hand-computed fixture; a
merchant sees the flash sales of its own products only; two statements."""

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
    assert q.count == 2
    base = {"title": "秒杀", "stock": 5}
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
    assert table[0] == ["ID", "秒杀", "已售", "秒杀库存", "下单数", "付款订单数", "买家数", "成交额", "转化率"]
    assert table[1:] == [[str(fa.id), "秒杀", "3", "5", "3", "2", "2", "100.00", "66.6%"]]
