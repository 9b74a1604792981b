"""The plugin's one table (own Alembic history, version table
``alembic_version_buy_n_get_m``)."""

from __future__ import annotations

from datetime import datetime

from jishi.db import db, utcnow
from sqlalchemy import CheckConstraint, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

MAX_QTY = 99


class BuyNGetMRule(db.Model):
    """ "Buy ``buy_qty`` pay ``pay_qty``" on one product (买3付2).

    ``seller_id`` copies the product's owner when the rule is saved (None:
    the shop itself; a merchant id under multistore) so a seller's rules are
    listed with one indexed query; checkout only applies a rule to lines of
    that same seller.
    """

    __tablename__ = "buy_n_get_m_rules"
    __table_args__ = (
        CheckConstraint(f"pay_qty >= 1 AND pay_qty < buy_qty AND buy_qty <= {MAX_QTY}", name="quantities"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), unique=True)
    seller_id: Mapped[int | None] = mapped_column(index=True)
    buy_qty: Mapped[int]
    pay_qty: Mapped[int]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def free_qty(self) -> int:
        return self.buy_qty - self.pay_qty
