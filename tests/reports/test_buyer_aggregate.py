"""Issue 19 (performance): the buyer analysis reads the per-buyer daily
aggregate (``report_buyer_daily``) in one statement, and gives exactly what
the scan of the orders it replaced gave — new vs returning per scope, the
repeat-purchase rate, the RFM medians and segments with refunds taken off
M, the member levels — for buyers of several sellers, refunds, cancelled,
timed-out and cash-on-delivery orders and a buyer returning across the
range's start; re-running a day gives the same rows; a refund of an earlier
day's order, executed today, lowers M once today is aggregated (seed 004 §6
用户行为分析)."""

from __future__ import annotations

import math
from datetime import date, timedelta
from statistics import median
from typing import Any

from jishi.accounts.models import MemberLevel, User
from jishi.db import db, utcnow
from jishi.i18n import shop_day_bounds, to_shop_time
from jishi.models import Order, Product
from jishi.reports import aggregate, buyers
from jishi.reports.models import ReportBuyerDaily
from sqlalchemy import case, func, select

from .helpers import at, move_order, place, refund_one
from .test_buyers_finance import paid_order, rfm_world


def scan(start: date, end: date, scope: int = 0) -> dict[str, Any]:
    """The oracle: the buyer analysis as it was before the aggregate, one
    grouped statement over the orders (issue 19's first implementation)."""
    s, e = shop_day_bounds(start, end)
    moment = func.coalesce(Order.paid_at, Order.created_at)
    in_range = moment >= s
    where = [Order.status != "pending_payment", Order.close_reason.notin_(("cancelled", "timeout")), moment < e]
    if scope:
        where.append(Order.seller_id == scope)
    rows = db.session.execute(
        select(
            Order.user_id,
            func.min(moment),
            func.max(case((in_range, moment))),
            func.count(case((in_range, Order.id))),
            func.coalesce(func.sum(case((in_range, Order.pay_amount - Order.refunded_amount), else_=0)), 0),
            func.max(User.member_level_id),
            func.max(MemberLevel.name),
            func.max(MemberLevel.rank),
        )
        .join(User, User.id == Order.user_id)
        .outerjoin(MemberLevel, MemberLevel.id == User.member_level_id)
        .where(*where)
        .group_by(Order.user_id)
        .having(func.count(case((in_range, Order.id))) > 0)
    ).all()
    n = len(rows)
    rate = lambda k, of: k * 1000 // of if of else 0  # noqa: E731
    new = sum(1 for r in rows if r[1] >= s)
    repeat = sum(1 for r in rows if int(r[3]) >= 2)
    scored = [((end - to_shop_time(r[2]).date()).days, int(r[3]), int(r[4] or 0)) for r in rows]
    med = (
        (median(x[0] for x in scored), median(x[1] for x in scored), median(x[2] for x in scored))
        if scored
        else (0, 0, 0)
    )
    counts = dict.fromkeys(buyers.SEGMENTS.values(), 0)
    amounts = dict.fromkeys(buyers.SEGMENTS.values(), 0)
    for r_days, freq, money in scored:
        key = buyers.SEGMENTS[(r_days <= med[0], freq > med[1], money > med[2])]
        counts[key] += 1
        amounts[key] += money
    labels = buyers.segment_labels()
    by_level: dict[int, int] = {}
    names: dict[int, tuple[str, int]] = {}
    for r in rows:
        lid = int(r[5] or 0)
        by_level[lid] = by_level.get(lid, 0) + 1
        if lid:
            names[lid] = (r[6], int(r[7] or 0))
    return {
        "buyers": n,
        "new_buyers": new,
        "returning_buyers": n - new,
        "repeat_buyers": repeat,
        "repeat_rate_permille": rate(repeat, n),
        "medians": {"recency_days": float(med[0]), "frequency": float(med[1]), "monetary": math.floor(med[2])},
        "segments": [
            {
                "segment": k,
                "label": labels[k],
                "buyers": counts[k],
                "share_permille": rate(counts[k], n),
                "amount": amounts[k],
            }
            for k in buyers.SEGMENTS.values()
        ],
        "levels": [
            {
                "level_id": lid,
                "name": names[lid][0] if lid in names else buyers._("No level"),
                "buyers": k,
                "share_permille": rate(k, n),
            }
            for lid, k in sorted(by_level.items(), key=lambda kv: (names.get(kv[0], ("", -1))[1], kv[0]))
        ],
    }


def buyer_rows() -> dict[tuple[int, date, int], tuple[int, int, int, date]]:
    db.session.rollback()
    out = {
        (r.seller_id, r.day, r.user_id): (r.paid_orders, r.paid_amount, r.refunded_amount, r.first_day)
        for r in db.session.execute(select(ReportBuyerDaily)).scalars()
    }
    db.session.rollback()
    return out


def stored_rows() -> dict[tuple[int, date, int], tuple]:
    """Every column of every row: the figures, the links and the level."""
    db.session.rollback()
    out = {
        (r.seller_id, r.day, r.user_id): (
            r.paid_orders,
            r.paid_amount,
            r.refunded_amount,
            r.first_day,
            r.prev_day,
            r.next_day,
            r.member_level_id,
        )
        for r in db.session.execute(select(ReportBuyerDaily)).scalars()
    }
    db.session.rollback()
    return out


def assert_links_and_levels() -> None:
    """Each row's ``prev_day``/``next_day`` are the buyer's neighbouring rows
    in the scope (every paid day has its row here) and its level the user's
    current one."""
    rows = stored_rows()
    levels = dict(db.session.execute(select(User.id, User.member_level_id)).all())
    db.session.rollback()
    days: dict[tuple[int, int], list[date]] = {}
    for scope, day, user in sorted(rows):
        days.setdefault((scope, user), []).append(day)
    for (scope, user), seen in days.items():
        for i, day in enumerate(seen):
            prev_day, next_day, level = rows[(scope, day, user)][4:]
            assert prev_day == (seen[i - 1] if i else None), (scope, user, day)
            assert next_day == (seen[i + 1] if i + 1 < len(seen) else None), (scope, user, day)
            assert level == levels[user], (scope, user, day)


def assert_as_the_scan(w) -> None:
    today, start = w["today"], w["start"]
    d = lambda back: today - timedelta(days=back)  # noqa: E731
    for a, b in [(start, today), (d(45), today), (d(20), d(5)), (d(2), d(2))]:
        for scope in (0, 7, 8):
            assert buyers.buyer_analysis(a, b, scope) == scan(a, b, scope), (a, b, scope)


def wider_world(factory) -> dict:
    """:func:`rfm_world` (range ``today - 9`` .. ``today``) and, with sellers 7 and 8:

    - u10: cash on delivery with seller 8 on day -15 (placed, never paid
      online) and on day -3 (40.00); seller 7 on day -2, 20.00 with 5.00
      refunded: returning to the platform and to seller 8, new to seller 7;
    - u11: an order that timed out on day -4 and one cancelled on day -2:
      no buyer;
    - u12: seller 8 on day -40 (10.00) and day -2 (30.00, fully refunded,
      closed as refunded: still paid, M 0): returning to seller 8.
    """
    w = rfm_world(factory, aggregated=False)
    today = w["today"]
    d = lambda back: today - timedelta(days=back)  # noqa: E731
    u10, u11, u12 = factory.user(), factory.user(), factory.user()
    paid_order(u10, d(15), 2500, seller_id=8, status="completed", cod=True)
    paid_order(u10, d(3), 4000, seller_id=8, status="shipped", cod=True)
    paid_order(u10, d(2), 2000, seller_id=7, refunded=500)
    paid_order(u11, d(4), 1000, status="closed", close_reason="timeout", cod=True)
    paid_order(u11, d(2), 1000, seller_id=8, status="closed", close_reason="cancelled", cod=True)
    paid_order(u12, d(40), 1000, seller_id=8)
    paid_order(u12, d(2), 3000, seller_id=8, refunded=3000, status="closed", close_reason="refunded")
    db.session.rollback()
    aggregate.aggregate_recent(today)  # from the first order (day -40) on
    return {**w, "u10": u10, "u11": u11, "u12": u12}


def test_the_aggregate_gives_what_the_order_scan_gave(app, factory):
    """Issue 19 / seed 004 §6: for every scope and several ranges (across the
    start of a returning buyer, a one-day range, an empty one) the buyer
    analysis from report_buyer_daily equals the old scan of the orders;
    seller 8's figures hand-computed."""
    w = wider_world(factory)
    today, start = w["today"], w["start"]
    d = lambda back: today - timedelta(days=back)  # noqa: E731
    ranges = [(start, today), (start - timedelta(days=1), today), (d(20), d(5)), (d(45), today), (d(9), d(9))]
    ranges += [(today, today), (d(2), d(2)), (d(16), d(3))]
    for a, b in ranges:
        for scope in (0, 7, 8, 9):
            assert buyers.buyer_analysis(a, b, scope) == scan(a, b, scope), (a, b, scope)
    s8 = buyers.buyer_analysis(start, today, 8)
    assert (s8["buyers"], s8["new_buyers"], s8["returning_buyers"], s8["repeat_buyers"]) == (2, 0, 2, 0)
    assert s8["medians"] == {"recency_days": 2.5, "frequency": 1.0, "monetary": 2000}
    s8_wide = buyers.buyer_analysis(d(15), today, 8)  # u10's first seller-8 order is in it: new
    assert (s8_wide["buyers"], s8_wide["new_buyers"], s8_wide["returning_buyers"]) == (2, 1, 1)
    s7 = buyers.buyer_analysis(start, today, 7)
    assert (s7["buyers"], s7["new_buyers"]) == (3, 3)
    assert sum(seg["amount"] for seg in s7["segments"]) == 3000 + 9000 + 1500
    platform = buyers.buyer_analysis(start, today)
    assert (platform["buyers"], platform["new_buyers"], platform["returning_buyers"]) == (10, 7, 3)
    rows = buyer_rows()
    u10, u12 = w["u10"].id, w["u12"].id
    assert rows[(8, d(3), u10)] == (1, 4000, 0, d(15))
    assert rows[(0, d(2), u10)] == (1, 2000, 500, d(15))
    assert rows[(7, d(2), u10)] == (1, 2000, 500, d(2))
    assert rows[(0, d(2), u12)] == (1, 3000, 3000, d(40))
    assert not [k for k in rows if k[2] == w["u11"].id]
    assert_links_and_levels()
    stored = stored_rows()
    assert stored[(8, d(15), u10)][4:] == (None, d(3), None)  # u10 and seller 8: days -15 and -3
    assert stored[(0, d(3), u10)][4:] == (d(15), d(2), None)
    assert stored[(7, d(2), u10)][4:] == (None, None, None)


def test_rerunning_days_gives_the_same_rows(app, factory):
    """Issue 19: aggregate_day deletes the day's buyer rows and writes them
    again from the orders: the same rows for a past day, twice, for a day
    whose rows were lost, and for the job run again."""
    w = wider_world(factory)
    first = buyer_rows()
    assert len(first) > 20
    day = w["today"] - timedelta(days=2)
    aggregate.aggregate_day(day)
    aggregate.aggregate_day(day)
    assert buyer_rows() == first
    db.session.execute(db.delete(ReportBuyerDaily).where(ReportBuyerDaily.day == day))
    db.session.commit()
    assert buyer_rows() != first
    aggregate.aggregate_day(day)
    aggregate.aggregate_recent(w["today"])
    assert buyer_rows() == first


def test_links_whatever_order_days_are_aggregated_in(app, factory):
    """Issue 19 (performance): a buyer's only row in a range is read without
    grouping by its links, so they must be right however the days were
    written — every day again from the latest back to the first (each day's
    previous rows get their next day; each row's own links come from the
    orders), one day lost and written again, the job run again — and the
    analysis stays the scan's."""
    w = wider_world(factory)
    first = stored_rows()
    assert_links_and_levels()
    today = w["today"]
    for back in range(0, 41):
        aggregate.aggregate_day(today - timedelta(days=back))
    assert stored_rows() == first
    day = today - timedelta(days=9)  # u1, u3, u5, u7 paid then
    db.session.execute(db.delete(ReportBuyerDaily).where(ReportBuyerDaily.day == day))
    db.session.commit()
    aggregate.aggregate_day(today - timedelta(days=5))
    aggregate.aggregate_day(day)
    aggregate.aggregate_recent(today)
    assert stored_rows() == first
    assert_as_the_scan(w)


def test_a_level_changed_after_aggregation_is_counted_at_once(app, api, client, factory):
    """Issue 19 / seed 004 §6 (member levels: the buyers' *current* level):
    the rows carry the level; a change after the days were aggregated —
    the console's user form, the admin API, a plugin's
    ``external.set_member_level`` — rewrites the buyer's rows in its own
    transaction, so the analysis is the scan's at once, for every scope and
    range. A change by raw SQL is picked up by the next aggregation of a day
    the buyer paid on, and by ``sync_member_levels()`` for every buyer."""
    from jishi.accounts import external

    w = wider_world(factory)
    u = w["u"]
    gold, silver = w["gold"], w["silver"]
    admin = factory.admin()
    # the console form sets the column
    user = db.session.get(User, u[4].id)
    user.member_level_id = gold.id
    db.session.commit()
    # the admin API (accounts.set_member_level: the relationship)
    r = api.patch(f"/admin/users/{u[1].id}", user=admin, json={"member_level_id": silver.id})
    assert r.status_code == 200, r.json
    r = api.patch(f"/admin/users/{u[3].id}", user=admin, json={"member_level_id": None})
    assert r.status_code == 200, r.json
    # a plugin (jishi.accounts.external), then commits
    external.set_member_level(db.session.get(User, w["u10"].id), gold.id)
    db.session.commit()
    assert_links_and_levels()
    assert_as_the_scan(w)
    levels = {lv["level_id"]: lv["buyers"] for lv in buyers.buyer_analysis(w["start"], w["today"])["levels"]}
    assert levels == {0: 6, silver.id: 1, gold.id: 3}  # u2, u4, u10 gold; u1 silver

    # raw SQL (no flush): stale until the buyer's day is aggregated again
    db.session.execute(db.update(User).where(User.id == u[6].id).values(member_level_id=silver.id))
    db.session.execute(db.update(User).where(User.id == u[8].id).values(member_level_id=silver.id))
    db.session.commit()
    assert buyers.buyer_analysis(w["start"], w["today"]) != scan(w["start"], w["today"])
    aggregate.aggregate_day(w["today"] - timedelta(days=1))  # u6 paid then (u8 on day -8)
    rows = stored_rows()
    assert {v[6] for k, v in rows.items() if k[2] == u[6].id} == {silver.id}
    assert {v[6] for k, v in rows.items() if k[2] == u[8].id} == {None}
    assert aggregate.sync_member_levels() == len([k for k in rows if k[2] == u[8].id])
    assert aggregate.sync_member_levels() == 0
    db.session.commit()
    assert_links_and_levels()
    assert_as_the_scan(w)


def test_the_buyer_analysis_is_one_statement(app, factory, queries):
    """Issue 19 (performance): whatever the range, the scope or the number of
    buyers, the buyer analysis reads report_buyer_daily in one statement."""
    w = wider_world(factory)
    for start, scope in ((w["start"], 0), (w["today"] - timedelta(days=700), 0), (w["start"], 8)):
        db.session.rollback()
        with queries() as q:
            result = buyers.buyer_analysis(start, w["today"], scope)
        assert result["buyers"] > 0
        assert q.count == 1, q.statements
        assert "FROM report_buyer_daily" in q.statements[0]
        assert "FROM orders" not in q.statements[0] and "JOIN orders" not in q.statements[0]


def test_a_late_refund_lowers_m_once_its_day_is_aggregated(app, api, client, factory):
    """Issue 19 / seed 004 §6: M is what the buyer paid minus what was
    refunded of those orders, whenever refunded. An order paid three days
    ago (seller 7, 2 × 50.00) is half refunded today, after its day was
    aggregated: the job's run of today writes the refund back into that
    day's rows (platform and seller 7), so the analysis of a range with the
    order drops M to 50.00, as the order scan does; re-running the order's
    day keeps it."""
    today = to_shop_time(utcnow()).date()
    d3 = today - timedelta(days=3)
    admin = factory.admin()
    a = factory.user()
    p1 = factory.product(name="茶叶", price=5000, stock=100)
    o1 = place(api, client, a, factory.address(a), p1.skus[0], 2, "late-1")
    move_order(o1["id"], created=at(d3, 9), paid=at(d3, 9), seller_id=7)
    db.session.execute(db.update(Product).where(Product.id == p1.id).values(seller_id=7))
    db.session.commit()
    aggregate.aggregate_recent(today)
    key = (d3, a.id)
    rows = buyer_rows()
    assert rows[(0, *key)] == rows[(7, *key)] == (1, 10000, 0, d3)
    before = buyers.buyer_analysis(d3, today, 7)
    assert before["medians"]["monetary"] == 10000 and before == scan(d3, today, 7)

    refund_one(api, a, admin, o1["id"])
    db.session.rollback()
    assert db.session.get(Order, o1["id"]).refunded_amount == 5000
    assert buyer_rows()[(0, *key)][2] == 0  # not yet aggregated
    aggregate.aggregate_recent(today)  # yesterday and today only: the refund was executed today
    rows = buyer_rows()
    assert rows[(0, *key)] == rows[(7, *key)] == (1, 10000, 5000, d3)
    for scope in (0, 7):
        after = buyers.buyer_analysis(d3, today, scope)
        assert after == scan(d3, today, scope)
        assert after["medians"]["monetary"] == 5000 and sum(s["amount"] for s in after["segments"]) == 5000
    aggregate.aggregate_day(d3)
    assert buyer_rows() == rows


def test_the_median_of_a_histogram_is_the_median_of_its_values():
    """Issue 19: the R and F medians come from counts; they are exactly
    statistics.median of the values counted (odd and even counts, ties)."""
    import random

    rng = random.Random(19)
    for size in range(1, 60):
        values = [rng.randint(0, 6) for _ in range(size)]
        histogram: dict[int, int] = {}
        for v in values:
            histogram[v] = histogram.get(v, 0) + 1
        assert buyers._median(histogram) == median(values), values
    assert buyers._median({}) == 0
