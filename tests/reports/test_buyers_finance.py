"""Issue 19, seed 004 §6 (用户行为分析, 财务报表): buyer analysis — new vs
returning across the range boundary, the repeat-purchase rate, one RFM
assignment per segment (median split, refunds subtracted from M), the
member-level distribution — and the kernel's finance per day (paid,
refunded, net) against hand-computed fixtures; a merchant's scope; the JSON
API, the console page and the CSV/XLSX exports parsed back."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from itertools import count

from jishi.accounts.models import MemberLevel
from jishi.db import db, utcnow
from jishi.i18n import to_shop_time
from jishi.models import Order, PaymentOrder
from jishi.reports import aggregate, analytics, buyers
from openpyxl import load_workbook

from .helpers import at, history

_n = count(1)


def paid_order(
    user, day, amount, *, refunded=0, seller_id=None, status="completed", close_reason="", hour=12, cod=False
):
    """One order of ``user`` paid at ``hour`` on the shop's ``day`` (rows written directly: the
    aggregation reads only the orders table); ``cod``: cash on delivery, placed then, never paid online."""
    n = next(_n)
    pay = PaymentOrder(number=f"PB{n:08d}", user_id=user.id, amount=amount, status="paid")
    db.session.add(pay)
    db.session.flush()
    moment = at(day, hour)
    db.session.add(
        Order(
            number=f"OB{n:08d}",
            payment_id=pay.id,
            user_id=user.id,
            seller_id=seller_id,
            status=status,
            close_reason=close_reason,
            goods_amount=amount,
            pay_amount=amount,
            refunded_amount=refunded,
            created_at=moment,
            paid_at=None if status == "pending_payment" or cod else moment,
            payment_method="cod" if cod else "sandbox",
        )
    )
    db.session.commit()


def rfm_world(factory, aggregated=True):
    """The range is the 10 shop days ``today - 9`` .. ``today``; eight buyers,
    one per RFM segment (R: days from the last paid order to today; F: paid
    orders; M: paid minus refunded, fen):

    ==== ======================= === === ===== ==========================
    user segment                  R   F   M     notes
    ==== ======================= === === ===== ==========================
    u1   important_value          1   3  9000  also paid at 23:00 the day before the range (returning); gold
    u2   important_develop        1   1  9000  an unpaid order before the range (still new); gold; seller 7
    u3   important_keep           8   3  9000  a cancelled order before the range (still new); silver
    u4   important_retain         8   1  9000
    u5   general_value            1   3   900
    u6   general_develop          1   1  1000
    u7   general_keep             8   3   900
    u8   general_retain           8   1  1000  paid 9000, 8000 refunded (without: important_retain)
    ==== ======================= === === ===== ==========================

    Medians: R 4.5, F 2, M (900, 900, 1000, 1000, 9000 ×4) 5000. u9 paid only
    before the range (not a buyer of it). One of u1's orders in the range is
    seller 7's: seller 7's buyers are u1 and u2, both new to seller 7.
    """
    today = to_shop_time(utcnow()).date()
    start = today - timedelta(days=9)
    gold = MemberLevel(name="金卡", rank=2)
    silver = MemberLevel(name="银卡", rank=1)
    db.session.add_all([gold, silver])
    db.session.commit()
    u = {i: factory.user() for i in range(1, 10)}
    u[1].member_level_id = gold.id
    u[2].member_level_id = gold.id
    u[3].member_level_id = silver.id
    db.session.commit()
    d = lambda back: today - timedelta(days=back)  # noqa: E731
    paid_order(u[1], start - timedelta(days=1), 500, hour=23)  # the day before the range, late
    paid_order(u[1], d(9), 3000, hour=0)  # the range's first hour
    paid_order(u[1], d(5), 3000, seller_id=7)
    paid_order(u[1], d(1), 3000)
    paid_order(u[2], d(20), 5000, status="pending_payment")
    paid_order(u[2], d(1), 9000, seller_id=7)
    paid_order(u[3], d(20), 5000, status="closed", close_reason="cancelled")
    paid_order(u[3], d(9), 3000)
    paid_order(u[3], d(9), 3000)
    paid_order(u[3], d(8), 3000)
    paid_order(u[4], d(8), 9000)
    for back in (9, 5, 1):
        paid_order(u[5], d(back), 300)
    paid_order(u[6], d(1), 1000)
    for back in (9, 9, 8):
        paid_order(u[7], d(back), 300)
    paid_order(u[8], d(8), 9000, refunded=8000)
    paid_order(u[9], d(30), 7000)
    db.session.rollback()
    if aggregated:
        aggregate.aggregate_recent(today)  # the buyer analysis reads the per-buyer aggregate
    return {"start": start, "today": today, "u": u, "gold": gold, "silver": silver}


def test_new_returning_repeat_rfm_and_levels(app, factory):
    """Issue 19 / seed 004 §6: every buyer figure of the range, hand-computed."""
    w = rfm_world(factory)
    b = buyers.buyer_analysis(w["start"], w["today"])
    assert (b["buyers"], b["new_buyers"], b["returning_buyers"]) == (8, 7, 1)
    assert (b["repeat_buyers"], b["repeat_rate_permille"]) == (4, 500)
    assert b["medians"] == {"recency_days": 4.5, "frequency": 2.0, "monetary": 5000.0}
    seg = {s["segment"]: (s["buyers"], s["amount"], s["share_permille"]) for s in b["segments"]}
    assert seg == {
        "important_value": (1, 9000, 125),
        "important_develop": (1, 9000, 125),
        "important_keep": (1, 9000, 125),
        "important_retain": (1, 9000, 125),
        "general_value": (1, 900, 125),
        "general_develop": (1, 1000, 125),
        "general_keep": (1, 900, 125),
        "general_retain": (1, 1000, 125),
    }
    assert [s["segment"] for s in b["segments"]][:4] == [
        "important_value",
        "important_develop",
        "important_keep",
        "important_retain",
    ]
    assert [(lv["level_id"], lv["name"], lv["buyers"], lv["share_permille"]) for lv in b["levels"]] == [
        (0, "无等级", 5, 625),  # zh_CN, the default
        (w["silver"].id, "银卡", 1, 125),
        (w["gold"].id, "金卡", 2, 250),
    ]
    # The range starting a day earlier takes in u1's late order: u1 is new then.
    wider = buyers.buyer_analysis(w["start"] - timedelta(days=1), w["today"])
    assert (wider["buyers"], wider["new_buyers"], wider["returning_buyers"]) == (8, 8, 0)
    # Nobody paid: zeros, no division.
    empty = buyers.buyer_analysis(w["today"] + timedelta(days=1), w["today"] + timedelta(days=2))
    assert empty["buyers"] == 0 and empty["repeat_rate_permille"] == 0 and empty["levels"] == []


def test_a_merchant_sees_its_own_buyers(app, factory):
    """Issue 19: seller 7's buyers are those of its orders; u1 paid the
    platform before the range, but is new to seller 7."""
    w = rfm_world(factory)
    b = buyers.buyer_analysis(w["start"], w["today"], scope=7)
    assert (b["buyers"], b["new_buyers"], b["returning_buyers"], b["repeat_buyers"]) == (2, 2, 0, 0)
    assert sum(s["buyers"] for s in b["segments"]) == 2
    assert [(lv["name"], lv["buyers"]) for lv in b["levels"]] == [("金卡", 2)]
    assert buyers.buyer_analysis(w["start"], w["today"], scope=8)["buyers"] == 0


def test_exports_and_api_of_the_buyer_sections(app, api, client, factory, login):
    """Issue 19: the buyers, rfm and levels sections in the JSON API, as CSV
    and XLSX with the same rows, and on the console reports page."""
    w = rfm_world(factory)
    admin = factory.admin()
    q = f"start={w['start'].isoformat()}&end={w['today'].isoformat()}"
    r = api.get(f"/admin/reports/analytics?{q}", user=admin)
    assert r.status_code == 200, r.json
    assert r.json["buyers"]["new_buyers"] == 7 and r.json["buyers"]["repeat_rate_permille"] == 500
    assert r.json["buyers"]["segments"][0] == {
        "segment": "important_value",
        "label": r.json["buyers"]["segments"][0]["label"],
        "buyers": 1,
        "share_permille": 125,
        "amount": 9000,
    }
    assert api.get(f"/admin/reports/analytics?{q}&seller_id=7", user=admin).json["buyers"]["buyers"] == 2
    parsed = {}
    for section in ("buyers", "rfm", "levels"):
        c = api.get(f"/admin/reports/analytics/export?{q}&section={section}&format=csv", user=admin)
        x = api.get(f"/admin/reports/analytics/export?{q}&section={section}&format=xlsx", user=admin)
        assert c.status_code == 200 and x.status_code == 200, section
        rows = list(csv.reader(io.StringIO(c.get_data(as_text=True).lstrip("\ufeff"))))
        sheet = load_workbook(io.BytesIO(x.data)).active
        assert [[("" if v is None else str(v)) for v in row] for row in sheet.iter_rows(values_only=True)] == rows
        parsed[section] = rows
    assert parsed["buyers"][1] == ["8", "7", "1", "4", "50.0%"]
    assert len(parsed["rfm"]) == 9 and parsed["rfm"][1][1:] == ["1", "12.5%", "90.00"]
    assert parsed["levels"][1:] == [["无等级", "5", "62.5%"], ["银卡", "1", "12.5%"], ["金卡", "2", "25.0%"]]
    login(admin)
    page = client.get(f"/console/reports?{q}").get_data(as_text=True)
    assert 'data-figure="new_buyers">7<' in page and 'data-chart="rfm"' in page
    assert 'data-segment="important_value"' in page and 'data-table="levels"' in page
    assert client.get(f"/console/reports/rfm.xlsx?{q}").status_code == 200


def test_finance_per_day(app, api, client, factory, login):
    """Issue 19 / seed 004 §6 财务报表 without multistore: per day paid,
    refunded (the day it was paid back) and net, from the aggregates of the
    history (day 1: 122.00 paid; day 2: 60.00; today: 50.00 refunded)."""
    h = history(api, client, factory)
    db.session.rollback()
    aggregate.aggregate_recent(h["today"])
    f = buyers.finance_days(h["d1"], h["today"])
    assert f["days"] == [
        {"day": h["d1"].isoformat(), "paid_amount": 12200, "refund_amount": 0, "net_amount": 12200},
        {"day": h["d2"].isoformat(), "paid_amount": 6000, "refund_amount": 0, "net_amount": 6000},
        {"day": h["today"].isoformat(), "paid_amount": 0, "refund_amount": 5000, "net_amount": -5000},
    ]
    assert f["totals"] == {"paid_amount": 18200, "refund_amount": 5000, "net_amount": 13200}
    assert buyers.finance_days(h["d1"], h["d1"], scope=7)["totals"]["paid_amount"] == 2200
    assert analytics.report(h["d1"], h["today"])["finance"] == f
    admin = h["admin"]
    q = f"start={h['d1'].isoformat()}&end={h['today'].isoformat()}"
    finance = api.get(f"/admin/reports/analytics?{q}", user=admin).json["finance"]
    assert finance["totals"]["net_amount"] == 13200 and finance["days"][-1]["net_amount"] == -5000
    # The document says a day's net may be negative (it said minimum 0: schemathesis).
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert "minimum" not in schemas["_FinanceDay"]["properties"]["net_amount"]
    assert "minimum" not in schemas["_FinanceTotals"]["properties"]["net_amount"]
    c = api.get(f"/admin/reports/analytics/export?{q}&section=finance&format=csv", user=admin)
    rows = list(csv.reader(io.StringIO(c.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[1:] == [
        [h["d1"].isoformat(), "122.00", "0.00", "122.00"],
        [h["d2"].isoformat(), "60.00", "0.00", "60.00"],
        [h["today"].isoformat(), "0.00", "50.00", "-50.00"],
    ]
    x = api.get(f"/admin/reports/analytics/export?{q}&section=finance&format=xlsx", user=admin)
    sheet = load_workbook(io.BytesIO(x.data)).active
    assert [[str(v) for v in row] for row in sheet.iter_rows(values_only=True)] == rows
    login(admin)
    page = client.get(f"/console/reports?{q}").get_data(as_text=True)
    assert 'data-figure="finance_net">¥132.00' in page and 'data-chart="finance"' in page
