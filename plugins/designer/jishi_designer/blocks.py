"""The designer's own block types (``page_block_types``): search bar,
banner carousel, navigation icon grid, notice bar, image and text, rich
text, spacer, product list (by hand or by rule) and category list.

Resolvers load the data of ALL blocks of their type on a page at once:
hand-picked products of every product list in one statement, a rule list
in one or two (the catalog's listing), every category list from the
categories the kernel keeps (no statement while they are kept).
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter

from jishi.catalog.models import Product, Sku
from jishi.db import db
from jishi.hookspecs import BlockContext, BlockField, BlockType, PageBlock
from jishi.i18n import gettext as _
from sqlalchemy import and_, bindparam, case, func, select

PREFIX = "designer."


def _link(label: str | None = None) -> BlockField:
    return BlockField("link", label or _("Link"), kind="link")


def block_types() -> list[BlockType]:
    sorts = (
        ("newest", _("Newest")),
        ("sales", _("Best selling")),
        ("price_asc", _("Price, low to high")),
        ("price_desc", _("Price, high to low")),
    )
    return [
        BlockType(
            PREFIX + "search",
            _("Search bar"),
            (BlockField("placeholder", _("Placeholder"), max_length=40, default=""),),
            template="designer/blocks/search.html",
            icon="🔍",
            sort=10,
        ),
        BlockType(
            PREFIX + "banner",
            _("Banner carousel"),
            (
                BlockField(
                    "slides",
                    _("Slides"),
                    kind="items",
                    required=True,
                    max_items=10,
                    fields=(
                        BlockField("image", _("Image"), kind="image", required=True),
                        BlockField("title", _("Title"), max_length=40),
                        _link(),
                    ),
                ),
                BlockField("interval", _("Seconds per slide"), kind="int", min=2, max=20, default=5),
            ),
            template="designer/blocks/banner.html",
            icon="🖼",
            sort=20,
        ),
        BlockType(
            PREFIX + "nav",
            _("Navigation icons"),
            (
                BlockField(
                    "icons",
                    _("Icons"),
                    kind="items",
                    required=True,
                    max_items=20,
                    fields=(
                        BlockField("label", _("Label"), required=True, max_length=10),
                        BlockField("image", _("Icon image"), kind="image"),
                        _link(),
                    ),
                ),
                BlockField("columns", _("Per row"), kind="choice", choices=(("4", "4"), ("5", "5")), default="4"),
            ),
            template="designer/blocks/nav.html",
            icon="▦",
            sort=30,
            resolve=resolve_nav,
        ),
        BlockType(
            PREFIX + "notice",
            _("Notice bar"),
            (
                BlockField("text", _("Text"), required=True, max_length=120),
                BlockField("color", _("Background colour"), kind="color", default="#fff7e6"),
                _link(),
            ),
            template="designer/blocks/notice.html",
            icon="📢",
            sort=40,
        ),
        BlockType(
            PREFIX + "image_text",
            _("Image and text"),
            (
                BlockField("image", _("Image"), kind="image", required=True),
                BlockField("title", _("Title"), max_length=40),
                BlockField("text", _("Text"), kind="textarea"),
                BlockField(
                    "layout",
                    _("Layout"),
                    kind="choice",
                    choices=(("left", _("Image left")), ("right", _("Image right")), ("top", _("Image on top"))),
                    default="left",
                ),
                _link(),
            ),
            template="designer/blocks/image_text.html",
            icon="▤",
            sort=50,
        ),
        BlockType(
            PREFIX + "richtext",
            _("Rich text"),
            (BlockField("html", _("Content"), kind="richtext", required=True),),
            template="designer/blocks/richtext.html",
            icon="¶",
            sort=60,
        ),
        BlockType(
            PREFIX + "spacer",
            _("Spacer"),
            (
                BlockField("height", _("Height (px)"), kind="int", min=4, max=200, default=16),
                BlockField("line", _("Show a line"), kind="bool", default=False),
            ),
            template="designer/blocks/spacer.html",
            icon="↕",
            sort=70,
        ),
        BlockType(
            PREFIX + "products",
            _("Product list"),
            (
                BlockField("title", _("Title"), max_length=40),
                BlockField(
                    "mode",
                    _("Products"),
                    kind="choice",
                    choices=(("hand", _("Picked by hand")), ("rule", _("By rule"))),
                    default="rule",
                ),
                BlockField("products", _("Product ids (picked by hand)"), kind="ids", max_items=50),
                BlockField("category", _("Category id (rule)"), kind="int", min=1),
                BlockField("tag", _("Tag id (rule)"), kind="int", min=1),
                BlockField("sort", _("Sort (rule)"), kind="choice", choices=sorts, default="newest"),
                BlockField("seller", _("Merchant id (rule; platform pages)"), kind="int", min=1),
                BlockField("count", _("How many (rule)"), kind="int", min=1, max=50, default=6),
                BlockField("show_seller", _("Show whose product it is"), kind="bool", default=False),
                BlockField(
                    "style",
                    _("Style"),
                    kind="choice",
                    choices=(("grid2", _("Two per row")), ("grid3", _("Three per row")), ("list", _("List"))),
                    default="grid2",
                ),
            ),
            resolve=resolve_products,
            template="designer/blocks/products.html",
            icon="🛍",
            sort=80,
        ),
        BlockType(
            PREFIX + "categories",
            _("Category list"),
            (
                BlockField("title", _("Title"), max_length=40),
                BlockField("categories", _("Category ids (empty: the top level)"), kind="ids", max_items=30),
            ),
            resolve=resolve_categories,
            template="designer/blocks/categories.html",
            icon="🗂",
            sort=90,
            sellers=False,
        ),
        BlockType(
            PREFIX + "ad_slot",
            _("Promotion slot"),
            (
                BlockField("slot", _("Slot code"), required=True, max_length=40),
                BlockField("title", _("Title"), max_length=40),
                BlockField(
                    "style",
                    _("Style"),
                    kind="choice",
                    choices=(("carousel", _("Carousel")), ("list", _("List"))),
                    default="carousel",
                ),
                BlockField("count", _("How many"), kind="int", min=1, max=20, default=5),
            ),
            resolve=resolve_ad_slots,
            template="designer/blocks/ad_slot.html",
            icon="📣",
            sort=100,
            sellers=False,
        ),
    ]


def product_item(row) -> dict:
    return {
        "id": row.id,
        "name": row.name,
        "subtitle": row.subtitle or "",
        "image": row.image or "",
        "price": row.price,
        "original_price": row.original_price,
        "sales": row.sales,
        "seller_id": row.seller_id,
    }


_ITEM_KEYS = ("id", "name", "subtitle", "image", "price", "original_price", "sales", "seller_id")


def _listing_items(rows: Sequence) -> list[dict]:
    """:func:`product_item` of each of the catalog's listing rows, reading
    the columns by position (found once per result: the rows of one
    listing share their fields) instead of by name per row."""
    if not rows:
        return []
    fields = getattr(rows[0], "_fields", None)
    if fields is None or not set(_ITEM_KEYS) <= set(fields):
        return [product_item(r) for r in rows]
    pick = itemgetter(*(fields.index(k) for k in _ITEM_KEYS))
    out = []
    for row in map(pick, rows):
        id_, name, subtitle, image, price, original, sales, seller = row
        out.append(
            {
                "id": id_,
                "name": name,
                "subtitle": subtitle or "",
                "image": image or "",
                "price": price,
                "original_price": original,
                "sales": sales,
                "seller_id": seller,
            }
        )
    return out


#: conditions key -> (the hand-picked statement, its compiled SQL per dialect)
_PICKED: dict = {}
_PICKED_SIZE = 64
#: the positions of the hand-picked statement's columns
_ID, _NAME, _SUBTITLE, _IMAGE, _PRICE, _ORIGINAL, _SALES, _SELLER = range(8)
_STOCK, _VISIBLE = 11, 12


def _picked_statement(conditions: tuple):
    """``(statement, forms)``: hand-picked products by id (an expanding
    parameter) with their stock on active SKUs and whether a buyer may open
    them (on the shelf and every plugin's ``product_filters`` for
    ``"detail"``, as ``catalog.visible_products``) in ONE statement, built
    once per plugins' conditions (compared by their SQL and values, as the
    catalog's listing does) and run from its SQL compiled once per dialect
    (``jishi.db.held_rows``); ``forms`` None: conditions that cannot
    be keyed, built for this call only."""
    from jishi.catalog import service as catalog

    key = catalog.conditions_key(conditions)
    hit = _PICKED.get(key) if key is not None else None
    if hit is not None:
        return hit
    stock = (
        select(func.coalesce(func.sum(Sku.stock), 0))
        .where(Sku.product_id == Product.id, Sku.is_active.is_(True))
        .scalar_subquery()
    )
    visible = case((and_(Product.on_shelf.is_(True), *conditions), True), else_=False)
    stmt = select(*catalog.LISTING_COLUMNS, stock.label("stock"), visible.label("visible")).where(
        Product.id.in_(bindparam("ids", expanding=True))
    )
    if key is None:
        return stmt, None
    if len(_PICKED) >= _PICKED_SIZE:
        _PICKED.clear()
    hit = _PICKED[key] = (stmt, {})
    return hit


def _picked_rows(ids: list[int]) -> dict:
    """``id -> row`` (by position, :data:`_ID`...) of the hand-picked ``ids``."""
    from jishi.catalog import service as catalog
    from jishi.db import held_rows

    stmt, forms = _picked_statement(catalog.visible_conditions("detail"))
    session = db.session()
    conn = session.connection()
    if session.autoflush:
        session.flush()  # as session.execute would (a no-op when nothing is pending)
    return {r[_ID]: r for r in held_rows(conn, stmt, {"ids": ids}, forms)}


def _picked_item(row) -> dict:
    return {
        "id": row[_ID],
        "name": row[_NAME],
        "subtitle": row[_SUBTITLE] or "",
        "image": row[_IMAGE] or "",
        "price": row[_PRICE],
        "original_price": row[_ORIGINAL],
        "sales": row[_SALES],
        "seller_id": row[_SELLER],
    }


def resolve_products(blocks: Sequence[PageBlock], context: BlockContext) -> list[dict]:
    """Every product list of a page: hand-picked ids of all blocks in one
    statement (the rows with their stock and whether a buyer may open
    them); each rule list through the catalog's listing (one or two)."""
    from jishi.catalog import service as catalog

    wanted = sorted({i for b in blocks if b.settings.get("mode") == "hand" for i in b.settings.get("products") or ()})
    rows = _picked_rows(wanted) if wanted else {}
    out = []
    for block in blocks:
        s = block.settings
        items, skipped = [], []
        if s.get("mode") == "hand":
            for pid in s.get("products") or ():
                row = rows.get(pid)
                if row is None:
                    skipped.append({"id": pid, "reason": "deleted"})
                elif context.seller_id is not None and row[_SELLER] != context.seller_id:
                    skipped.append({"id": pid, "reason": "not_own"})
                elif not row[_VISIBLE]:
                    skipped.append({"id": pid, "reason": "unlisted"})
                elif row[_STOCK] <= 0:
                    skipped.append({"id": pid, "reason": "sold_out"})
                else:
                    items.append(_picked_item(row))
        else:
            try:
                found, _cursor = catalog.list_products(
                    category_id=s.get("category"),
                    tag_id=s.get("tag"),
                    sort=s.get("sort") or "newest",
                    limit=s.get("count") or 6,
                    seller_id=context.seller_id if context.seller_id is not None else s.get("seller"),
                )
            except catalog.CatalogError:
                found = []
            items = _listing_items(found)
        out.append({"items": items, "skipped": skipped})
    _name_sellers(blocks, out)
    return out


def _name_sellers(blocks: Sequence[PageBlock], out: list[dict]) -> None:
    """``seller_name`` on the items of blocks that show it: one
    ``seller_profiles`` call for the whole page."""
    from jishi.catalog.service import seller_profiles

    showing = [data for block, data in zip(blocks, out, strict=True) if block.settings.get("show_seller")]
    ids = {i["seller_id"] for data in showing for i in data["items"] if i["seller_id"] is not None}
    profiles = seller_profiles(sorted(ids)) if ids else {}
    for data in showing:
        for item in data["items"]:
            profile = profiles.get(item["seller_id"])
            item["seller_name"] = profile.name if profile else ""


def resolve_nav(blocks: Sequence[PageBlock], context: BlockContext) -> list[dict]:
    """Every navigation grid's ``marks`` (only when it has one): per entry,
    the icon of the plugin entrance its activity link opens when it has no
    icon image of its own (the storefront's own entrances show the same:
    秒杀's ⚡), else None (an entry without an image then shows its label's
    first character). No statement: the entrances' icons are asked of the
    ``storefront_links`` hook once per app (:func:`links.activity_icons`)."""
    from jishi_designer.links import activity_icons

    icons: dict[str, str] | None = None
    out = []
    for block in blocks:
        entries = block.settings.get("icons") or []
        marks: list[str | None] | None = None
        for i, entry in enumerate(entries):
            link = entry.get("link") if isinstance(entry, dict) else None
            if link and link.get("kind") == "activity" and not entry.get("image"):
                if icons is None:
                    icons = activity_icons()
                symbol = icons.get(str(link.get("value") or ""))
                if symbol:
                    if marks is None:
                        marks = [None] * len(entries)
                    marks[i] = symbol
        out.append({"marks": marks} if marks is not None else {})
    return out


def resolve_categories(blocks: Sequence[PageBlock], context: BlockContext) -> list[dict]:
    """Every category list of a page from the categories the kernel keeps
    with the settings (``catalog.service.category_rows``: no statement
    while they are kept; a category's write shows at its commit): the
    picked ids of each block, or the top level when it picks none."""
    from jishi.catalog.service import category_rows

    rows = category_rows()  # (id, name, sort, parent_id, image, path) by sort
    by_id = {r.id: r for r in rows}
    out = []
    for block in blocks:
        ids = block.settings.get("categories") or []
        picked = [by_id[i] for i in ids if i in by_id] if ids else [r for r in rows if r.parent_id is None]
        skipped = [{"id": i, "reason": "deleted"} for i in ids if i not in by_id]
        out.append(
            {"items": [{"id": r.id, "name": r.name, "image": r.image or ""} for r in picked], "skipped": skipped}
        )
    return out


def resolve_ad_slots(blocks: Sequence[PageBlock], context: BlockContext) -> list[dict]:
    """Every promotion slot of a page: the slots and their live entries in
    two statements (three with entries for new buyers), recommended
    merchants through one ``seller_profiles`` call, recommended products
    like hand-picked ones (one). Each entry's ``url`` is its counting
    redirect ``/p/ad/<id>``; shown entries count an impression (buffered;
    not in the editor)."""
    from flask import url_for

    from jishi_designer import promo
    from jishi_designer.models import SLOT_MERCHANTS, SLOT_PRODUCTS

    found = promo.current([b.settings.get("slot") or "" for b in blocks], context.user, context.now)
    chosen: list[list] = []
    for block in blocks:
        slot, ads = found.get(block.settings.get("slot") or "", (None, []))
        chosen.append([slot, ads[: block.settings.get("count") or 5]])
    merchant_ids = {a.ref_id for s, ads in chosen if s and s.kind == SLOT_MERCHANTS for a in ads}
    product_ids = sorted({a.ref_id for s, ads in chosen if s and s.kind == SLOT_PRODUCTS for a in ads})
    profiles = {}
    if merchant_ids:
        from jishi.catalog.service import seller_profiles

        profiles = seller_profiles(sorted(merchant_ids))
    products: dict[int, dict] = {}
    if product_ids:
        picked = PageBlock("promo", PREFIX + "products", {"mode": "hand", "products": product_ids})
        [data] = resolve_products([picked], BlockContext(now=context.now))
        products = {i["id"]: i for i in data["items"]}
    out, shown = [], []
    for slot, ads in chosen:
        items, skipped = [], []
        for ad in ads:
            item = {"id": ad.id, "title": ad.title, "image": ad.image, "url": url_for("designer.ad_click", ad_id=ad.id)}
            if slot.kind == SLOT_MERCHANTS:
                profile = profiles.get(ad.ref_id)
                if profile is None or profile.status != "open":
                    skipped.append({"id": ad.id, "reason": "unlisted"})
                    continue
                item.update(merchant_id=ad.ref_id, name=profile.name, logo=profile.logo, image=ad.image or profile.logo)
            elif slot.kind == SLOT_PRODUCTS:
                product = products.get(ad.ref_id)
                if product is None:
                    skipped.append({"id": ad.id, "reason": "unlisted"})
                    continue
                item.update(product=product, image=ad.image or product["image"], title=ad.title or product["name"])
            elif not ad.link:
                item["url"] = ""
            items.append(item)
            shown.append(ad.id)
        out.append(
            {
                "slot": slot.code if slot else None,
                "kind": slot.kind if slot else None,
                "items": items,
                "skipped": skipped,
            }
        )
    if shown and not context.editor:
        promo.record("impression", shown)
    return out
