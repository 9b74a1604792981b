"""Daily sign-in (签到) with a streak bonus and a calendar.

A buyer signs in once per SHOP day (the calendar day in the shop's time
zone, :func:`jishi.i18n.to_shop_time`): ``points_signins`` has a UNIQUE
``(user_id, day)`` and the row is written by ``INSERT ... ON CONFLICT DO
NOTHING``, so a double tap or two requests at once make one sign-in; only
the request whose row went in posts the points (an ``earned`` entry whose
source is the sign-in row, ``source_kind`` ``signin``).

The streak is the number of consecutive shop days signed in up to and
including this one: yesterday's streak + 1, or 1 after a missed day. What a
sign-in gives (:func:`points_for`)::

    points.signin_points                                   (every day; 0 turns sign-in off)
    + min((streak - 1) × points.signin_step, points.signin_step_cap)
    + points.signin_week_bonus on day 7, 14, 21, ... of a streak

With the defaults (5, 1, 5, 10): 5, 6, 7, 8, 9, 10, 20, 10, 10, ... then 20
again on day 14.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from jishi.db import conflict_insert, db, utcnow
from jishi.errors import DomainError
from jishi.i18n import gettext as _
from jishi.i18n import to_shop_time
from sqlalchemy import select

from jishi_points import ledger
from jishi_points.earning import SIGNIN_POINTS, SIGNIN_STEP, SIGNIN_STEP_CAP, SIGNIN_WEEK_BONUS, setting
from jishi_points.ledger import Post
from jishi_points.models import EARNED, SOURCE_SIGNIN, PointsSignin

WEEK = 7
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def today() -> date:
    """The shop's calendar day now."""
    return to_shop_time(utcnow()).date()


def enabled() -> bool:
    return setting(SIGNIN_POINTS) > 0


def points_for(streak: int) -> int:
    """What a sign-in on day ``streak`` of a streak gives (0 while sign-in is off)."""
    base = setting(SIGNIN_POINTS)
    if not base or streak < 1:
        return 0
    extra = min((streak - 1) * setting(SIGNIN_STEP), setting(SIGNIN_STEP_CAP))
    return base + extra + (setting(SIGNIN_WEEK_BONUS) if streak % WEEK == 0 else 0)


def _on(user_id: int, day: date) -> PointsSignin | None:
    return db.session.execute(
        select(PointsSignin).where(PointsSignin.user_id == user_id, PointsSignin.day == day)
    ).scalar_one_or_none()


def sign_in(user_id: int) -> tuple[PointsSignin, bool]:
    """Sign the buyer in for today: ``(row, True)`` when this call did it
    (its points posted), ``(today's row, False)`` when the buyer had already
    signed in today (a double tap, or another request at the same moment).
    In the caller's transaction (the caller commits). 409 ``signin_off``
    while ``points.signin_points`` is 0."""
    if not enabled():
        raise DomainError(None, _("Sign-in is turned off."), code="signin_off", status=409)
    day = today()
    row = _on(user_id, day)
    if row is not None:
        return row, False
    before = _on(user_id, day - timedelta(days=1))
    streak = before.streak + 1 if before is not None else 1
    points = points_for(streak)
    new_id = db.session.execute(
        conflict_insert(PointsSignin)
        .values(user_id=user_id, day=day, streak=streak, points=points, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["user_id", "day"])
        .returning(PointsSignin.id)
    ).scalar_one_or_none()
    if new_id is None:  # another request signed in first (it committed its row)
        row = _on(user_id, day)
        assert row is not None
        return row, False
    ledger.post(user_id, Post(EARNED, SOURCE_SIGNIN, new_id, delta=points))
    row = db.session.get(PointsSignin, new_id)
    assert row is not None
    return row, True


def parse_month(text: str | None) -> tuple[int, int]:
    """``YYYY-MM`` -> (year, month); empty: this shop month. 422 naming ``month``."""
    if not text:
        day = today()
        return day.year, day.month
    found = _MONTH.match(text.strip())
    if found is None or not 1 <= int(found.group(2)) <= 12 or not 1900 <= int(found.group(1)) <= 9998:
        raise DomainError("month", _("Give the month as YYYY-MM."))
    return int(found.group(1)), int(found.group(2))


@dataclass(frozen=True)
class Calendar:
    year: int
    month: int
    today: date
    days: list[PointsSignin]  # the sign-ins of the month, by day
    signed_today: bool
    streak: int  # the current streak (0 after a missed day)
    today_points: int  # what today's sign-in gives (or gave)
    tomorrow_points: int  # what tomorrow gives when the streak is kept
    enabled: bool

    @property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def previous_month(self) -> str:
        return (self.first - timedelta(days=1)).strftime("%Y-%m")

    @property
    def next_month(self) -> str:
        return (self.first + timedelta(days=32)).replace(day=1).strftime("%Y-%m")

    @property
    def month_key(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def by_day(self) -> dict[date, PointsSignin]:
        return {row.day: row for row in self.days}


def calendar(user_id: int, year: int, month: int) -> Calendar:
    """The buyer's sign-ins of the month and today's state."""
    day = today()
    first = date(year, month, 1)
    after = (first + timedelta(days=32)).replace(day=1)
    rows = list(
        db.session.scalars(
            select(PointsSignin)
            .where(PointsSignin.user_id == user_id, PointsSignin.day >= first, PointsSignin.day < after)
            .order_by(PointsSignin.day)
        )
    )
    last = db.session.execute(
        select(PointsSignin)
        .where(PointsSignin.user_id == user_id, PointsSignin.day <= day)
        .order_by(PointsSignin.day.desc())
        .limit(1)
    ).scalar_one_or_none()
    signed_today = last is not None and last.day == day
    alive = last is not None and last.day >= day - timedelta(days=1)
    streak = last.streak if alive and last is not None else 0
    today_streak = streak if signed_today else streak + 1
    return Calendar(
        year=year,
        month=month,
        today=day,
        days=rows,
        signed_today=signed_today,
        streak=streak,
        today_points=last.points if signed_today and last is not None else points_for(today_streak),
        tomorrow_points=points_for(today_streak + 1),
        enabled=enabled(),
    )
