"""The flashsale plugin's tables (prefix ``flashsale_``, own migrations).

Money is integer fen. The counters (``FlashSku.sold``, ``Usage.units``,
``Reservation.released``) move only by atomic conditional UPDATEs in
:mod:`jishi_flashsale.service`; they are never read-modified-written.
"""

from __future__ import annotations

from datetime import datetime

from jishi.db import db, utcnow
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

# Class names are prefixed: the kernel's declarative registry is shared by
# every plugin (groupbuy and coupons have activities too); the short names at
# the end of this module are aliases for this plugin's code.


class FlashSaleActivity(db.Model):
    """A flash sale (秒杀活动) on one product, for a time window.

    ``seller_id`` is the product's seller (None: the shop's own goods);
    ``created_by_platform`` tells whether the platform made it (any product)
    or the merchant (its own products). ``per_user_limit`` is the units one
    buyer may hold per flash SKU (0: no limit).
    """

    __tablename__ = "flashsale_activities"
    __table_args__ = (Index("ix_flashsale_activities_window", "product_id", "ends_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    seller_id: Mapped[int | None] = mapped_column(index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(60))
    per_user_limit: Mapped[int] = mapped_column(default=1)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    enabled: Mapped[bool] = mapped_column(default=True)
    created_by_platform: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    skus: Mapped[list[FlashSku]] = relationship(
        order_by="FlashSku.id", cascade="all, delete-orphan", back_populates="activity"
    )


class FlashSku(db.Model):
    """One SKU in a flash sale: its flash price and flash stock.

    ``stock`` is the flash stock (separate from ``skus.stock``); ``sold``
    the units taken by placed orders not closed. Invariant, kept by the
    conditional UPDATE ``sold = sold + n WHERE sold + n <= stock`` and the
    CHECK below: ``0 <= sold <= stock``.
    """

    __tablename__ = "flashsale_skus"
    __table_args__ = (
        UniqueConstraint("activity_id", "sku_id"),
        Index("ix_flashsale_skus_sku", "sku_id"),
        CheckConstraint("sold >= 0 AND sold <= stock", name="sold"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    # (no index of its own: the unique key it leads serves its lookups)
    activity_id: Mapped[int] = mapped_column(ForeignKey("flashsale_activities.id", ondelete="CASCADE"))
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id", ondelete="CASCADE"))
    flash_price: Mapped[int]
    stock: Mapped[int]
    sold: Mapped[int] = mapped_column(default=0)

    activity: Mapped[FlashSaleActivity] = relationship(back_populates="skus")

    @property
    def remaining(self) -> int:
        return max(self.stock - self.sold, 0)


class FlashSaleUsage(db.Model):
    """Units a buyer holds of one flash SKU (the per-buyer limit), moved by
    one upsert ``INSERT .. ON CONFLICT DO UPDATE SET units = units + n WHERE
    units + n <= limit``."""

    __tablename__ = "flashsale_usage"
    flash_sku_id: Mapped[int] = mapped_column(ForeignKey("flashsale_skus.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    units: Mapped[int] = mapped_column(default=0)


class FlashSaleReservation(db.Model):
    """Flash stock taken by one order line; ``released`` counts the units
    given back (``released + n <= quantity``: each unit comes back once)."""

    __tablename__ = "flashsale_reservations"
    __table_args__ = (
        UniqueConstraint("order_id", "sku_id"),
        Index("ix_flashsale_reservations_open", "released", "created_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    sku_id: Mapped[int]
    flash_sku_id: Mapped[int] = mapped_column(ForeignKey("flashsale_skus.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    quantity: Mapped[int]
    released: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FlashSaleTicket(db.Model):
    """What a ``202`` promised (queued placement, 排队下单), durable: written
    and committed by the buy request before it answers, so a Redis that
    restarts empty loses no accepted purchase. ``status`` moves only by
    conditional UPDATEs from ``queued`` to ``placed`` (``payment_ids`` /
    ``order_ids``, comma-separated) or ``failed`` (``code``, ``message``),
    once. ``idempotency_key`` is the buyer's ``Idempotency-Key`` (unique per
    buyer: a retry after a Redis loss finds this ticket, never a second one);
    ``job`` the placement's arguments (JSON: address, options, locale,
    expected total). Queued tickets count as taken units when the Redis
    counters are rebuilt or reconciled."""

    __tablename__ = "flashsale_tickets"
    __table_args__ = (
        UniqueConstraint("user_id", "idempotency_key", name="uq_flashsale_tickets_user_key"),
        Index("ix_flashsale_tickets_open", "flash_sku_id", "status"),
        Index("ix_flashsale_tickets_status", "status", "created_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket: Mapped[str] = mapped_column(String(32), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    flash_sku_id: Mapped[int] = mapped_column(ForeignKey("flashsale_skus.id", ondelete="CASCADE"))
    sku_id: Mapped[int]
    quantity: Mapped[int]
    idempotency_key: Mapped[str | None] = mapped_column(String(72))
    status: Mapped[str] = mapped_column(String(10), default="queued")
    job: Mapped[str] = mapped_column(Text, default="{}")
    payment_ids: Mapped[str] = mapped_column(String(255), default="")
    order_ids: Mapped[str] = mapped_column(String(255), default="")
    code: Mapped[str | None] = mapped_column(String(40))
    message: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


Activity = FlashSaleActivity
Usage = FlashSaleUsage
Reservation = FlashSaleReservation
Ticket = FlashSaleTicket
