"""Exact unique visitors over a range of shop days (issue 19).

``visitor_days`` holds one row per (shop day, kind, ref_id, visitor). A
platform's or seller's UV over a range reads ``visitor_returns`` (per day
and scope key, the day's visitors by their previous visit day, written by
the aggregation): a visitor counts on its first day in the range, so the
range's UV is a sum over a few rows per day (:func:`scope_uniques`, one
statement for the range, its previous period and the carted visitors).
Products read ``visitor_days`` for the listed products only
(:func:`product_uniques`: COUNT over SELECT DISTINCT, an index-only scan of
``ix_visitor_days_key_visitor``, one statement per 500 products). Rows are
kept ``JISHI_VISITOR_DAYS_KEEP`` shop days (default 400; the
``prune_visitor_days`` job deletes older ones in bounded batches): a range
that starts before the kept window falls back to the sum of each day's UV
from the daily aggregates, and the report says so (``uv_exact`` false).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import and_, case, delete, func, literal_column, select
from sqlalchemy.orm import aliased

from jishi.db import db
from jishi.i18n import shop_today
from jishi.reports.models import VisitorDay, VisitorReturn

__all__ = ["day_returns", "kept_from", "product_uniques", "prune", "scope_uniques"]

_CHUNK = 500  # product ids per statement (SQLite's bound parameters)
SCOPE_KINDS = ("site", "cart", "seller", "cart_seller")


def keep_days() -> int:
    return max(1, int(current_app.config.get("JISHI_VISITOR_DAYS_KEEP", 400)))


def kept_from(today: date | None = None) -> date:
    """The first shop day whose visitor rows are kept: a range starting on
    or after it is exact."""
    return (today or shop_today()) - timedelta(days=keep_days() - 1)


def _distinct(where, group) -> list[tuple]:
    """``(group..., distinct visitors)`` rows: DISTINCT first, then counted
    (a hash aggregate on PostgreSQL rather than a sort per COUNT(DISTINCT))."""
    inner = select(*group, VisitorDay.visitor).where(*where).distinct().subquery()
    cols = [inner.c[c.name] for c in group]
    return db.session.execute(select(*cols, func.count()).group_by(*cols)).all()


def scope_uniques(
    start: date, end: date, scope: int = 0, previous: tuple[date, date] | None = None, *, today: date | None = None
) -> dict:
    """A scope's exact UV and carted visitors over ``start``..``end`` and the
    UV of ``previous`` (a range just before), one statement over
    ``visitor_returns``: a visitor is counted on its first day in a range —
    the day's row whose previous visit is before the range's start.
    ``{"uv", "carted", "exact", "previous_uv", "previous_exact"}``; a range
    reaching before the kept window is not read (``exact`` False: the caller
    keeps the sum of daily UV)."""
    first = kept_from(today)
    exact = start >= first
    # (the previous period is before the range: exact only if the range is)
    previous_exact = exact and previous is not None and first <= previous[0] <= previous[1]
    out = {"uv": 0, "carted": 0, "exact": exact, "previous_uv": 0, "previous_exact": previous_exact}
    if not exact:
        return out
    view, cart = ("site", "cart") if not scope else ("seller", "cart_seller")
    s = start.isoformat()
    r = VisitorReturn
    columns = [func.sum(case((and_(r.day >= s, r.prev_day < s), r.visitors), else_=0))]
    d0 = s
    if previous_exact and previous is not None:
        d0 = previous[0].isoformat()
        columns.append(func.sum(case((and_(r.day < s, r.prev_day < d0), r.visitors), else_=0)))
    rows = db.session.execute(
        select(r.kind, *columns)
        .where(r.kind.in_((view, cart)), r.ref_id == scope, r.day >= d0, r.day <= end.isoformat())
        .group_by(r.kind)
    ).all()
    for kind, n, *before in rows:
        if kind == view:
            out["uv"] = int(n or 0)
            if before:
                out["previous_uv"] = int(before[0] or 0)
        else:
            out["carted"] = int(n or 0)
    return out


def day_returns(day: date) -> list[dict]:
    """The :class:`VisitorReturn` rows of a day: its scope-key visitors
    grouped by their previous visit day for the key (one statement: an
    index probe of ``ix_visitor_days_key_visitor`` per visitor)."""
    key = day.isoformat()
    prev = aliased(VisitorDay)
    previous = (
        select(func.max(prev.day))
        .where(prev.kind == VisitorDay.kind, prev.ref_id == VisitorDay.ref_id, prev.visitor == VisitorDay.visitor)
        .where(prev.day < key)
        .scalar_subquery()
    )
    inner = (
        select(VisitorDay.kind, VisitorDay.ref_id, func.coalesce(previous, "").label("prev_day"))
        .where(VisitorDay.day == key, VisitorDay.kind.in_(SCOPE_KINDS))
        .subquery()
    )
    rows = db.session.execute(
        select(inner.c.kind, inner.c.ref_id, inner.c.prev_day, func.count()).group_by(
            inner.c.kind, inner.c.ref_id, inner.c.prev_day
        )
    ).all()
    return [{"kind": k, "ref_id": int(r), "day": key, "prev_day": p or "", "visitors": int(n)} for k, r, p, n in rows]


def product_uniques(
    product_ids: Iterable[int],
    start: date,
    end: date,
    kinds: tuple[str, ...] = ("product",),
) -> dict[int, dict[str, int]]:
    """Per product the distinct visitors over the range of each kind
    (``product``: viewed, ``cart_product``: added to the cart), one statement
    per 500 products: ``{product_id: {kind: n}}`` (products seen only)."""
    ids = sorted({int(i) for i in product_ids})
    out: dict[int, dict[str, int]] = {}
    for i in range(0, len(ids), _CHUNK):
        rows = _distinct(
            [
                VisitorDay.kind.in_(kinds),
                VisitorDay.ref_id.in_(ids[i : i + _CHUNK]),
                VisitorDay.day >= start.isoformat(),
                VisitorDay.day <= end.isoformat(),
            ],
            [VisitorDay.kind, VisitorDay.ref_id],
        )
        for kind, ref_id, n in rows:
            out.setdefault(int(ref_id), {})[kind] = int(n)
    return out


def prune(today: date | None = None, batch: int = 10000, max_batches: int = 100) -> str:
    """The ``prune_visitor_days`` job: delete the ``visitor_days`` and
    ``visitor_returns`` rows of shop days before the kept window, ``batch``
    rows per statement and transaction (a bounded lock and WAL per step;
    safe to repeat), at most ``max_batches`` a run (the next run goes on)."""
    cutoff = kept_from(today).isoformat()
    deleted = {}
    left = max_batches
    for model in (VisitorDay, VisitorReturn):
        n_model = 0
        while left > 0:
            left -= 1
            n = _delete_batch(model, cutoff, batch)
            db.session.commit()
            n_model += n
            if n < batch:
                break
        deleted[model.__tablename__] = n_model
    return (
        f"{deleted['visitor_days']} visitor rows and {deleted['visitor_returns']} return rows before {cutoff} deleted"
    )


def _delete_batch(model, cutoff: str, batch: int) -> int:
    """Delete up to ``batch`` rows of days before ``cutoff`` (by primary key), one statement."""
    from sqlalchemy import inspect, tuple_

    pk = inspect(model).primary_key
    keys = select(*pk).where(model.day < cutoff).order_by(*pk).limit(batch)
    if db.engine.dialect.name == "sqlite":  # SQLite: by rowid
        rowid = literal_column("rowid")
        result = db.session.execute(delete(model).where(rowid.in_(keys.with_only_columns(rowid))))
    else:
        result = db.session.execute(delete(model).where(tuple_(*pk).in_(keys)))
    return int(result.rowcount or 0)
