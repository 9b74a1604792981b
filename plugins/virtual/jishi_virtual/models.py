"""The virtual plugin's tables (prefix ``virtual_``, own migrations).

``seller_id`` is the kernel's opaque seller column, copied from the product:
None for the shop itself, else the multistore merchant id. No foreign key to
a merchant table: the plugin works without multistore.
"""

from __future__ import annotations

from datetime import datetime

from jishi.db import db, utcnow
from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

KIND_CODES = "codes"  # card codes (卡密), one per unit, from a stock of codes
KIND_TEXT = "text"  # the same link or text for every buyer
KINDS = (KIND_CODES, KIND_TEXT)

DELIVERED = "delivered"  # everything handed over; the order completed
SHORT = "short"  # paid, but codes ran out: flagged for the merchant


class VirtualGood(db.Model):
    """How one virtual product is delivered (per product, for all its SKUs)."""

    __tablename__ = "virtual_goods"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), unique=True)
    seller_id: Mapped[int | None] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(10), default=KIND_CODES)
    content: Mapped[str] = mapped_column(Text, default="")  # the link or text (kind "text")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class VirtualCode(db.Model):
    """One card code (卡密) of one SKU.

    Free while ``order_line_id`` is NULL. Placing an order claims codes for
    its line by a conditional UPDATE (``... WHERE order_line_id IS NULL``,
    rows picked ``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so a code goes to
    exactly one line; closing the unpaid order frees them again; paying sets
    ``delivered_at`` and from then on the code is the buyer's for good.
    """

    __tablename__ = "virtual_codes"
    __table_args__ = (
        UniqueConstraint("sku_id", "code"),
        Index("ix_virtual_codes_free", "sku_id", "order_line_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id", ondelete="CASCADE"))
    seller_id: Mapped[int | None]
    code: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    order_line_id: Mapped[int | None] = mapped_column(ForeignKey("order_lines.id"))
    assigned_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]


class VirtualDelivery(db.Model):
    """What a paid order of virtual goods was handed (one row per order).

    ``texts`` keeps, per order line id, the link or text as it was when the
    order was paid. ``status`` is ``delivered`` or ``short`` (codes ran out:
    the order stays paid and the merchant sees it flagged)."""

    __tablename__ = "virtual_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    seller_id: Mapped[int | None] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(10), default=DELIVERED)
    missing: Mapped[int] = mapped_column(default=0)
    texts: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
