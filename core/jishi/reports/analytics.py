"""The reports of issue 19, read from the daily aggregates only
(:mod:`jishi.reports.aggregate`): overview with the previous period,
trend by day/week/month, the funnel by unique visitor, product analysis,
and the plugins' sections (``report_sections`` hook); each as a table for
CSV and XLSX export.

``scope``: 0 for the platform (every order and visit), a seller's id for
that seller's shop (its orders, its shop page and product visits).
Ranges are shop days ``start`` to ``end`` inclusive. UV over a range
(the overview's, the funnel's visitors and carted, each product's) is
exact: the distinct visitors over the range, read from ``visitor_days``
(:mod:`jishi.reports.visitors`, one statement per part); a range starting
before the kept window (``JISHI_VISITOR_DAYS_KEEP``), or whose exact figure
is below its largest day's (days without visitor rows, like the demo's),
falls back to the sum of each day's UV and says so (``uv_exact`` false). The trend's UV per week
or month and ``buyers`` stay sums of days. Rates are integers in permille.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import case, func, select

from jishi.catalog.models import Product
from jishi.db import db
from jishi.hookspecs import ReportSection
from jishi.i18n import gettext as _
from jishi.i18n import shop_today
from jishi.money import fen_to_yuan_str
from jishi.reports.buyers import buyer_analysis, finance_days
from jishi.reports.models import ReportDaily, ReportProductDaily
from jishi.reports.sheets import csv_row, xlsx_bytes
from jishi.reports.visitors import kept_from, product_uniques, scope_uniques

__all__ = [
    "GRAINS",
    "SECTIONS",
    "default_range",
    "funnel",
    "overview",
    "products",
    "report",
    "section_table",
    "table_csv",
    "table_xlsx",
    "trend",
]

GRAINS = ("day", "week", "month")
SECTIONS = ("overview", "trend", "funnel", "products", "buyers", "rfm", "levels", "finance")
_SUMS = (
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


def default_range(today: date | None = None) -> tuple[date, date]:
    today = today or shop_today()
    return today - timedelta(days=29), today


MAX_DAYS = 731


def clamp(start: date, end: date) -> tuple[date, date]:
    """At most :data:`MAX_DAYS` days, ending at ``end`` (a range typed as
    0001-01-01 to 9999-12-31 is the last two years of it)."""
    if start > end:
        start, end = end, start
    if (end - start).days >= MAX_DAYS:
        start = end - timedelta(days=MAX_DAYS - 1)
    return start, end


def _rate(n: int, of: int) -> int:
    return n * 1000 // of if of else 0


def _load(start: date, end: date, scope: int) -> dict[str, tuple]:
    """The scope's daily rows of the range: ``{day: (figures in _SUMS order)}``
    (at most 2 × MAX_DAYS rows: what one report reads)."""
    rows = db.session.execute(
        select(ReportDaily.day, *(getattr(ReportDaily, f) for f in _SUMS)).where(
            ReportDaily.seller_id == scope, ReportDaily.day >= start.isoformat(), ReportDaily.day <= end.isoformat()
        )
    ).all()
    return {r[0]: tuple(int(v or 0) for v in r[1:]) for r in rows}


def _sums(start: date, end: date, scope: int, loaded: dict[str, tuple] | None = None) -> dict[str, int]:
    """The range's sums of :data:`_SUMS`, and ``max_uv``/``max_carted``: the
    largest day's (an exact range UV is at least that much)."""
    iu, ic = _SUMS.index("uv"), _SUMS.index("carted")
    if loaded is not None:
        d0, d1 = start.isoformat(), end.isoformat()
        totals = [0] * len(_SUMS)
        max_uv = max_carted = 0
        for day, values in loaded.items():
            if d0 <= day <= d1:
                totals = [a + b for a, b in zip(totals, values)]
                max_uv, max_carted = max(max_uv, values[iu]), max(max_carted, values[ic])
        return {**dict(zip(_SUMS, totals)), "max_uv": max_uv, "max_carted": max_carted}
    row = db.session.execute(
        select(
            *(func.coalesce(func.sum(getattr(ReportDaily, f)), 0) for f in _SUMS),
            func.coalesce(func.max(ReportDaily.uv), 0),
            func.coalesce(func.max(ReportDaily.carted), 0),
        ).where(
            ReportDaily.seller_id == scope, ReportDaily.day >= start.isoformat(), ReportDaily.day <= end.isoformat()
        )
    ).one()
    return {**{f: int(v) for f, v in zip(_SUMS, row)}, "max_uv": int(row[-2]), "max_carted": int(row[-1])}


def _headline(s: dict[str, int]) -> dict[str, int]:
    return {
        "paid_amount": s["paid_amount"],
        "paid_orders": s["paid_orders"],
        "orders": s["orders"],
        "buyers": s["buyers"],
        "units": s["units"],
        "aov": s["paid_amount"] // s["paid_orders"] if s["paid_orders"] else 0,
        "refund_amount": s["refund_amount"],
        "refund_count": s["refund_count"],
        "pv": s["pv"],
        "uv": s["uv"],
    }


def _previous(start: date, end: date) -> tuple[date, date]:
    try:
        return start - timedelta(days=(end - start).days + 1), start - timedelta(days=1)
    except OverflowError:  # before the calendar's first day: nothing to compare with
        return date.min, date.min


def overview(
    start: date,
    end: date,
    scope: int = 0,
    loaded: dict[str, tuple] | None = None,
    uniques: dict | None = None,
) -> dict:
    """The range's figures, the previous period's (as many days, just
    before) and the change of each in permille (None when the previous
    figure is 0). UV is exact (``uv_exact``, ``previous_uv_exact``) unless a
    period reaches before the kept visitor rows (then the sum of days)."""
    start, end = clamp(start, end)
    p0, p1 = _previous(start, end)
    if uniques is None:
        uniques = scope_uniques(start, end, scope, (p0, p1) if p0 < start else None)
    sums = _sums(start, end, scope, loaded)
    now = _headline(sums)
    previous = _sums(p0, p1, scope, loaded) if p0 < start else None
    before = _headline(previous) if previous else dict.fromkeys(now, 0)
    # (days without visitor rows — seeded straight into the daily tables, like
    # the demo's — show as a range UV below its largest day's: sums then)
    exact = uniques["exact"] and uniques["uv"] >= sums["max_uv"]
    previous_exact = previous is None or (uniques["previous_exact"] and uniques["previous_uv"] >= previous["max_uv"])
    if exact:
        now["uv"] = uniques["uv"]
    if previous is not None and previous_exact:
        before["uv"] = uniques["previous_uv"]
    change = {k: (int((now[k] - before[k]) * 1000 / before[k]) if before[k] else None) for k in now}
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "previous_start": p0.isoformat(),
        "previous_end": p1.isoformat(),
        "current": now,
        "previous": before,
        "change_permille": change,
        "uv_exact": bool(exact),
        "previous_uv_exact": bool(previous_exact),
    }


def _bucket(day: date, grain: str) -> str:
    if grain == "week":
        return (day - timedelta(days=day.weekday())).isoformat()  # the Monday
    if grain == "month":
        return day.strftime("%Y-%m")
    return day.isoformat()


def trend(
    start: date, end: date, scope: int = 0, grain: str = "day", loaded: dict[str, tuple] | None = None
) -> list[dict]:
    """One row per day, week (keyed by its Monday) or month of the range,
    empty ones included."""
    if grain not in GRAINS:
        raise ValueError(grain)
    start, end = clamp(start, end)
    fields = ("paid_amount", "paid_orders", "buyers", "units", "refund_amount", "pv", "uv")
    loaded = _load(start, end, scope) if loaded is None else loaded
    at = [_SUMS.index(f) for f in fields]
    by_day = {day: tuple(values[i] for i in at) for day, values in loaded.items()}
    out: dict[str, dict] = {}
    for i in range((end - start).days + 1):
        day = start + timedelta(days=i)
        key = _bucket(day, grain)
        bucket = out.setdefault(key, {"period": key, **dict.fromkeys(fields, 0)})
        for f, v in zip(fields, by_day.get(day.isoformat(), ())):
            bucket[f] += int(v or 0)
    return list(out.values())


def funnel(
    start: date, end: date, scope: int = 0, loaded: dict[str, tuple] | None = None, uniques: dict | None = None
) -> dict:
    """Visitors -> added to cart -> ordered -> paid, by unique visitor, with
    the cart rate, 下单转化率 (ordered / visitors), 下单-付款转化率 (paid /
    ordered) and 付款转化率 (paid / visitors). Visitors and carted are
    exact over the range (``uv_exact``; else sums of days); ordered and paid
    are sums of each day's distinct buyers."""
    start, end = clamp(start, end)
    s = _sums(start, end, scope, loaded)
    if uniques is None:
        uniques = scope_uniques(start, end, scope)
    exact = uniques["exact"] and uniques["uv"] >= s["max_uv"] and uniques["carted"] >= s["max_carted"]
    if exact:
        s["uv"], s["carted"] = uniques["uv"], uniques["carted"]
    visitors, carted, ordered, paid = s["uv"], s["carted"], s["ordered"], s["paid_buyers"]
    return {
        "visitors": visitors,
        "carted": carted,
        "ordered": ordered,
        "paid": paid,
        "cart_rate_permille": _rate(carted, visitors),
        "order_rate_permille": _rate(ordered, visitors),
        "order_pay_rate_permille": _rate(paid, ordered),
        "pay_rate_permille": _rate(paid, visitors),
        "uv_exact": bool(exact),
    }


def products(start: date, end: date, scope: int = 0, limit: int = 100) -> dict:
    """Per product PV, UV, add-to-cart, buyers, units, paid amount and the
    pay conversion (buyers / UV); on-shelf and visited product counts."""
    fields = ("pv", "uv", "carts", "carted", "buyers", "units", "paid_amount")
    start, end = clamp(start, end)
    where = [ReportProductDaily.day >= start.isoformat(), ReportProductDaily.day <= end.isoformat()]
    if scope:
        where.append(ReportProductDaily.seller_id == scope)
    sums = [func.sum(getattr(ReportProductDaily, f)).label(f) for f in fields]
    sums += [func.max(ReportProductDaily.uv).label("max_uv"), func.max(ReportProductDaily.carted).label("max_carted")]
    visited = func.sum(case((func.sum(ReportProductDaily.pv) > 0, 1), else_=0)).over()  # before the LIMIT
    order = (func.sum(ReportProductDaily.paid_amount).desc(), func.sum(ReportProductDaily.pv).desc())
    top = (
        select(ReportProductDaily.product_id, *sums, visited.label("visited"))
        .where(*where)
        .group_by(ReportProductDaily.product_id)
        .order_by(*order, ReportProductDaily.product_id)
        .limit(limit)
        .subquery()
    )
    # One statement: the range's top products (summed first, named after) and the visited count.
    rows = db.session.execute(
        select(
            top.c.product_id, Product.name, *(top.c[f] for f in fields), top.c.max_uv, top.c.max_carted, top.c.visited
        )
        .join(Product, Product.id == top.c.product_id)
        .order_by(top.c.paid_amount.desc(), top.c.pv.desc(), top.c.product_id)
    ).all()
    visited_count = int(rows[0][-1] or 0) if rows else 0
    shelf = [Product.on_shelf.is_(True)]
    if scope:
        shelf.append(Product.seller_id == scope)
    on_shelf = db.session.execute(select(func.count(Product.id)).where(*shelf)).scalar_one()
    read = exact = start >= kept_from()
    # The listed products' exact UV and carted visitors: one statement (per 500 products).
    uniques = product_uniques((r[0] for r in rows), start, end, ("product", "cart_product")) if read else {}
    items = []
    for pid, name, *values in rows:
        max_uv, max_carted = int(values[-3] or 0), int(values[-2] or 0)
        item: dict[str, Any] = {"product_id": int(pid), "name": name}
        item.update({f: int(v or 0) for f, v in zip(fields, values[: len(fields)])})
        if read:
            seen = uniques.get(int(pid), {})
            uv, carted = seen.get("product", 0), seen.get("cart_product", 0)
            if uv >= max_uv and carted >= max_carted:
                item["uv"], item["carted"] = uv, carted
            else:  # days without visitor rows (the demo's): this product's sums, flagged
                exact = False
        item["conversion_permille"] = _rate(item["buyers"], item["uv"])
        items.append(item)
    return {"on_shelf": int(on_shelf), "visited": visited_count, "items": items, "uv_exact": exact}


def sections(start: date, end: date, scope: int = 0) -> list[ReportSection]:
    """The plugins' sections (``report_sections``), sorted."""
    from flask import current_app

    hook = current_app.extensions["jishi"].hook
    found = [s for r in hook.report_sections(start=start, end=end, seller_id=scope or None) for s in (r or [])]
    return sorted(found, key=lambda s: (s.sort, s.key))


def section_json(section: ReportSection) -> dict:
    return {
        "key": section.key,
        "title": section.title,
        "columns": [{"key": k, "label": label} for k, label in section.columns],
        "rows": [dict(r) for r in section.rows],
        "money": sorted(section.money),
        "permille": sorted(section.permille),
    }


def report(start: date, end: date, scope: int = 0, grain: str = "day", limit: int = 100) -> dict:
    """Everything the report page shows, as JSON-ready data."""
    start, end = clamp(start, end)
    try:
        first = start - timedelta(days=(end - start).days + 1)  # the previous period's first day
    except OverflowError:
        first = date.min
    loaded = _load(first, end, scope)  # one statement for the overview, its comparison, the trend and the funnel
    p0, p1 = _previous(start, end)
    uniques = scope_uniques(start, end, scope, (p0, p1) if p0 < start else None)  # one for their exact UV
    return {
        "overview": overview(start, end, scope, loaded, uniques),
        "trend": trend(start, end, scope, grain, loaded),
        "funnel": funnel(start, end, scope, loaded, uniques),
        "products": products(start, end, scope, limit),
        "buyers": buyer_analysis(start, end, scope),
        "finance": finance_days(start, end, scope, loaded),
        "sections": [section_json(s) for s in sections(start, end, scope)],
    }


# -- tables and exports ------------------------------------------------------------


def section_table(name: str, start: date, end: date, scope: int = 0, grain: str = "day") -> ReportSection | None:
    """A report section as a table (header labels, rows); None: no such section."""
    if name == "overview":
        ov = overview(start, end, scope)
        labels = _overview_labels()
        rows = [
            {"figure": labels[k], "current": v, "previous": ov["previous"][k], "change": ov["change_permille"][k]}
            for k, v in ov["current"].items()
        ]
        return ReportSection(
            "overview",
            _("Overview"),
            [
                ("figure", _("Figure")),
                ("current", _("This period")),
                ("previous", _("Previous period")),
                ("change", _("Change")),
            ],
            rows,
            permille=frozenset({"change"}),
        )
    if name == "trend":
        cols = [
            ("period", _("Period")),
            ("paid_amount", _("Paid amount")),
            ("paid_orders", _("Paid orders")),
            ("buyers", _("Buyers")),
            ("units", _("Units")),
            ("refund_amount", _("Refunded")),
            ("pv", _("Page views")),
            ("uv", _("Visitors")),
        ]
        return ReportSection(
            "trend",
            _("Trend"),
            cols,
            trend(start, end, scope, grain),
            money=frozenset({"paid_amount", "refund_amount"}),
        )
    if name == "funnel":
        f = funnel(start, end, scope)
        steps = [
            ("visitors", _("Visitors"), None),
            ("carted", _("Added to cart"), "cart_rate_permille"),
            ("ordered", _("Ordered"), "order_rate_permille"),
            ("paid", _("Paid"), "pay_rate_permille"),
        ]
        rows = [{"step": label, "visitors": f[k], "rate": f[rate] if rate else 1000} for k, label, rate in steps]
        return ReportSection(
            "funnel",
            _("Funnel"),
            [("step", _("Step")), ("visitors", _("Visitors")), ("rate", _("Of visitors"))],
            rows,
            permille=frozenset({"rate"}),
        )
    if name == "products":
        cols = [
            ("product_id", _("ID")),
            ("name", _("Product")),
            ("pv", _("Page views")),
            ("uv", _("Visitors")),
            ("carts", _("Added to cart")),
            ("buyers", _("Buyers")),
            ("units", _("Units")),
            ("paid_amount", _("Paid amount")),
            ("conversion_permille", _("Conversion")),
        ]
        return ReportSection(
            "products",
            _("Products"),
            cols,
            products(start, end, scope, limit=10000)["items"],
            money=frozenset({"paid_amount"}),
            permille=frozenset({"conversion_permille"}),
        )
    if name in ("buyers", "rfm", "levels", "finance"):
        return _buyer_table(name, start, end, scope)
    return next((s for s in sections(start, end, scope) if s.key == name), None)


def _buyer_table(name: str, start: date, end: date, scope: int) -> ReportSection:
    if name == "finance":
        return ReportSection(
            "finance",
            _("Finance"),
            [
                ("day", _("Day")),
                ("paid_amount", _("Paid amount")),
                ("refund_amount", _("Refunded")),
                ("net_amount", _("Net")),
            ],
            finance_days(start, end, scope)["days"],
            money=frozenset({"paid_amount", "refund_amount", "net_amount"}),
        )
    b = buyer_analysis(*clamp(start, end), scope)
    if name == "buyers":
        return ReportSection(
            "buyers",
            _("Buyers"),
            [
                ("buyers", _("Buyers")),
                ("new_buyers", _("New buyers")),
                ("returning_buyers", _("Returning buyers")),
                ("repeat_buyers", _("Repeat buyers")),
                ("repeat_rate_permille", _("Repeat-purchase rate")),
            ],
            [{k: b[k] for k in ("buyers", "new_buyers", "returning_buyers", "repeat_buyers", "repeat_rate_permille")}],
            permille=frozenset({"repeat_rate_permille"}),
        )
    if name == "rfm":
        return ReportSection(
            "rfm",
            _("RFM segments"),
            [
                ("label", _("Segment")),
                ("buyers", _("Buyers")),
                ("share_permille", _("Share")),
                ("amount", _("Net paid amount")),
            ],
            b["segments"],
            money=frozenset({"amount"}),
            permille=frozenset({"share_permille"}),
        )
    return ReportSection(
        "levels",
        _("Member levels"),
        [("name", _("Member level")), ("buyers", _("Buyers")), ("share_permille", _("Share"))],
        b["levels"],
        permille=frozenset({"share_permille"}),
    )


def _overview_labels() -> dict[str, str]:
    return {
        "paid_amount": _("Paid amount"),
        "paid_orders": _("Paid orders"),
        "orders": _("Orders"),
        "buyers": _("Buyers"),
        "units": _("Units"),
        "aov": _("Average order value"),
        "refund_amount": _("Refunded"),
        "refund_count": _("Refunds"),
        "pv": _("Page views"),
        "uv": _("Visitors"),
    }


def _cell(section: ReportSection, key: str, row: dict, money_rows: Iterable[str] = ()) -> Any:
    value = row.get(key)
    if value is None:
        return ""
    if key in section.money or (key in ("current", "previous") and row.get("figure") in money_rows):
        return fen_to_yuan_str(int(value))
    if key in section.permille:
        return f"{int(value) / 10:.1f}%"
    return value


def _rows(section: ReportSection) -> Iterable[list]:
    labels = _overview_labels()
    money_rows = {labels[k] for k in ("paid_amount", "aov", "refund_amount")} if section.key == "overview" else set()
    for row in section.rows:
        yield [_cell(section, k, dict(row), money_rows) for k, _label in section.columns]


def table_csv(section: ReportSection) -> bytes:
    """UTF-8 CSV with a BOM (Excel opens Chinese text right); money as yuan."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([label for _k, label in section.columns])
    writer.writerows(csv_row(row) for row in _rows(section))
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def table_xlsx(section: ReportSection) -> bytes:
    """The section as an XLSX workbook (typed text stays text: a product's
    name is a merchant's, :mod:`jishi.reports.sheets`)."""
    return xlsx_bytes(section.key, [label for _k, label in section.columns], _rows(section))


def columns_of(section: ReportSection) -> Sequence[str]:
    return [k for k, _label in section.columns]
