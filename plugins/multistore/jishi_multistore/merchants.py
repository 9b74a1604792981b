"""Merchants: states and what buyers see of them, platform management, the
shop profile, the buyers' merchant list, announcements and staff
(MS4, MS5, MS6, MS13, MS15, MS17).

Buyer-facing effects of the business states (MS5), through the
kernel's catalog hooks:

=============  =========================  =====================  =========
state          products listed / detail   buy (cart, checkout)   shop list
=============  =========================  =====================  =========
open           yes                        yes                    yes
resting        yes                        no: "商家休息中"        yes
closed_today   yes                        no: "已打烊"            yes
shut           no (hidden)                no                     no
deleted /      no (hidden)                no                     no
not approved
=============  =========================  =====================  =========

:func:`seller_profiles` gives the kernel (product page, cart, order
details) each merchant's name, shop link, state and ``can_sell``; a deleted
or unapproved merchant reports the ``shut`` state.
"""

from __future__ import annotations

import base64
import csv
import functools
import io
import json
import math
import operator
import re
from datetime import datetime

from flask import current_app, g, has_request_context, request, url_for
from jishi import media
from jishi.catalog import service as catalog
from jishi.db import commit, db, utcnow
from jishi.errors import DomainError
from jishi.hookspecs import MenuItem, Problem, SellerProfile, StorefrontLink, hookimpl
from jishi.i18n import N_, to_shop_time
from jishi.i18n import gettext as _
from jishi.reports.sheets import csv_row, xlsx_bytes
from sqlalchemy import and_, bindparam, delete, event, func, literal, or_, select, update
from sqlalchemy.orm.util import identity_key

from jishi_multistore.models import (
    BUSINESS_STATES,
    CLOSED_TODAY,
    OPEN,
    RESTING,
    REVIEW_APPROVED,
    ROLE_ADMIN,
    ROLE_CLERK,
    SHUT,
    Announcement,
    ApplicationField,
    Merchant,
    MerchantMember,
    ProductState,
)


class MerchantError(DomainError):
    """Bad input or a conflicting state in merchant management."""


def status_labels() -> dict[str, str]:
    """Business state -> its buyer-facing label ("" for open)."""
    return {
        OPEN: "",
        RESTING: _("Resting"),  # 休息中
        CLOSED_TODAY: _("Closed for today"),  # 已打烊
        SHUT: _("Closed"),  # 已关闭
    }


def status_names() -> dict[str, str]:
    """Business state -> its name in the consoles."""
    return {
        OPEN: _("Open"),  # 营业中
        RESTING: _("Resting"),  # 休息中
        CLOSED_TODAY: _("Closed for today"),  # 已打烊
        SHUT: _("Closed"),  # 已关闭
    }


def is_live(m: Merchant | None) -> bool:
    """Approved and not deleted."""
    return m is not None and m.review_status == REVIEW_APPROVED and m.deleted_at is None


def effective_status(m: Merchant) -> str:
    """The business state buyers see: a deleted or unapproved merchant is shut."""
    return m.status if is_live(m) else SHUT


#: a merchant id no shop has, built into the shop page's URL once per request
_PROBE = 987654321


def shop_url(merchant_id: int) -> str:
    """The shop page's URL: built once per request (with an id no shop
    has, the URL split around it), then the id put in between: a checkout
    of several merchants built one per merchant (issue 20). The build is
    the templates' ``url_for`` (the kernel's remembers a URL per app and
    address: no Werkzeug rule build per request; Flask's own elsewhere)."""
    if has_request_context():
        memo = request._get_current_object().__dict__  # (the request's: an app context may outlive it)
        parts = memo.get("_multistore_shop_url")
        if parts is None:
            build = current_app.jinja_env.globals.get("url_for", url_for)
            parts = memo["_multistore_shop_url"] = build("multistore.shop_page", merchant_id=_PROBE).split(str(_PROBE))
        if len(parts) == 2 and merchant_id.__class__ is int:
            return f"{parts[0]}{merchant_id}{parts[1]}"
        return url_for("multistore.shop_page", merchant_id=merchant_id)
    return f"/shops/{merchant_id}"


# --- Kernel hooks: what buyers see --------------------------------------------


_PROFILE = ("name", "logo", "status", "review_status", "deleted_at", "category")
_HELD_KEYS = ("id", *_PROFILE)
_HELD = frozenset(_HELD_KEYS)
#: a held merchant's profile row, ``(id, *_PROFILE)``, from its instance's dict (loaded: :func:`_held_merchants`)
_held_row = operator.itemgetter(*_HELD_KEYS)


def _held_merchants(ids) -> dict[int, Merchant]:
    """The merchants of ``ids`` this request's session already holds loaded
    (the product page's loader read them): no statement for those."""
    out = {}
    identity_map = db.session().identity_map
    if not identity_map:
        return out
    for mid in ids:
        m = identity_map.get(identity_key(Merchant, mid))
        # loaded = in the instance's dict (an expired or deferred attribute is not)
        if m is not None and _HELD.issubset(m.__dict__):
            out[mid] = m
    return out


@hookimpl
def product_page_loaders(product):
    """The product's merchant, read with the page: ``seller_profiles`` and
    ``purchase_blockers`` then find it in the session (no statement)."""
    from jishi.hookspecs import PageLoader

    if product.seller_id is None:
        return None
    return [PageLoader("multistore.merchant", _merchant_query(), {"seller_id": product.seller_id})]


@hookimpl
def purchase_loaders(user):
    """The product's merchant, read within the cart's read of the SKU
    (``purchase_blockers`` then finds it in the session)."""
    from jishi.hookspecs import PageLoader

    return [PageLoader("multistore.merchant", _merchant_query(), {})]


@functools.cache
def _merchant_query():
    """The page loader's query, declared once (``PageLoader.params``)."""
    return select(Merchant).where(Merchant.id == bindparam("seller_id"))


@functools.cache
def merchants_query():
    """The checkout loader's query of the lines' merchants, declared once
    (an expanding ``seller_ids``)."""
    return select(Merchant).where(Merchant.id.in_(bindparam("seller_ids", expanding=True)))


@hookimpl
def storefront_links():
    """店铺街 from the home page, header and tab bar."""
    return [
        StorefrontLink(_("Shop street"), "multistore.shops", icon="🏬", sort=20, places=("home", "header", "tabbar"))
    ]


@hookimpl
def seller_profiles(seller_ids):
    """One query for all ``seller_ids`` not already loaded (MS5, MS8)."""
    held = _held_merchants(seller_ids)
    rows = [_held_row(m.__dict__) for m in held.values()]  # (each value loaded: what the attribute gives)
    rest = [i for i in seller_ids if i not in held]
    if rest:
        rows += db.session.execute(
            select(
                Merchant.id,
                Merchant.name,
                Merchant.logo,
                Merchant.status,
                Merchant.review_status,
                Merchant.deleted_at,
                Merchant.category,
            ).where(Merchant.id.in_(rest))
        ).all()
    labels: dict[str, str] | None = None  # translated only when a seller is not open (the usual case costs none)
    out: dict[int, SellerProfile] = {}
    for mid, name, logo, status, review, deleted_at, category in rows:
        live = review == REVIEW_APPROVED and deleted_at is None
        state = status if live else SHUT
        if state != OPEN and labels is None:
            labels = status_labels()
        out[mid] = SellerProfile(
            id=mid,
            name=name,
            url=shop_url(mid),
            logo=logo or "",
            status=state,
            status_label=labels.get(state, "") if labels is not None else "",
            can_sell=live and state == OPEN,
            category=category or "",
        )
    return out


def hidden_merchant_ids():
    """SELECT of the merchants whose products buyers must not see."""
    return select(Merchant.id).where(
        or_(Merchant.deleted_at.is_not(None), Merchant.review_status != REVIEW_APPROVED, Merchant.status == SHUT)
    )


@functools.cache
def _visible_conditions() -> tuple:
    from jishi.catalog.models import Product

    return (or_(Product.seller_id.is_(None), Product.seller_id.not_in(hidden_merchant_ids())),)


@hookimpl
def product_filters(context):
    """Hide products of shut, deleted or unapproved merchants: one condition
    ANDed into the kernel's single listing statement (MS5). Built once, so
    the kernel's statement cache keeps hitting (the state is read by SQL)."""
    return list(_visible_conditions())


@hookimpl
def purchase_blockers(product, user):
    """A resting or closed-for-today merchant's products are shown but cannot
    be bought (MS5)."""
    seller_id = getattr(product, "seller_id", None)
    if seller_id is None:
        return None
    rows = purchase_rows(product)
    m = rows[0] if rows is not None else db.session.get(Merchant, seller_id)
    if m is None:
        return None
    state = effective_status(m)
    if state == RESTING:
        return [Problem("merchant_resting", _("The shop is resting"))]  # 商家休息中
    if state == CLOSED_TODAY:
        return [Problem("merchant_closed_today", _("The shop has closed for today"))]  # 已打烊
    if state == SHUT:
        return [Problem("merchant_closed", _("The shop is closed"))]  # 已关闭
    return None


def purchase_rows(product) -> tuple | None:
    """``(merchant, review state)`` of ``product`` (either None when
    missing) for the two ``purchase_blockers`` (this module's and
    :mod:`jishi_multistore.products`'), read in ONE statement once per
    request: adding to the cart read them with two. None when the
    product page's loaders put them in the session already (the callers
    then find them there by primary key, with no statement)."""
    if not has_request_context():
        return None
    cache = g.setdefault("multistore_purchase_rows", {})
    if product.id not in cache:
        loaded = catalog.product_loaded(product.id)
        merchant = loaded.first("multistore.merchant") if loaded is not None else None
        if merchant is not None and "multistore.product_state" in loaded:
            # both read with the product page (session instances): no look-up by primary key
            cache[product.id] = (merchant, loaded.first("multistore.product_state"))
        elif identity_key(Merchant, product.seller_id) in db.session().identity_map:
            cache[product.id] = None
        else:
            row = db.session.execute(
                select(Merchant, ProductState)
                .outerjoin(ProductState, ProductState.product_id == product.id)
                .where(Merchant.id == product.seller_id)
            ).first()
            cache[product.id] = (row[0], row[1]) if row is not None else (None, None)
    return cache[product.id]


def shop_page_notice(m: Merchant) -> str:
    """What the shop page says about a merchant that is not open (MS5)."""
    state = effective_status(m)
    if state == CLOSED_TODAY:
        return _("This shop has closed for today, have a look at others")  # 该商户已打烊,看看其他吧
    if state == SHUT:
        return _("This shop is closed, have a look at others")  # 该商户已关闭,看看其他吧
    if state == RESTING:
        return _("The shop is resting")  # 商家休息中
    return ""


# --- Menus --------------------------------------------------------------------


@hookimpl
def seller_scope(user, via):
    """Merchant staff act for their merchant on every plugin's seller pages
    and API; the platform's read-only view of a merchant counts on pages
    only (``via="console"``)."""
    from jishi.hookspecs import SellerScope

    from jishi_multistore.principal import MERCHANT_ADMIN, all_permissions, current_principal

    p = current_principal(allow_platform_view=(via == "console"))
    if p is None:
        return None
    return SellerScope(
        seller_id=p.merchant.id,
        name=p.merchant.name,
        role=p.role,
        permissions=p.permissions if p.role == "clerk" else frozenset({*all_permissions(), MERCHANT_ADMIN}),
        read_only=p.read_only,
        console="merchant",
        layout="multistore/merchant/base.html",
    )


@hookimpl
def permissions():
    """The platform's multistore rights (seed 000 §9: 商户管理, 佣金设置)."""
    from jishi.hookspecs import Permission

    return [
        Permission("merchants", _("Merchants"), consoles=("platform",), sort=90),  # 商户管理
        Permission("commission", _("Commission settings"), consoles=("platform",), sort=91),  # 佣金设置
    ]


@hookimpl
def console_menu_items(console, principal):
    return [
        MenuItem(
            _("Merchants"),
            "multistore_admin.merchants",
            console="platform",
            permission="merchants",
            sort=80,
            group="merchants",
        ),  # 子商户管理
        MenuItem(
            _("Announcements"),
            "multistore_admin.announcements",
            console="platform",
            permission="merchants",
            sort=84,
            group="merchants",
        ),  # 公告
        MenuItem(_("Dashboard"), "merchant.dashboard", console="merchant", sort=0),
        MenuItem(
            _("Shop profile"), "merchant.profile", console="merchant", sort=80, permission="settings", group="settings"
        ),  # 商铺详情
        MenuItem(
            _("Staff"), "merchant.staff", console="merchant", sort=85, permission="merchant_admin", group="settings"
        ),  # 店员
        MenuItem(
            _("Staff roles"),
            "merchant.roles",
            console="merchant",
            sort=86,
            permission="merchant_admin",
            group="settings",
        ),  # 角色
    ]


# --- Platform management (MS4) ------------------------------------------------

MAX_ID = 2**31 - 1
LIST_STATUSES = BUSINESS_STATES + ("deleted",)


def _like(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def platform_query(q: str | None = None, status: str | None = None):
    """Approved merchants (applications are listed by onboarding); deleted
    ones only with ``status="deleted"``."""
    stmt = select(Merchant).where(Merchant.review_status == REVIEW_APPROVED)
    if status == "deleted":
        stmt = stmt.where(Merchant.deleted_at.is_not(None))
    else:
        stmt = stmt.where(Merchant.deleted_at.is_(None))
        if status:
            if status not in BUSINESS_STATES:
                raise MerchantError("status", _("Unknown status."))
            stmt = stmt.where(Merchant.status == status)
    q = (q or "").strip()
    if q:
        stmt = stmt.where(Merchant.name.like(_like(q), escape="\\"))
    return stmt


def list_for_platform(q=None, status=None, after_id=None, limit=50) -> tuple[list[Merchant], int | None]:
    stmt = platform_query(q, status).order_by(Merchant.id.desc())
    if after_id:
        stmt = stmt.where(Merchant.id < after_id)
    rows = db.session.execute(stmt.limit(limit + 1)).scalars().all()
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)


def get_merchant(merchant_id: int, *, include_deleted: bool = True, approved: bool = True) -> Merchant | None:
    if not (1 <= merchant_id <= MAX_ID):
        return None
    m = db.session.get(Merchant, merchant_id)
    if (
        m is None
        or (approved and m.review_status != REVIEW_APPROVED)
        or (not include_deleted and m.deleted_at is not None)
    ):
        return None
    return m


def set_state(
    m: Merchant, *, status: str | None = None, stars: int | None = None, clear_stars: bool = False
) -> Merchant:
    """The platform sets the business state and overrides the stars (1–5);
    ``clear_stars`` drops the override: the stars computed from ratings again."""
    if m.deleted_at is not None:
        raise MerchantError("status", _("This merchant has been deleted."), code="conflict")
    if status is not None:
        if status not in BUSINESS_STATES:
            raise MerchantError("status", _("Unknown status."))
        m.status = status
    from jishi_multistore import ratings

    if clear_stars:
        ratings.set_override(m, None)
    elif stars is not None:
        ratings.set_override(m, stars)
    return m


def delete_merchant(m: Merchant, actor=None) -> dict:
    """Soft-delete a merchant (MS4), in one transaction:

    - ``deleted_at`` is set; its members lose console access (their
      memberships are removed, so they may join or open another shop);
    - its products go off shelf (and vanish from the storefront);
    - its unpaid orders are cancelled through the order state machine
      (actor ``system``), giving their stock back;
    - paid, shipped and received orders stay as they are, for the platform
      to handle; the ledger is untouched.

    Returns counts ``{"products": n, "orders_closed": n}``.
    """
    from jishi.catalog.models import Product
    from jishi.orders import state
    from jishi.orders.models import Order, PaymentOrder
    from jishi.orders.service import release_order_stock

    now = utcnow()
    won = db.session.execute(
        update(Merchant)
        .where(Merchant.id == m.id, Merchant.deleted_at.is_(None))
        .values(deleted_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if won != 1:
        raise MerchantError(None, _("This merchant has already been deleted."), code="conflict")
    products = db.session.execute(
        update(Product)
        .where(Product.seller_id == m.id, Product.on_shelf.is_(True))
        .values(on_shelf=False, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    orders = (
        db.session.execute(
            select(Order).where(Order.seller_id == m.id, Order.status == state.PENDING).order_by(Order.id)
        )
        .scalars()
        .all()
    )
    payment_ids = set()
    for order in orders:
        state.transition(
            order,
            "cancel",
            actor=actor,
            actor_kind="system",
            note=N_("closed: the merchant was deleted"),
            reason="merchant_deleted",
        )
        order.close_reason = "merchant_deleted"
        release_order_stock(order, "closed")
        payment_ids.add(order.payment_id)
    for pid in payment_ids:
        still_open = db.session.execute(
            select(func.count()).select_from(Order).where(Order.payment_id == pid, Order.status != state.CLOSED)
        ).scalar_one()
        if not still_open:
            db.session.execute(
                update(PaymentOrder)
                .where(PaymentOrder.id == pid, PaymentOrder.status == "pending")
                .values(status="closed")
            )
    db.session.execute(delete(MerchantMember).where(MerchantMember.merchant_id == m.id))
    db.session.expire(m)
    commit()
    return {"products": products, "orders_closed": len(orders)}


EXPORT_COLUMNS = (
    "id",
    "name",
    "category",
    "status",
    "stars",
    "owner_phone",
    "service_phone",
    "address",
    "lat",
    "lng",
    "avg_spend",
    "hours",
    "approved_at",
    "deleted_at",
)


def export_rows(q=None, status=None):
    from jishi.accounts.models import User
    from jishi.money import fen_to_yuan_str

    stmt = platform_query(q, status).order_by(Merchant.id)
    result = db.session.execute(stmt.execution_options(yield_per=500)).scalars()
    phones: dict[int, str] = {}
    batch: list[Merchant] = []

    def flush():
        ids = {m.owner_id for m in batch} - phones.keys()
        if ids:
            phones.update(db.session.execute(select(User.id, User.phone).where(User.id.in_(ids))).all())
        for m in batch:
            yield [
                m.id,
                m.name,
                m.category,
                "deleted" if m.deleted_at else m.status,
                m.stars,
                phones.get(m.owner_id, ""),
                m.service_phone,
                m.address,
                "" if m.lat is None else m.lat,
                "" if m.lng is None else m.lng,
                "" if m.avg_spend is None else fen_to_yuan_str(m.avg_spend),
                m.hours,
                to_shop_time(m.approved_at).strftime("%Y-%m-%d %H:%M:%S") if m.approved_at else "",
                to_shop_time(m.deleted_at).strftime("%Y-%m-%d %H:%M:%S") if m.deleted_at else "",
            ]
        batch.clear()

    for m in result:
        batch.append(m)
        if len(batch) >= 500:
            yield from flush()
    yield from flush()


def export_csv(q=None, status=None) -> bytes:
    buf = io.StringIO()
    buf.write("\ufeff")  # Excel opens UTF-8 CSV with a BOM correctly
    writer = csv.writer(buf)
    writer.writerow(EXPORT_COLUMNS)
    for row in export_rows(q, status):
        writer.writerow(csv_row(row))  # (a shop's name is its merchant's text: no formula)
    return buf.getvalue().encode("utf-8")


def export_xlsx(q=None, status=None) -> bytes:
    return xlsx_bytes("merchants", EXPORT_COLUMNS, export_rows(q, status))


# --- Shop profile (MS6) -------------------------------------------------------

HOURS_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-(([01]\d|2[0-3]):[0-5]\d|24:00)$")
PROFILE_TEXT = {  # field -> max length
    "name": 60,
    "category": 40,
    "logo": 300,
    "intro": 5000,
    "hours": 40,
    "address": 200,
    "service_phone": 30,
    "service_wechat": 60,
    "announcement": 100,
    "return_address": 200,
    "return_recipient": 40,
    "return_phone": 30,
}
PROFILE_FIELDS = tuple(PROFILE_TEXT) + ("images", "avg_spend", "lat", "lng", "returns_enabled", "fields")
MAX_IMAGES = 9


def _num(value, field: str, lo: float, hi: float) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise MerchantError(field, _("Enter a number."))
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise MerchantError(field, _("Enter a number.")) from None
    if not math.isfinite(number) or not lo <= number <= hi:
        raise MerchantError(field, _("Must be between %(lo)s and %(hi)s.", lo=lo, hi=hi))
    return number


def update_profile(m: Merchant, data: dict) -> Merchant:
    """The merchant admin edits its shop (MS6). Every field is checked before
    anything is written; the business state and stars are not editable here."""
    unknown = set(data) - set(PROFILE_FIELDS)
    if unknown:
        raise MerchantError(sorted(unknown)[0], _("This field cannot be changed here."))
    values: dict = {}
    for key, limit in PROFILE_TEXT.items():
        if key not in data:
            continue
        value = data[key]
        if not isinstance(value, str):
            raise MerchantError(key, _("Enter text."))
        value = value.strip()
        if len(value) > limit:
            if key == "announcement":
                raise MerchantError(key, _("The announcement is limited to 100 characters."))  # 限制100字符
            raise MerchantError(key, _("At most %(n)d characters.", n=limit))
        values[key] = value
    if "name" in values and not values["name"]:
        raise MerchantError("name", _("The shop needs a name."))
    if "hours" in values:
        if not values["hours"]:
            values["hours"] = "00:00-24:00"
        elif not HOURS_RE.match(values["hours"]):
            raise MerchantError("hours", _("Business hours look like 09:00-21:30."))
    if "images" in data:
        images = data["images"]
        if (
            not isinstance(images, list)
            or len(images) > MAX_IMAGES
            or not all(isinstance(i, str) and 0 < len(i.strip()) <= 300 for i in images)
        ):
            raise MerchantError("images", _("Up to %(n)d image addresses of at most 300 characters.", n=MAX_IMAGES))
        values["images"] = [i.strip() for i in images]
    # Addresses of the media library must be the merchant's own media.
    if values.get("logo"):
        values["logo"] = media.resolve_urls([values["logo"]], m.id, "logo")[0]
    if values.get("images"):
        values["images"] = media.resolve_urls(values["images"], m.id, "images")
    if "avg_spend" in data:
        spend = data["avg_spend"]
        if spend is not None and (isinstance(spend, bool) or not isinstance(spend, int) or not 0 <= spend <= 10**9):
            raise MerchantError("avg_spend", _("The average spend is an amount in fen."))
        values["avg_spend"] = spend
    if "lat" in data or "lng" in data:
        lat = _num(data.get("lat", m.lat), "lat", -90, 90)
        lng = _num(data.get("lng", m.lng), "lng", -180, 180)
        if (lat is None) != (lng is None):
            raise MerchantError("lat" if lat is None else "lng", _("Give both latitude and longitude, or neither."))
        values["lat"], values["lng"] = lat, lng
    if "returns_enabled" in data:
        if not isinstance(data["returns_enabled"], bool):
            raise MerchantError("returns_enabled", _("Choose on or off."))
        values["returns_enabled"] = data["returns_enabled"]
    if "fields" in data:
        values["fields"] = _edited_fields(m, data["fields"])
    for key, value in values.items():
        setattr(m, key, value)
    return m


def _edited_fields(m: Merchant, answers) -> dict:
    """Application answers the merchant may change: only ``editable`` ones."""
    if not isinstance(answers, dict):
        raise MerchantError("fields", _("Invalid application fields."))
    defs = {f.key: f for f in db.session.execute(select(ApplicationField)).scalars()}
    merged = dict(m.fields or {})
    for key, value in answers.items():
        d = defs.get(key)
        if d is None:
            raise MerchantError(f"fields.{key}", _("Unknown field."))
        if not d.editable:
            raise MerchantError(f"fields.{key}", _("%(label)s cannot be changed after approval.", label=d.label))
        if not isinstance(value, str) or len(value) > 500:
            raise MerchantError(f"fields.{key}", _("At most %(n)d characters.", n=500))
        value = value.strip()
        if d.required and not value:
            raise MerchantError(f"fields.{key}", _("%(label)s is required.", label=d.label))
        merged[key] = value
    return merged


# --- Buyers' merchant list (MS13) ---------------------------------------------

EARTH_RADIUS_M = 6371008.8
SHOP_SORTS = ("newest", "name", "distance")
# Radii (km) of the bounding boxes tried in turn by the distance sort, until
# one holds a full page; None: no box (the far end of the list). Doubling
# keeps each box's rows close to a page whatever the density: a small box
# costs little, a box holding many more merchants than a page costs sorting.
RADII_KM = (1, 2, 4, 8, 16, 32, 64, 128, 512, 2048, None)
LISTED_COLUMNS = (
    Merchant.id,
    Merchant.name,
    Merchant.stars,
    Merchant.rating_x10,
    Merchant.rating_count,
    Merchant.avg_spend,
    Merchant.hours,
    Merchant.category,
    Merchant.address,
    Merchant.lat,
    Merchant.lng,
    Merchant.logo,
    Merchant.status,
    Merchant.approved_at,
)


def listed(*, geo: bool = False):
    """Merchants buyers may see in lists: approved, not deleted, not shut.

    ``geo``: the terms are written ``column || ''`` so that no planner
    (SQLite's especially) picks the listing index over the (lat, lng) index
    of the distance sort's bounding box."""
    review, status = (
        (Merchant.review_status + "", Merchant.status + "") if geo else (Merchant.review_status, Merchant.status)
    )
    return and_(review == REVIEW_APPROVED, status.in_((OPEN, RESTING, CLOSED_TODAY)), Merchant.deleted_at.is_(None))


def distance_sql(lat: float, lng: float):
    """Great-circle distance in metres from (lat, lng), computed by the
    database (haversine; sin/cos/asin/sqrt exist in PostgreSQL and in SQLite
    builds with math functions, registered by :func:`sqlite_math` otherwise)."""
    rad = math.pi / 180
    half_dlat = (Merchant.lat - lat) * (rad / 2)
    half_dlng = (Merchant.lng - lng) * (rad / 2)
    a = func.sin(half_dlat) * func.sin(half_dlat) + literal(math.cos(lat * rad)) * func.cos(
        Merchant.lat * rad
    ) * func.sin(half_dlng) * func.sin(half_dlng)
    return literal(2 * EARTH_RADIUS_M) * func.asin(func.sqrt(a))


LAT_STRIPS_PER_DEGREE = 100
MAX_STRIPS = 64  # wider boxes filter on the (lat, lng) index instead


def lat_strip(lat: float | None) -> int | None:
    return None if lat is None else math.floor(lat * LAT_STRIPS_PER_DEGREE)


@event.listens_for(Merchant, "before_insert")
@event.listens_for(Merchant, "before_update")
def _keep_strip(mapper, connection, target) -> None:
    target.lat_strip = lat_strip(target.lat)


def _bbox(lat: float, lng: float, km: float):
    dlat = km / 111.19
    conditions = [Merchant.lat.between(lat - dlat, lat + dlat)]
    lo, hi = lat_strip(lat - dlat), lat_strip(lat + dlat)
    if hi - lo + 1 <= MAX_STRIPS:
        # An IN list on the strip column: the (lat_strip, lng) index is
        # sought once per strip, scanning only the box's longitudes, so the
        # work grows with the merchants in the box, not with all merchants.
        conditions.append(Merchant.lat_strip.in_(list(range(lo, hi + 1))))
    coslat = math.cos(math.radians(lat))
    if abs(lat) + dlat < 89 and coslat > 0.01:
        dlng = km / (111.19 * coslat)
        if -180 <= lng - dlng and lng + dlng <= 180:
            conditions.append(Merchant.lng.between(lng - dlng, lng + dlng))
    return conditions


def encode_cursor(values: list) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> list:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        ok = (
            isinstance(raw, list)
            and len(raw) == 3
            and raw[0] == sort
            and isinstance(raw[2], int)
            and 0 < raw[2] <= MAX_ID
        )
        if ok and sort == "distance":
            ok = (
                isinstance(raw[1], (int, float))
                and not isinstance(raw[1], bool)
                and math.isfinite(raw[1])
                and raw[1] >= 0
            )
        elif ok:
            ok = isinstance(raw[1], str) and len(raw[1]) <= 100
        if ok and sort == "newest":
            datetime.fromisoformat(raw[1])
    except (ValueError, TypeError):
        ok = False
    if not ok:
        raise MerchantError("cursor", _("Invalid cursor."))
    return raw


def list_shops(
    *,
    sort: str = "newest",
    lat: float | None = None,
    lng: float | None = None,
    q: str | None = None,
    category: str | None = None,
    cursor: str | None = None,
    limit: int = 20,
) -> tuple[list[dict], str | None]:
    """One page of the buyers' merchant list and the next page's cursor.

    ``distance`` needs the visitor's ``lat``/``lng`` and lists merchants
    with a location, nearest first: each round filters a bounding box of
    :data:`RADII_KM` on the ``(lat, lng)`` index, computes the exact distance
    in SQL and keeps rows within the radius, widening only when the page is
    not full. One statement per round — usually one in all.
    """
    if sort not in SHOP_SORTS:
        raise MerchantError("sort", _("Unknown sort order."))
    if not 1 <= limit <= 100:
        raise MerchantError("limit", _("The page size must be 1 to 100."))
    if (lat is None) != (lng is None):
        raise MerchantError("lat" if lat is None else "lng", _("Give both latitude and longitude, or neither."))
    if lat is not None:
        _num(lat, "lat", -90, 90)
        _num(lng, "lng", -180, 180)
    if sort == "distance" and lat is None:
        raise MerchantError("lat", _("Sorting by distance needs your location."))
    key = decode_cursor(cursor, sort) if cursor else None
    base = [listed(geo=sort == "distance")]
    q = (q or "").strip()
    if q:
        base.append(Merchant.name.like(_like(q[:60]), escape="\\"))
    if category:
        base.append(Merchant.category == category[:40])
    dist = distance_sql(lat, lng) if lat is not None else None
    if sort == "distance":
        rows = _distance_rows(base, dist, key, lat, lng, limit)
    else:
        cols = LISTED_COLUMNS + ((dist.label("distance"),) if dist is not None else (literal(None).label("distance"),))
        stmt = select(*cols).where(*base)
        if sort == "newest":
            if key:
                at = datetime.fromisoformat(key[1])
                stmt = stmt.where(
                    or_(Merchant.approved_at < at, and_(Merchant.approved_at == at, Merchant.id < key[2]))
                )
            stmt = stmt.order_by(Merchant.approved_at.desc(), Merchant.id.desc())
        else:
            if key:
                stmt = stmt.where(or_(Merchant.name > key[1], and_(Merchant.name == key[1], Merchant.id > key[2])))
            stmt = stmt.order_by(Merchant.name, Merchant.id)
        rows = db.session.execute(stmt.limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more:
        last = rows[-1]
        if sort == "distance":
            next_cursor = encode_cursor(["distance", float(last.distance), last.id])
        elif sort == "newest":
            next_cursor = encode_cursor(["newest", last.approved_at.isoformat(), last.id])
        else:
            next_cursor = encode_cursor(["name", last.name, last.id])
    return [_shop_item(r) for r in rows], next_cursor


def _distance_rows(base, dist, key, lat, lng, limit):
    d = dist.label("distance")
    after = None
    if key:
        after = or_(dist > key[1], and_(dist == key[1], Merchant.id > key[2]))
    rows: list = []
    for km in RADII_KM:
        if key and km is not None and km * 1000 < key[1]:
            continue  # the cursor is already beyond this radius
        stmt = select(*LISTED_COLUMNS, d).where(*base, Merchant.lat.is_not(None), Merchant.lng.is_not(None))
        if km is not None:
            stmt = stmt.where(*_bbox(lat, lng, km), dist <= km * 1000)
        if after is not None:
            stmt = stmt.where(after)
        rows = db.session.execute(stmt.order_by(d, Merchant.id).limit(limit + 1)).all()
        if len(rows) > limit:
            break
    return rows


def rating_text(x10: int | None) -> str:
    """An average rating × 10 as buyers read it ("4.3"; "" without ratings)."""
    return "" if x10 is None else f"{x10 // 10}.{x10 % 10}"


def format_distance(metres: float | None) -> str:
    if metres is None:
        return ""
    if metres < 1000:
        return f"{round(metres)}m"
    return f"{metres / 1000:.1f}km"


def _shop_item(r) -> dict:
    distance = getattr(r, "distance", None)
    return {
        "id": r.id,
        "name": r.name,
        "stars": r.stars,
        "rating": rating_text(r.rating_x10),
        "rating_count": r.rating_count,
        "avg_spend": r.avg_spend,
        "hours": r.hours,
        "category": r.category,
        "address": r.address,
        "lat": r.lat,
        "lng": r.lng,
        "logo": r.logo,
        "status": r.status,
        "status_label": status_labels().get(r.status, ""),
        "url": shop_url(r.id),
        "joined_at": r.approved_at,
        "distance_m": None if distance is None else round(distance),
        "distance_text": format_distance(distance),
    }


def shop_for_buyer(merchant_id: int) -> Merchant | None:
    """The shop page's merchant: any approved one (a closed or deleted shop
    still answers, with its notice, so that old links explain themselves)."""
    return get_merchant(merchant_id, include_deleted=True, approved=True)


def categories() -> list[str]:
    """Distinct categories of listed merchants (for the list's filter)."""
    return list(
        db.session.execute(
            select(Merchant.category)
            .where(listed(), Merchant.category != "")
            .distinct()
            .order_by(Merchant.category)
            .limit(100)
        ).scalars()
    )


# --- SQLite math (MS13) --------------------------------------------------------


def sqlite_math(dbapi_connection) -> None:
    """Give a SQLite connection sin/cos/asin/sqrt if its build lacks them."""
    try:
        dbapi_connection.execute("SELECT sin(0), cos(0), asin(0), sqrt(1)").fetchall()
        return
    except Exception:  # noqa: S110 - the functions are missing: define them below
        pass

    def safe(fn):
        def call(x):
            return None if x is None else fn(x)

        return call

    for name, fn in (
        ("sin", math.sin),
        ("cos", math.cos),
        ("asin", lambda x: math.asin(max(-1.0, min(1.0, x)))),
        ("sqrt", lambda x: math.sqrt(max(0.0, x))),
    ):
        dbapi_connection.create_function(name, 1, safe(fn), deterministic=True)


@hookimpl
def app_ready(app):
    from flask import g
    from sqlalchemy import event

    @app.before_request
    def _fresh_principal():
        # The merchant principal is cached on ``g``; tests run many requests
        # in one app context, where a membership granted between two
        # requests (an approval) must be seen by the next one.
        g.pop("multistore_principal", None)

    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _math(dbapi_connection, connection_record):  # pragma: no cover - depends on the SQLite build
        sqlite_math(dbapi_connection)


# --- Announcements (MS15) -----------------------------------------------------


def save_announcement(data: dict, announcement: Announcement | None = None) -> Announcement:
    title = data.get("title", announcement.title if announcement else None)
    body = data.get("body", announcement.body if announcement else "")
    if not isinstance(title, str) or not title.strip():
        raise MerchantError("title", _("The announcement needs a title."))
    if len(title.strip()) > 100:
        raise MerchantError("title", _("At most %(n)d characters.", n=100))
    if not isinstance(body, str) or len(body) > 5000:
        raise MerchantError("body", _("At most %(n)d characters.", n=5000))
    if announcement is None:
        announcement = Announcement(title=title.strip(), body=body.strip())
        db.session.add(announcement)
    else:
        announcement.title, announcement.body = title.strip(), body.strip()
    db.session.flush()
    return announcement


def announcements(limit: int = 50) -> list[Announcement]:
    return db.session.execute(select(Announcement).order_by(Announcement.id.desc()).limit(limit)).scalars().all()


# --- Staff (MS17) -------------------------------------------------------------


def staff(m: Merchant) -> list[MerchantMember]:
    return (
        db.session.execute(select(MerchantMember).where(MerchantMember.merchant_id == m.id).order_by(MerchantMember.id))
        .scalars()
        .all()
    )


def role_holders(m: Merchant) -> dict[int, int]:
    """``role id -> how many of m's staff hold it`` (roles nobody holds are
    absent), in one query."""
    from sqlalchemy import func

    q = (
        select(MerchantMember.role_id, func.count(MerchantMember.id))
        .where(MerchantMember.merchant_id == m.id, MerchantMember.role_id.is_not(None))
        .group_by(MerchantMember.role_id)
    )
    return {role_id: int(n) for role_id, n in db.session.execute(q).all()}


def set_member_role(m: Merchant, member_id, role_id) -> MerchantMember:
    """Give clerk ``member_id`` of ``m`` the role ``role_id`` of ``m`` (None:
    the default clerk permissions). Another merchant's clerk or role is
    unknown (404 / 422 naming ``role_id``); the admin has no role."""
    from jishi.roles import get_role

    member = db.session.get(MerchantMember, member_id) if isinstance(member_id, int) else None
    if member is None or member.merchant_id != m.id:
        raise MerchantError("member_id", _("No such clerk."), code="not_found", status=404)
    if member.role != ROLE_CLERK:
        raise MerchantError("member_id", _("The shop admin holds every permission."), code="conflict")
    if role_id is None:
        member.role_id = None
    else:
        role = get_role(role_id, m.id)
        if role is None:
            raise MerchantError("role_id", _("No such role."))
        member.role_id = role.id
    db.session.flush()
    return member


def add_clerk(m: Merchant, phone) -> MerchantMember:
    """Add an existing user, found by phone, as a clerk of ``m``."""
    from jishi.accounts.models import User

    phone = phone.strip() if isinstance(phone, str) else ""
    if not phone or len(phone) > 20:
        raise MerchantError("phone", _("Enter the clerk's phone number."))
    user = db.session.execute(select(User).where(User.phone == phone)).scalar_one_or_none()
    if user is None:
        raise MerchantError("phone", _("No user has this phone number."), code="not_found", status=422)
    taken = db.session.execute(select(MerchantMember.id).where(MerchantMember.user_id == user.id)).first()
    owns = db.session.execute(
        select(Merchant.id).where(Merchant.owner_id == user.id, Merchant.deleted_at.is_(None), Merchant.id != m.id)
    ).first()
    if taken or owns:
        raise MerchantError("phone", _("This user already belongs to a shop."), code="conflict")
    if getattr(user, "is_platform", False):
        raise MerchantError("phone", _("Platform staff cannot be clerks of a shop."), code="conflict")
    member = MerchantMember(merchant_id=m.id, user_id=user.id, role=ROLE_CLERK)
    db.session.add(member)
    db.session.flush()
    return member


def remove_clerk(m: Merchant, member_id: int) -> None:
    member = db.session.get(MerchantMember, member_id) if 1 <= member_id <= MAX_ID else None
    if member is None or member.merchant_id != m.id:
        raise MerchantError(None, _("Not found: %(what)s", what=_("clerk")), code="not_found", status=404)
    if member.role == ROLE_ADMIN:
        raise MerchantError(None, _("The shop's admin cannot be removed."), code="conflict")
    db.session.delete(member)
    db.session.flush()
