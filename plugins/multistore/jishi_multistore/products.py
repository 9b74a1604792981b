"""Merchant products and comments (MS7, MS14).

A merchant's product is a kernel ``Product`` whose ``seller_id`` is the
merchant's id, plus one :class:`~jishi_multistore.models.ProductState` row
recording its review (产品审核) and listing choice (上架设置). Products are
written through the kernel's catalog service (``save_product``,
``set_on_shelf``, ``delete_product``); this module only adds the merchant's
rules around it:

- categories, tags and parameter names are the platform's: a merchant never
  creates them (an unknown tag is a 422 naming ``tags``);
- ``seller_id`` is always the acting merchant's, never the request's;
- with the ``multistore.product_review`` setting on, the *first* submission
  waits for the platform's review; later edits do not (MS7);
  with it off, products are approved at once;
- a product that is not approved is never on shelf, so buyers never see or
  buy it (and :func:`product_filters` hides it even if a console put
  it on shelf);
- the listing choice is applied on approval: list at once, stay off, or
  list at ``list_at`` (on approval when that time has passed) — the timed
  part is the ``multistore_list_due_products`` periodic job.

Comments (商品评论) are the kernel's ``Review`` rows whose ``seller_id`` is
the merchant: the merchant sees, replies to and deletes its own; the
platform sees and deletes merchant reviews.
"""

from __future__ import annotations

import functools
from datetime import datetime

from flask import render_template
from jishi import settings
from jishi.catalog import service as catalog
from jishi.catalog.models import Category, Product, Sku, Tag
from jishi.db import commit, db, rollback, utcnow
from jishi.errors import DomainError
from jishi.hookspecs import MenuItem, PeriodicJob, Problem, SettingField, SettingsPanel, hookimpl, slots
from jishi.i18n import gettext as _
from jishi.i18n import lazy_gettext as _l
from jishi.i18n import naive_utc
from jishi.reviews import service as reviews
from jishi.reviews.models import Review
from markupsafe import Markup
from sqlalchemy import bindparam, event, exists, func, select, update
from sqlalchemy.orm import Session, joinedload, selectinload

from jishi_multistore.models import (
    REVIEW_APPROVED,
    REVIEW_PENDING,
    REVIEW_REJECTED,
    REVIEW_STATUSES,
    Merchant,
    ProductState,
)

SETTING_REVIEW = "multistore.product_review"  # 产品审核
SETTING_PARAMS = "multistore.product_params"  # 产品参数 (the platform's parameter names)

ON_APPROVAL = "on_approval"  # 审核通过后立即上架
STAY_OFF = "stay_off"  # 审核通过后暂不上架
AT_TIME = "at_time"  # 自定义上架时间
LISTINGS = (ON_APPROVAL, STAY_OFF, AT_TIME)

PAGE = 20
MAX_PAGE = 100


class ProductError(DomainError):
    """Bad merchant-product input or a state that does not allow the action."""


# --- Hooks: settings, menus, jobs, buyer visibility --------------------------------


@hookimpl
def settings_panels():
    return [
        SettingsPanel(
            "multistore_products",
            str(_l("Merchant products")),  # 子商户产品
            (
                SettingField(
                    SETTING_REVIEW, str(_l("Review merchants' new products before they go on sale")), "bool", True
                ),  # 商品审核
                SettingField(
                    SETTING_PARAMS,
                    str(_l("Product parameters merchants may use, one per line (empty: any name)")),  # 产品参数
                    "textarea",
                    "",
                ),
            ),
            sort=61,
        )
    ]


@hookimpl
def console_menu_items(console, principal):
    return [
        MenuItem(
            str(_l("Merchant products")),
            "multistore_admin.products",
            console="platform",
            permission="products",
            sort=62,
            group="products",
        ),  # 子商户产品
        MenuItem(
            str(_l("Product review")),
            "multistore_admin.product_queue",
            console="platform",
            permission="products",
            sort=63,
            group="products",
        ),  # 产品审核
        MenuItem(
            str(_l("Merchant comments")),
            "multistore_admin.comments",
            console="platform",
            permission="comments",
            sort=64,
            group="products",
        ),  # 产品评论
        MenuItem(
            str(_l("Products")),
            "merchant.products",
            console="merchant",
            sort=20,
            permission="products",
            group="products",
        ),  # 产品管理
        MenuItem(
            str(_l("Comments")),
            "merchant.comments",
            console="merchant",
            sort=25,
            permission="comments",
            group="products",
        ),  # 产品评论
    ]


@hookimpl
def periodic_jobs():
    return [PeriodicJob("multistore_list_due_products", list_due_products, every_seconds=60)]


def _not_approved():
    """A merchant product whose state is not approved (pending or rejected)."""
    return exists().where(ProductState.product_id == Product.id, ProductState.review_status != REVIEW_APPROVED)


@functools.cache
def _visible_conditions() -> tuple:
    # Built once: the same expression objects each call let the kernel reuse
    # its cached listing statement (the condition reads state through SQL).
    return (~_not_approved(),)


@hookimpl
def product_filters(context):
    # Products without a state row (self-operated, or made before the plugin)
    # are left to the kernel's rules.
    return list(_visible_conditions())


@hookimpl
def product_page_loaders(product):
    """The product's review state, read with the page (``purchase_blockers``
    then finds it in the session)."""
    from jishi.hookspecs import PageLoader

    if product.seller_id is None:
        return None
    return [PageLoader("multistore.product_state", _state_query(), {"product_id": product.id})]


@hookimpl
def purchase_loaders(user):
    """The product's review state, read within the cart's read of the SKU."""
    from jishi.hookspecs import PageLoader

    return [PageLoader("multistore.product_state", _state_query(), {})]


@functools.cache
def _state_query():
    """The page loader's query, declared once (``PageLoader.params``)."""
    return select(ProductState).where(ProductState.product_id == bindparam("product_id"))


@hookimpl
def purchase_blockers(product, user):
    if getattr(product, "seller_id", None) is None:
        return None
    from jishi_multistore.merchants import purchase_rows

    rows = purchase_rows(product)  # with the merchant, in one statement
    if rows is not None:
        state = rows[1]
    else:  # read with the product page or the cart's SKU (product_loaded), else by primary key
        loaded = catalog.product_loaded(product.id)
        if loaded is not None and "multistore.product_state" in loaded:
            state = loaded.first("multistore.product_state")
        else:
            state = db.session.get(ProductState, product.id)
    status = state.review_status if state is not None else None
    if status is not None and status != REVIEW_APPROVED:
        return [Problem("not_approved", _("This product is not on sale yet."), field="sku_id")]  # 产品未审核
    return None


@hookimpl
@slots("multistore_shop_top")
def template_slot(slot, context):
    if slot != "multistore_shop_top":
        return None
    merchant = context.get("merchant")
    if merchant is None:
        return None
    products = pinned_products(merchant.id)
    if not products:
        return None
    return Markup(render_template("multistore/products/_shop_pinned.html", products=products, merchant=merchant))


def pinned_products(merchant_id: int, limit: int = 12) -> list[Product]:
    """The merchant's pinned products buyers can see (on shelf, approved), newest first."""
    return list(
        db.session.execute(
            select(Product)
            .join(ProductState, ProductState.product_id == Product.id)
            .where(
                Product.seller_id == merchant_id,
                Product.on_shelf.is_(True),
                ProductState.merchant_id == merchant_id,
                ProductState.pinned.is_(True),
                ProductState.review_status == REVIEW_APPROVED,
            )
            .order_by(Product.id.desc())
            .limit(limit)
        ).scalars()
    )


# --- Writing a product together with its state ----------------------------------

_PENDING_KEY = "multistore_new_product_states"


@event.listens_for(Session, "after_flush")
def _bind_new_products(session, flush_context):
    """Give a waiting ProductState the id of the product just inserted for its
    merchant (the kernel's ``save_product`` creates the Product)."""
    waiting = session.info.get(_PENDING_KEY)
    if not waiting:
        return
    for obj in session.new:
        if isinstance(obj, Product) and obj.id is not None:
            for state in waiting:
                if state.product_id is None and obj.seller_id == state.merchant_id:
                    state.product_id = obj.id
                    break


@event.listens_for(Session, "before_commit")
def _attach_states(session):
    """Add the bound states in the same transaction as their product."""
    waiting = session.info.get(_PENDING_KEY)
    if not waiting:
        return
    for state in list(waiting):
        if state.product_id is not None:
            session.add(state)
            waiting.remove(state)


def review_enabled() -> bool:
    return bool(settings.get(SETTING_REVIEW, True))


def allowed_param_names() -> list[str]:
    raw = settings.get(SETTING_PARAMS, "") or ""
    return [line.strip() for line in str(raw).splitlines() if line.strip()]


def catalog_options() -> dict:
    """What a merchant may choose from: the platform's categories, tags and parameter names."""
    categories = list(db.session.execute(select(Category).order_by(Category.path)).scalars())
    return {"categories": categories, "tags": catalog.list_tags(), "params": allowed_param_names()}


def _check_platform_refs(data: dict, *, creating: bool) -> None:
    """Categories, tags and parameter names must be the platform's."""
    if creating or "category_id" in data:
        cid = data.get("category_id")
        if cid is None:
            raise ProductError("category_id", _("Choose one of the platform's categories."))  # 请选择分类
        if (
            not isinstance(cid, int)
            or isinstance(cid, bool)
            or not 1 <= cid <= catalog.MAX_ID
            or db.session.get(Category, cid) is None
        ):
            raise ProductError("category_id", _("Unknown category."))
    if "tags" in data:
        names = data["tags"]
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ProductError("tags", _("Tags must be a list of names."))
        wanted = {n.strip() for n in names if n.strip()}
        if wanted:
            known = set(db.session.execute(select(Tag.name).where(Tag.name.in_(wanted))).scalars())
            unknown = sorted(wanted - known)
            if unknown:
                raise ProductError(
                    "tags", _("Unknown tag: %(names)s. Merchants use the platform's tags.", names=", ".join(unknown))
                )
    allowed = allowed_param_names()
    if allowed and isinstance(data.get("params"), list):
        for i, p in enumerate(data["params"]):
            name = p.get("name") if isinstance(p, dict) else None
            if isinstance(name, str) and name.strip() not in allowed:
                raise ProductError(f"params.{i}.name", _("Unknown parameter. Merchants use the platform's parameters."))


def _check_listing(listing, list_at) -> tuple[str, datetime | None]:
    if listing not in LISTINGS:
        raise ProductError("listing", _("Choose how the product goes on sale."))
    if listing == AT_TIME:
        if not isinstance(list_at, datetime):
            raise ProductError("list_at", _("Set the time to put the product on sale."))
        try:
            return listing, naive_utc(list_at)
        except ValueError:
            raise ProductError("list_at", _("Times look like 2026-01-31 09:30.")) from None
    return listing, None


def _lists_now(state: ProductState, now: datetime) -> bool:
    """Whether an approved product with this state goes on sale now."""
    if state.listing == ON_APPROVAL:
        return True
    if state.listing == AT_TIME:
        return state.list_at is not None and state.list_at <= now
    return False


def _clean(data: dict) -> dict:
    if not isinstance(data, dict):
        raise ProductError(None, _("Expected an object."))
    # Owner and shelf are never taken from the merchant's input.
    return {k: v for k, v in data.items() if k not in ("seller_id", "on_shelf", "listing", "list_at", "id")}


def create_product(
    merchant: Merchant, data: dict, *, listing: str = ON_APPROVAL, list_at: datetime | None = None
) -> Product:
    """A new product of ``merchant`` with its state, in one transaction (MS7)."""
    data = _clean(data)
    _check_platform_refs(data, creating=True)
    listing, list_at = _check_listing(listing, list_at)
    now = utcnow()
    reviewed = review_enabled()
    state = ProductState(
        merchant_id=merchant.id,
        review_status=REVIEW_PENDING if reviewed else REVIEW_APPROVED,
        listing=listing,
        list_at=list_at,
        pinned=False,
        submitted_at=now,
        reviewed_at=None if reviewed else now,
    )
    on_now = not reviewed and _lists_now(state, now)
    if on_now and listing == AT_TIME:
        state.list_at = None  # done: a later manual unlist stays unlisted
    data.update(seller_id=merchant.id, on_shelf=on_now)
    waiting = db.session.info.setdefault(_PENDING_KEY, [])
    waiting.append(state)
    try:
        product = catalog.save_product(data)
        if state.product_id is None or state in waiting:
            # The catalog wrote the product without our events seeing it:
            # attach the state now (still before anyone can review it).
            state.product_id = product.id
            db.session.add(state)
            commit()
    finally:
        if state in waiting:
            waiting.remove(state)
    return product


def update_product(merchant: Merchant, product: Product, data: dict) -> Product:
    """Edit the merchant's own product. Later edits are not reviewed again
    (MS7); a rejected product is resubmitted by editing it.
    The listing choice may change while the product awaits review."""
    state = state_of(product)
    listing = data.get("listing") if isinstance(data, dict) else None
    list_at = data.get("list_at") if isinstance(data, dict) else None
    data = _clean(data)
    _check_platform_refs(data, creating=False)
    if listing is not None:
        if state.review_status == REVIEW_APPROVED:
            raise ProductError(
                "listing", _("The product is approved: put it on or off shelf instead."), code="conflict"
            )
        state.listing, state.list_at = _check_listing(listing, list_at)
    resubmit = state.review_status == REVIEW_REJECTED
    now = utcnow()
    if resubmit:
        if review_enabled():
            state.review_status, state.reject_reason, state.submitted_at, state.reviewed_at = (
                REVIEW_PENDING,
                "",
                now,
                None,
            )
        else:
            state.review_status, state.reject_reason, state.reviewed_at = REVIEW_APPROVED, "", now
            if _lists_now(state, now):
                data["on_shelf"] = True
                state.list_at = None
    try:
        return catalog.save_product(data, product)
    except DomainError:
        rollback()
        raise


def state_of(product: Product) -> ProductState:
    state = db.session.get(ProductState, product.id)
    if state is None:
        # A merchant product made outside this plugin (e.g. before it was
        # enabled): treat it as approved, as the kernel already sold it.
        state = ProductState(
            product_id=product.id, merchant_id=product.seller_id, review_status=REVIEW_APPROVED, listing=STAY_OFF
        )
        db.session.add(state)
        db.session.flush()
    return state


def _has_active_sku(product: Product) -> bool:
    return any(s.is_active for s in product.skus)


def set_shelf(product: Product, on_shelf: bool) -> None:
    """List or unlist (上架/下架) a merchant product; only approved ones go on sale."""
    if not isinstance(on_shelf, bool):
        raise ProductError("on_shelf", _("Must be true or false."))
    state = state_of(product)
    if on_shelf and state.review_status != REVIEW_APPROVED:
        raise ProductError("on_shelf", _("The product has not been approved yet."), code="conflict")  # 产品未通过审核
    state.list_at = None  # a manual choice replaces a pending timed listing
    try:
        catalog.set_on_shelf(product, on_shelf)
    except DomainError:
        rollback()
        raise


def delete(product: Product) -> None:
    """Delete a product never ordered (its state goes with it); otherwise 409."""
    try:
        catalog.delete_product(product)
    except DomainError:
        rollback()
        raise


# --- Review (platform) --------------------------------------------------------------


def approve(product: Product) -> ProductState:
    """Approve a pending product and apply its listing choice (MS7)."""
    now = utcnow()
    state = state_of(product)
    won = db.session.execute(
        update(ProductState)
        .where(ProductState.product_id == product.id, ProductState.review_status == REVIEW_PENDING)
        .values(review_status=REVIEW_APPROVED, reject_reason="", reviewed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if won != 1:
        rollback()
        raise ProductError("id", _("This product is not awaiting review."), code="conflict")
    db.session.refresh(state)
    if _lists_now(state, now) and _has_active_sku(product):
        if state.listing == AT_TIME:
            state.list_at = None
        catalog.set_on_shelf(product, True)  # commits the approval too
    else:
        commit()
    return state


def reject(product: Product, reason) -> ProductState:
    if not isinstance(reason, str) or not reason.strip():
        raise ProductError("reason", _("Give the merchant a reason."))  # 请填写拒绝原因
    reason = reason.strip()
    if len(reason) > 200:
        raise ProductError("reason", _("At most %(n)d characters.", n=200))
    state = state_of(product)
    won = db.session.execute(
        update(ProductState)
        .where(ProductState.product_id == product.id, ProductState.review_status == REVIEW_PENDING)
        .values(review_status=REVIEW_REJECTED, reject_reason=reason, reviewed_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if won != 1:
        rollback()
        raise ProductError("id", _("This product is not awaiting review."), code="conflict")
    if product.on_shelf:
        product.on_shelf = False
    commit()
    db.session.refresh(state)
    return state


def set_pinned(product: Product, pinned: bool) -> ProductState:
    """Pin (置顶) or unpin a merchant product: it comes first in the platform
    list and shows at the top of the merchant's shop page."""
    state = state_of(product)
    state.pinned = bool(pinned)
    commit()
    return state


def list_due_products(now: datetime | None = None) -> str:
    """The timed part of the listing choice: approved products whose
    ``list_at`` has come go on sale (idempotent: one conditional UPDATE, then
    the done states are cleared in the same transaction)."""
    now = now or utcnow()
    due = (
        select(ProductState.product_id)
        .where(
            ProductState.listing == AT_TIME, ProductState.list_at <= now, ProductState.review_status == REVIEW_APPROVED
        )
        .scalar_subquery()
    )
    listed = db.session.execute(
        update(Product)
        .where(
            Product.id.in_(due),
            Product.on_shelf.is_(False),
            exists().where(Sku.product_id == Product.id, Sku.is_active.is_(True)),
        )
        .values(on_shelf=True, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.execute(
        update(ProductState)
        .where(
            ProductState.listing == AT_TIME, ProductState.list_at <= now, ProductState.review_status == REVIEW_APPROVED
        )
        .values(list_at=None)
        .execution_options(synchronize_session=False)
    )
    commit()
    return f"{listed} listed"


# --- Reading ------------------------------------------------------------------------


def merchant_product(merchant_id: int, product_id) -> Product | None:
    """The merchant's own product, or None (another merchant's is 'not found')."""
    if not isinstance(product_id, int) or not 1 <= product_id <= catalog.MAX_ID:
        return None
    product = catalog.get_product(product_id, visible_only=False)
    if product is None or product.seller_id != merchant_id:
        return None
    return product


def merchant_owned(product_id) -> Product | None:
    """A product that belongs to some merchant (platform views), or None."""
    if not isinstance(product_id, int) or not 1 <= product_id <= catalog.MAX_ID:
        return None
    product = catalog.get_product(product_id, visible_only=False)
    if product is None or product.seller_id is None:
        return None
    return product


def _page_args(page, limit) -> tuple[int, int]:
    page = page if isinstance(page, int) and page >= 1 else 1
    limit = limit if isinstance(limit, int) and 1 <= limit <= MAX_PAGE else PAGE
    return page, limit


def list_products(
    *,
    merchant_id: int | None = None,
    review_status: str | None = None,
    on_shelf: bool | None = None,
    pinned: bool | None = None,
    q: str | None = None,
    page: int = 1,
    limit: int = PAGE,
) -> tuple[list[tuple[Product, ProductState, Merchant]], bool]:
    """Merchant products with their state and merchant, pinned first then
    newest; ``(rows, has_more)``. ``merchant_id`` None: every merchant's."""
    if review_status is not None and review_status not in REVIEW_STATUSES:
        raise ProductError("review_status", _("Unknown review status."))
    page, limit = _page_args(page, limit)
    stmt = (
        select(Product, ProductState, Merchant)
        .join(ProductState, ProductState.product_id == Product.id)
        .join(Merchant, Merchant.id == ProductState.merchant_id)
        .options(selectinload(Product.skus), joinedload(Product.category))
        .where(Product.seller_id == ProductState.merchant_id)
    )
    if merchant_id is not None:
        stmt = stmt.where(ProductState.merchant_id == merchant_id)
    if review_status is not None:
        stmt = stmt.where(ProductState.review_status == review_status)
    if on_shelf is not None:
        stmt = stmt.where(Product.on_shelf.is_(on_shelf))
    if pinned is not None:
        stmt = stmt.where(ProductState.pinned.is_(pinned))
    for term in (q or "").lower().split()[:5]:
        escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(Product.search_text.like(f"%{escaped}%", escape="\\"))
    stmt = stmt.order_by(ProductState.pinned.desc(), Product.id.desc()).offset((page - 1) * limit).limit(limit + 1)
    rows = [tuple(r) for r in db.session.execute(stmt).unique()]
    return rows[:limit], len(rows) > limit


def review_counts(merchant_id: int | None = None) -> dict[str, int]:
    stmt = select(ProductState.review_status, func.count()).group_by(ProductState.review_status)
    if merchant_id is not None:
        stmt = stmt.where(ProductState.merchant_id == merchant_id)
    counts = dict.fromkeys(REVIEW_STATUSES, 0)
    counts.update({k: int(v) for k, v in db.session.execute(stmt)})
    return counts


# --- Comments (MS14) ------------------------------------------------------------------


def list_comments(
    *,
    merchant_id: int | None = None,
    product_id: int | None = None,
    include_deleted: bool = False,
    page: int = 1,
    limit: int = PAGE,
) -> tuple[list[tuple[Review, Product | None, Merchant | None]], bool]:
    """Reviews of merchant products, newest first; ``merchant_id`` None: every merchant's."""
    page, limit = _page_args(page, limit)
    stmt = (
        select(Review, Product, Merchant)
        .outerjoin(Product, Product.id == Review.product_id)
        .outerjoin(Merchant, Merchant.id == Review.seller_id)
        .where(Review.seller_id.is_not(None))
    )
    if merchant_id is not None:
        stmt = stmt.where(Review.seller_id == merchant_id)
    if product_id is not None:
        stmt = stmt.where(Review.product_id == product_id)
    if not include_deleted:
        stmt = stmt.where(Review.deleted_at.is_(None))
    stmt = stmt.order_by(Review.id.desc()).offset((page - 1) * limit).limit(limit + 1)
    rows = [tuple(r) for r in db.session.execute(stmt).unique()]
    return rows[:limit], len(rows) > limit


def merchant_comment(merchant_id: int | None, review_id) -> Review | None:
    """A review of the merchant's products (``merchant_id`` None: of any
    merchant's); None for another merchant's or a self-operated product's."""
    if not isinstance(review_id, int) or not 1 <= review_id <= catalog.MAX_ID:
        return None
    review = db.session.get(Review, review_id)
    if review is None or review.seller_id is None:
        return None
    if merchant_id is not None and review.seller_id != merchant_id:
        return None
    return review


def reply_comment(review: Review, actor, text) -> Review:
    if review.deleted_at is not None:
        raise ProductError("reply", _("This review was deleted."), code="conflict")
    if not isinstance(text, str):
        raise ProductError("reply", _("Write a reply."))
    return reviews.reply(review, actor, text)


def delete_comment(review: Review, actor) -> Review:
    return reviews.delete(review, actor)


def merchant_names(ids) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return dict(db.session.execute(select(Merchant.id, Merchant.name).where(Merchant.id.in_(ids))).all())


def live_merchants() -> list[Merchant]:
    """Merchants to filter by in the platform's pages."""
    return list(
        db.session.execute(
            select(Merchant).where(Merchant.review_status == REVIEW_APPROVED).order_by(Merchant.id)
        ).scalars()
    )
