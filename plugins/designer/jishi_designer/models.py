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


# -- promotion slots (推广: 页面广告、商家推荐、商品推荐) ----------------------

SLOT_ADS = "ads"
SLOT_MERCHANTS = "merchants"
SLOT_PRODUCTS = "products"
SLOT_KINDS = (SLOT_ADS, SLOT_MERCHANTS, SLOT_PRODUCTS)
TARGET_ALL = "all"
TARGET_NEW = "new"
TARGET_LEVELS = "levels"
TARGETS = (TARGET_ALL, TARGET_NEW, TARGET_LEVELS)


class PromoSlot(db.Model):
    """A place the platform sells or fills (``code``: ``home-top``; ``name``:
    where it shows). ``kind``: ``ads`` (pictures with links), ``merchants``
    (recommended shops) or ``products`` (recommended products)."""

    __tablename__ = "design_promo_slots"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(10), default=SLOT_ADS)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PromoAd(db.Model):
    """One entry of a slot: a picture with a (validated) link, or the
    recommended merchant/product ``ref_id``; shown from ``starts_at`` until
    ``ends_at`` (None: open-ended) to ``target`` (``all``; ``new``: buyers
    without a paid order; ``levels``: buyers holding one of the kernel's
    member levels ``level_ids``), ``sort`` ascending. ``deleted_at`` set: the
    entry was deleted (soft: its daily stats rows stay and still count in
    the slot's report; it is never shown, clicked or listed again)."""

    __tablename__ = "design_promo_ads"
    __table_args__ = (Index("ix_design_promo_ads_slot_sort", "slot_id", "sort", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("design_promo_slots.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(60), default="")
    image: Mapped[str] = mapped_column(String(300), default="")
    link: Mapped[dict | None] = mapped_column(JSON)
    ref_id: Mapped[int | None] = mapped_column()
    starts_at: Mapped[datetime | None] = mapped_column()
    ends_at: Mapped[datetime | None] = mapped_column()
    target: Mapped[str] = mapped_column(String(10), default=TARGET_ALL)
    level_ids: Mapped[list | None] = mapped_column(JSON)
    sort: Mapped[int] = mapped_column(default=0)
    enabled: Mapped[bool] = mapped_column(default=True)
    deleted_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PromoStat(db.Model):
    """Daily impressions and clicks of an ad (the shop's day), written in
    batches from the buffer (:mod:`jishi_designer.promo`)."""

    __tablename__ = "design_promo_stats"
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    ad_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    impressions: Mapped[int] = mapped_column(default=0)
    clicks: Mapped[int] = mapped_column(default=0)


class DesignTemplate(db.Model):
    """A platform template a merchant starts its shop page from (CRMEB
    多商户 model): the blocks of a platform page when it was saved. A
    merchant copies it into its own draft and edits its copy.
    ``categories``: the merchant categories it is offered to (empty or None:
    every merchant)."""

    __tablename__ = "design_templates"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    blocks: Mapped[list] = mapped_column(JSON, default=list)
    categories: Mapped[list | None] = mapped_column(JSON)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column()
