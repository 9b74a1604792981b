"""The group-buy strip (``groupbuy.strip``), a block of the page designer
(``page_block_types``): running group buys (soonest to end first) or the
activities picked by id, with the group price, the group size and the
normal price. All strips of a page are read in one statement for the
running ones and one for picked ids; a picked activity that ended (or whose
product is hidden) is listed in ``skipped`` (``ended``). On a merchant's
shop page only the merchant's own activities show.
"""

from __future__ import annotations

from collections.abc import Sequence

from flask import current_app
from jishi.catalog.models import Product
from jishi.db import db, utcnow
from jishi.hookspecs import BlockContext, BlockField, BlockType, PageBlock
from jishi.i18n import gettext as _
from sqlalchemy import func, select

from jishi_groupbuy.models import Activity, ActivitySku


def block_types() -> list[BlockType]:
    return [
        BlockType(
            "groupbuy.strip",
            _("Group-buy strip"),
            (
                BlockField("title", _("Title"), max_length=20),
                BlockField("count", _("How many"), kind="int", min=1, max=20, default=4),
                BlockField("activities", _("Activity ids (empty: the running ones)"), kind="ids", max_items=20),
            ),
            resolve=resolve,
            template="groupbuy/blocks/strip.html",
            icon="👥",
            sort=210,
        )
    ]


def _statement(context: BlockContext, at):
    cols = (Activity.id, Activity.title, Activity.product_id, Activity.group_size, Activity.ends_at)
    stmt = (
        select(
            *cols, Product.name, Product.image, Product.price, func.min(ActivitySku.group_price).label("group_price")
        )
        .join(Product, Product.id == Activity.product_id)
        .join(ActivitySku, ActivitySku.activity_id == Activity.id)
        .where(Activity.enabled.is_(True), Activity.starts_at <= at, Activity.ends_at > at, Product.on_shelf.is_(True))
        .group_by(*cols, Product.name, Product.image, Product.price)
    )
    for conditions in current_app.extensions["jishi"].hook.product_filters(context="listing"):
        for cond in conditions or ():
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
        "group_price": row.group_price,
        "group_size": row.group_size,
        "ends_at": row.ends_at.isoformat() + "Z",
        "seconds_left": max(int((row.ends_at - at).total_seconds()), 0),
    }


def resolve(blocks: Sequence[PageBlock], context: BlockContext) -> list[dict]:
    at = context.now or utcnow()
    picked = sorted({i for b in blocks for i in b.settings.get("activities") or ()})
    wanted = max((b.settings.get("count") or 4 for b in blocks if not b.settings.get("activities")), default=0)
    running = []
    if wanted:
        running = db.session.execute(
            _statement(context, at).order_by(Activity.ends_at, Activity.id).limit(wanted)
        ).all()
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
        out.append({"items": [_item(r, at) for r in rows], "skipped": skipped})
    return out
