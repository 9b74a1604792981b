"""Issue 19 aggregation: the daily tables against a hand-computed history;
re-running a day gives the same figures; a late refund moves the day it
was paid back, not the order's (SPEC K16)."""

from __future__ import annotations

from jishi.db import db
from jishi.reports import aggregate
from jishi.reports.models import ReportDaily, ReportProductDaily

from .helpers import history

FIELDS = (
    "orders",
    "paid_orders",
    "paid_amount",
    "buyers",
    "units",
    "refund_amount",
    "refund_count",
    "pv",
    "uv",
    "carted",
    "ordered",
    "paid_buyers",
)


def daily() -> dict[tuple[str, int], tuple]:
    db.session.rollback()
    return {
        (r.day, r.seller_id): tuple(getattr(r, f) for f in FIELDS)
        for r in db.session.execute(db.select(ReportDaily)).scalars()
    }


def products() -> dict[tuple[str, int], tuple]:
    db.session.rollback()
    return {
        (r.day, r.product_id): (r.seller_id, r.pv, r.uv, r.carts, r.carted, r.buyers, r.units, r.paid_amount)
        for r in db.session.execute(db.select(ReportProductDaily)).scalars()
    }


def test_days_against_the_hand_computed_history(app, api, client, factory):
    """Issue 19: each day's platform, seller and product figures."""
    h = history(api, client, factory)
    d1, d2, today = h["d1"].isoformat(), h["d2"].isoformat(), h["today"].isoformat()
    db.session.rollback()
    assert "3 days" in aggregate.aggregate_recent(h["today"])
    rows = daily()
    # orders, paid_orders, paid_amount, buyers, units, refund_amount, refund_count, pv, uv, carted, ordered, paid_buyers
    assert rows[(d1, 0)] == (4, 2, 12200, 1, 3, 0, 0, 5, 2, 1, 2, 2)
    assert rows[(d1, 7)] == (1, 1, 2200, 1, 1, 0, 0, 1, 1, 0, 1, 1)
    assert rows[(d2, 0)] == (0, 1, 6000, 1, 1, 0, 0, 0, 0, 0, 0, 0)
    assert rows[(today, 0)] == (0, 0, 0, 0, 0, 5000, 1, 0, 0, 0, 0, 0)
    assert set(rows) == {(d1, 0), (d1, 7), (d2, 0), (today, 0)}
    p1, p2 = h["p1"].id, h["p2"].id
    # seller, pv, uv, carts, carted, buyers, units, paid
    assert products() == {
        (d1, p1): (0, 3, 2, 1, 1, 1, 2, 10000),
        (d1, p2): (7, 1, 1, 0, 0, 1, 1, 1200),
        (d2, p1): (0, 0, 0, 0, 0, 1, 1, 5000),
    }


def test_rerunning_a_day_gives_the_same_figures(app, api, client, factory):
    """Issue 19: aggregate_day is idempotent (delete the day, insert it again),
    also for a past day and a second run of the job."""
    h = history(api, client, factory)
    db.session.rollback()
    aggregate.aggregate_recent(h["today"])
    first, first_products = daily(), products()
    aggregate.aggregate_day(h["d1"])
    aggregate.aggregate_day(h["d1"])
    aggregate.aggregate_recent(h["today"])
    assert daily() == first and products() == first_products


def test_a_late_refund_moves_the_day_it_was_paid_back(app, api, client, factory):
    """Issue 19: the refund of a day-1 order paid back today counts today;
    day 1's paid amount stays gross (a past day never changes)."""
    h = history(api, client, factory)
    db.session.rollback()
    aggregate.aggregate_recent(h["today"])
    rows = daily()
    assert rows[(h["d1"].isoformat(), 0)][2] == 12200 and rows[(h["d1"].isoformat(), 0)][5] == 0
    assert rows[(h["today"].isoformat(), 0)][5:7] == (5000, 1)


def test_the_job_is_registered(app):
    """Issue 19: the kernel's periodic jobs flush the visits and write the aggregates."""
    from jishi.jobs import collect_jobs

    jobs = collect_jobs(app)
    assert jobs["aggregate_reports"].every_seconds == 300 and jobs["flush_visits"].every_seconds == 15
