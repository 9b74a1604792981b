"""The designer's tables (prefix ``design_``, own migrations).

A :class:`DesignPage` holds the DRAFT (a list of blocks being edited) and
points at its PUBLISHED :class:`DesignRevision`; every publish, scheduled
publish and rollback writes a new, immutable revision (``number`` counts up
per page), so the published layout can be cached by revision id forever.

``seller_id`` None is a platform page (the home page ``home``, custom pages);
a merchant's shop page is ``shop-<seller id>`` with its ``seller_id``.
"""

from __future__ import annotations

from datetime import datetime

from jishi.db import db, utcnow
from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

KIND_HOME = "home"
KIND_CUSTOM = "custom"
KIND_SHOP = "shop"
KINDS = (KIND_HOME, KIND_CUSTOM, KIND_SHOP)


class DesignPage(db.Model):
    """A designed page: its draft and its published (and scheduled) revision.

    The revision pointers are plain ids (a revision row belongs to its page
    and is never deleted while the page lives), not foreign keys: the two
    tables would otherwise refer to each other.
    ``draft_version`` counts the draft's saves; every save is a conditional
    UPDATE on it, so two editors never overwrite each other's work silently.
    ``scheduled_revision_id`` goes live at ``scheduled_at`` (the page reads
    it from then on; the ``designer_publish_scheduled`` job records it)."""

    __tablename__ = "design_pages"
    id: Mapped[int] = mapped_column(primary_key=True)
    seller_id: Mapped[int | None] = mapped_column(index=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    title: Mapped[str] = mapped_column(String(60), default="")
    kind: Mapped[str] = mapped_column(String(10), default=KIND_CUSTOM)
    draft: Mapped[list] = mapped_column(JSON, default=list)
    draft_version: Mapped[int] = mapped_column(default=0)
    published_revision_id: Mapped[int | None] = mapped_column()
    scheduled_revision_id: Mapped[int | None] = mapped_column()
    scheduled_at: Mapped[datetime | None] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class DesignRevision(db.Model):
    """An immutable published (or scheduled) layout of a page.

    ``note``: ``publish``, ``schedule`` or ``rollback`` (``source_number``:
    the revision it restored); ``published_at``: when it went live (None:
    scheduled and not yet live, or a cancelled schedule)."""

    __tablename__ = "design_revisions"
    __table_args__ = (
        UniqueConstraint("page_id", "number", name="uq_design_revisions_page_number"),
        Index("ix_design_revisions_page_id_id", "page_id", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("design_pages.id", ondelete="CASCADE"))
    number: Mapped[int]
    title: Mapped[str] = mapped_column(String(60), default="")
    blocks: Mapped[list] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(String(20), default="publish")
    source_number: Mapped[int | None]
    publish_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
