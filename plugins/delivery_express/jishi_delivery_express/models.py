"""The plugin's tables (prefix ``express_``).

- :class:`ExpressTemplate`: a delivery template made by the platform.
- :class:`ExpressRegionRule`: a province (optionally a city) of a template
  with its own rate, or not served.
- :class:`ExpressSellerTemplate`: a template a seller chose (``seller_key``
  0 is the shop itself, else the multistore merchant id), one marked default.
- :class:`ExpressProductTemplate`: the template a product points to.
- :class:`ExpressTrackingEvent`: a tracking event added by hand (the
  built-in ``tracking_provider``).
"""

from __future__ import annotations

from datetime import datetime

from jishi.db import db, utcnow
from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

SHOP_KEY = 0  # seller_key of the shop itself (seller_id None)


def seller_key(seller_id: int | None) -> int:
    return SHOP_KEY if seller_id is None else int(seller_id)


class ExpressTemplate(db.Model):
    __tablename__ = "express_templates"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    charge_by: Mapped[str] = mapped_column(String(10), default="piece")  # piece | weight
    first_units: Mapped[int] = mapped_column(default=1)  # pieces or grams
    first_fee: Mapped[int] = mapped_column(default=0)  # fen
    additional_units: Mapped[int] = mapped_column(default=1)
    additional_fee: Mapped[int] = mapped_column(default=0)
    free_over_amount: Mapped[int] = mapped_column(default=0)  # fen; 0 = none
    free_over_pieces: Mapped[int] = mapped_column(default=0)  # 0 = none
    is_default: Mapped[bool] = mapped_column(default=False)
    deleted: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    regions: Mapped[list[ExpressRegionRule]] = relationship(
        order_by="ExpressRegionRule.id", cascade="all, delete-orphan", back_populates="template"
    )


class ExpressRegionRule(db.Model):
    __tablename__ = "express_region_rules"
    __table_args__ = (UniqueConstraint("template_id", "province", "city"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    # (no index of its own: the unique key it leads serves its lookups)
    template_id: Mapped[int] = mapped_column(ForeignKey("express_templates.id", ondelete="CASCADE"))
    province: Mapped[str] = mapped_column(String(30))
    city: Mapped[str] = mapped_column(String(30), default="")
    served: Mapped[bool] = mapped_column(default=True)
    first_units: Mapped[int | None]
    first_fee: Mapped[int | None]
    additional_units: Mapped[int | None]
    additional_fee: Mapped[int | None]

    template: Mapped[ExpressTemplate] = relationship(back_populates="regions")


class ExpressSellerTemplate(db.Model):
    __tablename__ = "express_seller_templates"
    __table_args__ = (UniqueConstraint("seller_key", "template_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    # (no index of its own: the unique key it leads serves its lookups)
    seller_key: Mapped[int] = mapped_column()
    template_id: Mapped[int] = mapped_column(ForeignKey("express_templates.id", ondelete="CASCADE"))
    is_default: Mapped[bool] = mapped_column(default=False)


class ExpressProductTemplate(db.Model):
    __tablename__ = "express_product_templates"
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("express_templates.id", ondelete="CASCADE"), index=True)


class ExpressTrackingEvent(db.Model):
    __tablename__ = "express_tracking_events"
    __table_args__ = (Index("ix_express_tracking_events_order_time", "order_id", "happened_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    happened_at: Mapped[datetime]
    text: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
