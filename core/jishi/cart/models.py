"""The cart: one per buyer across all sellers (SPEC K6)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from jishi.catalog.models import Sku
from jishi.db import db, utcnow


class CartLine(db.Model):
    __tablename__ = "cart_lines"
    __table_args__ = (UniqueConstraint("user_id", "sku_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    # (no index of its own: the unique key it leads serves its lookups)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id", ondelete="CASCADE"))
    quantity: Mapped[int]
    selected: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    sku: Mapped[Sku] = relationship()
