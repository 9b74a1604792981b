"""Reports (SPEC K16): overview, funnel, sales by day, top products, exports.

Every figure is one SQL aggregate over a date range; nothing loads all the
orders into Python. Ranges are ``[start, end]`` in whole days (naive UTC,
like every timestamp column): ``start`` and ``end`` are dates (or
datetimes, taken as given, end exclusive).

Public API for plugins (see docs/writing-plugins.md): the figures of one
seller (``seller_id``; None: the shop itself) and the exports, and the
``PageVisit`` model (daily counters ``day``, ``kind``, ``ref_id``, ``count``
written by :func:`record_visit`) for a plugin's own visit figures; and the
aggregate reports of issue 19 (:func:`report_data`, :func:`report_table`,
:func:`table_csv`, :func:`table_xlsx`, :func:`report_range`), read from the
daily tables ``jishi.reports.aggregate`` fills, and the exact unique
visitors of products over a range (:func:`product_visitors`,
:func:`visitors_exact_from`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, func, select

from jishi.accounts.models import User
from jishi.aftersales.models import Refund
from jishi.db import db, utcnow
from jishi.i18n import shop_day_bounds, to_shop_time
from jishi.models import PageVisit
from jishi.money import fen_to_yuan_str
from jishi.orders.models import Order, OrderLine
from jishi.reports.sheets import csv_row, xlsx_bytes

EXPORT_COLUMNS = (
    "number",
    "created_at",
    "status",
    "buyer_phone",
    "goods_amount",
    "discount_amount",
    "delivery_fee",
    "pay_amount",
    "refunded_amount",
    "payment_method",
    "paid_at",
    "shipped_at",
    "carrier",
    "tracking_no",
)


def _range(start, end) -> tuple[datetime, datetime]:
    """Dates (the shop's days; default the last 30) -> [start 00:00, day
    after end 00:00) in the shop's time zone, as stored; datetimes as given."""
    today = to_shop_time(utcnow()).date()
    start = today - timedelta(days=29) if start is None else start
    end = today if end is None else end
    if not isinstance(start, datetime):
        start = shop_day_bounds(start=start)[0]
    if not isinstance(end, datetime):
        end = shop_day_bounds(end=end)[1]
    return start, end


def _days(start: datetime, end: datetime) -> tuple[str, str]:
    """The shop's days a range covers (the visit counters' keys)."""
    from jishi.i18n import MAX_MOMENT, MIN_MOMENT, to_shop_time

    def local(moment: datetime):  # beyond the stored calendar a day is a day
        return to_shop_time(moment).date() if MIN_MOMENT <= moment < MAX_MOMENT else moment.date()

    last = end - timedelta(microseconds=1) if end > datetime.min else end
    return local(start).isoformat(), local(last).isoformat()


def _shop_day(moment):
    """SQL: the shop's calendar day of a stored (naive UTC) moment, with the
    shop's UTC offset of today (a zone that changes offset within a range
    may put an order at 1 a.m. on the day before: none of China's does)."""
    from jishi.i18n import to_shop_time

    offset = to_shop_time(utcnow()).utcoffset()
    seconds = int(offset.total_seconds()) if offset else 0
    if db.engine.dialect.name == "sqlite":
        return func.date(moment, f"{seconds:+d} seconds")
    return func.date(moment + timedelta(seconds=seconds))


def _paid(start, end):
    """Orders paid in the range (cash-on-delivery orders count when placed in it)."""
    return and_(
        Order.status != "pending_payment",
        func.coalesce(Order.paid_at, Order.created_at) >= start,
        func.coalesce(Order.paid_at, Order.created_at) < end,
        Order.close_reason.notin_(("cancelled", "timeout")),
    )


def overview(start=None, end=None, seller_id: int | None = None) -> dict:
    """Headline figures for a range: counts and fen, all integers."""
    s, e = _range(start, end)
    seller = (Order.seller_id == seller_id,) if seller_id is not None else ()
    placed = db.session.execute(
        select(func.count(Order.id)).where(Order.created_at >= s, Order.created_at < e, *seller)
    ).scalar_one()
    paid_orders, paid_amount, buyers = db.session.execute(
        select(
            func.count(Order.id), func.coalesce(func.sum(Order.pay_amount), 0), func.count(func.distinct(Order.user_id))
        ).where(_paid(s, e), *seller)
    ).one()
    items = db.session.execute(
        select(func.coalesce(func.sum(OrderLine.quantity), 0))
        .join(Order, Order.id == OrderLine.order_id)
        .where(_paid(s, e), *seller)
    ).scalar_one()
    refunds = db.session.execute(
        select(func.coalesce(func.sum(Refund.amount), 0)).where(
            Refund.status == "refunded",
            Refund.refunded_at >= s,
            Refund.refunded_at < e,
            *((Refund.seller_id == seller_id,) if seller_id is not None else ()),
        )
    ).scalar_one()
    d0, d1 = _days(s, e)
    visits = db.session.execute(
        select(func.coalesce(func.sum(PageVisit.count), 0)).where(
            PageVisit.kind == "site", PageVisit.day >= d0, PageVisit.day <= d1
        )
    ).scalar_one()
    new_users = db.session.execute(
        select(func.count(User.id)).where(User.created_at >= s, User.created_at < e)
    ).scalar_one()
    return {
        "orders": int(placed),
        "paid_orders": int(paid_orders),
        "paid_amount": int(paid_amount),
        "buyers": int(buyers),
        "items": int(items),
        "refunds_amount": int(refunds),
        "net_amount": int(paid_amount) - int(refunds),
        "visits": int(visits),
        "new_users": int(new_users),
    }


def home_figures(seller_id: int | None = None, *, now: datetime | None = None) -> dict:
    """A console home's figures in one query: ``{"today": {...}, "week":
    {...}}``, each with ``orders`` (placed), ``paid_amount`` (fen paid) and
    ``buyers`` (distinct buyers who paid). Days are the shop's local days
    (``BABEL_DEFAULT_TIMEZONE``); "week" is the last 7 days, today included.

    ``seller_id``: that seller's orders (None: every order, like
    :func:`overview`)."""
    from sqlalchemy import case, or_

    from jishi.i18n import from_shop_time, to_shop_time

    now = now or utcnow()
    local_today = to_shop_time(now).date()
    day0 = from_shop_time(datetime.combine(local_today, time()))
    week0 = from_shop_time(datetime.combine(local_today - timedelta(days=6), time()))
    end = from_shop_time(datetime.combine(local_today + timedelta(days=1), time()))
    paid_at = func.coalesce(Order.paid_at, Order.created_at)
    paid = and_(Order.status != "pending_payment", Order.close_reason.notin_(("cancelled", "timeout")))
    seller = (Order.seller_id == seller_id,) if seller_id is not None else ()

    def placed(start):
        return func.count(case((and_(Order.created_at >= start, Order.created_at < end), Order.id)))

    def paid_in(start):
        return and_(paid, paid_at >= start, paid_at < end)

    row = db.session.execute(
        select(
            placed(day0),
            placed(week0),
            func.coalesce(func.sum(case((paid_in(day0), Order.pay_amount), else_=0)), 0),
            func.coalesce(func.sum(case((paid_in(week0), Order.pay_amount), else_=0)), 0),
            func.count(func.distinct(case((paid_in(day0), Order.user_id)))),
            func.count(func.distinct(case((paid_in(week0), Order.user_id)))),
        ).where(or_(Order.created_at >= week0, paid_at >= week0), *seller)
    ).one()
    return {
        "today": {"orders": int(row[0]), "paid_amount": int(row[2]), "buyers": int(row[4])},
        "week": {"orders": int(row[1]), "paid_amount": int(row[3]), "buyers": int(row[5])},
    }


def funnel(start=None, end=None, seller_id: int | None = None) -> dict:
    """Visits -> buyers who placed an order -> buyers who paid, with rates
    in permille (integers). With ``seller_id``: that store's orders (visits
    stay the site's)."""
    s, e = _range(start, end)
    d0, d1 = _days(s, e)
    visits = int(
        db.session.execute(
            select(func.coalesce(func.sum(PageVisit.count), 0)).where(
                PageVisit.kind == "site", PageVisit.day >= d0, PageVisit.day <= d1
            )
        ).scalar_one()
    )
    ordered, paid = db.session.execute(
        select(
            func.count(func.distinct(Order.user_id)),
            func.count(func.distinct(Order.user_id)).filter(
                Order.status != "pending_payment", Order.close_reason.notin_(("cancelled", "timeout"))
            ),
        ).where(
            Order.created_at >= s,
            Order.created_at < e,
            *((Order.seller_id == seller_id,) if seller_id is not None else ()),
        )
    ).one()
    ordered, paid = int(ordered), int(paid)
    return {
        "visits": visits,
        "ordered": ordered,
        "paid": paid,
        "order_rate_permille": ordered * 1000 // visits if visits else 0,
        "pay_rate_permille": paid * 1000 // ordered if ordered else 0,
    }


def sales_by_day(start=None, end=None, seller_id: int | None = None) -> list[dict]:
    """[{day: "YYYY-MM-DD", orders, amount}] for days with paid orders."""
    s, e = _range(start, end)
    day = _shop_day(func.coalesce(Order.paid_at, Order.created_at))
    q = select(day.label("day"), func.count(Order.id), func.coalesce(func.sum(Order.pay_amount), 0)).where(_paid(s, e))
    if seller_id is not None:
        q = q.where(Order.seller_id == seller_id)
    rows = db.session.execute(q.group_by(day).order_by(day)).all()
    return [{"day": str(d)[:10], "orders": int(n), "amount": int(a)} for d, n, a in rows]


def top_products(start=None, end=None, limit: int = 10, seller_id: int | None = None) -> list[dict]:
    """Best sellers by amount paid: [{product_id, name, quantity, amount}]."""
    s, e = _range(start, end)
    q = (
        select(
            OrderLine.product_id,
            func.max(OrderLine.name),
            func.sum(OrderLine.quantity - OrderLine.refunded_quantity).label("qty"),
            func.sum(OrderLine.pay_amount - OrderLine.refunded_amount).label("amount"),
        )
        .join(Order, Order.id == OrderLine.order_id)
        .where(_paid(s, e))
        .group_by(OrderLine.product_id)
        .order_by(func.sum(OrderLine.pay_amount - OrderLine.refunded_amount).desc(), OrderLine.product_id)
        .limit(limit)
    )
    if seller_id is not None:
        q = q.where(Order.seller_id == seller_id)
    return [
        {"product_id": pid, "name": name, "quantity": int(qty or 0), "amount": int(amount or 0)}
        for pid, name, qty, amount in db.session.execute(q).all()
    ]


def record_visit(kind: str = "site", ref_id: int = 0, *, commit: bool = True, also=()) -> None:
    """Count one visit for today (an atomic upsert on ``page_visits``);
    ``also``: more ``(kind, ref_id)`` counted in the same statement."""
    from jishi.db import fresh_write

    fresh_write()  # on SQLite a GET's read transaction must not upgrade to a write
    day = to_shop_time(utcnow()).date().isoformat()  # the shop's day, as the reports count days
    from sqlalchemy.dialects import postgresql, sqlite

    insert = postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert
    keys = list(dict.fromkeys((k[:20], int(r or 0)) for k, r in ((kind, ref_id), *also)))
    stmt = insert(PageVisit).values([{"day": day, "kind": k, "ref_id": r, "count": 1} for k, r in keys])
    stmt = stmt.on_conflict_do_update(
        index_elements=[PageVisit.day, PageVisit.kind, PageVisit.ref_id], set_={"count": PageVisit.count + 1}
    )
    db.session.execute(stmt)
    if commit:
        db.session.commit()


# -- exports ------------------------------------------------------------------


def _export_query(start=None, end=None, status: str | None = None, seller_id: int | None = None):
    s, e = _range(start, end)
    q = (
        select(
            Order.number,
            Order.created_at,
            Order.status,
            User.phone,
            Order.goods_amount,
            Order.discount_amount,
            Order.delivery_fee,
            Order.pay_amount,
            Order.refunded_amount,
            Order.payment_method,
            Order.paid_at,
            Order.shipped_at,
            Order.carrier,
            Order.tracking_no,
        )
        .join(User, User.id == Order.user_id)
        .where(Order.created_at >= s, Order.created_at < e)
        .order_by(Order.id)
    )
    if status:
        q = q.where(Order.status == status)
    if seller_id is not None:
        q = q.where(Order.seller_id == seller_id)
    return q


_MONEY = {"goods_amount", "discount_amount", "delivery_fee", "pay_amount", "refunded_amount"}


def export_rows(start=None, end=None, status: str | None = None, seller_id: int | None = None) -> Iterator[list]:
    """The export's rows (money as yuan text "12.34"), streamed from the database."""
    result = db.session.execute(_export_query(start, end, status, seller_id).execution_options(yield_per=500))
    for row in result:
        out = []
        for name, value in zip(EXPORT_COLUMNS, row):
            if name in _MONEY:
                value = fen_to_yuan_str(value or 0)
            elif isinstance(value, datetime):
                value = to_shop_time(value).strftime("%Y-%m-%d %H:%M:%S")  # the shop's time, as the pages show
            elif value is None:
                value = ""
            out.append(value)
        yield out


def iter_csv(start=None, end=None, status: str | None = None, seller_id: int | None = None) -> Iterator[str]:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(EXPORT_COLUMNS)
    for i, row in enumerate(export_rows(start, end, status, seller_id)):
        writer.writerow(csv_row(row))
        if i % 200 == 199:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def export_csv(start=None, end=None, status: str | None = None, seller_id: int | None = None) -> str:
    """Orders in the range as CSV text (UTF-8, header row first)."""
    return "".join(iter_csv(start, end, status, seller_id))


def export_xlsx(start=None, end=None, status: str | None = None, seller_id: int | None = None) -> bytes:
    """Orders in the range as an XLSX workbook (:func:`jishi.reports.sheets.xlsx_bytes`:
    typed text stays text)."""
    return xlsx_bytes("orders", EXPORT_COLUMNS, export_rows(start, end, status, seller_id))


# -- the aggregate reports (issue 19) -----------------------------------------------
# Public wrappers of jishi.reports.analytics (the daily aggregates): a
# merchant's pages pass its seller id as ``scope``; the platform 0.


def report_range(start=None, end=None):
    """``(start, end)`` shop days: the last 30 days by default (a missing
    start: 29 days before the end)."""
    from jishi.reports import analytics

    d0, d1 = analytics.default_range()
    end = end or d1
    if start is None:  # (29 days before 0001-01-10 is before the calendar: from its first day)
        start = end - timedelta(days=29) if end.toordinal() > 29 else date.min
    return start, end


def report_data(start, end, scope: int = 0, grain: str = "day", limit: int = 100) -> dict:
    """Overview with the previous period, trend, funnel by unique visitor,
    product analysis and the plugins' sections, from the daily aggregates."""
    from jishi.reports import analytics

    return analytics.report(start, end, scope, grain, limit)


def report_table(section: str, start, end, scope: int = 0, grain: str = "day"):
    """One section (``overview``, ``trend``, ``funnel``, ``products`` or a
    plugin's key) as a :class:`~jishi.hookspecs.ReportSection`; None: no such."""
    from jishi.reports import analytics

    return analytics.section_table(section, start, end, scope, grain)


def table_csv(section) -> bytes:
    """A section as UTF-8 CSV (with a BOM; money as yuan, rates as percentages)."""
    from jishi.reports import analytics

    return analytics.table_csv(section)


def table_xlsx(section) -> bytes:
    """A section as an XLSX workbook."""
    from jishi.reports import analytics

    return analytics.table_xlsx(section)


def report_trend(start, end, scope: int = 0, grain: str = "day") -> list[dict]:
    """The trend rows alone (a home page's chart): paid amount, orders,
    buyers, units, refunds, PV and UV per day, week or month."""
    from jishi.reports import analytics

    return analytics.trend(start, end, scope, grain)


def seller_totals(start, end, seller_id: int | None = None) -> dict[int, dict[str, int]]:
    """Per seller the range's ``paid_amount``, ``paid_orders``,
    ``refund_amount`` and ``refund_count`` (fen, counts) from the daily
    aggregates, in one grouped statement: ``{seller_id: {...}}`` (sellers
    with a figure only; ``seller_id``: that seller alone). For a plugin's
    statements (multistore's merchant statements)."""
    from jishi.reports import analytics
    from jishi.reports.models import ReportDaily

    start, end = analytics.clamp(start, end)
    fields = ("paid_amount", "paid_orders", "refund_amount", "refund_count")
    q = select(ReportDaily.seller_id, *(func.sum(getattr(ReportDaily, f)) for f in fields)).where(
        ReportDaily.seller_id != 0, ReportDaily.day >= start.isoformat(), ReportDaily.day <= end.isoformat()
    )
    if seller_id is not None:
        q = q.where(ReportDaily.seller_id == seller_id)
    rows = db.session.execute(q.group_by(ReportDaily.seller_id)).all()
    return {int(r[0]): {f: int(v or 0) for f, v in zip(fields, r[1:])} for r in rows}


def visitors_exact_from():
    """The first shop day whose visitor rows are kept (``JISHI_VISITOR_DAYS_KEEP``
    days back from today): a range starting on or after it has exact UV."""
    from jishi.reports import visitors

    return visitors.kept_from()


def product_visitors(product_ids, start, end) -> dict[int, int]:
    """Per product its unique visitors (product-page and product-detail
    views) over the shop days ``start``..``end``, exact — a visitor of two
    days counts once — in one statement per 500 products:
    ``{product_id: uv}`` (every id asked, 0 when not seen). A range starting
    before :func:`visitors_exact_from` is the sum of each day's UV from the
    daily product aggregates instead (one grouped statement)."""
    from jishi.reports import analytics, visitors
    from jishi.reports.models import ReportProductDaily

    ids = sorted({int(i) for i in product_ids})
    out = dict.fromkeys(ids, 0)
    if not ids:
        return out
    start, end = analytics.clamp(start, end)
    if start >= visitors.kept_from():
        for pid, seen in visitors.product_uniques(ids, start, end).items():
            out[pid] = seen.get("product", 0)
        return out
    for i in range(0, len(ids), 500):
        for pid, uv in db.session.execute(
            select(ReportProductDaily.product_id, func.sum(ReportProductDaily.uv))
            .where(
                ReportProductDaily.product_id.in_(ids[i : i + 500]),
                ReportProductDaily.day >= start.isoformat(),
                ReportProductDaily.day <= end.isoformat(),
            )
            .group_by(ReportProductDaily.product_id)
        ).all():
            out[int(pid)] = int(uv or 0)
    return out
