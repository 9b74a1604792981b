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
- ``points_orders``: per order, what it earned (on what base) and spent (for
  how much money), and how much of each has been clawed back / returned, so
  refunds work on differences of cumulative targets (exact over several).
"""

from __future__ import annotations

from datetime import datetime

from jishi.db import db, utcnow
from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
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


# --- Member growth levels (会员等级) -------------------------------------------

GROWTH_EARNED = "earned"
GROWTH_REDUCED = "reduced"


class PointsLevel(db.Model):
    """One rung of the platform's level ladder: reached at ``threshold``
    growth, linked to the kernel's member level the buyer then holds.
    Benefits: ``discount_bp`` off every price (basis points: 500 = 5% off,
    9.5折), the SKU's ``member_price`` (when ``member_price``), and
    ``points_percent`` of the points an order earns (150 = 1.5×)."""

    __tablename__ = "points_levels"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_level_id: Mapped[int] = mapped_column(ForeignKey("member_levels.id", ondelete="CASCADE"), unique=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    threshold: Mapped[int] = mapped_column(unique=True)
    discount_bp: Mapped[int] = mapped_column(default=0)
    member_price: Mapped[bool] = mapped_column(default=False)
    points_percent: Mapped[int] = mapped_column(default=100)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class GrowthAccount(db.Model):
    """The buyer's growth value: the sum of their ``points_growth`` entries,
    changed only together with an entry, in the same transaction."""

    __tablename__ = "points_growth_accounts"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, autoincrement=False)
    growth: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class GrowthEntry(db.Model):
    """The growth ledger: ``earned`` when an order completes (source the
    order), ``reduced`` by a refund after that (source the refund);
    ``(kind, source_kind, source_id)`` unique."""

    __tablename__ = "points_growth"
    __table_args__ = (
        UniqueConstraint("kind", "source_kind", "source_id", name="uq_points_growth_source"),
        Index("ix_points_growth_user_id_id", "user_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(20))
    delta: Mapped[int] = mapped_column(default=0)
    source_kind: Mapped[str] = mapped_column(String(20))
    source_id: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class GrowthOrder(db.Model):
    """Per completed order: the growth its goods were worth (``growth`` on
    ``base`` fen paid) and how much of it refunds took (``taken``, the
    cumulative target ``growth * refunded // base``), so several partial
    refunds reduce exactly what one full refund would."""

    __tablename__ = "points_growth_orders"

    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    base: Mapped[int] = mapped_column(default=0)
    growth: Mapped[int] = mapped_column(default=0)
    taken: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
