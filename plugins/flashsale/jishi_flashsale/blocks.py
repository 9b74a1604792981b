"""The flash-sale strip (``flashsale.strip``), a block of the page designer
(``page_block_types``; any designer plugin may place it): running flash
sales, soonest to end first, or the activities picked by id, each with its
flash price, units left and end time for a countdown.

All strips of a page are read together: one statement for the running
sales (the largest count any strip asks) and one for picked ids. A picked
activity that ended, is disabled or whose product is hidden is left out and
listed in ``skipped`` (``ended``). On a merchant's shop page only the
merchant's own sales show.
"""

from __future__ import annotations

from collections.abc import Sequence

from jishi.catalog.models import Product
from jishi.db import db, utcnow
from jishi.hookspecs import BlockContext, BlockField, BlockType, PageBlock
from jishi.i18n import gettext as _
from sqlalchemy import func, select

from jishi_flashsale.models import Activity, FlashSku
from jishi_flashsale.service import _visible_product_filters


def block_types() -> list[BlockType]:
    return [
        BlockType(
            "flashsale.strip",
            _("Flash-sale strip"),
            (
                BlockField("title", _("Title"), max_length=20),
                BlockField("count", _("How many"), kind="int", min=1, max=20, default=4),
                BlockField("activities", _("Activity ids (empty: the running ones)"), kind="ids", max_items=20),
            ),
            resolve=resolve,
            template="flashsale/blocks/strip.html",
            icon="⚡",
            sort=200,
        )
    ]


def _statement(context: BlockContext, at):
    stmt = (
        select(
            Activity.id,
            Activity.title,
            Activity.product_id,
            Activity.starts_at,
            Activity.ends_at,
            Product.name,
            Product.image,
            Product.price,
            func.min(FlashSku.flash_price).label("flash_price"),
            func.sum(FlashSku.stock - FlashSku.sold).label("remaining"),
        )
        .join(Product, Product.id == Activity.product_id)
        .join(FlashSku, FlashSku.activity_id == Activity.id)
        .where(Activity.enabled.is_(True), Activity.starts_at <= at, Activity.ends_at > at, Product.on_shelf.is_(True))
        .group_by(
            Activity.id,
            Activity.title,
            Activity.product_id,
            Activity.starts_at,
            Activity.ends_at,
            Product.name,
            Product.image,
            Product.price,
        )
    )
    for cond in _visible_product_filters():
        stmt = stmt.where(cond)
    if context.seller_id is not None:
        stmt = stmt.where(Activity.seller_id == context.seller_id)
    return stmt


def _item(row, at) -> dict:
    return {
        "id": row.id,
        "title": row.title,
        "product_id": row.product_id,
        "name": row.name,
        "image": row.image or "",
        "price": row.price,
        "flash_price": row.flash_price,
        "remaining": max(int(row.remaining or 0), 0),
        "ends_at": row.ends_at.isoformat() + "Z",
        "seconds_left": max(int((row.ends_at - at).total_seconds()), 0),
    }


def resolve(blocks: Sequence[PageBlock], context: BlockContext) -> list[dict]:
    at = context.now or utcnow()
    picked = sorted({i for b in blocks for i in b.settings.get("activities") or ()})
    wanted = max((b.settings.get("count") or 4 for b in blocks if not b.settings.get("activities")), default=0)
    running = []
    if wanted:
        stmt = _statement(context, at).order_by(Activity.ends_at, Activity.id).limit(wanted)
        running = db.session.execute(stmt).all()
    by_id = {}
    if picked:
        by_id = {r.id: r for r in db.session.execute(_statement(context, at).where(Activity.id.in_(picked)))}
    out = []
    for block in blocks:
        ids = block.settings.get("activities") or []
        if ids:
            rows = [by_id[i] for i in ids if i in by_id]
            skipped = [{"id": i, "reason": "ended"} for i in ids if i not in by_id]
        else:
            rows, skipped = running[: block.settings.get("count") or 4], []
        out.append({"server_time": at.isoformat() + "Z", "items": [_item(r, at) for r in rows], "skipped": skipped})
    return out
