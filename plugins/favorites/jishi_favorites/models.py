"""The favorites plugin's table (prefix ``favorites_``, own migrations)."""

from __future__ import annotations

from datetime import datetime

from jishi.db import db, utcnow
from sqlalchemy import ForeignKey, Index, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column


class FavoriteProduct(db.Model):
    """A product a buyer keeps. One row per buyer and product (the unique
    key makes keeping it twice, or two taps at once, one row); gone with
    the buyer or the product. Listed newest first by ``id``."""

    __tablename__ = "favorites_products"
    __table_args__ = (
        UniqueConstraint("user_id", "product_id"),
        Index("ix_favorites_products_user_id_id", "user_id", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
