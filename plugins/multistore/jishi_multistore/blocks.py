"""The merchant list block (``multistore.merchants``), a block of the page
designer (seed 001 §2.6, 手机商城设计器 多商户模块): a custom title and
style, the merchants chosen (or every listed one), the fields shown (name
always; stars, average spend, opening hours, category, location) and the
order: by join time, by name, or by distance from the visitor (the client
sends its location; the distance is shown, nearest first). Without a
location a distance list falls back to join time and says so
(``distance_unavailable``).

Chosen merchants of every block on a page are read in one statement; a
block listing every merchant reads through :func:`merchants.list_shops`
(one statement, a few for a sparse distance search). Chosen merchants that
closed for good or were deleted are listed in ``skipped``.
"""

from __future__ import annotations

from collections.abc import Sequence

from jishi.db import db
from jishi.hookspecs import BlockContext, BlockField, BlockType, PageBlock, hookimpl
from jishi.i18n import gettext as _
from sqlalchemy import literal, select

from jishi_multistore import merchants
from jishi_multistore.models import Merchant

SHOWN = ("stars", "avg_spend", "hours", "category", "location")


@hookimpl
def page_block_types():
    return [
        BlockType(
            "multistore.merchants",
            _("Merchant list"),
            (
                BlockField("title", _("Title"), max_length=20),
                BlockField(
                    "style",
                    _("Style"),
                    kind="choice",
                    choices=(("list", _("List")), ("cards", _("Cards"))),
                    default="list",
                ),
                BlockField("merchants", _("Merchant ids (empty: every open merchant)"), kind="ids", max_items=30),
                BlockField(
                    "sort",
                    _("Order"),
                    kind="choice",
                    choices=(
                        ("newest", _("By join time")),
                        ("name", _("By name")),
                        ("distance", _("By distance from the visitor")),
                    ),
                    default="newest",
                ),
                BlockField("count", _("How many"), kind="int", min=1, max=30, default=6),
                BlockField("show_stars", _("Show stars"), kind="bool", default=True),
                BlockField("show_avg_spend", _("Show average spend"), kind="bool", default=True),
                BlockField("show_hours", _("Show opening hours"), kind="bool", default=True),
                BlockField("show_category", _("Show category"), kind="bool", default=True),
                BlockField("show_location", _("Show location"), kind="bool", default=True),
            ),
            resolve=resolve,
            template="multistore/blocks/merchants.html",
            icon="🏬",
            sort=230,
            sellers=False,
        )
    ]


def _json(item: dict) -> dict:
    joined = item.get("joined_at")
    return {**item, "joined_at": joined.isoformat() + "Z" if joined else None}


def _order(items: list[dict], sort: str) -> list[dict]:
    if sort == "distance":
        return sorted(items, key=lambda i: (i["distance_m"] is None, i["distance_m"] or 0, i["id"]))
    if sort == "name":
        return sorted(items, key=lambda i: (i["name"], i["id"]))
    return sorted(items, key=lambda i: (i["joined_at"] or "", i["id"]), reverse=True)


def resolve(blocks: Sequence[PageBlock], context: BlockContext) -> list[dict]:
    lat, lng = context.location if context.location else (None, None)
    chosen = sorted({i for b in blocks for i in b.settings.get("merchants") or ()})
    by_id: dict[int, dict] = {}
    if chosen:
        dist = (
            merchants.distance_sql(lat, lng).label("distance") if lat is not None else literal(None).label("distance")
        )
        stmt = select(*merchants.LISTED_COLUMNS, dist).where(merchants.listed(), Merchant.id.in_(chosen))
        by_id = {r.id: _json(merchants._shop_item(r)) for r in db.session.execute(stmt)}
    out = []
    for block in blocks:
        s = block.settings
        sort = s.get("sort") or "newest"
        unavailable = sort == "distance" and lat is None
        if unavailable:
            sort = "newest"
        ids = s.get("merchants") or []
        count = s.get("count") or 6
        if ids:
            items = _order([by_id[i] for i in ids if i in by_id], sort)[:count]
            skipped = [{"id": i, "reason": "closed"} for i in ids if i not in by_id]
        else:
            found, _cursor = merchants.list_shops(sort=sort, lat=lat, lng=lng, limit=count)
            items, skipped = [_json(i) for i in found], []
        shown = [f for f in SHOWN if s.get(f"show_{f}", True)]
        out.append(
            {"items": items, "skipped": skipped, "shown": shown, "sort": sort, "distance_unavailable": unavailable}
        )
    return out
