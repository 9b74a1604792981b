"""Buyer analysis and the kernel's finance figures (issue 19; seed 004 §6
用户行为分析, 财务报表).

Buyer analysis reads the per-buyer daily aggregate (``report_buyer_daily``,
written by :func:`jishi.reports.aggregate.aggregate_day`) with one grouped
statement (never one per buyer): per buyer of the scope who paid in the
range, the first paid day in the scope, the last paid day in the range, the
number of paid orders in the range and their paid amount net of what was
refunded of them, and the buyer's member level (id, name, rank); the scoring
is done on those rows, linear in them. "Paid" is as everywhere in the
reports: not pending payment, not cancelled or timed out, the moment is the
payment (cash on delivery: placing).

- **New / returning**: a buyer whose first paid order (in the scope) is in
  the range is new, one who had paid before the range is returning.
- **Repeat-purchase rate**: buyers with at least 2 paid orders in the range
  ÷ buyers, permille (floored).
- **RFM** (median split over the range's buyers): R = shop days from the
  buyer's last paid order in the range to the range's last day, F = paid
  orders in the range, M = their paid amount minus what was refunded of
  them (fen). R is high when at most the median (recent), F and M when
  strictly above the median (so the usual median frequency of 1 leaves
  one-time buyers low). The eight classic segments follow from (R, F, M).
- **Member levels**: the buyers by their current member level.

Finance without multistore: per shop day the paid amount, the refunds paid
back and the net (paid − refunded), from the daily aggregates.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

from sqlalchemy import BigInteger, Integer, case, cast, func, or_, select, true, union_all

from jishi.accounts.models import MemberLevel
from jishi.db import db
from jishi.i18n import gettext as _
from jishi.reports.models import ReportBuyerDaily

__all__ = ["SEGMENTS", "buyer_analysis", "finance_days", "segment_labels"]

#: (R high, F high, M high) -> segment key, in display order.
SEGMENTS: dict[tuple[bool, bool, bool], str] = {
    (True, True, True): "important_value",  # 重要价值客户
    (True, False, True): "important_develop",  # 重要发展客户
    (False, True, True): "important_keep",  # 重要保持客户
    (False, False, True): "important_retain",  # 重要挽留客户
    (True, True, False): "general_value",  # 一般价值客户
    (True, False, False): "general_develop",  # 一般发展客户
    (False, True, False): "general_keep",  # 一般保持客户
    (False, False, False): "general_retain",  # 一般挽留客户
}


def segment_labels() -> dict[str, str]:
    return {
        "important_value": _("Important value buyers"),
        "important_develop": _("Important buyers to develop"),
        "important_keep": _("Important buyers to keep"),
        "important_retain": _("Important buyers to win back"),
        "general_value": _("General value buyers"),
        "general_develop": _("General buyers to develop"),
        "general_keep": _("General buyers to keep"),
        "general_retain": _("General buyers to win back"),
    }


def _rate(n: int, of: int) -> int:
    return n * 1000 // of if of else 0


def _median(histogram: dict[int, int]) -> float | int:
    """:func:`statistics.median` of the values ``histogram`` counts
    (``{value: how many}``): the middle one, or the mean of the two middle ones."""
    n = sum(histogram.values())
    if not n:
        return 0
    lo, hi = (n - 1) // 2, n // 2  # 0-based positions of the middle value(s)
    seen, found = 0, []
    for value in sorted(histogram):
        seen += histogram[value]
        while len(found) < 2 and seen > (lo, hi)[len(found)]:
            found.append(value)
        if len(found) == 2:
            break
    return found[0] if n % 2 else (found[0] + found[1]) / 2


def buyer_analysis(start: date, end: date, scope: int = 0) -> dict[str, Any]:
    """New vs returning buyers, the repeat-purchase rate, the RFM segments
    (with the medians used) and the member-level distribution of the
    buyers who paid in the shop days ``start`` .. ``end`` (scope 0: the
    platform, else that seller's orders).

    One statement over the scope's ``report_buyer_daily`` rows of the range:
    per buyer the first paid day, last paid day in the range, paid orders,
    M and current member level — for the platform a buyer's only row in the
    range (its previous paid day before the range, its next one after: most
    buyers) as it is and the other buyers' rows grouped; a seller's (a few
    hundred buyers) all grouped —, the median of M, then the
    buyers counted by (last paid day, paid orders, M above the median, new,
    member level) with their M summed — at most days × frequencies × 2 × 2
    × levels rows, not one per buyer — and the levels' names; the medians of
    R and F and the segments come from those counts. No join to ``users``:
    the rows carry the buyer's current level."""
    d0, d1 = start, end
    r = ReportBuyerDaily
    in_range = (r.seller_id == scope, r.day >= d0, r.day <= d1)
    if scope:
        # A seller's few hundred buyers: grouped, one scan (the platform's two
        # scans tempt the planner into a parallel plan whose workers' start-up
        # costs more than the rows).
        per_buyer = (
            select(
                func.max(r.day).label("last_day"),
                cast(func.sum(r.paid_orders), Integer).label("f"),
                cast(func.sum(r.paid_amount - r.refunded_amount), BigInteger).label("m"),
                case((func.min(r.first_day) >= d0, 1), else_=0).label("new"),
                func.max(r.member_level_id).label("level_id"),
            )
            .where(*in_range)
            .group_by(r.user_id)
            .cte("per_buyer")
        )
    else:
        # The buyer's only row in the range: its previous paid day before it, its next one after.
        only_row = (or_(r.prev_day.is_(None), r.prev_day < d0), or_(r.next_day.is_(None), r.next_day > d1))
        single = select(
            r.day.label("last_day"),
            r.paid_orders.label("f"),
            cast(r.paid_amount - r.refunded_amount, BigInteger).label("m"),
            case((r.first_day >= d0, 1), else_=0).label("new"),
            r.member_level_id.label("level_id"),
        ).where(*in_range, *only_row)
        several = (
            select(
                func.max(r.day),
                cast(func.sum(r.paid_orders), Integer),
                cast(func.sum(r.paid_amount - r.refunded_amount), BigInteger),  # not NUMERIC: sorted, compared
                case((func.min(r.first_day) >= d0, 1), else_=0),
                func.max(r.member_level_id),
            )
            .where(*in_range, or_(r.prev_day >= d0, r.next_day <= d1))
            .group_by(r.user_id)
        )
        per_buyer = union_all(single, several).cte("per_buyer")
    if db.session.get_bind().dialect.name == "postgresql":
        # the middle value, or the mean of the two (exact: M is an integer far below 2**52)
        middle = select(func.percentile_cont(0.5).within_group(per_buyer.c.m).label("median_m")).cte("middle")
    else:  # SQLite: no ordered-set aggregate; the middle one or two by rank
        ranked = select(
            per_buyer.c.m, func.row_number().over(order_by=per_buyer.c.m).label("rn"), func.count().over().label("n")
        ).cte("ranked")
        middle = (
            select(func.avg(ranked.c.m).label("median_m"))
            .where(or_(ranked.c.rn == (ranked.c.n + 1) // 2, ranked.c.rn == (ranked.c.n + 2) // 2))
            .cte("middle")
        )
    m_high = case((per_buyer.c.m > middle.c.median_m, 1), else_=0)
    counted = (
        select(
            per_buyer.c.last_day,
            per_buyer.c.f,
            m_high.label("m_high"),
            per_buyer.c.new,
            per_buyer.c.level_id,
            func.count().label("n"),
            func.sum(per_buyer.c.m).label("amount"),
            func.max(middle.c.median_m).label("median_m"),
        )
        .select_from(per_buyer.join(middle, true()))
        .group_by(per_buyer.c.last_day, per_buyer.c.f, m_high, per_buyer.c.new, per_buyer.c.level_id)
        .subquery()
    )
    rows = db.session.execute(
        select(
            counted.c.last_day,
            counted.c.f,
            counted.c.m_high,
            counted.c.new,
            counted.c.level_id,
            MemberLevel.name,
            MemberLevel.rank,
            counted.c.n,
            counted.c.amount,
            counted.c.median_m,
        )
        .select_from(counted)
        .outerjoin(MemberLevel, MemberLevel.id == counted.c.level_id)
    ).all()
    last = end.toordinal()
    groups = [
        (
            last - row[0].toordinal(),
            int(row[1]),
            bool(row[2]),
            bool(row[3]),
            int(row[7]),
            int(row[8] or 0),
        )
        for row in rows
    ]
    buyers = sum(g[4] for g in groups)
    new = sum(g[4] for g in groups if g[3])
    repeat = sum(g[4] for g in groups if g[1] >= 2)
    r_hist: dict[int, int] = {}
    f_hist: dict[int, int] = {}
    for r_days, freq, _m_high, _new, n, _amount in groups:
        r_hist[r_days] = r_hist.get(r_days, 0) + n
        f_hist[freq] = f_hist.get(freq, 0) + n
    med = (_median(r_hist), _median(f_hist), rows[0][9] if rows else 0)
    counts = dict.fromkeys(SEGMENTS.values(), 0)
    amounts = dict.fromkeys(SEGMENTS.values(), 0)
    for r_days, freq, m_high, _new, n, amount in groups:
        key = SEGMENTS[(r_days <= med[0], freq > med[1], m_high)]
        counts[key] += n
        amounts[key] += amount
    labels = segment_labels()
    segments = [
        {
            "segment": key,
            "label": labels[key],
            "buyers": counts[key],
            "share_permille": _rate(counts[key], buyers),
            "amount": amounts[key],
        }
        for key in SEGMENTS.values()
    ]
    by_level: dict[int, int] = {}
    names: dict[int, tuple[str, int]] = {}
    for row in rows:
        lid = int(row[4] or 0)
        by_level[lid] = by_level.get(lid, 0) + int(row[7])
        if lid:
            names[lid] = (row[5], int(row[6] or 0))
    levels = [
        {
            "level_id": lid,
            "name": names[lid][0] if lid in names else _("No level"),
            "buyers": n,
            "share_permille": _rate(n, buyers),
        }
        for lid, n in sorted(by_level.items(), key=lambda kv: (names.get(kv[0], ("", -1))[1], kv[0]))
    ]
    return {
        "buyers": buyers,
        "new_buyers": new,
        "returning_buyers": buyers - new,
        "repeat_buyers": repeat,
        "repeat_rate_permille": _rate(repeat, buyers),
        "medians": {"recency_days": float(med[0]), "frequency": float(med[1]), "monetary": math.floor(med[2])},
        "segments": segments,
        "levels": levels,
    }


def finance_days(start: date, end: date, scope: int = 0, loaded: dict[str, tuple] | None = None) -> dict[str, Any]:
    """Per shop day the paid amount, the refunds paid back and the net, and
    the range's totals (from the daily aggregates)."""
    from jishi.reports import analytics

    start, end = analytics.clamp(start, end)
    loaded = analytics._load(start, end, scope) if loaded is None else loaded
    ip, ir = analytics._SUMS.index("paid_amount"), analytics._SUMS.index("refund_amount")
    days = []
    for i in range((end - start).days + 1):
        key = (start + timedelta(days=i)).isoformat()
        values = loaded.get(key)
        paid, refunded = (values[ip], values[ir]) if values else (0, 0)
        days.append({"day": key, "paid_amount": paid, "refund_amount": refunded, "net_amount": paid - refunded})
    paid = sum(d["paid_amount"] for d in days)
    refunded = sum(d["refund_amount"] for d in days)
    return {
        "totals": {"paid_amount": paid, "refund_amount": refunded, "net_amount": paid - refunded},
        "days": days,
    }
