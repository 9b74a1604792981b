"""The points report (platform console): what the ledger gave and took in
a range of the shop's days, and what the platform still owes.

Every figure is an aggregate SQL query over ``points_entries`` (no entry is
loaded into Python). Per entry kind, in points:

- ``issued``: points awarded: ``frozen`` entries (an order's points, frozen
  until it completes) and ``earned`` ones (usable at once: sign-in, review,
  registration...). ``unfrozen`` entries move points from frozen to usable
  and are not counted again.
- ``adjusted_in`` / ``adjusted_out``: the platform's adjustments, added /
  taken.
- ``spent``: used at checkout (or in the exchange).
- ``returned``: spent points given back by a cancellation or refund.
- ``clawed_back``: earned points taken back by a refund (frozen or usable).
- ``expired``: points that expired.
- ``net``: the sum of every entry's change (usable and frozen):
  ``issued + adjusted_in - adjusted_out - spent + returned - clawed_back -
  expired``.

The outstanding liability at the end of the range: per buyer, the usable
points (when above zero: a buyer's negative balance is owed to the
platform and never lowers what it owes the others) plus the frozen
points; their total ``P`` is worth ``ceil(P * 100 / rate)`` fen at today's
rate (``points.rate`` points = ¥1), rounded UP to the whole fen once, on
the total: the platform never states less than it owes.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, timedelta

from jishi.db import db, utcnow
from jishi.i18n import shop_day_bounds, to_shop_time
from sqlalchemy import case, func, literal, select

from jishi_points import service
from jishi_points.models import (
    ADJUSTED,
    CLAWED_BACK,
    EARNED,
    EXPIRED,
    FROZEN,
    REFUNDED,
    SPENT,
    PointsEntry,
)

COLUMNS = ("issued", "adjusted_in", "adjusted_out", "spent", "returned", "clawed_back", "expired", "net")
MAX_DAYS = 366


@dataclass
class Report:
    start: date
    end: date
    days: list[dict] = field(default_factory=list)  # {"day": "YYYY-MM-DD", <column>: points}
    totals: dict = field(default_factory=dict)
    usable: int = 0  # outstanding usable points (buyers above zero) at the end
    frozen: int = 0  # outstanding frozen points at the end
    negative: int = 0  # points buyers below zero owe back (a positive number)
    rate: int = 100
    liability: int = 0  # fen

    @property
    def outstanding(self) -> int:
        return self.usable + self.frozen


def liability_fen(points: int, rate: int) -> int:
    """``points`` at ``rate`` points per yuan, in fen, rounded up."""
    return -(-max(0, points) * 100 // max(1, rate))


def _shop_day(moment):
    """SQL: the shop's calendar day of a stored (naive UTC) moment, at the
    shop's UTC offset of today (China keeps one offset all year)."""
    offset = to_shop_time(utcnow()).utcoffset()
    seconds = int(offset.total_seconds()) if offset else 0
    if db.session.get_bind().dialect.name == "sqlite":
        return func.date(moment, f"{seconds:+d} seconds")
    return func.date(moment + timedelta(seconds=seconds))


def _figures():
    """The labelled SUM(CASE ...) columns of :data:`COLUMNS`."""
    e = PointsEntry
    both = e.delta + e.frozen_delta

    def total(when, value):
        return func.coalesce(func.sum(case((when, value), else_=literal(0))), 0)

    return (
        total(e.kind == FROZEN, e.frozen_delta).label("issued_frozen"),
        total(e.kind == EARNED, both).label("issued_earned"),
        total((e.kind == ADJUSTED) & (e.delta > 0), e.delta).label("adjusted_in"),
        total((e.kind == ADJUSTED) & (e.delta < 0), -e.delta).label("adjusted_out"),
        total(e.kind == SPENT, -e.delta).label("spent"),
        total(e.kind == REFUNDED, e.delta).label("returned"),
        total(e.kind == CLAWED_BACK, -both).label("clawed_back"),
        total(e.kind == EXPIRED, -both).label("expired"),
        func.coalesce(func.sum(both), 0).label("net"),
    )


def _row(values) -> dict:
    m = values._mapping
    row = {k: int(m[k]) for k in COLUMNS if k != "issued"}
    row["issued"] = int(m["issued_frozen"]) + int(m["issued_earned"])
    return row


def build(start: date, end: date) -> Report:
    """The report of the shop's days ``start`` .. ``end`` (inclusive)."""
    report = summary(start, end)
    lo, hi = shop_day_bounds(start, end)
    day = _shop_day(PointsEntry.created_at)
    rows = db.session.execute(
        select(day.label("day"), *_figures())
        .where(PointsEntry.created_at >= lo, PointsEntry.created_at < hi)
        .group_by(day)
        .order_by(day)
    )
    report.days = [{"day": str(r.day)[:10], **_row(r)} for r in rows]
    return report


def summary(start: date, end: date) -> Report:
    """The range's totals and the liability at its end, without the days
    (two statements; the reports' points section, issue 19)."""
    lo, hi = shop_day_bounds(start, end)
    assert lo is not None and hi is not None
    in_range = (PointsEntry.created_at >= lo, PointsEntry.created_at < hi)
    report = Report(start, end, rate=service.setting(service.RATE))
    report.totals = _row(db.session.execute(select(*_figures()).where(*in_range)).one())
    per_buyer = (
        select(
            func.sum(PointsEntry.delta).label("usable"),
            func.sum(PointsEntry.frozen_delta).label("frozen"),
        )
        .where(PointsEntry.created_at < hi)
        .group_by(PointsEntry.user_id)
        .subquery()
    )
    usable, frozen, negative = db.session.execute(
        select(
            func.coalesce(func.sum(case((per_buyer.c.usable > 0, per_buyer.c.usable), else_=literal(0))), 0),
            func.coalesce(func.sum(case((per_buyer.c.frozen > 0, per_buyer.c.frozen), else_=literal(0))), 0),
            func.coalesce(func.sum(case((per_buyer.c.usable < 0, -per_buyer.c.usable), else_=literal(0))), 0),
        )
    ).one()
    report.usable, report.frozen, report.negative = int(usable), int(frozen), int(negative)
    report.liability = liability_fen(report.outstanding, report.rate)
    return report


def csv_text(report: Report) -> str:
    """The report as CSV: one row per day, the totals, then the liability."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(("day", *COLUMNS))
    for row in report.days:
        w.writerow((row["day"], *(row[k] for k in COLUMNS)))
    w.writerow(("total", *(report.totals[k] for k in COLUMNS)))
    w.writerow(())
    w.writerow(
        ("as_of", "usable_points", "frozen_points", "outstanding_points", "rate", "liability_fen", "negative_points")
    )
    w.writerow(
        (
            report.end.isoformat(),
            report.usable,
            report.frozen,
            report.outstanding,
            report.rate,
            report.liability,
            report.negative,
        )
    )
    return buf.getvalue()


def parse_range(start_raw: str, end_raw: str, today: date | None = None) -> tuple[date, date]:
    """The range from form text (``YYYY-MM-DD``; default the last 30 days,
    ending today). Raises ``ValueError`` naming the bad field: ``start`` /
    ``end``, or ``end`` for a range longer than :data:`MAX_DAYS` days."""
    today = today or to_shop_time(utcnow()).date()
    try:
        end = date.fromisoformat(end_raw) if end_raw else today
    except ValueError:
        raise ValueError("end") from None
    try:
        start = date.fromisoformat(start_raw) if start_raw else end - timedelta(days=29)
    except ValueError:
        raise ValueError("start") from None
    if start > end:
        start, end = end, start
    if (end - start).days >= MAX_DAYS:
        raise ValueError("end")
    return start, end
