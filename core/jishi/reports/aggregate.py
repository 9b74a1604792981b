"""The daily aggregates (issue 19): one shop day at a time, from the orders,
refunds, page-view counters and unique-visitor rows of that day.

:func:`aggregate_day` deletes the day's rows and inserts them again in one
transaction, so re-running a day (a past one too) gives the same figures.
What counts on which day:

- ``orders``: orders placed that day; ``paid_orders``, ``paid_amount``
  (fen, what the buyer paid), ``buyers``, ``units``: orders paid that day
  (cash on delivery: placed), not cancelled or timed out — gross of
  refunds, so a past day never changes when a refund comes;
- ``refund_amount``/``refund_count``: refunds paid back that day (a late
  refund moves the day it happened, not the day of the order);
- ``pv``/``uv``: page views and unique visitors of the platform (scope 0)
  or of a seller's shop and products; ``carted``: unique visitors who added
  to the cart; ``ordered``: distinct buyers who placed an order that day;
  ``paid_buyers``: of those, who have paid one of them (re-running the day
  later counts a payment made after midnight).

Per buyer (``report_buyer_daily``, what the buyer analysis reads): per
scope and buyer who paid that day, the paid orders, their paid amount, what
has been refunded of them so far (``orders.refunded_amount``) and the
buyer's first paid day in the scope. A paid order stays paid and keeps its
moment (only unpaid orders are cancelled or time out), so a row changes
after its day only by a refund of its orders: the day a refund is executed
(its ``refunding`` note; the order's ``refunded_amount`` moves then), that
day's aggregation writes the new ``refunded_amount`` back into the rows of
the earlier days the refunded orders were paid on. Every figure is read
from the orders, so re-running any day gives the same rows. Each row also
has the buyer's previous and next paid day in the scope (read from the
orders; the day's aggregation sets ``next_day`` on its buyers' previous
rows), by which the analysis reads a buyer's only row in a range without
grouping, and the buyer's current member level (re-synced for the day's
buyers: :func:`sync_member_levels`).

The ``aggregate_reports`` job (every 5 minutes) writes the stored days from
the last one aggregated (at least yesterday) to today; a first run starts at
the first order or visit (at most 400 days back).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from sqlalchemy import and_, bindparam, case, delete, func, insert, or_, select, update

from jishi.accounts.models import User
from jishi.aftersales.models import Refund, RefundNote
from jishi.catalog.models import Product
from jishi.db import db, utcnow
from jishi.i18n import shop_day_bounds, to_shop_time
from jishi.models import PageVisit
from jishi.orders.models import Order, OrderLine
from jishi.reports.models import ReportBuyerDaily, ReportDaily, ReportProductDaily, VisitorDay, VisitorReturn

__all__ = ["aggregate_day", "aggregate_recent", "sync_member_levels"]

_FIELDS = (
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
_PRODUCT_FIELDS = ("pv", "uv", "carts", "carted", "buyers", "units", "paid_amount")


def _paid(s, e):
    moment = func.coalesce(Order.paid_at, Order.created_at)
    return and_(
        Order.status != "pending_payment",
        moment >= s,
        moment < e,
        Order.close_reason.notin_(("cancelled", "timeout")),
    )


def _settled():
    return and_(Order.status != "pending_payment", Order.close_reason.notin_(("cancelled", "timeout")))


def compute_day(day: date) -> tuple[dict[int, dict], dict[int, dict]]:
    """The day's figures: ``{scope: {field: n}}`` (scope 0: the platform)
    and ``{product_id: {field: n, "seller_id": ...}}``, read, not written."""
    s, e = shop_day_bounds(day, day)
    key = day.isoformat()
    scopes: dict[int, dict] = defaultdict(lambda: dict.fromkeys(_FIELDS, 0))
    seller = func.coalesce(Order.seller_id, 0)

    def grouped(columns, *where, join_lines=False):
        """Per seller, then the platform (distinct counts are not sums)."""
        base = select(*columns)
        if join_lines:
            base = base.select_from(OrderLine).join(Order, Order.id == OrderLine.order_id)
        base = base.where(*where)
        rows = db.session.execute(base.add_columns(seller).group_by(seller)).all()
        per_seller = [(int(r[-1]), *r[:-1]) for r in rows if r[-1]]  # the seller is the last column
        return [(0, *db.session.execute(base).one()), *per_seller]

    for sid, n in grouped([func.count(Order.id)], Order.created_at >= s, Order.created_at < e):
        scopes[sid]["orders"] = int(n)
    for sid, n, amount, buyers in grouped(
        [func.count(Order.id), func.coalesce(func.sum(Order.pay_amount), 0), func.count(func.distinct(Order.user_id))],
        _paid(s, e),
    ):
        scopes[sid].update(paid_orders=int(n), paid_amount=int(amount or 0), buyers=int(buyers))
    for sid, units in grouped([func.coalesce(func.sum(OrderLine.quantity), 0)], _paid(s, e), join_lines=True):
        scopes[sid]["units"] = int(units or 0)
    for sid, ordered, paid in grouped(
        [
            func.count(func.distinct(Order.user_id)),
            func.count(func.distinct(Order.user_id)).filter(_settled()),
        ],
        Order.created_at >= s,
        Order.created_at < e,
    ):
        scopes[sid].update(ordered=int(ordered), paid_buyers=int(paid))
    refund_seller = func.coalesce(Refund.seller_id, 0)
    refund_base = select(func.coalesce(func.sum(Refund.amount), 0), func.count(Refund.id)).where(
        Refund.status == "refunded", Refund.refunded_at >= s, Refund.refunded_at < e
    )
    amount, n = db.session.execute(refund_base).one()
    scopes[0].update(refund_amount=int(amount or 0), refund_count=int(n))
    for amount, n, sid in db.session.execute(refund_base.add_columns(refund_seller).group_by(refund_seller)).all():
        if sid:
            scopes[int(sid)].update(refund_amount=int(amount or 0), refund_count=int(n))

    # Visits: counters and unique visitors of the day, by key.
    views = {
        (k, int(r)): int(c)
        for k, r, c in db.session.execute(
            select(PageVisit.kind, PageVisit.ref_id, PageVisit.count).where(
                PageVisit.day == key,
                PageVisit.kind.in_(("site", "seller", "product", "cart_product")),
            )
        ).all()
    }
    uniques = {
        (k, int(r)): int(c)
        for k, r, c in db.session.execute(
            select(VisitorDay.kind, VisitorDay.ref_id, func.count())
            .where(
                VisitorDay.day == key,
                VisitorDay.kind.in_(("site", "seller", "product", "cart", "cart_seller", "cart_product")),
            )
            .group_by(VisitorDay.kind, VisitorDay.ref_id)
        ).all()
    }
    scopes[0].update(pv=views.get(("site", 0), 0), uv=uniques.get(("site", 0), 0), carted=uniques.get(("cart", 0), 0))
    for (k, r), c in views.items():
        if k == "seller":
            scopes[r]["pv"] = c
    for (k, r), c in uniques.items():
        if k == "seller":
            scopes[r]["uv"] = c
        elif k == "cart_seller":
            scopes[r]["carted"] = c

    products: dict[int, dict] = defaultdict(lambda: dict.fromkeys(_PRODUCT_FIELDS, 0))
    for (k, r), c in views.items():
        if k == "product":
            products[r]["pv"] = c
        elif k == "cart_product":
            products[r]["carts"] = c
    for (k, r), c in uniques.items():
        if k == "product":
            products[r]["uv"] = c
        elif k == "cart_product":
            products[r]["carted"] = c
    for pid, buyers, units, amount in db.session.execute(
        select(
            OrderLine.product_id,
            func.count(func.distinct(Order.user_id)),
            func.coalesce(func.sum(OrderLine.quantity), 0),
            func.coalesce(func.sum(OrderLine.pay_amount), 0),
        )
        .join(Order, Order.id == OrderLine.order_id)
        .where(_paid(s, e), OrderLine.product_id.is_not(None))
        .group_by(OrderLine.product_id)
    ).all():
        products[int(pid)].update(buyers=int(buyers), units=int(units or 0), paid_amount=int(amount or 0))
    ids = [pid for pid in products if pid]
    sellers: dict[int, int] = {}
    for i in range(0, len(ids), 500):
        sellers.update(
            (int(pid), int(sid or 0))
            for pid, sid in db.session.execute(
                select(Product.id, Product.seller_id).where(Product.id.in_(ids[i : i + 500]))
            )
        )
    out_products = {
        pid: {**figures, "seller_id": sellers.get(pid, 0)} for pid, figures in products.items() if pid in sellers
    }
    return dict(scopes), out_products


_CHUNK = 500


def _shop_day(moment) -> date:
    return to_shop_time(moment).date()


def compute_buyers(day: date) -> list[dict]:
    """The day's ``report_buyer_daily`` rows, read, not written: per scope
    (0: every order; else a seller's) and buyer who paid that day."""
    s, e = shop_day_bounds(day, day)
    key = day
    seller = func.coalesce(Order.seller_id, 0)
    rows: dict[tuple[int, int], list[int]] = {}  # (scope, user) -> [orders, paid, refunded]
    levels: dict[int, int | None] = {}  # user -> current member level
    for user_id, sid, n, paid, refunded, level in db.session.execute(
        select(
            Order.user_id,
            seller,
            func.count(Order.id),
            func.coalesce(func.sum(Order.pay_amount), 0),
            func.coalesce(func.sum(Order.refunded_amount), 0),
            User.member_level_id,
        )
        .join(User, User.id == Order.user_id)
        .where(_paid(s, e))
        .group_by(Order.user_id, seller, User.member_level_id)
    ).all():
        levels[int(user_id)] = level
        for scope in {0, int(sid)}:
            figures = rows.setdefault((scope, int(user_id)), [0, 0, 0])
            figures[0] += int(n)
            figures[1] += int(paid or 0)
            figures[2] += int(refunded or 0)
    # Each of the day's buyers in each scope: the first paid day (an earlier
    # one, else this day), the previous paid day before this one and the next
    # one after it (None: none).
    first: dict[tuple[int, int], date] = {}
    prev: dict[tuple[int, int], date] = {}
    nxt: dict[tuple[int, int], date] = {}
    users = sorted({user for _, user in rows})
    moment = func.coalesce(Order.paid_at, Order.created_at)
    for i in range(0, len(users), _CHUNK):
        for user_id, sid, earliest, latest_before, earliest_after in db.session.execute(
            select(
                Order.user_id,
                seller,
                func.min(moment),
                func.max(case((moment < s, moment))),
                func.min(case((moment >= e, moment))),
            )
            .where(Order.user_id.in_(users[i : i + _CHUNK]), _settled(), or_(moment < s, moment >= e))
            .group_by(Order.user_id, seller)
        ).all():
            for scope in {0, int(sid)}:
                k = (scope, int(user_id))
                if k not in rows:
                    continue
                if latest_before is not None:
                    d = _shop_day(earliest)
                    if d < first.get(k, key):
                        first[k] = d
                    d = _shop_day(latest_before)
                    if d > prev.get(k, date.min):
                        prev[k] = d
                if earliest_after is not None:
                    d = _shop_day(earliest_after)
                    if d < nxt.get(k, date.max):
                        nxt[k] = d
    return [
        {
            "seller_id": scope,
            "day": key,
            "user_id": user,
            "paid_orders": f[0],
            "paid_amount": f[1],
            "refunded_amount": f[2],
            "first_day": first.get((scope, user), key),
            "prev_day": prev.get((scope, user)),
            "next_day": nxt.get((scope, user)),
            "member_level_id": levels[user],
        }
        for (scope, user), f in sorted(rows.items())
    ]


def late_refunds(day: date) -> list[dict]:
    """``refunded_amount`` of the earlier days' ``report_buyer_daily`` rows
    whose orders had a refund executed on ``day`` (their current figure,
    read from the orders), as the parameters of one executemany UPDATE:
    ``[{"b_seller", "b_day", "b_user", "b_refunded"}]``."""
    s, e = shop_day_bounds(day, day)
    moment = func.coalesce(Order.paid_at, Order.created_at)
    refunded_orders = (
        select(Refund.order_id)
        .join(RefundNote, RefundNote.refund_id == Refund.id)
        .where(RefundNote.status == "refunding", RefundNote.created_at >= s, RefundNote.created_at < e)
    )
    touched = {
        (int(user_id), _shop_day(at))
        for user_id, at in db.session.execute(
            select(Order.user_id, moment).where(Order.id.in_(refunded_orders), _settled(), moment < s)
        ).all()
    }
    if not touched:
        return []
    since, _ = shop_day_bounds(min(d for _, d in touched), day)
    seller = func.coalesce(Order.seller_id, 0)
    sums: dict[tuple[int, date, int], int] = {}
    users = sorted({user for user, _ in touched})
    for i in range(0, len(users), _CHUNK):
        for user_id, sid, at, refunded in db.session.execute(
            select(Order.user_id, seller, moment, Order.refunded_amount).where(
                Order.user_id.in_(users[i : i + _CHUNK]), _settled(), moment >= since, moment < s
            )
        ).all():
            d = _shop_day(at)
            if (int(user_id), d) in touched:
                for scope in {0, int(sid)}:
                    k = (scope, d, int(user_id))
                    sums[k] = sums.get(k, 0) + int(refunded or 0)
    return [
        {"b_seller": scope, "b_day": d, "b_user": user, "b_refunded": amount}
        for (scope, d, user), amount in sorted(sums.items())
    ]


def sync_member_levels(day: date | None = None) -> int:
    """Give the ``report_buyer_daily`` rows of the buyers of ``day`` (every
    buyer: None) their current member level where it differs, all their
    days and scopes (one UPDATE; the number of rows changed). A level
    changed through the ORM is written to the rows on its flush already
    (:func:`jishi.reports.models._member_level_changed`); the aggregation
    runs this for each day it writes, so the rows of the day's buyers end
    up with the current level whatever changed it."""
    t = ReportBuyerDaily.__table__
    current = select(User.member_level_id).where(User.id == t.c.user_id).scalar_subquery()
    stmt = update(t).where(t.c.member_level_id.is_distinct_from(current)).values(member_level_id=current)
    if day is not None:
        of_day = t.alias("of_day")
        stmt = stmt.where(t.c.user_id.in_(select(of_day.c.user_id).where(of_day.c.day == day, of_day.c.seller_id == 0)))
    return int(db.session.execute(stmt).rowcount or 0)


def aggregate_day(day: date) -> dict:
    """Replace the day's aggregate rows (one transaction), and write the
    refunds executed that day back into the earlier days' buyer rows; the
    platform's figures."""
    scopes, products = compute_day(day)
    buyer_rows = compute_buyers(day)
    refunds = late_refunds(day)
    key = day.isoformat()
    db.session.execute(delete(ReportBuyerDaily).where(ReportBuyerDaily.day == day))
    for i in range(0, len(buyer_rows), 1000):
        db.session.execute(insert(ReportBuyerDaily), buyer_rows[i : i + 1000])
    t = ReportBuyerDaily.__table__
    # the day is the next paid day of its buyers' previous rows
    links = [
        {"p_seller": r["seller_id"], "p_day": r["prev_day"], "p_user": r["user_id"], "p_next": day}
        for r in buyer_rows
        if r["prev_day"] is not None
    ]
    if links:
        db.session.execute(
            update(t)
            .where(
                t.c.seller_id == bindparam("p_seller"),
                t.c.day == bindparam("p_day"),
                t.c.user_id == bindparam("p_user"),
                t.c.next_day.is_distinct_from(bindparam("p_next")),
            )
            .values(next_day=bindparam("p_next")),
            links,
        )
    if refunds:
        db.session.execute(
            update(t)
            .where(
                t.c.seller_id == bindparam("b_seller"),
                t.c.day == bindparam("b_day"),
                t.c.user_id == bindparam("b_user"),
            )
            .values(refunded_amount=bindparam("b_refunded")),
            refunds,
        )
    sync_member_levels(day)
    db.session.execute(delete(ReportDaily).where(ReportDaily.day == key))
    db.session.execute(delete(ReportProductDaily).where(ReportProductDaily.day == key))
    rows = [{"day": key, "seller_id": sid, **figures} for sid, figures in sorted(scopes.items())]
    db.session.execute(insert(ReportDaily), rows)
    prows = [{"day": key, "product_id": pid, **figures} for pid, figures in sorted(products.items())]
    for i in range(0, len(prows), 1000):
        db.session.execute(insert(ReportProductDaily), prows[i : i + 1000])
    # The day's visitors by their previous visit day: exact UV over any range.
    from jishi.reports.visitors import day_returns

    returns = day_returns(day)
    db.session.execute(delete(VisitorReturn).where(VisitorReturn.day == key))
    for i in range(0, len(returns), 1000):
        db.session.execute(insert(VisitorReturn), returns[i : i + 1000])
    db.session.commit()
    return scopes[0]


def _first_day() -> date | None:
    first_order = db.session.execute(select(func.min(Order.created_at))).scalar_one()
    first_visit = db.session.execute(select(func.min(PageVisit.day))).scalar_one()
    days = []
    if first_order is not None:
        days.append(to_shop_time(first_order).date())
    if first_visit:
        days.append(date.fromisoformat(first_visit))
    return min(days) if days else None


def aggregate_recent(today: date | None = None) -> str:
    """The ``aggregate_reports`` job: flush the visit buffer, then write
    each day from the last aggregated one (yesterday at the latest) to today."""
    from jishi.reports import tracking

    tracking.flush()
    today = today or to_shop_time(utcnow()).date()
    last = db.session.execute(select(func.max(ReportDaily.day))).scalar_one()
    if last:
        start = min(date.fromisoformat(last), today - timedelta(days=1))
    else:
        start = max(_first_day() or today, today - timedelta(days=400))
    db.session.rollback()  # end the read transaction before the writes
    day = start
    n = 0
    while day <= today:
        aggregate_day(day)
        day += timedelta(days=1)
        n += 1
    return f"{n} days from {start.isoformat()}"


def seed_history(days: int = 60, *, today: date | None = None, seed: int = 19) -> int:
    """Demo data: ``days`` days of report history before yesterday, written
    straight into the aggregate tables (and the ``site`` page-view counters)
    so the charts have shape — a weekly rhythm and slow growth — without
    placing thousands of orders. Synthetic, on top of the day's real
    figures (:func:`compute_day`: the demo's past orders and refunds), and
    the aggregation job leaves them alone (it rewrites from yesterday on).
    Returns the number of days written."""
    import random

    from sqlalchemy import select as _select

    rng = random.Random(seed)
    today = today or to_shop_time(utcnow()).date()
    products = db.session.execute(
        _select(Product.id, Product.seller_id, Product.price)
        .where(Product.on_shelf.is_(True))
        .order_by(Product.id)
        .limit(300)
    ).all()
    if not products:
        return 0
    daily_rows, product_rows, visit_rows = [], [], []
    buyer_rows: list[dict] = []
    for back in range(days + 1, 1, -1):
        day = today - timedelta(days=back)
        key = day.isoformat()
        shape = (1.35 if day.weekday() >= 5 else 1.0) * (1 + (days + 1 - back) / (days * 1.5))
        scopes: dict[int, dict] = defaultdict(lambda: dict.fromkeys(_FIELDS, 0))
        for pid, seller, price in products:
            pv = int(rng.randint(4, 30) * shape)
            uv = max(1, pv * rng.randint(55, 75) // 100)
            carted = uv * rng.randint(8, 20) // 100
            buyers = carted * rng.randint(35, 70) // 100
            units = buyers + (buyers * rng.randint(0, 40) // 100)
            paid = units * int(price or 0)
            product_rows.append(
                {
                    "day": key,
                    "product_id": pid,
                    "seller_id": int(seller or 0),
                    "pv": pv,
                    "uv": uv,
                    "carts": carted + carted // 4,
                    "carted": carted,
                    "buyers": buyers,
                    "units": units,
                    "paid_amount": paid,
                }
            )
            for scope in {0, int(seller or 0)}:
                f = scopes[scope]
                f["pv"] += pv
                f["uv"] += uv
                f["carted"] += carted
                f["paid_orders"] += buyers
                f["buyers"] += buyers
                f["paid_buyers"] += buyers
                f["ordered"] += buyers + buyers // 5
                f["orders"] += buyers + buyers // 5
                f["units"] += units
                f["paid_amount"] += paid
        real, real_products = compute_day(day)
        for f in scopes.values():
            f["pv"] = f["pv"] * 14 // 10  # home, category and search pages too
            f["refund_count"] = f["paid_orders"] // 25
            f["refund_amount"] = f["paid_amount"] // 40
        for scope, figures in real.items():
            f = scopes[scope]
            for name in _FIELDS:
                f[name] += figures.get(name, 0)
        for scope, f in scopes.items():
            daily_rows.append({"day": key, "seller_id": scope, **f})
        synthetic = {row["product_id"]: row for row in product_rows if row["day"] == key}
        for pid, figures in real_products.items():
            row = synthetic.get(pid)
            if row is None:
                product_rows.append({"day": key, "product_id": pid, **figures})
            else:
                for name in _PRODUCT_FIELDS:
                    row[name] += figures.get(name, 0)
        visit_rows.append({"day": key, "kind": "site", "ref_id": 0, "count": scopes[0]["pv"]})
        # the buyer analysis: the real buyers only (their orders' refunds as they stand now)
        buyer_rows += compute_buyers(day)
    first, last = (today - timedelta(days=days + 1)).isoformat(), (today - timedelta(days=2)).isoformat()
    db.session.execute(delete(ReportDaily).where(ReportDaily.day >= first, ReportDaily.day <= last))
    db.session.execute(
        delete(ReportProductDaily).where(ReportProductDaily.day >= first, ReportProductDaily.day <= last)
    )
    db.session.execute(insert(ReportDaily), daily_rows)
    for i in range(0, len(product_rows), 1000):
        db.session.execute(insert(ReportProductDaily), product_rows[i : i + 1000])
    db.session.execute(delete(PageVisit).where(PageVisit.kind == "site", PageVisit.day >= first, PageVisit.day <= last))
    db.session.execute(insert(PageVisit), visit_rows)
    db.session.execute(
        delete(ReportBuyerDaily).where(
            ReportBuyerDaily.day >= date.fromisoformat(first), ReportBuyerDaily.day <= date.fromisoformat(last)
        )
    )
    for i in range(0, len(buyer_rows), 1000):
        db.session.execute(insert(ReportBuyerDaily), buyer_rows[i : i + 1000])
    db.session.commit()
    return days
