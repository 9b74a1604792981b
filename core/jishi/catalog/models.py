"""Catalog: categories, tags, products, specs and SKUs (SPEC K4).

``Product.seller_id`` is an opaque owner key: ``None`` is the shop itself
(the platform, 自营); the multistore plugin stores its merchant id there. The
kernel never interprets it beyond grouping and filtering, which keeps cart
splitting and merchant filters a plain indexed column instead of a join into
a plugin's table (see docs/architecture.md).

``Product.price`` is the lowest price among its on-sale SKUs, kept in step by
:func:`jishi.catalog.service.refresh_product`, so listings sort and filter by
price on an indexed column without touching SKUs.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, ForeignKey, Index, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from jishi.db import db, utcnow


class Category(db.Model):
    __tablename__ = "categories"
    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    sort: Mapped[int] = mapped_column(default=0)
    # Materialised path "/1/4/9/" so a category's whole subtree is one LIKE.
    path: Mapped[str] = mapped_column(String(255), default="/", index=True)
    # An image address (the platform's media library, or any site's).
    image: Mapped[str] = mapped_column(String(300), default="")

    parent: Mapped[Category | None] = relationship(remote_side=[id])

    @property
    def depth(self) -> int:
        return self.path.strip("/").count("/")


product_tags = Table(
    "product_tags",
    db.metadata,
    Column("product_id", ForeignKey("products.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Tag(db.Model):
    __tablename__ = "tags"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)


class Product(db.Model):
    __tablename__ = "products"
    __table_args__ = (
        # Keyset pagination indexes: each listing sort has its own.
        Index("ix_products_listing_new", "on_shelf", "id"),
        Index("ix_products_listing_price", "on_shelf", "price", "id"),
        Index("ix_products_listing_sales", "on_shelf", "sales", "id"),
        Index("ix_products_category_new", "category_id", "on_shelf", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    seller_id: Mapped[int | None] = mapped_column(index=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    name: Mapped[str] = mapped_column(String(120))
    subtitle: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    image: Mapped[str] = mapped_column(String(300), default="")
    price: Mapped[int] = mapped_column(default=0)
    original_price: Mapped[int | None]
    sales: Mapped[int] = mapped_column(default=0)
    on_shelf: Mapped[bool] = mapped_column(default=False)
    is_virtual: Mapped[bool] = mapped_column(default=False)
    # Lower-cased name + subtitle + tags, searched with LIKE (short CJK terms).
    search_text: Mapped[str] = mapped_column(String(600), default="")
    extra: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    category: Mapped[Category | None] = relationship()
    skus: Mapped[list[Sku]] = relationship(back_populates="product", order_by="Sku.id", cascade="all, delete-orphan")
    images: Mapped[list[ProductImage]] = relationship(order_by="ProductImage.sort", cascade="all, delete-orphan")
    params: Mapped[list[ProductParam]] = relationship(order_by="ProductParam.sort", cascade="all, delete-orphan")
    specs: Mapped[list[ProductSpec]] = relationship(order_by="ProductSpec.sort", cascade="all, delete-orphan")
    tags: Mapped[list[Tag]] = relationship(secondary=product_tags, order_by=Tag.id)

    @property
    def stock(self) -> int:
        return sum(s.stock for s in self.skus)


class ProductImage(db.Model):
    __tablename__ = "product_images"
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(300))
    sort: Mapped[int] = mapped_column(default=0)


class ProductParam(db.Model):
    """A parameter / attribute (参数) such as 产地: 云南."""

    __tablename__ = "product_params"
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    value: Mapped[str] = mapped_column(String(200))
    sort: Mapped[int] = mapped_column(default=0)


class ProductSpec(db.Model):
    """A spec dimension (规格) such as 颜色 with its values [红, 蓝]."""

    __tablename__ = "product_specs"
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    values: Mapped[list] = mapped_column(JSON, default=list)
    sort: Mapped[int] = mapped_column(default=0)


class Sku(db.Model):
    """One sellable variant: a combination of spec values, its price and stock.

    ``stock`` changes only through atomic conditional UPDATEs
    (:mod:`jishi.defaults.stock`), never read-modify-write.
    """

    __tablename__ = "skus"
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(60), default="")
    # {"颜色": "红", "尺码": "L"}; empty for a product without specs.
    spec_values: Mapped[dict] = mapped_column(JSON, default=dict)
    price: Mapped[int]
    original_price: Mapped[int | None]
    member_price: Mapped[int | None]
    stock: Mapped[int] = mapped_column(default=0)
    weight_grams: Mapped[int] = mapped_column(default=0)
    is_active: Mapped[bool] = mapped_column(default=True)

    product: Mapped[Product] = relationship(back_populates="skus")

    @property
    def spec_text(self) -> str:
        return " ".join(f"{k}:{v}" for k, v in (self.spec_values or {}).items())
