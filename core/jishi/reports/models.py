"""The data layer of the reports (issue 19): who visited, and the daily aggregates.

- :class:`VisitorDay`: one row per (shop day, kind, ref_id, visitor) — the
  exact unique-visitor table, filled by insert-or-ignore in batches by
  :mod:`jishi.reports.tracking` (page views stay counters in ``page_visits``).
- :class:`ReportDaily`: per shop day and scope (0: the whole platform, else a
  seller's id) the day's trade, refund, visit and funnel figures.
- :class:`ReportProductDaily`: per shop day and product its visits, carts and
  sales.
- :class:`ReportBuyerDaily`: per shop day, scope and buyer the paid orders,
  what they paid, what has been refunded of them so far, the buyer's
  first paid day in the scope and current member level (the buyer analysis
  reads only these).
- :class:`VisitorReturn`: per shop day and scope key the day's visitors by
  their previous visit day (exact UV over a range).

The aggregate tables are written only by :func:`jishi.reports.aggregate.aggregate_day`
(delete the day, insert it again: re-running a day gives the same figures);
the reports read them, and ``visitor_days`` for the products they list.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, Index, String, event, inspect, update
from sqlalchemy.orm import Mapped, mapped_column

from jishi.accounts.models import User
from jishi.db import db


class VisitorDay(db.Model):
    """A visitor seen on a day for a counter key (the UV of that key)."""

    __tablename__ = "visitor_days"
    # (kind, ref_id, visitor, day): a product's distinct visitors over a range
    # (an index-only scan, already in DISTINCT order) and a visitor's previous
    # day for a key (the aggregation's VisitorReturn rows); the primary key,
    # day first, serves the aggregation's day and the pruning.
    __table_args__ = (Index("ix_visitor_days_key_visitor", "kind", "ref_id", "visitor", "day"),)

    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    ref_id: Mapped[int] = mapped_column(primary_key=True, default=0)
    visitor: Mapped[str] = mapped_column(String(70), primary_key=True)


class VisitorReturn(db.Model):
    """Per shop day and scope key (``site``, ``cart``, ``seller``,
    ``cart_seller``) the day's visitors grouped by the day of their previous
    visit for that key (``prev_day`` "": none kept). The distinct visitors of
    a range ``[s, e]`` are exactly the rows of days in it whose ``prev_day``
    is before ``s`` (each visitor's first day in the range): a sum over a
    few rows per day, whatever the traffic. Written with the day's
    aggregates by :func:`jishi.reports.aggregate.aggregate_day`."""

    __tablename__ = "visitor_returns"
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    ref_id: Mapped[int] = mapped_column(primary_key=True, default=0)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    prev_day: Mapped[str] = mapped_column(String(10), primary_key=True, default="")
    visitors: Mapped[int] = mapped_column(default=0)


class ReportDaily(db.Model):
    """One shop day of one scope (``seller_id`` 0: the platform)."""

    __tablename__ = "report_daily"
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    seller_id: Mapped[int] = mapped_column(primary_key=True, default=0)
    orders: Mapped[int] = mapped_column(default=0)  # placed that day
    paid_orders: Mapped[int] = mapped_column(default=0)
    paid_amount: Mapped[int] = mapped_column(BigInteger, default=0)  # fen
    buyers: Mapped[int] = mapped_column(default=0)  # distinct buyers who paid that day
    units: Mapped[int] = mapped_column(default=0)
    refund_amount: Mapped[int] = mapped_column(BigInteger, default=0)  # refunds paid back that day
    refund_count: Mapped[int] = mapped_column(default=0)
    pv: Mapped[int] = mapped_column(default=0)
    uv: Mapped[int] = mapped_column(default=0)
    carted: Mapped[int] = mapped_column(default=0)  # unique visitors who added to the cart
    ordered: Mapped[int] = mapped_column(default=0)  # distinct buyers who placed an order
    paid_buyers: Mapped[int] = mapped_column(default=0)  # of those, who paid one placed that day


class ReportProductDaily(db.Model):
    """One shop day of one product (``seller_id`` 0: the platform's own)."""

    __tablename__ = "report_product_daily"
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    product_id: Mapped[int] = mapped_column(primary_key=True)
    seller_id: Mapped[int] = mapped_column(default=0, index=True)
    pv: Mapped[int] = mapped_column(default=0)
    uv: Mapped[int] = mapped_column(default=0)
    carts: Mapped[int] = mapped_column(default=0)  # add-to-cart actions
    carted: Mapped[int] = mapped_column(default=0)  # unique visitors who added it
    buyers: Mapped[int] = mapped_column(default=0)
    units: Mapped[int] = mapped_column(default=0)
    paid_amount: Mapped[int] = mapped_column(BigInteger, default=0)


class ReportBuyerDaily(db.Model):
    """One buyer's paid orders of one shop day in one scope (``seller_id`` 0:
    the platform, every order). ``refunded_amount`` is what has been refunded
    of *these* orders so far (a later refund of them is written back here by
    the aggregation of the day it was made); ``first_day`` is the buyer's
    first paid day in the scope (this day or an earlier one): a buyer is new
    in a range when it is in the range.

    ``prev_day`` and ``next_day`` are the buyer's previous and next paid
    days in the scope (None: none, or none yet): a row whose previous day is
    before a range and whose next day is after it is the buyer's only row in
    that range, and the analysis reads its figures as they are — only the
    few buyers with several rows in the range are grouped. ``prev_day`` is
    read from the orders with the row; ``next_day`` too, and the aggregation
    of a later day sets it on the row of that day's ``prev_day``.

    ``member_level_id`` is the buyer's *current* member level, on every row
    of the buyer (the analysis counts buyers by it without joining
    ``users``): written with the day's rows, rewritten on all the buyer's
    rows in the flush that changes the level (:func:`_member_level_changed`),
    and re-synced by the aggregation for each day's buyers
    (:func:`jishi.reports.aggregate.sync_member_levels`)."""

    __tablename__ = "report_buyer_daily"
    # (user_id): a level change rewrites the buyer's rows
    __table_args__ = (
        Index("ix_report_buyer_daily_day", "day"),
        Index("ix_report_buyer_daily_user", "user_id"),
    )
    seller_id: Mapped[int] = mapped_column(primary_key=True, default=0)
    # Dates, not the other tables' ISO strings: the report groups and sorts
    # tens of thousands of buyers by them (a 4-byte integer on PostgreSQL).
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    user_id: Mapped[int] = mapped_column(primary_key=True)
    paid_orders: Mapped[int] = mapped_column(default=0)
    paid_amount: Mapped[int] = mapped_column(BigInteger, default=0)  # fen
    refunded_amount: Mapped[int] = mapped_column(BigInteger, default=0)  # fen, of these orders, so far
    first_day: Mapped[date] = mapped_column(Date)
    prev_day: Mapped[date | None] = mapped_column(Date)
    next_day: Mapped[date | None] = mapped_column(Date)
    member_level_id: Mapped[int | None] = mapped_column()  # the buyer's current level (no FK: a copy)


@event.listens_for(User, "after_update", propagate=True)
def _member_level_changed(mapper, connection, target: User) -> None:
    """A user's member level changed (any ORM flush: the console, the API,
    a plugin through ``jishi.accounts.external``): the buyer's
    ``report_buyer_daily`` rows take the new level in the same transaction
    (one UPDATE by ``ix_report_buyer_daily_user``), so the buyer analysis
    counts buyers by their current level without joining ``users``."""
    if not inspect(target).attrs.member_level_id.history.has_changes():
        return
    t = ReportBuyerDaily.__table__
    level = target.member_level_id
    connection.execute(
        update(t)
        .where(t.c.user_id == target.id, t.c.member_level_id.is_distinct_from(level))
        .values(member_level_id=level)
    )


__all__ = ["ReportBuyerDaily", "ReportDaily", "ReportProductDaily", "VisitorDay", "VisitorReturn"]
