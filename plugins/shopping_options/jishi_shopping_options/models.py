"""The shopping options plugin's tables (prefix ``shopping_options_``, own
migrations).

``ShoppingOptionsUsage.bought`` (the per-buyer counter) and
``ShoppingOptionsTake.released`` move only by atomic conditional statements
in :mod:`jishi_shopping_options.service`; never read-modified-written.
"""

from __future__ import annotations

from datetime import datetime

from jishi.db import db, utcnow
from sqlalchemy import JSON, CheckConstraint, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column


class ProductShoppingOptions(db.Model):
    """One product's overrides; a column left None takes the platform's
    default (``seller_id`` copies the product's, for the merchant's lists)."""

    __tablename__ = "shopping_options_products"
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    seller_id: Mapped[int | None] = mapped_column(index=True)
    min_per_order: Mapped[int | None]
    max_per_order: Mapped[int | None]
    max_per_buyer: Mapped[int | None]
    buy_now_only: Mapped[bool | None]
    #: MemberLevel ids that may buy (None or []: everybody)
    member_levels: Mapped[list | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ShoppingOptionsUsage(db.Model):
    """Units a buyer holds of a product under its per-buyer limit: placed
    (pending or paid, shipped, completed) minus cancelled, closed and refunded."""

    __tablename__ = "shopping_options_usage"
    __table_args__ = (CheckConstraint("bought >= 0", name="bought_not_negative"),)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, autoincrement=False)
    bought: Mapped[int] = mapped_column(default=0)


class ShoppingOptionsTake(db.Model):
    """What one order counted for one product, and what it gave back
    (``released``, cumulative): a repeated cancel or refund gives nothing twice."""

    __tablename__ = "shopping_options_takes"
    __table_args__ = (UniqueConstraint("order_id", "product_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    # (no index of its own: the unique key it leads serves its lookups)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    product_id: Mapped[int]
    user_id: Mapped[int]
    quantity: Mapped[int]
    released: Mapped[int] = mapped_column(default=0)
