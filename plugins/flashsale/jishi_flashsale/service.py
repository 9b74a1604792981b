"""Flash sales (秒杀, SPEC FS): the rules, no Flask request in here.

Stock. Each flash SKU has its own stock (``FlashSku.stock``), kept apart
from the SKU's normal stock. A placed order takes it inside the kernel's
placing transaction (``reserve_stock`` hook) with ONE conditional statement::

    UPDATE flashsale_skus SET sold = sold + n WHERE id = ? AND sold + n <= stock

checking the row count, so no interleaving of any number of processes can
sell more than ``stock`` (on PostgreSQL the row lock re-checks the condition
on the newest row; SQLite serialises writers). A CHECK constraint
(``0 <= sold <= stock``) backs it.

Per-buyer limit. ``flashsale_usage`` holds one row per (flash SKU, buyer):
the first purchase inserts it (``INSERT .. ON CONFLICT DO NOTHING``, so two
parallel first purchases of one buyer cannot both insert), later ones move
it with ``UPDATE .. SET units = units + n WHERE units + n <= limit``. Both
happen in the placing transaction: a refused order writes nothing.

Giving back. ``release_stock`` (order closed unpaid, goods returned) moves
the line's :class:`Reservation` by ``released = released + n WHERE released
+ n <= quantity``; only when that wins are ``sold`` and the buyer's units
decreased, so each unit comes back exactly once however often, or however
concurrently, the kernel asks.

Unpaid flash orders close after ``JISHI_FLASHSALE_UNPAID_MINUTES`` (default 5)
by :func:`close_unpaid` (periodic job, idempotent, the same conditional
close of the payment order as the kernel's own job). A payment that arrives
after that is refunded by the kernel's notification handling (it refunds
any payment of a closed payment order).

Sold out fast. :mod:`jishi_flashsale.gate` keeps a per-process "sold out"
flag (a short TTL) and, with Redis configured, an atomic Lua gate; the
database statement above stays the source of truth.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any, NamedTuple

from flask import current_app
from jishi import promotions
from jishi.catalog.service import product_loaded
from jishi.checkout.errors import CheckoutError, OutOfStock
from jishi.db import commit, conflict_insert, db, utcnow
from jishi.errors import DomainError
from jishi.hookspecs import PriceRule, Problem, StockReservation
from jishi.i18n import N_, naive_utc
from jishi.i18n import gettext as _
from jishi.orders import state as order_state
from jishi.orders.models import Order, PaymentOrder
from sqlalchemy import Integer, and_, bindparam, cast, func, insert, literal, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import OperationalError

from jishi_flashsale import gate
from jishi_flashsale.models import Activity, FlashSku, Reservation, Usage

PRICE_SOURCE = "flashsale"
FLASH_PRICE_PRIORITY = 100  # the kernel's built-in priority for flash prices
MAX_PRICE = 10**10
MAX_STOCK = 10**7
MAX_LIMIT = 10000


class FlashSaleError(DomainError):
    """Bad input or a conflicting state (4xx naming the field)."""


def now() -> datetime:
    return utcnow()


def is_running(activity: Activity, at: datetime | None = None) -> bool:
    at = at or now()
    return bool(activity.enabled) and activity.starts_at <= at < activity.ends_at


def state_of(activity: Activity, at: datetime | None = None) -> str:
    """``upcoming``, ``running``, ``ended`` or ``off`` (disabled)."""
    at = at or now()
    if not activity.enabled:
        return "off"
    if at < activity.starts_at:
        return "upcoming"
    return "running" if at < activity.ends_at else "ended"


# -- reading ---------------------------------------------------------------------


def running_flash(sku_id: int, user_id: int | None = None, at: datetime | None = None):
    """The running flash offer of ``sku_id`` as one row (``id``,
    ``activity_id``, ``flash_price``, ``stock``, ``sold``,
    ``per_user_limit``, ``ends_at``, and ``used``: the units ``user_id``
    already holds, 0 without a user), or None. ONE indexed query (the
    buyer's counter joined in), made once per request and buyer (the buy
    endpoint's pre-check and the price rule share it; the conditional
    UPDATE decides anyway)."""
    return running_flash_many([sku_id], user_id, at).get(sku_id)


#: a running flash SKU's offer, as :func:`running_flash_many` and
#: :func:`running_flash_for_buyers` read it
_OFFER_COLUMNS = (
    FlashSku.id,
    FlashSku.activity_id,
    FlashSku.flash_price,
    FlashSku.stock,
    FlashSku.sold,
    Activity.per_user_limit,
    Activity.ends_at,
)


def _running_query(user_id: int | None, at: datetime):
    """The SELECT of :func:`running_flash_many` without its SKU condition:
    flash SKUs of running activities with the buyer's units, earliest
    activity first per SKU."""
    columns = _OFFER_COLUMNS
    if user_id is None:
        q = select(*columns, literal(0).label("used"), FlashSku.sku_id)
    else:
        q = select(*columns, func.coalesce(Usage.units, 0).label("used"), FlashSku.sku_id)
        q = q.outerjoin(Usage, and_(Usage.flash_sku_id == FlashSku.id, Usage.user_id == user_id))
    return (
        q.join(Activity, Activity.id == FlashSku.activity_id)
        .where(Activity.enabled.is_(True), Activity.starts_at <= at, Activity.ends_at > at)
        .order_by(FlashSku.sku_id, Activity.id)
    )


def _running_key(user_id: int | None) -> str:
    return f"flashsale.running.{user_id or 0}"


def running_flash_many(sku_ids, user_id: int | None = None, at: datetime | None = None) -> dict:
    """:func:`running_flash` for several SKUs: ``sku_id -> row`` for those
    in a running flash sale, in ONE query for all of them (none when every
    SKU was already looked up in this request, for this buyer)."""
    from flask import has_request_context, request

    cache = (
        request._get_current_object().__dict__.setdefault("_flashsale_running", {})
        if has_request_context() and at is None
        else None
    )
    wanted = list(dict.fromkeys(sku_ids))
    found = {}
    missing = []
    for sku_id in wanted:
        if cache is not None and (sku_id, user_id) in cache:
            found[sku_id] = cache[sku_id, user_id]
        else:
            missing.append(sku_id)
    if missing:
        where = FlashSku.sku_id == missing[0] if len(missing) == 1 else FlashSku.sku_id.in_(missing)
        rows = db.session.execute(_running_query(user_id, at or now()).where(where)).all()
        for sku_id in missing:
            found[sku_id] = None
        for row in rows:
            if found[row.sku_id] is None:  # the earliest activity of the SKU
                found[row.sku_id] = row
        if cache is not None:
            for sku_id in missing:
                cache[sku_id, user_id] = found[sku_id]
    return {sku_id: row for sku_id, row in found.items() if row is not None}


def running_flash_for_buyers(pairs) -> dict:
    """:func:`running_flash` for many ``(sku_id, user_id)`` pairs (a batch
    the queue's consumer places) in ONE query: ``(sku_id, user_id) -> row``
    (None: not in a running sale), each buyer's units joined in."""
    pairs = list(dict.fromkeys(pairs))
    if not pairs:
        return {}
    at = now()
    sku_ids = sorted({sku_id for sku_id, _u in pairs})
    user_ids = sorted({user_id for _s, user_id in pairs})
    rows = db.session.execute(
        select(
            *_OFFER_COLUMNS,
            FlashSku.sku_id,
            Usage.user_id,
            Usage.units,
        )
        .join(Activity, Activity.id == FlashSku.activity_id)
        .outerjoin(Usage, and_(Usage.flash_sku_id == FlashSku.id, Usage.user_id.in_(user_ids)))
        .where(
            FlashSku.sku_id.in_(sku_ids), Activity.enabled.is_(True), Activity.starts_at <= at, Activity.ends_at > at
        )
        .order_by(FlashSku.sku_id, Activity.id)
    ).all()
    offer: dict[int, tuple] = {}
    used: dict[tuple[int, int], int] = {}
    for row in rows:
        offer.setdefault(row.sku_id, row)  # the earliest activity of the SKU
        if row.user_id is not None:
            used[row.id, row.user_id] = row.units
    out = {}
    for sku_id, user_id in pairs:
        row = offer.get(sku_id)
        out[sku_id, user_id] = (
            None
            if row is None
            else Offer(
                row.id,
                row.activity_id,
                row.flash_price,
                row.stock,
                row.sold,
                row.per_user_limit,
                row.ends_at,
                used.get((row.id, user_id), 0),
                sku_id,
            )
        )
    return out


def remember_running(rows: dict) -> None:
    """Make ``(sku_id, user_id) -> row`` (from :func:`running_flash_for_buyers`)
    this request's answers of :func:`running_flash_many` (the queue's
    consumer, one request per job of a batch read in one query)."""
    from flask import request

    request._get_current_object().__dict__.setdefault("_flashsale_running", {}).update(rows)


class Offer(NamedTuple):
    """A running flash offer as :func:`running_flash` answers it."""

    id: int
    activity_id: int
    flash_price: int
    stock: int
    sold: int
    per_user_limit: int
    ends_at: datetime
    used: int
    sku_id: int


def current_query(product_id: int, at: datetime | None = None, horizon_days: int = 7):
    """The SELECT of :func:`current_for_product` (also a page loader's)."""
    at = at or now()
    return (
        select(Activity)
        .where(
            Activity.product_id == product_id,
            Activity.enabled.is_(True),
            Activity.ends_at > at,
            Activity.starts_at <= at + timedelta(days=horizon_days),
        )
        .order_by(Activity.starts_at, Activity.id)
        .limit(1)
    )


def current_for_product(product_id: int, at: datetime | None = None, horizon_days: int = 7) -> Activity | None:
    """The product's running activity, else its next one starting within
    ``horizon_days`` (for a countdown to the start)."""
    return db.session.execute(current_query(product_id, at, horizon_days)).scalar_one_or_none()


def page_loaders(product_id: int, at: datetime | None = None, user_id: int | None = None) -> list:
    """The product page's reads (``product_page_loaders``): the current
    activity and its flash SKUs, run with the page's other loaders; and the
    running flash SKUs of the product with the buyer's units, which
    :func:`price_rules` takes in the same request (the API's product
    detail prices its SKUs with no statement of its own)."""
    from jishi.hookspecs import PageLoader

    at = at or now()
    current, skus, running = _page_queries(user_id is not None)
    params = {"product_id": product_id, "at": at, "horizon": at + timedelta(days=7)}
    return [
        PageLoader("flashsale.activity", current, params),
        PageLoader("flashsale.skus", skus, params),
        PageLoader(_running_key(user_id), running, {"product_id": product_id, "at": at, "user_id": user_id or 0}),
    ]


_PAGE_QUERIES: dict[bool, tuple] = {}


def _page_queries(signed_in: bool) -> tuple:
    """:func:`page_loaders`' three queries, declared once with named
    parameters (``product_id``, ``at``, ``horizon``, ``user_id``): a page
    builds no query (``PageLoader.params``)."""
    found = _PAGE_QUERIES.get(signed_in)
    if found is None:
        from jishi.catalog.models import Sku

        pid, at = bindparam("product_id"), bindparam("at")
        current = (
            select(Activity)
            .where(
                Activity.product_id == pid,
                Activity.enabled.is_(True),
                Activity.ends_at > at,
                Activity.starts_at <= bindparam("horizon"),
            )
            .order_by(Activity.starts_at, Activity.id)
            .limit(1)
        )
        ids = current.with_only_columns(Activity.id)  # (no subquery's column proxies)
        skus = select(FlashSku).where(FlashSku.activity_id.in_(ids)).order_by(FlashSku.id)
        running = _running_query(bindparam("user_id") if signed_in else None, at).where(
            FlashSku.sku_id.in_(select(Sku.id).where(Sku.product_id == pid))
        )
        found = _PAGE_QUERIES[signed_in] = (current, skus, running)
    return found


def listing(at: datetime | None = None, limit: int = 100) -> list[Activity]:
    """Running activities (soonest to end first), then upcoming ones within a
    week, of on-shelf products buyers may see."""
    from jishi.catalog.models import Product

    at = at or now()
    q = (
        select(Activity)
        .join(Product, Product.id == Activity.product_id)
        .where(
            Activity.enabled.is_(True),
            Activity.ends_at > at,
            Activity.starts_at <= at + timedelta(days=7),
            Product.on_shelf.is_(True),
        )
        .order_by((Activity.starts_at > at), Activity.ends_at, Activity.id)
        .limit(limit)
    )
    for cond in _visible_product_filters():
        q = q.where(cond)
    return list(db.session.execute(q).scalars())


def _visible_product_filters():
    hook = current_app.extensions["jishi"].hook
    return [c for r in hook.product_filters(context="listing") for c in (r or [])]


def used_units(flash_sku_id: int, user_id: int) -> int:
    return int(
        db.session.execute(
            select(Usage.units).where(Usage.flash_sku_id == flash_sku_id, Usage.user_id == user_id)
        ).scalar()
        or 0
    )


# -- activities (console / seller API) -------------------------------------------------


def _product(product_id):
    from jishi.catalog.models import Product

    return (
        db.session.get(Product, product_id)
        if isinstance(product_id, int) and not isinstance(product_id, bool) and 0 < product_id < 2**31
        else None
    )


def _naive_utc(value: datetime, field: str) -> datetime:
    """``value`` as stored (naive UTC); a time out of the calendar's range
    is refused naming ``field``."""
    try:
        return naive_utc(value)
    except ValueError:
        raise FlashSaleError(
            field, _("Enter the start time.") if field == "starts_at" else _("Enter the end time.")
        ) from None


def _int(value, lo, hi) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi


def save_activity(data: dict, *, seller_id: int | None, platform: bool, activity: Activity | None = None) -> Activity:
    """Create (or update) an activity from validated input.

    ``seller_id`` is the acting seller from :func:`jishi.sellers.current_scope`
    (never the request): a merchant may only use its own products; the
    platform (``platform=True``) any product, the activity then belonging to
    the product's seller. A flash SKU's stock can never go below what is
    already sold. Raises :class:`FlashSaleError` naming the field; writes
    nothing then (the caller rolls back).
    """
    product = _product(data.get("product_id")) if activity is None else _product(activity.product_id)
    if product is None or (not platform and product.seller_id != seller_id):
        raise FlashSaleError(
            "product_id", _("Unknown product."), code="not_found", status=404 if activity is None else 422
        )
    title = (data.get("title") or "").strip()
    if not title or len(title) > 60:
        raise FlashSaleError("title", _("Enter a title of at most 60 characters."))
    per_user = data.get("per_user_limit", 1)
    per_user = 0 if per_user is None else per_user
    if not _int(per_user, 0, MAX_LIMIT):
        raise FlashSaleError(
            "per_user_limit", _("The per-buyer limit must be between 0 (no limit) and %(n)d.", n=MAX_LIMIT)
        )
    starts, ends = data.get("starts_at"), data.get("ends_at")
    if not isinstance(starts, datetime):
        raise FlashSaleError("starts_at", _("Enter the start time."))
    if not isinstance(ends, datetime):
        raise FlashSaleError("ends_at", _("Enter the end time."))
    starts, ends = _naive_utc(starts, "starts_at"), _naive_utc(ends, "ends_at")
    if ends <= starts:
        raise FlashSaleError("ends_at", _("The end must be after the start."))
    rows = data.get("skus") or []
    if not rows:
        raise FlashSaleError("skus", _("Give a flash price and stock for at least one variant."))
    own = {s.id: s for s in product.skus}
    wanted: dict[int, tuple[int, int]] = {}
    for i, row in enumerate(rows):
        sku_id, price, stock = row.get("sku_id"), row.get("flash_price"), row.get("stock")
        if sku_id not in own:
            raise FlashSaleError(f"skus.{i}.sku_id", _("This variant is not one of the product's."))
        if sku_id in wanted:
            raise FlashSaleError(f"skus.{i}.sku_id", _("Listed twice."))
        if not _int(price, 1, MAX_PRICE):
            raise FlashSaleError(f"skus.{i}.flash_price", _("The flash price is a positive amount in fen."))
        if price > own[sku_id].price:
            raise FlashSaleError(f"skus.{i}.flash_price", _("The flash price must not exceed the variant's price."))
        if not _int(stock, 0, MAX_STOCK):
            raise FlashSaleError(f"skus.{i}.stock", _("The flash stock must be between 0 and %(n)d.", n=MAX_STOCK))
        wanted[sku_id] = (price, stock)
    overlap = select(Activity.id).where(
        Activity.product_id == product.id,
        Activity.enabled.is_(True),
        Activity.starts_at < ends,
        Activity.ends_at > starts,
    )
    if activity is not None:
        overlap = overlap.where(Activity.id != activity.id)
    if bool(data.get("enabled", True)) and db.session.execute(overlap.limit(1)).first() is not None:
        raise FlashSaleError(
            "starts_at", _("Another flash sale of this product overlaps this time."), code="conflict", status=409
        )
    if activity is None:
        activity = Activity(product_id=product.id, seller_id=product.seller_id, created_by_platform=platform)
        db.session.add(activity)
    activity.title = title
    activity.per_user_limit = per_user
    activity.starts_at, activity.ends_at = starts, ends
    activity.enabled = bool(data.get("enabled", True))
    existing = {s.sku_id: s for s in activity.skus}
    for sid, row in list(existing.items()):
        if sid in wanted:
            price, stock = wanted[sid]
            # never below what is sold: a conditional UPDATE, so a sale
            # racing with the edit cannot be lost
            won = db.session.execute(
                update(FlashSku)
                .where(FlashSku.id == row.id, FlashSku.sold <= stock)
                .values(flash_price=price, stock=stock)
                .execution_options(synchronize_session=False)
            ).rowcount
            if not won:
                raise FlashSaleError(
                    "skus",
                    _("The flash stock cannot be less than the units already sold (%(n)d).", n=row.sold),
                    code="conflict",
                    status=409,
                )
            db.session.refresh(row)
        else:
            if row.sold:
                raise FlashSaleError(
                    "skus",
                    _("A variant with flash sales cannot be removed; set its stock to what is sold."),
                    code="conflict",
                    status=409,
                )
            activity.skus.remove(row)
    for sid, (price, stock) in wanted.items():
        if sid not in existing:
            activity.skus.append(FlashSku(sku_id=sid, flash_price=price, stock=stock, sold=0))
    db.session.flush()
    publish_windows()
    for fs in activity.skus:
        gate.forget(fs.id, fs.sku_id)
    return activity


#: The setting holding when flash sales may run: ``[[start, end], ...]``
#: (ISO, naive UTC, overlapping ones merged) of every enabled activity not
#: ended when it was written; None or absent: not known (a database whose
#: activities were saved before it existed, until the ``flashsale_windows``
#: job or the next saved activity writes it). Read with the request's
#: settings, it spares :func:`price_rules` its query while no sale runs
#: (issue 20).
WINDOWS_SETTING = "flashsale.windows"


def publish_windows(at: datetime | None = None) -> list[list[str]]:
    """Write :data:`WINDOWS_SETTING` from the activities, in the current
    transaction (:func:`save_activity`'s, or the job's); see
    :func:`jishi.promotions.publish_windows` (the row locked: two
    activities saved at once are both in it)."""
    at = at or now()
    spans = select(Activity.starts_at, Activity.ends_at).where(Activity.enabled.is_(True), Activity.ends_at > at)
    return promotions.publish_windows(WINDOWS_SETTING, spans, at)


def publish_windows_job() -> str:
    """The ``flashsale_windows`` job: ended sales leave the windows, and a
    database that has none yet gets them."""
    windows = publish_windows()
    commit()
    return f"{len(windows)} windows"


def visible_activities(*, seller_id: int | None, platform: bool) -> list[Activity]:
    """The platform sees every activity; a seller its own products' ones."""
    return promotions.visible_activities(Activity, seller_id=seller_id, platform=platform)


def activity_for(activity_id: int, *, seller_id: int | None, platform: bool) -> Activity | None:
    """An activity the acting seller may see (None: not found, also for
    another merchant's activity)."""
    return promotions.activity_for(Activity, activity_id, seller_id=seller_id, platform=platform)


# -- pricing and checkout (kernel hooks) ----------------------------------------------


def price_rules(lines, user) -> dict[str, list[PriceRule]]:
    """The flash price of every line whose SKU is in a running flash sale
    (priority 100: it beats member and group prices), for the
    ``price_rules`` hook: ONE query for all the lines (see
    :func:`running_flash_many`), none while :data:`WINDOWS_SETTING` says
    no sale runs (issue 20: most checkouts). ``quantity_limit`` is what the buyer may
    still take under the per-buyer limit. The rule carries the flash stock
    left (``stock``, pool ``flashsale``): while the sale runs, the line's
    units come from it, so the kernel's stock checks, the cart and the
    product page speak of flash stock, and the order line is written with
    ``stock_source = 'flashsale'`` for :func:`reserve`."""
    user_id = getattr(user, "id", None) if user is not None else None
    running: dict = {}
    rest = []
    key = _running_key(user_id)
    for line in lines:
        loaded = product_loaded(line.product_id) if line.product_id is not None else None
        if loaded is None or key not in loaded:
            rest.append(line.sku_id)
            continue
        for row in loaded[key]:  # read with the product (page_loaders): earliest activity first
            if row["sku_id"] == line.sku_id:
                running[line.sku_id] = SimpleNamespace(**row)
                break
    if rest and promotions.may_run(WINDOWS_SETTING, now()):
        running.update(running_flash_many(rest, user_id))
    out = {}
    for line in lines:
        row = running.get(line.sku_id)
        if row is None:
            continue
        quantity_limit = None
        if row.per_user_limit:
            quantity_limit = max(row.per_user_limit - row.used, 0)
        out[line.key] = [
            PriceRule(
                source=PRICE_SOURCE,
                unit_price=row.flash_price,
                priority=FLASH_PRICE_PRIORITY,
                label=_("Flash price"),
                quantity_limit=quantity_limit,
                stock=max(row.stock - row.sold, 0),
                stock_source=PRICE_SOURCE,
                data={"flash_sku_id": row.id, "activity_id": row.activity_id, "per_user_limit": row.per_user_limit},
            )
        ]
    return out


def validate(checkout) -> list[Problem] | None:
    """``validate_checkout``: a purchase made through the flash sale
    (``options["flashsale"] = {"sku_id", "flash_sku_id"}``, set by the buy
    endpoint and the queue) is placed at that flash sale's price or not at
    all: when the sale ended (or changed) between the buyer's click and the
    placement, the SKU would otherwise be priced normally."""
    want = (checkout.options or {}).get("flashsale")
    if not isinstance(want, dict):
        return None
    for line in checkout.lines:
        if line.sku_id == want.get("sku_id") and (
            line.price_source != PRICE_SOURCE or line.price_data.get("flash_sku_id") != want.get("flash_sku_id")
        ):
            return [Problem("flashsale_ended", _("This flash sale has ended."), field="sku_id", line_key=line.key)]
    return None


def _take_units(flash_sku_id: int, user_id: int, n: int, limit: int) -> None:
    """Count ``n`` more units for the buyer, never beyond ``limit``, in ONE
    atomic upsert: the first purchase inserts the row, a later one (or a
    parallel first one, which waits for the row) moves it only while
    ``units + n <= limit``::

        INSERT INTO flashsale_usage .. ON CONFLICT (flash_sku_id, user_id)
        DO UPDATE SET units = units + n WHERE units + n <= limit RETURNING units

    No row back: the limit is reached; raises :class:`CheckoutError`."""
    if n > limit:
        raise _limit_error(limit)
    table = Usage.__table__
    stmt = conflict_insert(table).values(flash_sku_id=flash_sku_id, user_id=user_id, units=n)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.flash_sku_id, table.c.user_id],
        set_={"units": table.c.units + stmt.excluded.units},
        where=table.c.units + stmt.excluded.units <= limit,
    ).returning(table.c.units)
    if db.session.execute(stmt).first() is None:
        raise _limit_error(limit)


class LimitReached(CheckoutError):
    """The buyer would pass the per-buyer limit (409)."""

    status = 409


def _limit_error(limit: int) -> CheckoutError:
    return LimitReached(
        [Problem("flashsale_limit", _("At most %(n)d per buyer in this flash sale.", n=limit), field="items.quantity")]
    )


def _take_stock(fsid: int, n: int) -> int | None:
    """Take ``n`` units of flash SKU ``fsid`` in one conditional UPDATE;
    the units left after it, or None when fewer than ``n`` were left
    (nothing taken)."""
    return db.session.execute(
        update(FlashSku)
        .where(FlashSku.id == fsid, FlashSku.sold + n <= FlashSku.stock)
        .values(sold=FlashSku.sold + n)
        .returning(FlashSku.stock - FlashSku.sold)
        .execution_options(synchronize_session=False)
    ).scalar()


def reserve(line, order) -> StockReservation | None:
    """One line's form of :func:`reserve_many` (not a hook implementation:
    the kernel offers every line to ``reserve_stock_many`` first, which
    takes every flash line or raises): take a flash-priced line out of the flash stock
    (per-buyer units first, then the hot row, so its lock is held for the
    shortest time). Raises :class:`OutOfStock` when the flash stock is short."""
    if line.price_source != PRICE_SOURCE:
        return None
    fsid = line.price_data["flash_sku_id"]
    limit = line.price_data.get("per_user_limit") or 0
    n = line.quantity
    if limit:
        _take_units(fsid, order.user_id, n, limit)
    left = _take_stock(fsid, n)
    if left is None:
        gate.mark_sold_out(line.sku_id)
        raise OutOfStock(line.key, line.name)
    if left <= 0:
        gate.mark_sold_out(line.sku_id)
    db.session.execute(
        insert(Reservation.__table__).values(
            order_id=order.id,
            sku_id=line.sku_id,
            flash_sku_id=fsid,
            user_id=order.user_id,
            quantity=n,
            released=0,
            created_at=now(),
        )
    )
    return StockReservation(source=PRICE_SOURCE, quantity=n)


#: PostgreSQL's statements of :func:`_add_usage` and
#: :func:`_add_reservations`, built once per process
_BATCH_STATEMENTS: dict[str, Any] = {}


def unnest(*columns: str, type_: Any = Integer):
    """PostgreSQL's ``unnest(:c1, :c2, ..) AS anon(c1, c2, ..)``: a batch's
    rows as one array of ``type_`` per column (the parameter of each named
    as its column), so a statement's text is the same for any number of
    rows."""
    arrays = [bindparam(c, type_=ARRAY(type_)) for c in columns]
    return func.unnest(*arrays).table_valued(*columns).render_derived()


def _add_usage(fsid: int, units: dict[int, int], limit: int) -> list:
    """Add ``units`` (``{buyer: units}``) to the buyers' counters of flash
    SKU ``fsid``, each only while it stays within ``limit``, in ONE upsert:
    the user ids of the rows it wrote (a buyer missing is past the limit).

    On PostgreSQL the rows are arrays (:func:`unnest`): one short
    statement, prepared once, for any batch. A VALUES list of 50 rows
    (SQLAlchemy's ``insertmanyvalues``) was a statement too long for
    psycopg to keep its conversion: parsed again each time, a tenth of the
    queue consumer's CPU (issue 20). Buyers are written in id order, so two
    consumers whose batches share buyers lock their rows in the same order."""
    table = Usage.__table__
    ordered = sorted(units.items())
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = _BATCH_STATEMENTS.get("usage")
        if stmt is None:
            rows = unnest("user_ids", "units")
            ins = pg_insert(table).from_select(
                ["flash_sku_id", "user_id", "units"],
                select(cast(bindparam("fsid"), Integer), rows.c.user_ids, rows.c.units),
            )
            stmt = _BATCH_STATEMENTS["usage"] = ins.on_conflict_do_update(
                index_elements=[table.c.flash_sku_id, table.c.user_id],
                set_={"units": table.c.units + ins.excluded.units},
                where=table.c.units + ins.excluded.units <= bindparam("limit", type_=Integer),
            ).returning(table.c.user_id)
        params = {"fsid": fsid, "user_ids": [u for u, _n in ordered], "units": [n for _u, n in ordered], "limit": limit}
        return db.session.execute(stmt, params).all()
    # SQLite: an executemany (its rows batched by SQLAlchemy's insertmanyvalues)
    stmt = conflict_insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.flash_sku_id, table.c.user_id],
        set_={"units": table.c.units + stmt.excluded.units},
        where=table.c.units + stmt.excluded.units <= limit,
    ).returning(table.c.user_id)
    return db.session.execute(stmt, [{"flash_sku_id": fsid, "user_id": u, "units": n} for u, n in ordered]).all()


def _add_reservations(fsid: int, rows: list[tuple[int, int, int, int]]) -> None:
    """The reservations of flash SKU ``fsid``'s lines (``(order id, SKU id,
    buyer, quantity)``), in one statement: on PostgreSQL its rows as arrays
    (:func:`unnest`), on SQLite an executemany."""
    table = Reservation.__table__
    at = now()
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = _BATCH_STATEMENTS.get("reservations")
        if stmt is None:
            u = unnest("order_ids", "sku_ids", "user_ids", "quantities")
            stmt = _BATCH_STATEMENTS["reservations"] = insert(table).from_select(
                ["order_id", "sku_id", "flash_sku_id", "user_id", "quantity", "released", "created_at"],
                select(
                    u.c.order_ids,
                    u.c.sku_ids,
                    cast(bindparam("fsid"), Integer),
                    u.c.user_ids,
                    u.c.quantities,
                    literal(0),
                    bindparam("created_at", type_=table.c.created_at.type),
                ),
            )
        columns = list(zip(*rows))
        params = dict(zip(("order_ids", "sku_ids", "user_ids", "quantities"), (list(c) for c in columns)))
        db.session.execute(stmt, {**params, "fsid": fsid, "created_at": at})
        return
    db.session.execute(  # executemany: compiled once
        insert(table),
        [
            {
                "order_id": order_id,
                "sku_id": sku_id,
                "flash_sku_id": fsid,
                "user_id": user_id,
                "quantity": quantity,
                "released": 0,
                "created_at": at,
            }
            for order_id, sku_id, user_id, quantity in rows
        ],
    )


def reserve_many(lines) -> dict | None:
    """``reserve_stock_many``: take every flash-priced line of ``lines``
    (``(line, order)`` pairs: one checkout's, or a batch's the queue's
    consumer places in one transaction) out of the flash stock, all or
    nothing, in THREE statements per flash SKU whatever the number of
    lines: the buyers' counters in one upsert (one row per buyer, the
    units of the buyer's lines summed; a row not returned is a buyer past
    the limit), the flash stock in one conditional UPDATE of the summed
    units, the reservations in one INSERT. Raises ``LimitReached`` or
    :class:`OutOfStock` when they do not all fit (the kernel then places
    the batch's checkouts one by one, each finding its own answer)."""
    mine: dict[int, list] = {}
    for index, (line, order) in enumerate(lines):
        if line.price_source == PRICE_SOURCE:
            mine.setdefault(line.price_data["flash_sku_id"], []).append((index, line, order))
    if not mine:
        return None
    out = {}
    for fsid, taken in mine.items():
        limit = taken[0][1].price_data.get("per_user_limit") or 0
        if limit:
            units: dict[int, int] = {}
            for _i, line, order in taken:
                units[order.user_id] = units.get(order.user_id, 0) + line.quantity
            if max(units.values()) > limit:
                raise _limit_error(limit)
            if len(_add_usage(fsid, units, limit)) < len(units):
                raise _limit_error(limit)
        n = sum(line.quantity for _i, line, _o in taken)
        first = taken[0][1]
        left = _take_stock(fsid, n)
        if left is None:
            if len(taken) == 1:  # one line that does not fit: the flash stock is gone for it
                gate.mark_sold_out(first.sku_id)
            raise OutOfStock(first.key, first.name)
        if left <= 0:
            gate.mark_sold_out(first.sku_id)
        _add_reservations(fsid, [(order.id, line.sku_id, order.user_id, line.quantity) for _i, line, order in taken])
        out.update({index: StockReservation(source=PRICE_SOURCE, quantity=line.quantity) for index, line, _o in taken})
    return out


def release(order_line, quantity: int, reason: str) -> bool | None:
    """``release_stock``: give a flash line's units back, exactly once.

    Back to the flash stock while the activity has not ended; after it
    ended, returned goods go back to the SKU's normal stock. The buyer's
    units under the limit are given back too."""
    if getattr(order_line, "stock_source", None) != PRICE_SOURCE or quantity <= 0:
        return None
    res = db.session.execute(
        select(Reservation).where(Reservation.order_id == order_line.order_id, Reservation.sku_id == order_line.sku_id)
    ).scalar_one_or_none()
    if res is None:
        return None
    won = db.session.execute(
        update(Reservation)
        .where(Reservation.id == res.id, Reservation.released + quantity <= Reservation.quantity)
        .values(released=Reservation.released + quantity)
        .execution_options(synchronize_session=False)
    ).rowcount
    if won != 1:
        return True  # already given back: never twice
    fs = db.session.get(FlashSku, res.flash_sku_id)
    activity = db.session.get(Activity, fs.activity_id)
    if reason == "returned" and activity.ends_at <= now():
        from jishi.catalog.models import Sku

        db.session.execute(
            update(Sku)
            .where(Sku.id == res.sku_id)
            .values(stock=Sku.stock + quantity)
            .execution_options(synchronize_session=False)
        )
    else:
        db.session.execute(
            update(FlashSku)
            .where(FlashSku.id == fs.id, FlashSku.sold >= quantity)
            .values(sold=FlashSku.sold - quantity)
            .execution_options(synchronize_session=False)
        )
    db.session.execute(
        update(Usage)
        .where(Usage.flash_sku_id == fs.id, Usage.user_id == res.user_id, Usage.units >= quantity)
        .values(units=Usage.units - quantity)
        .execution_options(synchronize_session=False)
    )
    gate.given_back(fs.id, res.sku_id, res.user_id, quantity)
    return True


# -- jobs -------------------------------------------------------------------------------


def unpaid_minutes() -> int:
    return int(current_app.config.get("JISHI_FLASHSALE_UNPAID_MINUTES", 5))


def close_unpaid(at: datetime | None = None) -> str:
    """Close the payment orders of flash orders unpaid for
    ``JISHI_FLASHSALE_UNPAID_MINUTES`` (idempotent job): its trades are
    closed at their gateways first (``orders.service.close_at_gateways``: a
    trade found paid is recorded instead), then the payment order closes
    by a conditional UPDATE (a payment notification racing with it
    finds it closed and the kernel refunds the money), then its unpaid
    orders are cancelled and their stock given back (flash stock exactly
    once, see :func:`release`)."""
    from jishi.orders.service import close_at_gateways, release_order_stock

    at = at or now()
    cutoff = at - timedelta(minutes=unpaid_minutes())
    pids = (
        db.session.execute(
            select(Order.payment_id)
            .join(Reservation, Reservation.order_id == Order.id)
            .where(Order.status == order_state.PENDING, Reservation.created_at < cutoff)
            .distinct()
            .limit(500)
        )
        .scalars()
        .all()
    )
    closed = 0
    for pid in pids:
        try:
            payment = db.session.get(PaymentOrder, pid)
            # Closed at its gateways first: a trade paid meanwhile is
            # recorded instead; one that cannot be closed now waits.
            if payment is None or payment.status != "pending" or not close_at_gateways(payment):
                continue
            won = db.session.execute(
                update(PaymentOrder)
                .where(PaymentOrder.id == pid, PaymentOrder.status == "pending")
                .values(status="closed")
            ).rowcount
            if not won:
                db.session.rollback()
                continue
            orders = (
                db.session.execute(select(Order).where(Order.payment_id == pid, Order.status == order_state.PENDING))
                .scalars()
                .all()
            )
            for order in orders:
                order_state.transition(
                    order, "cancel", actor_kind="system", note=N_("flash sale payment timed out"), reason="timeout"
                )
                order.close_reason = "timeout"
                release_order_stock(order, "closed")
            commit()
        except (OperationalError, order_state.TransitionError) as exc:
            # a buyer's cancel or a payment racing with us (a deadlock the
            # database broke, or the order moved first): nothing was kept;
            # the next run looks again
            db.session.rollback()
            current_app.logger.info("flashsale: payment %s not closed this run: %s", pid, exc)
            continue
        closed += 1
    return f"{closed} unpaid flash-sale payments closed"


def reconcile(at: datetime | None = None) -> str:
    """Set the Redis gate's counters of running flash SKUs from the database
    (the source of truth); a no-op without Redis.

    The units left are ``stock - sold - queued``: the units of durable
    tickets not placed yet count as taken (issue 15.6: counting only ``sold``
    under a backlog of queued purchases admitted them a second time). A
    counter Redis lost (it restarted empty) is rebuilt whole, the buyers'
    counters with it (:func:`jishi_flashsale.gate.seed`); an existing one is
    overwritten only while it exists (``SET XX``), so a restart racing with
    this pass never leaves a counter without the buyers' ones."""
    client = gate.redis_client()
    if not client:
        return "no redis"
    from jishi_flashsale.models import Ticket

    at = at or now()
    queued = (
        select(func.coalesce(func.sum(Ticket.quantity), 0))
        .where(Ticket.flash_sku_id == FlashSku.id, Ticket.status == "queued")
        .correlate(FlashSku)
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(FlashSku.id, (FlashSku.stock - FlashSku.sold - queued).label("left"), Activity.ends_at)
        .join(Activity, Activity.id == FlashSku.activity_id)
        .where(Activity.enabled.is_(True), Activity.starts_at <= at, Activity.ends_at > at)
        .limit(1000)
    ).all()
    rebuilt = 0
    for row in rows:
        if not client.set(gate._left_key(row.id), max(int(row.left), 0), ex=gate._expire_seconds(row.ends_at), xx=True):
            gate.seed(row)
            rebuilt += 1
    return f"{len(rows)} flash SKUs reconciled" + (f", {rebuilt} rebuilt" if rebuilt else "")
