"""Reviews after receipt (SPEC K11), with up to nine pictures (晒图).

A review's pictures live on its row: ``images`` is the ordered list of
``{"id": <media asset id>, "files": {"thumb": <name>, ...}}`` (the buyer's
own uploads, see :func:`jishi.media.buyer_owner`), ``image_count`` its
length (the "with pictures" filter and count read it). On the row, so the
product page reads reviews, their authors and their pictures in ONE
statement; moderation and deletion hide the pictures with the review.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from jishi.db import db, utcnow


class Review(db.Model):
    __tablename__ = "reviews"
    __table_args__ = (Index("ix_reviews_product_visible", "product_id", "deleted_at", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), unique=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="SET NULL"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    seller_id: Mapped[int | None] = mapped_column(index=True)
    rating: Mapped[int]
    content: Mapped[str] = mapped_column(Text, default="")
    is_anonymous: Mapped[bool] = mapped_column(default=False)
    is_visible: Mapped[bool] = mapped_column(default=True)  # False while awaiting moderation
    reply: Mapped[str] = mapped_column(Text, default="")
    replied_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    deleted_by: Mapped[str] = mapped_column(String(30), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    images: Mapped[list] = mapped_column(JSON, default=list, server_default="[]")
    image_count: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")

    user = relationship("User", lazy="joined")

    @property
    def pictures(self) -> list[dict[str, Any]]:
        """The pictures' addresses, in order: ``{"id", "thumb", "medium",
        "large"}`` each (a bare address in ``images`` serves every size)."""
        from jishi.media.storage import storage

        store = storage()
        out = []
        for item in self.images or ():
            if isinstance(item, str):
                out.append({"id": None, "thumb": item, "medium": item, "large": item})
                continue
            files = item.get("files") or {}
            urls = {label: store.url(name) for label, name in files.items()}
            fallback = urls.get("large") or next(iter(urls.values()), "")
            out.append(
                {"id": item.get("id"), **{size: urls.get(size, fallback) for size in ("thumb", "medium", "large")}}
            )
        return out
