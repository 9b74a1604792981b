"""Helpers the report tests share (issue 19)."""

from __future__ import annotations

from jishi.db import db
from jishi.models import PageVisit
from jishi.reports.models import VisitorDay

UA = {"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) MicroMessenger/8.0"}


def counters() -> dict[tuple[str, int], int]:
    """page_visits as {(kind, ref_id): count} (every day)."""
    db.session.rollback()
    return {(v.kind, v.ref_id): v.count for v in db.session.execute(db.select(PageVisit)).scalars()}


def uniques() -> dict[tuple[str, int], set[str]]:
    """visitor_days as {(kind, ref_id): {visitor}} (every day)."""
    db.session.rollback()
    out: dict[tuple[str, int], set[str]] = {}
    for row in db.session.execute(db.select(VisitorDay)).scalars():
        out.setdefault((row.kind, row.ref_id), set()).add(row.visitor)
    return out


def flush(app) -> int:
    """End the test's own transaction (SQLite's single writer), then write the visit buffer."""
    from jishi.reports import tracking

    db.session.rollback()
    with app.app_context():
        return tracking.flush()
