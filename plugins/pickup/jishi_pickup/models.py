"""The pickup plugin's tables (prefix ``pickup_``, own migrations).

``seller_id`` is the kernel's opaque seller column: None for the shop itself
(single store, or the platform's own goods), else the multistore merchant id.
No foreign key to a merchant table: the plugin works without multistore.
"""

from __future__ import annotations

from datetime import datetime

from jishi.db import db, utcnow
from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

CODE_ACTIVE = "active"  # issued on payment, not used yet
CODE_USED = "used"  # verified at the counter (核销)
CODE_VOID = "void"  # the order closed (cancelled or fully refunded)
CODE_STATUSES = (CODE_ACTIVE, CODE_USED, CODE_VOID)


class PickupPoint(db.Model):
    """A place where buyers collect a seller's orders (自提点)."""

    __tablename__ = "pickup_points"
    __table_args__ = (Index("ix_pickup_points_seller", "seller_id", "is_active"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    seller_id: Mapped[int | None]
    name: Mapped[str] = mapped_column(String(60))
    address: Mapped[str] = mapped_column(String(200))
    lat: Mapped[float | None]
    lng: Mapped[float | None]
    hours: Mapped[str] = mapped_column(String(100), default="")
    phone: Mapped[str] = mapped_column(String(20), default="")
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    def snapshot(self) -> dict:
        """What an order keeps of the point (``order.delivery_data``)."""
        return {
            "point_id": self.id,
            "name": self.name,
            "address": self.address,
            "hours": self.hours,
            "phone": self.phone,
            "lat": self.lat,
            "lng": self.lng,
        }


class PickupCode(db.Model):
    """The pickup code of one paid pickup order (提货码).

    Stored in plain text (the buyer sees it again on every visit of the order
    page, and its QR code is drawn from it); the unique constraint on
    ``code`` makes a lookup at the counter one index seek, the one on
    ``order_id`` makes issuing idempotent. ``status`` moves only by
    conditional UPDATEs: active -> used (verification) or active -> void
    (the order closed).
    """

    __tablename__ = "pickup_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    seller_id: Mapped[int | None] = mapped_column(index=True)
    point_id: Mapped[int | None]
    code: Mapped[str] = mapped_column(String(12), unique=True)
    status: Mapped[str] = mapped_column(String(10), default=CODE_ACTIVE)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]
    used_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    voided_at: Mapped[datetime | None]
