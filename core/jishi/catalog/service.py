"""Catalog rules (SPEC K4): listing with keyset pagination, product detail,
categories, tags, and the platform's product editor.

Listings never COUNT(*): a page is ``limit + 1`` rows read along one of the
listing indexes on ``products``, and the cursor is the last row's sort key
and id (opaque base64 JSON). Keyword search is ``LIKE`` on the lower-cased
``search_text`` column, which finds one- and two-character Chinese terms
(FTS trigram indexes do not).

Product detail loads in at most three statements: the product with its
category and tags (joined), its SKUs (``selectinload``), and one ``UNION
ALL`` reading images, parameters and specs together (:func:`_load_small_lists`),
whose rows are merged into the session as clean persistent objects and set as
the loaded collections. The API then answers ``GET /products/<id>`` in four
statements including the bearer-token lookup. The storefront's product page
(:func:`product_page`) reads the product with its SKUs joined, then its
images, parameters, specs and tags in ONE statement together with every
plugin's ``product_page_loaders`` (:mod:`jishi.loaders`).

``Product.sales`` (已售) moves only with payments and refunds:
:func:`count_sales` when a payment is marked paid, :func:`uncount_sales`
when a refund is executed.
"""

from __future__ import annotations

import base64
import binascii
import functools
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask import has_app_context
from flask.globals import _cv_app
from sqlalchemy import (
    Integer,
    Text,
    bindparam,
    case,
    cast,
    delete,
    event,
    exists,
    func,
    literal,
    select,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.engine import result_tuple
from sqlalchemy.orm import joinedload, make_transient_to_detached, object_session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from jishi import loaders, signals
from jishi.catalog.models import (
    Category,
    Product,
    ProductImage,
    ProductParam,
    ProductSpec,
    Sku,
    Tag,
    product_tags,
)
from jishi.db import commit, db, rollback
from jishi.errors import DomainError
from jishi.flaskctx import jishi_hook
from jishi.hookspecs import PageLoader
from jishi.i18n import gettext as _
from jishi.loaders import held_rows

SORTS = ("newest", "price_asc", "price_desc", "sales")
# Columns are 32-bit integers on PostgreSQL; bigger input is a 422, not a 500.
MAX_ID = 2**31 - 1
MAX_PRICE = 2**31 - 1  # fen (about 21 million yuan)
MAX_STOCK = 10**9
#: a category's sort key: -MAX_SORT .. MAX_SORT (the database's integer)
MAX_SORT = 2**31 - 1


class CatalogError(DomainError):
    """Bad catalog input; ``field`` names the offending field."""


def refresh_product(product: Product) -> None:
    """Recompute ``price`` (lowest active SKU price) and ``search_text``."""
    active = [s for s in product.skus if s.is_active]
    product.price = min((s.price for s in active), default=0)
    originals = [s.original_price for s in active if s.original_price]
    product.original_price = max(originals) if originals else product.original_price
    parts = [product.name, product.subtitle or ""] + [t.name for t in product.tags]
    product.search_text = " ".join(parts).lower()[:600]


# --- Listing ---------------------------------------------------------------


LISTING_COLUMNS = (
    Product.id,
    Product.name,
    Product.subtitle,
    Product.image,
    Product.price,
    Product.original_price,
    Product.sales,
    Product.seller_id,
    Product.category_id,
    Product.is_virtual,
    Product.on_shelf,
)


def count_sales(order_ids: Sequence[int]) -> None:
    """Add the units of the lines of ``order_ids`` (orders just paid) to
    their products' ``sales`` (已售, the "sales" sort): ONE UPDATE for every
    product of them, the units summed by a correlated subquery (no read
    first), in the caller's transaction. The caller makes it happen once per
    order (the payment's conditional UPDATE); ``updated_at`` is kept, a sale
    is no edit."""
    from jishi.orders.models import OrderLine

    ids = sorted(set(order_ids))
    if not ids:
        return
    sold = (
        select(func.coalesce(func.sum(OrderLine.quantity), 0))
        .where(OrderLine.product_id == Product.id, OrderLine.order_id.in_(ids))
        .scalar_subquery()
    )
    of_orders = select(OrderLine.product_id).where(OrderLine.order_id.in_(ids))
    db.session.execute(
        update(Product)
        .where(Product.id.in_(of_orders))
        .values(sales=Product.sales + sold, updated_at=Product.updated_at)
        .execution_options(synchronize_session=False)
    )


def uncount_sales(units: dict[int, int]) -> None:
    """Take refunded units back from ``sales``: ``units`` is product id ->
    units; ONE UPDATE, never below 0, in the caller's transaction."""
    units = {pid: n for pid, n in units.items() if pid is not None and n > 0}
    if not units:
        return
    back = case(units, value=Product.id, else_=0)
    db.session.execute(
        update(Product)
        .where(Product.id.in_(sorted(units)))
        .values(
            sales=case((Product.sales > back, Product.sales - back), else_=0),
            updated_at=Product.updated_at,
        )
        .execution_options(synchronize_session=False)
    )


def _sort_key(product: Product, sort: str) -> list:
    if sort in ("price_asc", "price_desc"):
        return [product.price, product.id]
    if sort == "sales":
        return [product.sales, product.id]
    return [product.id]


def encode_cursor(sort: str, key: list) -> str:
    raw = json.dumps([sort, *key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> list[int]:
    """The sort key stored in ``cursor``; CatalogError("cursor") when it is not ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise CatalogError("cursor", _("Invalid cursor.")) from None
    want = 2 if sort in ("price_asc", "price_desc", "sales") else 1
    if (
        not isinstance(data, list)
        or len(data) != want + 1
        or data[0] != sort
        or not all(isinstance(v, int) and not isinstance(v, bool) and -MAX_ID <= v <= MAX_ID for v in data[1:])
    ):
        raise CatalogError("cursor", _("Invalid cursor."))
    return data[1:]


def category_subtree_ids(category_id: int) -> list[int]:
    """``category_id`` and every descendant's id (via ``path``), from the
    categories kept with the settings (:func:`category_rows`: no statement
    while they are kept); ``[]`` for an unknown category."""
    rows = category_rows()
    path = next((r.path for r in rows if r.id == category_id), None)
    if not path:
        return []
    return [r.id for r in rows if r.path.startswith(path)]


#: hot searches (热门搜索): at most this many words, each at most this long
MAX_HOT_SEARCHES = 10
MAX_HOT_SEARCH_LENGTH = 20


def parse_hot_searches(text: str | None) -> list[str]:
    """The words of the ``search.hot_words`` setting, one per line, in
    order: blank lines and repeats dropped, inner spaces kept."""
    out: list[str] = []
    for line in (text or "").splitlines():
        word = " ".join(line.split())
        if word and word not in out:
            out.append(word)
    return out


def hot_search_problem(text: str | None) -> str | None:
    """Why the platform's hot searches cannot be saved, or None."""
    words = parse_hot_searches(text)
    if len(words) > MAX_HOT_SEARCHES:
        return _("At most %(n)d hot searches.", n=MAX_HOT_SEARCHES)
    for word in words:
        if len(word) > MAX_HOT_SEARCH_LENGTH:
            return _("“%(word)s” is longer than %(n)d characters.", word=word, n=MAX_HOT_SEARCH_LENGTH)
    return None


def hot_searches() -> list[str]:
    """What the search page and ``GET /api/v1/site`` suggest (setting
    ``search.hot_words``; at most :data:`MAX_HOT_SEARCHES`)."""
    from jishi import settings

    return parse_hot_searches(settings.get("search.hot_words"))[:MAX_HOT_SEARCHES]


#: suggestions a search box asks for at most (搜索联想)
MAX_SUGGESTIONS = 10


def suggestions(q: str | None, limit: int = 8) -> list[str]:
    """Product names for a search box being typed (搜索联想): products a
    buyer can find (on the shelf, every plugin's ``product_filters`` for
    ``listing``) matching every word of ``q`` as the search does (the
    lower-cased ``search_text``), best sellers first, each name once; at most
    ``limit`` (up to :data:`MAX_SUGGESTIONS`). One statement; none for an
    empty ``q``."""
    terms = (q or "").lower().split()[:5]
    limit = max(1, min(limit, MAX_SUGGESTIONS))
    if not terms:
        return []
    stmt = select(Product.name).where(Product.on_shelf.is_(True))
    for term in terms:
        stmt = stmt.where(Product.search_text.like(f"%{_like_escape(term)}%", escape="\\"))
    stmt = _visible(stmt, "listing").order_by(Product.sales.desc(), Product.id.desc()).limit(limit * 3)
    out: list[str] = []
    for name in db.session.execute(stmt).scalars():
        if name not in out:
            out.append(name)
            if len(out) == limit:
                break
    return out


def _like_escape(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_products(
    *,
    q: str | None = None,
    category_id: int | None = None,
    tag_id: int | None = None,
    min_price: int | None = None,
    max_price: int | None = None,
    seller_id: int | None = None,
    sort: str = "newest",
    cursor: str | None = None,
    limit: int = 20,
    on_shelf: bool | None = True,
) -> tuple[Sequence[Any], str | None]:
    """One page of products and the cursor of the next page (``None`` at the end).

    Items are rows of :data:`LISTING_COLUMNS` (attribute access like a
    product: ``row.name``, ``row.price``), not ORM entities: a listing is the
    hottest path of a shop and needs no identity map or relationships.

    One SQL statement whatever the page size (two with a category filter,
    which covers the category's whole subtree through ``Category.path``).
    ``on_shelf=None`` lists everything (the platform console).

    The statement is built once per *shape* (sort, which filters are present,
    the plugins' ``product_filters`` conditions) with bound parameters for
    every value, and reused (:func:`_listing_statement`): a page then costs
    one cache lookup and one Core execute on the session's connection.
    """
    if sort not in SORTS:
        raise CatalogError("sort", _("Unknown sort order."))
    if limit < 1:
        raise CatalogError("limit", _("The page size must be at least 1."))
    params: dict[str, Any] = {"limit": limit + 1}
    conditions: tuple = ()
    if on_shelf:
        conditions = _visible_conditions("listing")
    terms = (q or "").lower().split()[:5]
    for i, term in enumerate(terms):
        params[f"term{i}"] = f"%{_like_escape(term)}%"
    categories = 0
    if category_id is not None:
        # The subtree's ids first (a small indexed read), so that a leaf
        # category filters with "category_id = x" along its own index.
        subtree = category_subtree_ids(category_id)
        if not subtree:
            return [], None
        categories = 1 if len(subtree) == 1 else 2
        params["categories"] = subtree[0] if categories == 1 else subtree
    if tag_id is not None:
        params["tag_id"] = tag_id
    # Bounds beyond the price column's range are clamped here, so that no
    # caller (API, storefront form, plugin) can send the database an overflow.
    if min_price is not None:
        if min_price > MAX_PRICE:
            return [], None
        params["min_price"] = max(min_price, 0)
    if max_price is not None:
        params["max_price"] = min(max_price, MAX_PRICE)
    if seller_id is not None:
        params["seller_id"] = seller_id
    key = decode_cursor(cursor, sort) if cursor else None
    if key:
        params["key0"] = key[0]
        if len(key) > 1:
            params["key1"] = key[1]

    shape = (
        sort,
        None if on_shelf is None else bool(on_shelf),
        len(terms),
        categories,
        tag_id is not None,
        min_price is not None,
        max_price is not None,
        seller_id is not None,
        bool(key),
    )
    stmt, forms = _listing_statement(shape, conditions)
    rows = _read(stmt, params, forms)
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(sort, _sort_key(rows[-1], sort))
    return rows, next_cursor


def _read(stmt, params: dict, forms: dict | None = None) -> Sequence[Any]:
    """Rows of a read-only listing statement, in the session's transaction
    when it has one (after an autoflush, as ``session.execute`` would do),
    else on a pooled connection of its own (begun here, rolled back when it
    goes back to the pool, as an autobegun execute would): a lone read needs
    no ORM transaction set up and torn down around it.

    ``forms``: the statement's compiled SQL per dialect (kept with it in
    :data:`_LISTING_CACHE`): it then runs from that SQL on the DB-API cursor
    (:func:`jishi.loaders.held_rows`: no cache key, no compiled-cache
    look-up, no ``CursorResult`` made per execute) and its rows are made
    ``Row`` objects of the same fields and keys as SQLAlchemy's execute
    gives (:func:`_listing_row`). ``forms`` None (a statement built for
    this call only): SQLAlchemy's execute."""
    if db.session.registry.has():
        session = db.session()
        if session.autoflush:
            session.flush()  # a no-op when nothing is pending
        if session.in_transaction():
            return _rows(session.connection(), stmt, params, forms)
        bind: Any = session.get_bind(clause=stmt)  # the Engine (the session holds no Connection here)
    else:  # no session in this app context yet: do not make one for this
        bind = db.engine
    with bind.connect() as conn:
        if not conn.in_transaction():
            conn.begin()  # (what the execute would autobegin; the held SQL runs on the cursor in it)
        return _rows(conn, stmt, params, forms)


def _rows(conn, stmt, params: dict, forms: dict | None) -> Sequence[Any]:
    if forms is None:
        return conn.execute(stmt, params).all()
    return list(map(_listing_row(), held_rows(conn, stmt, params, forms)))


@functools.cache
def _listing_row():
    """A maker of a listing's :class:`~sqlalchemy.engine.Row` from its values
    (``sqlalchemy.engine.result_tuple``), with the keys SQLAlchemy's execute
    of the listing gives its rows: each column's name (``row.price``,
    ``row._mapping["price"]``, ``row._fields``), its label and its
    ``Column`` (``row._mapping[Product.__table__.c.price]``). One metadata
    for every listing row of the process (the listings all select
    :data:`LISTING_COLUMNS`)."""
    columns = select(*LISTING_COLUMNS).compile()._result_columns
    return result_tuple([c.keyname for c in columns], [c.objects for c in columns])


_LISTING_CACHE: dict[tuple, Any] = {}
_LISTING_CACHE_SIZE = 512


def visible_conditions(context: str) -> tuple:
    """The ``product_filters`` conditions of every plugin for ``context``
    (``"list"``, ``"detail"``...) as one tuple: what decides whether a buyer
    may see a product, for a plugin that builds its own product read (the
    designer's hand-picked products) with the catalog's visibility. The hook
    is called on every listing; see :func:`_visible`."""
    return tuple(
        condition for conditions in jishi_hook().product_filters(context=context) for condition in conditions or ()
    )


#: condition objects' ids -> (those objects, their key); full key -> its token
_CONDITIONS_KEYS: dict[tuple, tuple] = {}
_CONDITIONS_TOKENS: dict[tuple, tuple] = {}
_TOKEN_NUMBERS = itertools.count(1)


def conditions_key(conditions: tuple) -> tuple | None:
    """For a statement cache of one's own (keyed by the conditions of
    :func:`visible_conditions`): a hashable key saying "these conditions render the same SQL with the
    same values", or None when that cannot be told (then no caching).

    The key is a small token standing for the conditions' full key (their
    SQL structure and values: equal full keys, the same token), so that the
    statement caches keyed by it hash two numbers, not the nested structure.
    Plugins return the same condition objects on every call (built once), so
    the token of those very objects is remembered: a page then pays no
    cache-key work for them (a clause's SQL and values do not change once
    built)."""
    if not conditions:
        return ()
    ids = tuple(map(id, conditions))
    hit = _CONDITIONS_KEYS.get(ids)
    if hit is not None and all(a is b for a, b in zip(hit[0], conditions, strict=True)):
        return hit[1]
    key = _conditions_key_of(conditions)
    if key is not None:
        token = _CONDITIONS_TOKENS.get(key)
        if token is None:
            if len(_CONDITIONS_TOKENS) >= 256:
                _CONDITIONS_TOKENS.clear()  # (numbers are never reused: an old token only misses)
            token = _CONDITIONS_TOKENS[key] = ("conditions", next(_TOKEN_NUMBERS))
        key = token
    if len(_CONDITIONS_KEYS) >= 64:
        _CONDITIONS_KEYS.clear()
    _CONDITIONS_KEYS[ids] = (conditions, key)  # (the objects held: their ids cannot be reused meanwhile)
    return key


_visible_conditions = visible_conditions
_conditions_key = conditions_key


def _conditions_key_of(conditions: tuple) -> tuple | None:
    out = []
    for condition in conditions:
        ck = condition._generate_cache_key() if hasattr(condition, "_generate_cache_key") else None
        if ck is None:
            return None
        values = []
        for bp in ck.bindparams:
            if bp.callable is not None:
                return None
            values.append(tuple(bp.value) if isinstance(bp.value, list) else bp.value)  # IN lists
        try:
            key = (ck.key, tuple(values))
            hash(key)
        except TypeError:
            return None
        out.append(key)
    return tuple(out)


def _listing_statement(shape: tuple, conditions: tuple) -> tuple:
    """``(statement, forms)``: the listing SELECT for ``shape`` with bind
    parameters for every value, and the dict that keeps its compiled SQL
    per dialect (:func:`jishi.loaders.held_rows`); built once per shape and
    plugin conditions, then taken from a cache (the plugins' conditions are
    part of the key, compared by their SQL and values, so a plugin whose
    conditions change gets a new statement). ``forms`` None: conditions
    that cannot be keyed, a statement built for this call only."""
    ckey = _conditions_key(conditions)
    cache_key = None if ckey is None else (shape, ckey)
    if cache_key is not None:
        hit = _LISTING_CACHE.get(cache_key)
        if hit is not None:
            return hit
    stmt = _build_listing_statement(shape, conditions)
    if cache_key is None:
        return stmt, None
    if len(_LISTING_CACHE) >= _LISTING_CACHE_SIZE:
        _LISTING_CACHE.clear()
    hit = _LISTING_CACHE[cache_key] = (stmt, {})
    return hit


def _build_listing_statement(shape: tuple, conditions: tuple):
    sort, on_shelf, n_terms, categories, has_tag, has_min, has_max, has_seller, has_key = shape
    stmt = select(*LISTING_COLUMNS)
    if on_shelf is not None:
        # "= true" (not IS) so PostgreSQL uses the listing indexes
        stmt = stmt.where(Product.on_shelf == on_shelf)
    for condition in conditions:
        stmt = stmt.where(condition)
    for i in range(n_terms):
        stmt = stmt.where(Product.search_text.like(bindparam(f"term{i}"), escape="\\"))
    if categories == 1:
        stmt = stmt.where(Product.category_id == bindparam("categories"))
    elif categories == 2:
        stmt = stmt.where(Product.category_id.in_(bindparam("categories", expanding=True)))
    if has_tag:
        stmt = stmt.where(
            exists().where(product_tags.c.product_id == Product.id, product_tags.c.tag_id == bindparam("tag_id"))
        )
    if has_min:
        stmt = stmt.where(Product.price >= bindparam("min_price"))
    if has_max:
        stmt = stmt.where(Product.price <= bindparam("max_price"))
    if has_seller:
        stmt = stmt.where(Product.seller_id == bindparam("seller_id"))
    key0, key1 = bindparam("key0", type_=Integer), bindparam("key1", type_=Integer)
    if sort == "newest":
        if has_key:
            stmt = stmt.where(Product.id < key0)
        stmt = stmt.order_by(Product.id.desc())
    elif sort == "price_asc":
        if has_key:
            stmt = stmt.where(tuple_(Product.price, Product.id) > tuple_(key0, key1))
        stmt = stmt.order_by(Product.price.asc(), Product.id.asc())
    else:
        column = Product.price if sort == "price_desc" else Product.sales
        if has_key:
            stmt = stmt.where(tuple_(column, Product.id) < tuple_(key0, key1))
        stmt = stmt.order_by(column.desc(), Product.id.desc())
    return stmt.limit(bindparam("limit", type_=Integer))


# --- Detail ----------------------------------------------------------------


def _load_small_lists(products: list[Product]) -> None:
    """Images, parameters and specs of ``products`` in one UNION ALL statement.

    Each row becomes a clean persistent instance (``merge(load=False)``, as a
    cache would restore it) and the collections are set as loaded, so later
    changes through the ORM flush normally.
    """
    if not products:
        return
    ids = [p.id for p in products]
    images = select(
        literal("i").label("kind"),
        ProductImage.id,
        ProductImage.product_id,
        ProductImage.sort,
        cast(ProductImage.url, Text).label("a"),
        cast(literal(""), Text).label("b"),
    ).where(ProductImage.product_id.in_(ids))
    params = select(
        literal("p").label("kind"),
        ProductParam.id,
        ProductParam.product_id,
        ProductParam.sort,
        cast(ProductParam.name, Text).label("a"),
        cast(ProductParam.value, Text).label("b"),
    ).where(ProductParam.product_id.in_(ids))
    specs = select(
        literal("s").label("kind"),
        ProductSpec.id,
        ProductSpec.product_id,
        ProductSpec.sort,
        cast(ProductSpec.name, Text).label("a"),
        cast(ProductSpec.values, Text).label("b"),
    ).where(ProductSpec.product_id.in_(ids))
    stmt = union_all(images, params, specs)
    rows = db.session.execute(stmt).all()
    found: dict[int, dict[str, list]] = {pid: {"i": [], "p": [], "s": []} for pid in ids}
    for kind, oid, pid, sort, a, b in rows:
        if kind == "i":
            obj: Any = ProductImage(id=oid, product_id=pid, sort=sort, url=a)
        elif kind == "p":
            obj = ProductParam(id=oid, product_id=pid, sort=sort, name=a, value=b)
        else:
            obj = ProductSpec(id=oid, product_id=pid, sort=sort, name=a, values=json.loads(b) if b else [])
        make_transient_to_detached(obj)
        found[pid][kind].append(db.session.merge(obj, load=False))
    for product in products:
        lists = found[product.id]
        set_committed_value(product, "images", sorted(lists["i"], key=lambda o: (o.sort, o.id)))
        set_committed_value(product, "params", sorted(lists["p"], key=lambda o: (o.sort, o.id)))
        set_committed_value(product, "specs", sorted(lists["s"], key=lambda o: (o.sort, o.id)))


def _visible(stmt, context: str):
    """AND the ``product_filters`` plugins contribute into a buyer-facing query."""
    for conditions in jishi_hook().product_filters(context=context):
        for condition in conditions or ():
            stmt = stmt.where(condition)
    return stmt


def visible_products(stmt):
    """``stmt`` (a query joining ``Product``) narrowed to the products a buyer
    may open: on the shelf and passing every plugin's ``product_filters``
    for ``"detail"``; adds no statement."""
    return _visible(stmt.where(Product.on_shelf.is_(True)), "detail")


def checked_product_id(product_id) -> int:
    """``product_id`` when it can be a product's id (an integer from 1 to
    2**31-1), else a 404 :class:`DomainError` naming ``product_id``
    (``not_found``): for a plugin's routes and services taking a product id
    from a buyer (a larger number is no id, not a database error)."""
    if not isinstance(product_id, int) or isinstance(product_id, bool) or not 0 < product_id <= MAX_ID:
        raise DomainError("product_id", _("This product does not exist."), status=404, code="not_found")
    return product_id


@dataclass(frozen=True)
class ListedProduct:
    """A product as a buyer's own list shows it now (the row of
    :func:`listed_product_columns`): subclass it with the list's own
    fields (its row's ``id``, when the buyer added it...)."""

    product_id: int
    name: str
    image: str
    price: int
    original_price: int | None
    available: bool

    @classmethod
    def from_row(cls, row, **own):
        """One from ``row`` (a select of the product's ``product_id`` and
        :func:`listed_product_columns`); ``own``: the subclass's fields."""
        return cls(
            product_id=row.product_id,
            name=row.name,
            image=row.image,
            price=row.price,
            original_price=row.original_price,
            available=bool(row.available),
            **own,
        )


def listed_product_columns() -> tuple:
    """What a buyer's own list of products (favorites, footprints) shows of
    each product now, as labelled columns to add to a select joined to
    :class:`Product`: ``name``, ``image``, ``price``, ``original_price`` and
    ``available`` (a buyer can open it: on the shelf and passing every
    plugin's ``product_filters``). The kernel's ``product_row`` macro
    (``_macros.html``) shows one such row."""
    return (
        Product.name,
        Product.image,
        Product.price,
        Product.original_price,
        Product.id.in_(visible_products(select(Product.id))).label("available"),
    )


def purchase_blockers(product: Product, user) -> list:
    """Why ``product`` cannot be bought now (``purchase_blockers`` hook)."""
    results = jishi_hook().purchase_blockers(product=product, user=user)
    return [p for r in results for p in (r or ())]


def seller_profiles(seller_ids) -> dict:
    """``seller_id -> SellerProfile`` for the non-None ids (one hook call)."""
    ids = sorted({i for i in seller_ids if i is not None})
    if not ids:
        return {}
    return jishi_hook().seller_profiles(seller_ids=ids) or {}


def get_product(product_id: int, *, visible_only: bool = True) -> Product | None:
    """A product with category, tags, SKUs, images, params and specs loaded
    (three statements); ``None`` when missing or (``visible_only``) off shelf."""
    stmt = (
        select(Product)
        .options(joinedload(Product.category), joinedload(Product.tags), selectinload(Product.skus))
        .where(Product.id == product_id)
    )
    if visible_only:
        stmt = visible_products(stmt)
    product = db.session.execute(stmt).unique().scalar_one_or_none()
    if product is not None:
        _load_small_lists([product])
    return product


def product_page(product_id: int, *, visible_only: bool = True, user=None, slots: bool = True):
    """The storefront product page's product and what its slots need, in
    two statements: the product with its category and SKUs (joined), then
    ONE statement running every :class:`~jishi.hookspecs.PageLoader` (the
    kernel's images, parameters, specs and tags, and each plugin's
    ``product_page_loaders``) together (:func:`jishi.loaders.run`).
    Returns ``(product, loaded)``; ``(None, None)`` when missing or
    (``visible_only``) off shelf. ``slots`` False: no slot will render
    (the product detail API), passed to ``product_page_loaders``."""
    if visible_only:
        conditions = _visible_conditions("detail")
        ckey = _conditions_key(conditions)
    else:
        conditions, ckey = None, ()
    product = _read_page_product(ckey, conditions, product_id)
    if product is None:
        return None, None
    pid = product.id
    own = [_loader(key, pid) for key in ("images", "params", "specs", "tags")]
    theirs = [
        ld for found in jishi_hook().product_page_loaders(product=product, user=user, slots=slots) for ld in found or ()
    ]
    loaded = loaders.run(own + theirs)
    for key in ("images", "params", "specs"):
        rows = loaded.pop(key)
        set_committed_value(product, key, sorted(rows, key=lambda o: (o.sort, o.id)))
    set_committed_value(product, "tags", sorted(loaded.pop("tags"), key=lambda t: t.id))
    app_ctx = _cv_app.get(None)
    if app_ctx is not None:  # for this request's hooks (product_loaded)
        app_ctx.g.__dict__.setdefault("jishi_product_loaded", {})[pid] = loaded
    return product, loaded


_PAGE_PRODUCT_CACHE: dict[tuple, Any] = {}


def _read_page_product(ckey: tuple | None, conditions: tuple | None, product_id: int) -> Product | None:
    """The product page's product with its category and SKUs loaded.

    Read as ONE cached Core statement (the product, its category and SKUs
    joined) whose rows become clean persistent instances of the session
    (:func:`jishi.loaders.persistent`): the same objects, identities and
    loaded relationships the ORM's joined eager load gives, for about half
    its Python work. When the session already holds the product, its
    category or a SKU (or a load event listens) the ORM reads it as before,
    so an instance in the session is never replaced or refreshed behind its
    holder's back."""
    held_rows, persistent = loaders.held_rows, loaders.persistent
    columns, stmt, forms = _page_product_statement(ckey, conditions, core=True)
    session = db.session()
    if session.autoflush:
        session.flush()  # as session.execute would (a no-op when nothing is pending)
    # run from its SQL compiled once per dialect (no cache key made and hashed per page)
    rows = held_rows(session.connection(), stmt, {"product_id": product_id}, forms)
    if not rows:
        return None
    first = rows[0]
    pcols, ccols, scols = columns
    product = persistent(session, Product, {k: first[i] for k, i in pcols}, existing="none")
    category = None
    if product is not None and first[ccols[0][1]] is not None:
        category = persistent(session, Category, {k: first[i] for k, i in ccols}, existing="none")
    skus = [
        persistent(session, Sku, {k: row[i] for k, i in scols}, existing="none")
        for row in rows
        if product is not None and row[scols[0][1]] is not None
    ]
    if product is None or (category is None and first[ccols[0][1]] is not None) or None in skus:
        # the session holds one of them: the ORM's load (held instances kept as they are)
        orm = _page_product_statement(ckey, conditions, core=False)
        return session.execute(orm, {"product_id": product_id}).unique().scalar_one_or_none()
    set_committed_value(product, "category", category)
    set_committed_value(product, "skus", skus)
    return product


def _page_product_statement(ckey: tuple | None, conditions: tuple | None, *, core: bool):
    """The product page's product read (category and SKUs joined) with a
    ``product_id`` parameter; ``conditions`` None: any product, else on the
    shelf and passing the ``product_filters`` conditions. Built once per
    conditions (their SQL and values, ``ckey``; None: not cacheable) and
    reused: a page pays no building or keying of it.

    ``core``: ``((product, category, sku) column positions, statement,
    its compiled SQL per dialect)``, a Core SELECT of the three tables'
    columns (SKUs in id order, as the ``skus`` relationship; run by
    :func:`jishi.loaders.held_rows`); else the ORM statement
    (``select(Product)`` with both joined eager loads)."""
    cache_key = (core, "any") if conditions is None else (None if ckey is None else (core, "visible", ckey))
    stmt = _PAGE_PRODUCT_CACHE.get(cache_key) if cache_key is not None else None
    if stmt is not None:
        return stmt
    pid = bindparam("product_id", type_=Integer)
    if core:
        parts: list[tuple] = []
        cols: list[Any] = []
        for model in (Product, Category, Sku):
            mapper = model.__mapper__
            attrs = [(mapper.get_property_by_column(c).key, c) for c in mapper.columns if c.table is not None]
            parts.append(tuple((key, len(cols) + n) for n, (key, _c) in enumerate(attrs)))
            cols += [c for _k, c in attrs]
        # the primary key first in each part (category / SKU present or not)
        parts = [tuple(sorted(p, key=lambda kv: kv[0] != "id")) for p in parts]
        query = (
            select(*cols)
            .select_from(
                Product.__table__.outerjoin(Category.__table__, Category.id == Product.category_id).outerjoin(
                    Sku.__table__, Sku.product_id == Product.id
                )
            )
            .where(Product.id == pid)
            .order_by(Sku.id)
        )
    else:
        query = select(Product).options(joinedload(Product.category), joinedload(Product.skus)).where(Product.id == pid)
    if conditions is not None:
        query = query.where(Product.on_shelf.is_(True), *conditions)
    stmt = (tuple(parts), query, None if cache_key is None else {}) if core else query
    if cache_key is not None:
        if len(_PAGE_PRODUCT_CACHE) >= _LISTING_CACHE_SIZE:
            _PAGE_PRODUCT_CACHE.clear()
        _PAGE_PRODUCT_CACHE[cache_key] = stmt
    return stmt


_PAGE_LOADERS: dict[str, Any] = {}


def _loader(key: str, product_id: int):
    """The kernel's own product page loaders, declared once (named
    ``product_id`` parameter, see ``PageLoader.params``)."""
    query = _PAGE_LOADERS.get(key)
    if query is None:
        pid = bindparam("product_id", type_=Integer)
        query = {
            "images": lambda: select(ProductImage).where(ProductImage.product_id == pid),
            "params": lambda: select(ProductParam).where(ProductParam.product_id == pid),
            "specs": lambda: select(ProductSpec).where(ProductSpec.product_id == pid),
            "tags": lambda: (
                select(Tag).join(product_tags, product_tags.c.tag_id == Tag.id).where(product_tags.c.product_id == pid)
            ),
        }[key]()
        _PAGE_LOADERS[key] = query
    return PageLoader(key, query, {"product_id": product_id})


def product_loaded(product_id: int):
    """The rows of every ``product_page_loaders`` loader read for
    ``product_id`` in this request (by :func:`product_page`, which the
    product page and the API's product detail use), else None.

    A plugin's hook called later in the same request (``purchase_blockers``,
    ``price_rules``...) takes its rows from here instead of reading them
    again: the request then costs no statement for them. A key missing from
    the mapping means the loader was not asked for (read for yourself)."""
    app_ctx = _cv_app.get(None)  # (g without its proxy: several hooks of a request ask)
    if app_ctx is None:
        return None
    return app_ctx.g.__dict__.get("jishi_product_loaded", {}).get(product_id)


# --- Categories and tags ---------------------------------------------------


@functools.cache
def _category_rows():
    """The categories' statement, built once."""
    return select(
        Category.id, Category.name, Category.sort, Category.parent_id, Category.image, Category.path
    ).order_by(Category.sort, Category.id)


_KEPT_CATEGORIES = "jishi.catalog.categories"  # settings.kept name: the rows and the tree built from them


def _categories_changed(mapper, connection, target) -> None:
    """A category row inserted, updated or deleted through the ORM (mapper
    events: every write of the catalog service, the console, the test
    factories): its transaction's commit starts the kept categories over
    (:func:`jishi.settings.data_changed`)."""
    from jishi import settings

    if has_app_context():
        settings.data_changed(object_session(target))


for _event in ("after_insert", "after_update", "after_delete"):
    event.listen(Category, _event, _categories_changed)


def kept_categories():
    """The store the categories are kept in (:func:`jishi.settings.kept`):
    ``"rows"``, ``"tree"`` (rows, tree) and what is rendered from them
    (``jishi.web.cards.category_links``), started over together."""
    from jishi import settings

    return settings.kept(_KEPT_CATEGORIES, 64)


def category_rows() -> Sequence[Any]:
    """Every category as a row ``(id, name, sort, parent_id, image, path)``,
    by ``sort`` then ``id``: read once per version of the settings and kept
    with them (:func:`jishi.settings.kept`), so a storefront page reading
    the categories costs no statement. Every write of a category through
    the ORM starts them over at its commit in this process (other processes
    within ``JISHI_SETTINGS_TTL``, 2 s; a raw SQL write too); a transaction
    that wrote one reads the table until it commits. Read-only."""
    from jishi import settings

    kept = kept_categories()
    found = kept.get("rows")
    if found is None:
        current = settings.reads_current()  # asked before the read
        found = tuple(db.session.execute(_category_rows()).all())
        if current:
            kept.put("rows", found)
    return found


def _tree(rows: Sequence[Any]) -> list[dict]:
    nodes: dict[int, dict[str, Any]] = {
        c.id: {"id": c.id, "name": c.name, "sort": c.sort, "parent_id": c.parent_id, "image": c.image, "children": []}
        for c in rows
    }
    roots: list[dict[str, Any]] = []
    for c in rows:
        node = nodes[c.id]
        parent = nodes.get(c.parent_id) if c.parent_id else None
        (parent["children"] if parent else roots).append(node)
    return roots


def category_tree(*, kept: bool = False) -> list[dict]:
    """Every category as a tree of ``{id, name, sort, parent_id, image,
    children}``: read now (one statement), or with ``kept`` the tree built
    from :func:`category_rows` once per version of the settings and shared
    by the process's requests (the storefront's pages: no statement; treat
    it as read-only)."""
    if not kept:
        return _tree(db.session.execute(_category_rows()).all())
    store = kept_categories()
    rows = category_rows()
    found = store.get("tree")
    if found is None or found[0] is not rows:
        found = (rows, _tree(rows))
        if store.get("rows") is rows:  # the rows were kept: the tree built from them too
            store.put("tree", found)
    return found[1]


def _clean_name(value, field: str, max_len: int) -> str:
    name = (value or "").strip() if isinstance(value, str) else None
    if not name:
        raise CatalogError(field, _("This field is required."))
    if len(name) > max_len:
        raise CatalogError(field, _("At most %(n)d characters.", n=max_len))
    return name


def save_category(data: dict, category: Category | None = None) -> Category:
    """Create or update a category: ``name``, ``parent_id``, ``sort``,
    ``image`` (an address; the media library's must be the platform's own)."""
    name = _clean_name(data.get("name", category.name if category else None), "name", 60)
    parent_id = data.get("parent_id", category.parent_id if category else None)
    parent = None
    if parent_id is not None:
        parent = db.session.get(Category, parent_id)
        if parent is None:
            raise CatalogError("parent_id", _("Unknown category."))
        if category is not None and (parent.id == category.id or parent.path.startswith(category.path)):
            raise CatalogError("parent_id", _("A category cannot move under itself."))
    sort = data.get("sort", category.sort if category else 0)
    if not isinstance(sort, int) or isinstance(sort, bool):
        raise CatalogError("sort", _("Must be an integer."))
    if not -MAX_SORT <= sort <= MAX_SORT:  # (the console's form takes any number typed)
        raise CatalogError(
            "sort",
            _(
                "Must be greater than or equal to %(min)s and less than or equal to %(max)s.",
                min=-MAX_SORT,
                max=MAX_SORT,
            ),
        )
    image = data.get("image", category.image if category else "")
    if not isinstance(image, str) or len(image.strip()) > 300:
        raise CatalogError("image", _("At most %(n)d characters.", n=300))
    image = image.strip()
    if image and (category is None or image != category.image):
        image = _own_media([image], None, field="image")[0]
    old_path: str | None
    if category is None:
        category = Category(name=name, parent_id=parent_id, sort=sort, image=image)
        db.session.add(category)
        db.session.flush()
        old_path = None
    else:
        old_path = category.path
        category.name, category.parent_id, category.sort, category.image = name, parent_id, sort, image
    new_path = (parent.path if parent else "/") + f"{category.id}/"
    category.path = new_path
    if old_path and old_path != new_path:
        # Move the whole subtree: rewrite the prefix of every descendant's path.
        db.session.execute(
            update(Category)
            .where(Category.path.like(old_path + "%"), Category.id != category.id)
            .values(path=literal(new_path) + func.substr(Category.path, len(old_path) + 1))
            .execution_options(synchronize_session=False)
        )
    commit()
    return category


def delete_category(category: Category) -> None:
    """Delete a category without children or products."""
    has_child = db.session.execute(select(Category.id).where(Category.parent_id == category.id).limit(1)).first()
    if has_child:
        raise CatalogError("id", _("Delete or move the subcategories first."), code="conflict")
    has_product = db.session.execute(select(Product.id).where(Product.category_id == category.id).limit(1)).first()
    if has_product:
        raise CatalogError("id", _("Move the category's products first."), code="conflict")
    db.session.delete(category)
    commit()


def list_tags() -> list[Tag]:
    return list(db.session.execute(select(Tag).order_by(Tag.id)).scalars())


def save_tag(name: str, tag: Tag | None = None) -> Tag:
    name = _clean_name(name, "name", 40)
    clash = db.session.execute(select(Tag).where(Tag.name == name)).scalar_one_or_none()
    if clash is not None and clash is not tag:
        raise CatalogError("name", _("A tag with this name exists."), code="conflict")
    if tag is None:
        tag = Tag(name=name)
        db.session.add(tag)
    else:
        tag.name = name
    commit()
    return tag


def delete_tag(tag: Tag) -> None:
    db.session.execute(delete(product_tags).where(product_tags.c.tag_id == tag.id))
    db.session.delete(tag)
    commit()


def _tags_by_name(names) -> list[Tag]:
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise CatalogError("tags", _("Tags must be a list of names."))
    wanted = []
    for raw in names:
        name = raw.strip()
        if not name:
            continue
        if len(name) > 40:
            raise CatalogError("tags", _("At most %(n)d characters.", n=40))
        if name not in wanted:
            wanted.append(name)
    if not wanted:
        return []
    existing = {t.name: t for t in db.session.execute(select(Tag).where(Tag.name.in_(wanted))).scalars()}
    out = []
    for name in wanted:
        tag = existing.get(name)
        if tag is None:
            tag = Tag(name=name)
            db.session.add(tag)
        out.append(tag)
    return out


# --- The product editor ----------------------------------------------------


def _int(value, field: str, *, minimum: int = 0, maximum: int = MAX_PRICE, optional: bool = False):
    if value is None and optional:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise CatalogError(field, _("Must be an integer."))
    if value < minimum:
        raise CatalogError(field, _("Must be at least %(n)d.", n=minimum))
    if value > maximum:
        raise CatalogError(field, _("Must be at most %(n)d.", n=maximum))
    return value


def _text(data: dict, key: str, max_len: int, default: str = "") -> str:
    value = data.get(key, default)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise CatalogError(key, _("Must be text."))
    if len(value) > max_len:
        raise CatalogError(key, _("At most %(n)d characters.", n=max_len))
    return value


def _validate_specs(raw) -> list[tuple[str, list[str]]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise CatalogError("specs", _("Specs must be a list."))
    out: list[tuple[str, list[str]]] = []
    for i, spec in enumerate(raw):
        field = f"specs.{i}"
        if not isinstance(spec, dict):
            raise CatalogError(field, _("Each spec needs a name and values."))
        name = _clean_name(spec.get("name"), f"{field}.name", 40)
        values = spec.get("values")
        if not isinstance(values, list) or not values or not all(isinstance(v, str) and v.strip() for v in values):
            raise CatalogError(f"{field}.values", _("List at least one value."))
        values = [v.strip() for v in values]
        if len(set(values)) != len(values):
            raise CatalogError(f"{field}.values", _("Values must be different."))
        if any(name == n for n, _v in out):
            raise CatalogError(f"{field}.name", _("Spec names must be different."))
        out.append((name, values))
    return out


def _validate_skus(raw, specs: list[tuple[str, list[str]]]) -> list[dict]:
    if not isinstance(raw, list) or not raw:
        raise CatalogError("skus", _("Add at least one SKU."))
    spec_map = dict(specs)
    seen = set()
    out = []
    for i, sku in enumerate(raw):
        field = f"skus.{i}"
        if not isinstance(sku, dict):
            raise CatalogError(field, _("Each SKU must be an object."))
        values = sku.get("spec_values") or {}
        if not isinstance(values, dict):
            raise CatalogError(f"{field}.spec_values", _("Spec values must be an object."))
        if set(values) != set(spec_map) or any(values[k] not in spec_map[k] for k in spec_map):
            raise CatalogError(f"{field}.spec_values", _("Spec values must name one value of every spec."))
        combo = tuple(values[name] for name, _v in specs)
        if combo in seen:
            raise CatalogError(f"{field}.spec_values", _("Two SKUs have the same spec values."))
        seen.add(combo)
        code = sku.get("code") or ""
        if not isinstance(code, str) or len(code) > 60:
            raise CatalogError(f"{field}.code", _("At most %(n)d characters.", n=60))
        sku_id = sku.get("id")
        if sku_id is not None:
            _int(sku_id, f"{field}.id", minimum=1, maximum=MAX_ID)
        out.append(
            {
                "id": sku_id,
                "spec_values": {name: values[name] for name, _v in specs},
                "price": _int(sku.get("price"), f"{field}.price"),
                "original_price": _int(sku.get("original_price"), f"{field}.original_price", optional=True),
                "member_price": _int(sku.get("member_price"), f"{field}.member_price", optional=True),
                "stock": _int(sku.get("stock", 0), f"{field}.stock", maximum=MAX_STOCK),
                "weight_grams": _int(sku.get("weight_grams", 0), f"{field}.weight_grams", maximum=MAX_STOCK),
                "code": code,
            }
        )
    if len(out) > 600:
        raise CatalogError("skus", _("Too many SKUs."))
    return out


def save_product(data: dict, product: Product | None = None) -> Product:
    """Create (``product`` None) or update a product from ``data``; all or nothing.

    Keys: name, subtitle, description, category_id, seller_id, tags (names),
    images (urls), params [{name, value}], specs [{name, values}], skus
    [{id?, spec_values, price, original_price, member_price, stock,
    weight_grams, code}], on_shelf, is_virtual. On update, missing keys keep
    their values; SKUs not listed are deactivated (orders keep pointing at them).
    Raises :class:`CatalogError` naming the field.
    """
    creating = product is None
    try:
        product = _apply(data, product)
        db.session.flush()
        refresh_product(product)
        signals.queue(signals.product_saved, product, created=creating)
        commit()
    except CatalogError:
        rollback()
        raise
    return product


def _apply(data: dict, product: Product | None) -> Product:
    if not isinstance(data, dict):
        raise CatalogError(None, _("Expected an object."))
    creating = product is None
    get = (lambda k, d=None: data.get(k, d)) if creating else (lambda k, d=None: data.get(k, getattr(product, k)))
    name = _clean_name(get("name"), "name", 120)
    subtitle = _text(data, "subtitle", 200, "" if product is None else product.subtitle)
    description = _text(data, "description", 20000, "" if product is None else product.description)
    category_id = get("category_id")
    if category_id is not None:
        _int(category_id, "category_id", minimum=1, maximum=MAX_ID)
        if db.session.get(Category, category_id) is None:
            raise CatalogError("category_id", _("Unknown category."))
    for flag in ("on_shelf", "is_virtual"):
        if flag in data and not isinstance(data[flag], bool):
            raise CatalogError(flag, _("Must be true or false."))

    images = data.get("images")
    if images is not None and (
        not isinstance(images, list) or not all(isinstance(u, str) and 0 < len(u) <= 300 for u in images)
    ):
        raise CatalogError("images", _("Images must be a list of URLs."))
    if images:
        images = _own_media(images, data.get("seller_id") if creating else product.seller_id)  # type: ignore[union-attr]
    params = data.get("params")
    if params is not None:
        if not isinstance(params, list):
            raise CatalogError("params", _("Parameters must be a list."))
        for i, p in enumerate(params):
            if not isinstance(p, dict):
                raise CatalogError(f"params.{i}", _("Each parameter needs a name and a value."))
            _clean_name(p.get("name"), f"params.{i}.name", 40)
            if not isinstance(p.get("value"), str) or len(p["value"]) > 200:
                raise CatalogError(f"params.{i}.value", _("At most %(n)d characters.", n=200))
    if "specs" in data or product is None:
        specs = _validate_specs(data.get("specs"))
    else:
        specs = [(s.name, list(s.values)) for s in product.specs]
    skus = None
    if "skus" in data or creating:
        skus = _validate_skus(data.get("skus"), specs)
    elif "specs" in data:
        raise CatalogError("skus", _("Send the SKUs together with changed specs."))
    tags = _tags_by_name(data["tags"]) if "tags" in data else None

    if product is None:
        product = Product(name=name, seller_id=data.get("seller_id"))
        db.session.add(product)
    product.name, product.subtitle, product.description, product.category_id = name, subtitle, description, category_id
    if "on_shelf" in data:
        product.on_shelf = data["on_shelf"]
    if "is_virtual" in data:
        product.is_virtual = data["is_virtual"]
    if tags is not None:
        product.tags = tags
    if images is not None:
        product.images = [ProductImage(url=u, sort=i) for i, u in enumerate(images)]
        product.image = images[0] if images else ""
    if params is not None:
        product.params = [ProductParam(name=p["name"].strip(), value=p["value"], sort=i) for i, p in enumerate(params)]
    if "specs" in data or creating:
        product.specs = [ProductSpec(name=n, values=v, sort=i) for i, (n, v) in enumerate(specs)]
    if skus is not None:
        _apply_skus(product, skus, creating)
    return product


def _own_media(images: list[str], seller_id: int | None, field: str = "images") -> list[str]:
    """``images`` with ``media:<id>`` resolved; the media library's addresses
    must be the seller's own (else 422 naming ``images.<i>``, or ``field``
    for a single image field)."""
    from jishi import media

    try:
        return media.resolve_urls(images, seller_id, field)
    except media.MediaError as exc:
        named = exc.field if len(images) > 1 or field != "images" else f"{field}.0"
        raise CatalogError(named, exc.message, code=exc.code) from None


def _apply_skus(product: Product, skus: list[dict], creating: bool) -> None:
    existing = {} if creating else {s.id: s for s in product.skus}
    by_values = {json.dumps(s.spec_values, sort_keys=True, ensure_ascii=False): s for s in existing.values()}
    kept = set()
    for i, item in enumerate(skus):
        sku = None
        if item["id"] is not None:
            sku = existing.get(item["id"])
            if sku is None:
                raise CatalogError(f"skus.{i}.id", _("This SKU belongs to another product."))
        else:
            sku = by_values.get(json.dumps(item["spec_values"], sort_keys=True, ensure_ascii=False))
            if sku is not None and sku.id in kept:
                sku = None
        if sku is None:
            sku = Sku(price=item["price"])
            product.skus.append(sku)
        if sku.id is not None:
            kept.add(sku.id)
        sku.spec_values = item["spec_values"]
        sku.price = item["price"]
        sku.original_price = item["original_price"]
        sku.member_price = item["member_price"]
        sku.stock = item["stock"]
        sku.weight_grams = item["weight_grams"]
        sku.code = item["code"]
        sku.is_active = True
    for sku in existing.values():
        if sku.id not in kept:
            sku.is_active = False


def set_on_shelf(product: Product, on_shelf: bool) -> None:
    if on_shelf and not any(s.is_active for s in product.skus):
        raise CatalogError("on_shelf", _("A product needs an active SKU to go on sale."))
    product.on_shelf = on_shelf
    signals.queue(signals.product_saved, product, created=False)
    commit()


def set_stock(sku: Sku, stock: int) -> None:
    """Set a SKU's stock to an absolute number (a stock take), in one UPDATE."""
    _int(stock, "stock", maximum=MAX_STOCK)
    db.session.execute(
        update(Sku).where(Sku.id == sku.id).values(stock=stock).execution_options(synchronize_session=False)
    )
    commit()
    db.session.refresh(sku)


def delete_product(product: Product) -> None:
    """Delete a product that was never ordered; otherwise take it off shelf."""
    from jishi.orders.models import OrderLine

    ordered = db.session.execute(select(OrderLine.id).where(OrderLine.product_id == product.id).limit(1)).first()
    if ordered:
        raise CatalogError("id", _("This product has orders; take it off shelf instead."), code="conflict")
    db.session.delete(product)
    commit()
