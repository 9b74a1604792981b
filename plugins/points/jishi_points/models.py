"""The points tables (prefix ``points_``).

- ``points_entries``: the append-only ledger. Every change of a buyer's
  points is one row: ``delta`` changes the usable balance, ``frozen_delta``
  the frozen one (points earned by an order not yet completed). A buyer's
  balance is ``sum(delta)``, the frozen points ``sum(frozen_delta)``. Each
  entry names its source (``source_kind`` + ``source_id``: an order, a
  refund, an adjustment); ``(kind, source_kind, source_id)`` is unique, so a
  redelivered event can never post twice.
- ``points_accounts``: one row per buyer carrying the same two sums, changed
  only together with an entry, in the same transaction. It is what a spend
  locks: ``UPDATE ... SET balance = balance - n WHERE balance >= n``.
- ``points_lots``: one row per award of usable points (Odoo's model): how
  many it gave (``amount``), how many are left (``remaining``), when it was
  earned and when it expires (``expires_at``, fixed when it is created;
  NULL: never). Usable decreases draw from the soonest-expiring lots first
  (then the oldest); the sum of ``remaining`` always equals the usable
  balance when it is positive, 0 when it is negative (see :mod:`.ledger`).
- ``points_orders``: per order, what it earned (on what base) and spent (for
  how much money), and how much of each has been clawed back / returned, so
  refunds work on differences of cumulative targets (exact over several).
- ``points_signins``: one row per buyer per shop day signed in (签到), with
  the streak it made and the points it gave; ``(user_id, day)`` is unique,
  so a double tap or two requests at once sign in once.
"""

from __future__ import annotations

from datetime import date, datetime

from jishi.db import db, utcnow
from sqlalchemy import Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

EARNED = "earned"
FROZEN = "frozen"
UNFROZEN = "unfrozen"
SPENT = "spent"
REFUNDED = "refunded"
CLAWED_BACK = "clawed_back"
EXPIRED = "expired"
ADJUSTED = "adjusted"
KINDS = (EARNED, FROZEN, UNFROZEN, SPENT, REFUNDED, CLAWED_BACK, EXPIRED, ADJUSTED)

SOURCE_ORDER = "order"
SOURCE_REFUND = "refund"
SOURCE_ADJUSTMENT = "adjustment"
SOURCE_SIGNIN = "signin"  # source_id: the points_signins row
SOURCE_REVIEW = "review"  # source_id: the reviewed order line (one reward per line)
SOURCE_REGISTER = "register"  # source_id: the user
SOURCE_EXPIRY = "expiry"


class PointsAccount(db.Model):
    __tablename__ = "points_accounts"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, autoincrement=False)
    balance: Mapped[int] = mapped_column(default=0)
    frozen: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class PointsEntry(db.Model):
    __tablename__ = "points_entries"
    __table_args__ = (
        UniqueConstraint("kind", "source_kind", "source_id", name="uq_points_entries_source"),
        Index("ix_points_entries_user_id_id", "user_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(20))
    delta: Mapped[int] = mapped_column(default=0)
    frozen_delta: Mapped[int] = mapped_column(default=0)
    source_kind: Mapped[str] = mapped_column(String(20))
    source_id: Mapped[int | None]
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PointsOrder(db.Model):
    __tablename__ = "points_orders"

    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    spent: Mapped[int] = mapped_column(default=0)
    spent_money: Mapped[int] = mapped_column(default=0)
    returned: Mapped[int] = mapped_column(default=0)
    earn_base: Mapped[int] = mapped_column(default=0)
    earned: Mapped[int] = mapped_column(default=0)
    earned_at: Mapped[datetime | None]
    clawed: Mapped[int] = mapped_column(default=0)
    unfrozen_at: Mapped[datetime | None]


class PointsSignin(db.Model):
    __tablename__ = "points_signins"
    __table_args__ = (UniqueConstraint("user_id", "day", name="uq_points_signins_user_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    day: Mapped[date] = mapped_column(Date)  # the shop's calendar day (its time zone)
    streak: Mapped[int] = mapped_column(default=1)  # consecutive days up to and including this one
    points: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PointsLot(db.Model):
    __tablename__ = "points_lots"
    __table_args__ = (
        Index("ix_points_lots_user_id_expires_at", "user_id", "expires_at"),
        Index("ix_points_lots_expires_at", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # the entry that created it (NULL: a balance carried over by the migration)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("points_entries.id"), unique=True)
    amount: Mapped[int] = mapped_column(default=0)
    remaining: Mapped[int] = mapped_column(default=0)
    earned_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
