"""The footprints plugin's table (prefix ``footprints_``, own migrations)."""

from __future__ import annotations

from datetime import datetime

from jishi.db import db
from sqlalchemy import ForeignKey, Index, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column


class Footprint(db.Model):
    """The last time a buyer opened a product: one row per buyer and
    product (opened again, its ``viewed_at`` moves on); gone with the buyer
    or the product. Listed newest first by (``viewed_at``, ``id``)."""

    __tablename__ = "footprints_views"
    __table_args__ = (
        UniqueConstraint("user_id", "product_id"),
        Index("ix_footprints_views_user_id_viewed_at", "user_id", "viewed_at", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    viewed_at: Mapped[datetime]
