"""The media library's table: one row per image an owner uploaded.

An owner is the platform (``owner_kind="platform"``, ``owner_id`` 0: the
shop itself, whose products have ``seller_id`` None) or a merchant
(``owner_kind="merchant"``, ``owner_id`` its seller id) or a buyer
(``owner_kind="buyer"``, ``owner_id`` the user's id: the pictures of the
buyer's reviews, K11). The files are
content-addressed: ``<digest>-<pixels>.<ext>`` for each standard size, so
two owners uploading the same picture share the files but not the row.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from jishi.db import db, utcnow


class MediaAsset(db.Model):
    __tablename__ = "media_assets"
    __table_args__ = (
        UniqueConstraint("owner_kind", "owner_id", "digest", name="uq_media_assets_owner_digest"),
        Index("ix_media_assets_owner_list", "owner_kind", "owner_id", "deleted_at", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    owner_kind: Mapped[str] = mapped_column(String(20))  # platform, merchant, buyer
    owner_id: Mapped[int] = mapped_column(default=0)
    # sha256 of the uploaded bytes (hex, 64); the files' names start with it.
    digest: Mapped[str] = mapped_column(String(64), index=True)
    filename: Mapped[str] = mapped_column(String(200), default="")
    source_format: Mapped[str] = mapped_column(String(10))  # JPEG, PNG, WEBP, GIF (what Pillow read)
    width: Mapped[int] = mapped_column(default=0)
    height: Mapped[int] = mapped_column(default=0)
    size_bytes: Mapped[int] = mapped_column(default=0)
    # {"thumb": "<name>", "medium": "<name>", "large": "<name>"}: stored names per size.
    files: Mapped[dict] = mapped_column(JSON, default=dict)
    created_by: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None]
