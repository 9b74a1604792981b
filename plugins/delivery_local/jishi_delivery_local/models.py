"""The plugin's tables (prefix ``local_``, own migrations).

``seller_key`` is the seller's id, 0 for the shop itself (``seller_id``
None): a unique key must not contain NULL (NULLs never collide).
Money is integer fen, distances integer metres, coordinates floats.
"""

from __future__ import annotations

from datetime import date, datetime

from jishi.db import db, utcnow
from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column


def seller_key(seller_id: int | None) -> int:
    return seller_id or 0


class LocalSettings(db.Model):
    """One seller's local delivery settings (see :class:`.rules.Config`).

    ``tiers``: ``[{"max_m": 3000, "fee": 500}, ...]`` sorted by distance;
    ``windows``: ``[{"start": "10:00", "end": "12:00", "capacity": 5}, ...]``
    sorted by start."""

    __tablename__ = "local_settings"
    id: Mapped[int] = mapped_column(primary_key=True)
    seller_key: Mapped[int] = mapped_column(unique=True)
    enabled: Mapped[bool] = mapped_column(default=False)
    lat: Mapped[float | None]
    lng: Mapped[float | None]
    radius_m: Mapped[int] = mapped_column(default=5000)
    tiers: Mapped[list] = mapped_column(JSON, default=list)
    min_amount: Mapped[int] = mapped_column(default=0)
    free_over: Mapped[int | None]
    windows: Mapped[list] = mapped_column(JSON, default=list)
    days_ahead: Mapped[int] = mapped_column(default=3)
    lead_minutes: Mapped[int] = mapped_column(default=30)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SlotUsage(db.Model):
    """How many orders hold one seller's window on one day.

    Changed only by conditional UPDATEs (``used + 1 <= capacity`` to claim,
    ``used > 0`` to release); the row is created race-free with INSERT ...
    ON CONFLICT DO NOTHING."""

    __tablename__ = "local_slot_usage"
    __table_args__ = (
        UniqueConstraint("seller_key", "day", "slot_window"),
        CheckConstraint("used >= 0", name="used_not_negative"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    seller_key: Mapped[int]
    day: Mapped[date]
    slot_window: Mapped[str] = mapped_column(String(11))  # "HH:MM-HH:MM"
    used: Mapped[int] = mapped_column(default=0)


class LocalDelivery(db.Model):
    """The local delivery of one order: its slot (claimed at placement,
    released at most once), distance and courier."""

    __tablename__ = "local_deliveries"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    seller_key: Mapped[int] = mapped_column(index=True)
    usage_id: Mapped[int] = mapped_column(ForeignKey("local_slot_usage.id"), index=True)
    day: Mapped[date]
    slot_window: Mapped[str] = mapped_column(String(11))
    distance_m: Mapped[int] = mapped_column(default=0)
    courier_name: Mapped[str] = mapped_column(String(40), default="")
    courier_phone: Mapped[str] = mapped_column(String(20), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    dispatched_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    released_at: Mapped[datetime | None]
