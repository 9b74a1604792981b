"""K16, issue 19 reports: the overview with the previous period, the trend, the
funnel by unique visitor and the product analysis against the
hand-computed history (tests/reports/helpers.py); the JSON API, the console
page, CSV and XLSX exports parsed back; bad input refused naming the field."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from jishi.db import db
from jishi.reports import aggregate, analytics
from openpyxl import load_workbook

from .helpers import history


def built(api, client, factory):
    h = history(api, client, factory)
    db.session.rollback()
    aggregate.aggregate_recent(h["today"])
    return h


def test_overview_funnel_and_products_against_the_history(app, api, client, factory):
    """Issue 19: every figure of the range day 1 .. today, hand-computed."""
    h = built(api, client, factory)
    ov = analytics.overview(h["d1"], h["today"])
    assert ov["current"] == {
        "paid_amount": 18200,
        "paid_orders": 3,
        "orders": 4,
        "buyers": 2,
        "units": 4,
        "aov": 18200 // 3,
        "refund_amount": 5000,
        "refund_count": 1,
        "pv": 5,
        "uv": 2,
    }
    assert ov["previous"]["paid_amount"] == 0 and ov["change_permille"]["paid_amount"] is None
    assert ov["previous_end"] == (h["d1"] - timedelta(days=1)).isoformat()
    assert analytics.funnel(h["d1"], h["today"]) == {
        "visitors": 2,
        "carted": 1,
        "ordered": 2,
        "paid": 2,
        "cart_rate_permille": 500,
        "order_rate_permille": 1000,
        "order_pay_rate_permille": 1000,
        "pay_rate_permille": 1000,
        "uv_exact": True,
    }
    prods = analytics.products(h["d1"], h["today"])
    assert (prods["on_shelf"], prods["visited"]) == (2, 2)
    assert [
        (p["product_id"], p["pv"], p["uv"], p["carts"], p["buyers"], p["units"], p["paid_amount"])
        for p in prods["items"]
    ] == [
        (h["p1"].id, 3, 2, 1, 2, 3, 15000),
        (h["p2"].id, 1, 1, 0, 1, 1, 1200),
    ]
    assert prods["items"][0]["conversion_permille"] == 1000
    seller = analytics.overview(h["d1"], h["today"], scope=7)["current"]
    assert (seller["paid_amount"], seller["paid_orders"], seller["pv"], seller["uv"]) == (2200, 1, 1, 1)
    assert [p["product_id"] for p in analytics.products(h["d1"], h["today"], scope=7)["items"]] == [h["p2"].id]


def test_period_comparison(app, api, client, factory):
    """Issue 19: day 2 .. today against the two days before (day 0, day 1)."""
    h = built(api, client, factory)
    ov = analytics.overview(h["d2"], h["today"])
    assert (ov["current"]["paid_amount"], ov["previous"]["paid_amount"]) == (6000, 12200)
    assert ov["change_permille"]["paid_amount"] == int((6000 - 12200) * 1000 / 12200) == -508
    assert ov["change_permille"]["refund_amount"] is None  # nothing refunded before


def test_trend_by_day_week_and_month(app, api, client, factory):
    """Issue 19: one row per day (empty days included), week (its Monday) or month."""
    h = built(api, client, factory)
    start = h["d1"] - timedelta(days=1)
    days = analytics.trend(start, h["today"])
    assert [(t["period"], t["paid_amount"], t["paid_orders"], t["refund_amount"]) for t in days] == [
        (start.isoformat(), 0, 0, 0),
        (h["d1"].isoformat(), 12200, 2, 0),
        (h["d2"].isoformat(), 6000, 1, 0),
        (h["today"].isoformat(), 0, 0, 5000),
    ]
    for grain in ("week", "month"):
        rows = analytics.trend(start, h["today"], grain=grain)
        assert sum(t["paid_amount"] for t in rows) == 18200 and sum(t["pv"] for t in rows) == 5
    assert all(date.fromisoformat(t["period"]).weekday() == 0 for t in analytics.trend(start, h["today"], grain="week"))
    assert all(len(t["period"]) == 7 for t in analytics.trend(start, h["today"], grain="month"))


def test_api_page_and_exports(app, api, client, factory, login):
    """Issue 19: the JSON API answers the same figures; each section exports
    as CSV and XLSX with the same rows; the console page shows them."""
    h = built(api, client, factory)
    admin = h["admin"]
    q = f"start={h['d1'].isoformat()}&end={h['today'].isoformat()}"
    r = api.get(f"/admin/reports/analytics?{q}", user=admin)
    assert r.status_code == 200, r.json
    assert r.json["overview"]["current"]["paid_amount"] == 18200 and r.json["funnel"]["carted"] == 1
    assert [p["product_id"] for p in r.json["products"]["items"]] == [h["p1"].id, h["p2"].id]
    for section in ("overview", "trend", "funnel", "products"):
        c = api.get(f"/admin/reports/analytics/export?{q}&section={section}&format=csv", user=admin)
        x = api.get(f"/admin/reports/analytics/export?{q}&section={section}&format=xlsx", user=admin)
        assert c.status_code == 200 and x.status_code == 200, section
        rows = list(csv.reader(io.StringIO(c.get_data(as_text=True).lstrip("\ufeff"))))
        sheet = load_workbook(io.BytesIO(x.data)).active
        xrows = [[("" if v is None else str(v)) for v in row] for row in sheet.iter_rows(values_only=True)]
        assert xrows == rows, section
    products = list(
        csv.reader(
            io.StringIO(
                api.get(f"/admin/reports/analytics/export?{q}&section=products", user=admin)
                .get_data(as_text=True)
                .lstrip("\ufeff")
            )
        )
    )
    assert (
        products[1][:8] == [str(h["p1"].id), "茶叶", "3", "2", "1", "2", "3", "150.00"] and products[1][8] == "100.0%"
    )
    overview = list(
        csv.reader(
            io.StringIO(
                api.get(f"/admin/reports/analytics/export?{q}&section=overview", user=admin)
                .get_data(as_text=True)
                .lstrip("\ufeff")
            )
        )
    )
    assert overview[1][1:3] == ["182.00", "0.00"]  # paid amount, this period and the one before
    login(admin)
    page = client.get(f"/console/reports?{q}").get_data(as_text=True)
    assert 'data-figure="paid_amount">¥182.00' in page and 'data-figure="carted">1<' in page and "茶叶" in page
    assert client.get(f"/console/reports/products.csv?{q}").status_code == 200
    assert client.get(f"/console/reports/nope.csv?{q}").status_code == 404
    assert client.get(f"/console/reports/products.pdf?{q}").status_code == 404
    assert client.get(f"/console/reports?{q}&grain=month").status_code == 200
    home = client.get("/console/").get_data(as_text=True)
    assert 'data-chart="home-amount"' in home and "echarts.common.min.js" in home


def test_bad_input_names_the_field(app, api, factory):
    """Issue 19: bad dates, grains, sections and formats are refused naming the field."""
    admin = factory.admin()
    for query, field in (
        ("start=yesterday", "start"),
        ("start=2026-02-01&end=2026-01-01", "start"),
        ("start=2020-01-01&end=2026-01-01", "start"),
        ("grain=year", "grain"),
    ):
        r = api.get(f"/admin/reports/analytics?{query}", user=admin)
        assert r.status_code == 422 and r.json["field"] == field, (query, r.json)
    r = api.get("/admin/reports/analytics/export?section=nope", user=admin)
    assert r.status_code == 422 and r.json["field"] == "section"
    r = api.get("/admin/reports/analytics/export?section=trend&format=pdf", user=admin)
    assert r.status_code == 422 and r.json["field"] == "format"
    r = api.get("/admin/reports/analytics/export", user=admin)
    assert r.status_code == 422 and r.json["field"] == "section"


def test_a_calendar_wide_range_is_the_last_two_years(app):
    """Issue 19: a range from the first to the last day of the calendar is clamped, not a crash."""
    start, end = analytics.clamp(date.min, date.max)
    assert (end - start).days == analytics.MAX_DAYS - 1
    assert len(analytics.trend(date.min, date(1, 1, 5))) == 5
    assert analytics.overview(date.min, date(1, 1, 5))["previous"]["paid_amount"] == 0


def test_a_report_is_six_statements(app, api, client, factory, queries):
    """Issue 19 (performance): the whole report (overview and its comparison,
    trend, funnel and finance, products with the visited count, on-shelf
    count) reads the aggregates in three statements, the exact UV in two
    (the scope's visitors and carted for the range and the period before;
    the listed products' visitors), and the buyer analysis is one grouped
    statement over the per-buyer aggregate, whatever the range or the data.
    A range starting before the kept visitor rows (400 days) reads no
    visitor row: four statements."""
    h = built(api, client, factory)
    for start, n in ((h["d1"], 6), (h["today"] - timedelta(days=399), 6), (h["today"] - timedelta(days=400), 4)):
        with queries() as q:
            analytics.report(start, h["today"])
        assert q.count == n, q.statements
