"""Points expiry (issue 16 "Expiry"): the rule, the expiry job, and what
will expire when.

Rule (``points.expiry``, platform setting): ``none`` (default, points never
expire), ``days`` (``points.expiry_days`` days after the lot was created,
to the second) or ``year_end`` (points earned in a year expire at the end of
the next year, 23:59:59 of 31 December in the shop's time zone: earned in
2026, they expire 2027-12-31 23:59:59). A lot's ``expires_at`` is fixed
when it is created (a later change of the rule applies to new lots only).

The job (``points_expire``, :func:`expire_due`) expires every lot past its
``expires_at`` with points left, exactly once: per buyer it first locks the
account row (the lock every spend takes first, so lots are never drawn
while they expire), then, per lot, one conditional UPDATE
``remaining = 0 WHERE remaining = <what it read>`` and one ``expired``
entry (source ``expiry``, the lot's id: unique, so a lot can never expire
twice) with the account decreased by the same amount, committed per buyer.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import cast

from jishi import settings
from jishi.db import commit, db, utcnow
from sqlalchemy import CursorResult, select, update

from jishi_points.models import EXPIRED, SOURCE_EXPIRY, PointsAccount, PointsEntry, PointsLot

# settings (points.*): see docs/plugins/points.md "Expiry"
RULE = "points.expiry"
DAYS = "points.expiry_days"
NONE, AFTER_DAYS, YEAR_END = "none", "days", "year_end"
RULES = (NONE, AFTER_DAYS, YEAR_END)
DEFAULT_DAYS = 365
MAX_DAYS = 36500
#: "expiring soon": the next this many expiry days, and the total within this many days
SOON_DATES = 3
SOON_DAYS = 30
BATCH = 500


def rule() -> str:
    value = settings.get(RULE, NONE)
    return value if value in RULES else NONE


def days() -> int:
    try:
        value = int(settings.get(DAYS, DEFAULT_DAYS))
    except (TypeError, ValueError):
        value = DEFAULT_DAYS
    return min(max(1, value), MAX_DAYS)


def year_end(moment: datetime) -> datetime:
    """The stored (naive UTC) moment 23:59:59 of 31 December of the year
    after the shop-time year of ``moment`` (a stored, naive UTC time)."""
    from jishi.i18n import shop_day_bounds, to_shop_time

    year = to_shop_time(moment).year + 1
    _start, next_day = shop_day_bounds(None, date(year, 12, 31))
    return next_day - timedelta(seconds=1)


def expires_at_for(earned_at: datetime) -> datetime | None:
    """When a lot created at ``earned_at`` expires under the current rule (None: never)."""
    current = rule()
    if current == AFTER_DAYS:
        return earned_at + timedelta(days=days())
    if current == YEAR_END:
        return year_end(earned_at)
    return None


# --- the job ------------------------------------------------------------------


def _expire_user(user_id: int, now: datetime) -> int:
    """Expire the buyer's lots due at ``now``, in one transaction; the points expired."""
    # The account row first: the lock every usable decrease takes before it draws lots.
    db.session.execute(
        update(PointsAccount)
        .where(PointsAccount.user_id == user_id)
        .values(updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    due = db.session.execute(
        select(PointsLot.id, PointsLot.remaining)
        .where(PointsLot.user_id == user_id, PointsLot.remaining > 0, PointsLot.expires_at <= now)
        .order_by(PointsLot.id)
    ).all()
    total = 0
    entries = []
    for lot_id, remaining in due:
        won = db.session.execute(
            update(PointsLot)
            .where(PointsLot.id == lot_id, PointsLot.remaining == remaining)
            .values(remaining=0)
            .execution_options(synchronize_session=False)
        )
        if cast(CursorResult, won).rowcount != 1:
            continue  # drawn meanwhile: the next run sees what is left
        total += remaining
        entries.append(
            PointsEntry(
                user_id=user_id,
                kind=EXPIRED,
                delta=-remaining,
                source_kind=SOURCE_EXPIRY,
                source_id=lot_id,
                created_at=utcnow(),
            )
        )
    if total:
        db.session.add_all(entries)
        db.session.execute(
            update(PointsAccount)
            .where(PointsAccount.user_id == user_id)
            .values(balance=PointsAccount.balance - total, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        db.session.flush()
    return total


def expire_due(now: datetime | None = None) -> str:
    """The ``points_expire`` job: expire every lot past ``expires_at`` with
    points left, exactly once (see the module doc). Commits per buyer; safe
    to run again, and under several workers at once."""
    now = now or utcnow()
    users = (
        db.session.execute(
            select(PointsLot.user_id)
            .where(PointsLot.remaining > 0, PointsLot.expires_at <= now)
            .group_by(PointsLot.user_id)
            .order_by(PointsLot.user_id)
            .limit(BATCH)
        )
        .scalars()
        .all()
    )
    db.session.commit()
    points = 0
    for user_id in users:
        points += _expire_user(user_id, now)
        commit()
    return f"{points} points of {len(users)} buyers expired"


# --- what will expire when ------------------------------------------------------


def expiring_for(user_id: int, now: datetime | None = None) -> dict:
    """What the buyer's points will expire and when: ``dates``, the next
    :data:`SOON_DATES` shop days on which lots expire with the points then
    (``[{"date": date, "expires_at": datetime, "points": int}]``, the
    ``expires_at`` being that day's first expiry), ``soon`` the points expiring
    within :data:`SOON_DAYS` days, ``soon_days`` that number, and ``rule``.
    Lots past their time but not yet expired by the job count as expiring now."""
    from jishi.i18n import to_shop_time

    now = now or utcnow()
    rows = db.session.execute(
        select(PointsLot.expires_at, PointsLot.remaining)
        .where(PointsLot.user_id == user_id, PointsLot.remaining > 0, PointsLot.expires_at.is_not(None))
        .order_by(PointsLot.expires_at, PointsLot.id)
    ).all()
    horizon = now + timedelta(days=SOON_DAYS)
    days_: list[dict] = []
    soon = 0
    for expires_at, remaining in rows:
        if expires_at <= horizon:
            soon += remaining
        day = to_shop_time(max(expires_at, now)).date()
        if days_ and days_[-1]["date"] == day:
            days_[-1]["points"] += remaining
        elif len(days_) < SOON_DATES:
            days_.append({"date": day, "expires_at": expires_at, "points": remaining})
        elif expires_at > horizon:
            break
    return {"rule": rule(), "dates": days_, "soon": soon, "soon_days": SOON_DAYS}
