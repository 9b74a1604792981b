"""Cross-store cart and checkout, merchant orders (MS8–MS10).

- :func:`split_cart`: one group per merchant (``seller:<id>``), titled
  with the shop's name and tagged with its business state; the platform's
  own products (``seller_id`` None) form the self-operated group ``shop``.
- :func:`validate_checkout`: lines of a merchant that cannot sell now
  (resting, closed for the day, shut, deleted) stop the checkout, one
  problem per line naming the line and its group.
- :func:`order_notices`: the order-center notices of a shut merchant's
  orders awaiting shipment or receipt (MS5).
- Merchant orders (MS10): list/filter, ship (one or a batch), status moves as
  actor ``seller``, packing slips, exports; the platform's view of every
  merchant order with "move to completed" and "close".

Allocation (MS9) is the kernel's: every platform-funded discount is spread
over all lines of the checkout (so across merchant orders) by largest
remainder and stored per line as ``OrderAllocation`` rows; the kernel keeps
seller-funded discounts inside that seller's lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from jishi import settings
from jishi.accounts.models import User
from jishi.catalog.service import seller_profiles
from jishi.db import db
from jishi.errors import DomainError
from jishi.hookspecs import CartGroup, MenuItem, PageLoader, Problem, hookimpl
from jishi.i18n import N_, shop_day_bounds
from jishi.i18n import gettext as _
from jishi.orders import service as orders_service
from jishi.orders import state
from jishi.orders.models import Order
from sqlalchemy import select

from jishi_multistore.merchants import merchants_query
from jishi_multistore.models import SHUT, Merchant

SELF_GROUP = "shop"


def group_key(seller_id: int | None) -> str:
    return SELF_GROUP if seller_id is None else f"seller:{seller_id}"


# --- MS8: the cart split ----------------------------------------------------


def _profiles(seller_ids) -> dict:
    return seller_profiles(seller_ids)


@hookimpl
def checkout_loaders(lines, user, options, placing):
    """The lines' merchants, read with the checkout's other rows in the
    kernel's one statement: ``split_cart`` and ``validate_checkout`` then
    find them in the session (``seller_profiles``: no statement)."""
    ids = sorted({line.seller_id for line in lines if line.seller_id is not None})
    if not ids:
        return None
    return [PageLoader("multistore.merchants", merchants_query(), {"seller_ids": ids})]


@hookimpl
def split_cart(lines, user):
    """One group per merchant in the order the lines come (self-operated
    first), with the shop's name and its state tag (one query)."""
    if not lines:
        return []
    profiles = _profiles([line.seller_id for line in lines])
    order: list[int | None] = []
    keys: dict[int | None, list[str]] = {}
    for line in lines:
        # Remembered for validate_checkout of the same checkout (no second query).
        line.seller_profile = profiles.get(line.seller_id)
        if line.seller_id not in keys:
            keys[line.seller_id] = []
            order.append(line.seller_id)
        keys[line.seller_id].append(line.key)
    order.sort(key=lambda sid: sid is not None)  # the platform's own group first
    groups = []
    for sid in order:
        if sid is None:
            title = settings.get("shop.name") or ""
            tags: tuple[str, ...] = (_("Self-operated"),)  # 自营
        else:
            profile = profiles.get(sid)
            if profile is None:
                title, tags = _("Shop %(id)s", id=sid), (_("Closed"),)  # 已关闭
            else:
                title = profile.name
                tags = (profile.status_label,) if profile.status_label and profile.status != "open" else ()
        groups.append(CartGroup(key=group_key(sid), title=title, line_keys=tuple(keys[sid]), seller_id=sid, tags=tags))
    return groups


@hookimpl
def validate_checkout(checkout):
    """A merchant that cannot sell now (resting, closed for the day, shut,
    deleted) blocks its lines: one problem per line, naming line and group."""
    missing = object()
    lines = [line for line in checkout.lines if line.seller_id is not None]
    if not lines:
        return []
    unknown = [line.seller_id for line in lines if getattr(line, "seller_profile", missing) is missing]
    fetched = _profiles(unknown) if unknown else {}
    problems = []
    for line in lines:
        profile = getattr(line, "seller_profile", missing)
        if profile is missing:
            profile = fetched.get(line.seller_id)
        if profile is not None and profile.can_sell:
            continue
        shop = profile.name if profile is not None else _("Shop %(id)s", id=line.seller_id)
        state_label = (profile.status_label if profile is not None else "") or _("not open")
        problems.append(
            Problem(
                "merchant_unavailable",
                # 商家休息中/已打烊/已关闭: 请移除该商品后再结算
                _(
                    "%(shop)s cannot take orders now (%(state)s): remove %(name)s to check out.",
                    shop=shop,
                    state=state_label,
                    name=line.name,
                ),
                field="items",
                line_key=line.key,
                group_key=line.group_key or group_key(line.seller_id),
            )
        )
    return problems


# --- Order-center notices (MS5) -----------------------------------------------

NOTICE_SHUT_PAID = N_(
    "This merchant has closed. If you have paid, contact the mall."
)  # 该商户已关闭,若已付款,请联系商家处理
NOTICE_SHUT_SHIPPED = N_(
    "This merchant has closed. If the goods do not arrive, contact the mall."
)  # 该商户已关闭,若之后未收到货,请联系商家处理


@hookimpl
def order_notices(order, principal):
    if order.seller_id is None or order.status not in (state.PAID, state.SHIPPED):
        return None
    merchant = db.session.get(Merchant, order.seller_id)  # identity map: one query per merchant
    if merchant is None or not (merchant.status == SHUT or merchant.deleted_at is not None):
        return None
    return [_(NOTICE_SHUT_PAID) if order.status == state.PAID else _(NOTICE_SHUT_SHIPPED)]


# --- Menus ------------------------------------------------------------------------


@hookimpl
def console_menu_items(console, principal):
    return [
        MenuItem(
            _("Merchant orders"),
            "multistore_admin.orders",
            console="platform",
            permission="orders",
            sort=33,
            group="orders",
        ),  # 子商户订单
        MenuItem(
            _("Orders"), "merchant.orders", console="merchant", sort=20, permission="orders", group="orders"
        ),  # 订单
        MenuItem(
            _("After-sales"), "merchant.refunds", console="merchant", sort=21, permission="aftersales", group="orders"
        ),  # 售后
    ]


# --- MS10: merchant orders ----------------------------------------------------------


class OrderNotFound(DomainError):
    def __init__(self):
        super().__init__("order_id", _("Not found: %(what)s", what=_("order")), code="not_found", status=404)


@dataclass(frozen=True)
class OrderFilter:
    status: str | None = None
    start: date | None = None
    end: date | None = None
    number: str | None = None
    phone: str | None = None
    merchant_id: int | None = None


def order_query(f: OrderFilter, *, merchant_id: int | None = None, merchants_only: bool = True):
    """Orders matching ``f``; ``merchant_id`` scopes to one merchant (always
    given for merchant staff), else every merchant order (platform)."""
    q = select(Order)
    if merchant_id is not None:
        q = q.where(Order.seller_id == merchant_id)
    elif f.merchant_id is not None:
        q = q.where(Order.seller_id == f.merchant_id)
    elif merchants_only:
        q = q.where(Order.seller_id.is_not(None))
    if f.status:
        q = q.where(Order.status == f.status)
    if f.number:
        q = q.where(Order.number == f.number.strip())
    if f.phone:
        q = q.where(Order.user_id.in_(select(User.id).where(User.phone == f.phone.strip())))
    start_at, end_at = shop_day_bounds(f.start or None, f.end or None)
    if start_at is not None:
        q = q.where(Order.created_at >= start_at)
    if end_at is not None and end_at < datetime.max:
        q = q.where(Order.created_at < end_at)
    return q


def list_orders(
    f: OrderFilter, *, merchant_id: int | None = None, cursor: int | None = None, limit: int = 20
) -> tuple[list[Order], int | None]:
    """A keyset page (id descending): (orders, next cursor)."""
    q = order_query(f, merchant_id=merchant_id).order_by(Order.id.desc()).limit(limit + 1)
    if cursor:
        q = q.where(Order.id < cursor)
    rows = list(db.session.execute(q).scalars())
    nxt = None
    if len(rows) > limit:
        rows = rows[:limit]
        nxt = rows[-1].id
    return rows, nxt


def merchant_order(merchant_id: int, order_id: int) -> Order:
    """The merchant's order, or 404 (another merchant's order is 'not found')."""
    order = db.session.get(Order, order_id) if 0 < order_id <= 2**31 - 1 else None
    if order is None or order.seller_id is None or order.seller_id != merchant_id:
        raise OrderNotFound()
    return order


def merchant_orders(merchant_id: int, ids) -> list[Order]:
    """The merchant's orders among ``ids`` (others' ids are left out), in the order asked."""
    ids = [i for i in ids if isinstance(i, int) and 0 < i <= 2**31 - 1]
    if not ids:
        return []
    found = {
        o.id: o
        for o in db.session.execute(select(Order).where(Order.id.in_(ids), Order.seller_id == merchant_id)).scalars()
    }
    return [found[i] for i in dict.fromkeys(ids) if i in found]


def platform_order(order_id: int) -> Order:
    """Any merchant order (a self-operated one is the kernel console's)."""
    order = db.session.get(Order, order_id) if 0 < order_id <= 2**31 - 1 else None
    if order is None or order.seller_id is None:
        raise OrderNotFound()
    return order


def needs_tracking(order: Order) -> bool:
    """Parcels (express, the flat-rate delivery) need carrier and tracking
    number; virtual goods, riders (local) and pickups do not."""
    return orders_service.fulfilment(order).mode == "parcel"


def fulfilments(orders) -> dict[int, object]:
    """Each order's ``Fulfilment`` (its delivery method's answer), by id."""
    return {o.id: orders_service.fulfilment(o) for o in orders}


def ship(order: Order, carrier: str, tracking_no: str, *, actor) -> None:
    """Ship one paid order as its merchant; commits, or writes nothing. A
    pickup order (never shipped) or a rider's (dispatched instead) is a 409;
    a parcel needs its carrier and tracking number (422)."""
    carrier, tracking_no = (carrier or "").strip(), (tracking_no or "").strip()
    orders_service.check_shipment(order, carrier, tracking_no)
    if len(carrier) > 40:
        raise DomainError("carrier", _("At most %(n)d characters.", n=40))
    if len(tracking_no) > 60:
        raise DomainError("tracking_no", _("At most %(n)d characters.", n=60))
    try:
        orders_service.ship(order, carrier=carrier, tracking_no=tracking_no, actor=actor, actor_kind="seller")
    except Exception:
        db.session.rollback()
        raise


def ship_batch(merchant_id: int, items, *, actor) -> list[dict]:
    """Ship several orders, each on its own (committed one by one): a bad
    item is reported and leaves its order untouched; the others ship.

    ``items``: dicts with ``order_id``, ``carrier``, ``tracking_no``.
    Returns one ``{order_id, ok, status, code, field, error}`` per item.
    """
    orders = {o.id: o for o in merchant_orders(merchant_id, [i.get("order_id") for i in items])}
    results = []
    seen = set()
    for item in items:
        oid = item.get("order_id")
        order = orders.get(oid)
        if order is None or oid in seen:
            err = (
                OrderNotFound()
                if order is None
                else DomainError("order_id", _("Listed twice."), code="duplicate", status=422)
            )
            results.append(
                {
                    "order_id": oid,
                    "ok": False,
                    "status": None,
                    "code": err.code,
                    "field": err.field,
                    "error": str(err.message),
                }
            )
            continue
        seen.add(oid)
        try:
            ship(order, item.get("carrier", ""), item.get("tracking_no", ""), actor=actor)
        except DomainError as exc:
            db.session.rollback()
            db.session.refresh(order)
            results.append(
                {
                    "order_id": oid,
                    "ok": False,
                    "status": order.status,
                    "code": exc.code,
                    "field": exc.field,
                    "error": str(exc.message),
                }
            )
            continue
        results.append(
            {"order_id": oid, "ok": True, "status": order.status, "code": None, "field": None, "error": None}
        )
    return results


# What a merchant may do to its order besides shipping (kernel transitions, actor "seller").
SELLER_MOVES = ("cancel", "receive")


def seller_moves(order: Order) -> list[str]:
    moves = [name for name in ("ship", *SELLER_MOVES) if state.can(order, name, "seller")]
    return moves


def move(order: Order, name: str, *, actor, note: str = "", carrier: str = "", tracking_no: str = "") -> None:
    """Change the status along the kernel's state machine as the merchant:
    ``ship`` (paid → shipped), ``receive`` (shipped → received, e.g. the
    buyer confirmed by phone), ``cancel`` (an unpaid order; stock goes back)."""
    note = (note or "").strip()[:200]
    if name == "ship":
        return ship(order, carrier, tracking_no, actor=actor)
    if name not in SELLER_MOVES:
        raise DomainError("name", _("Unknown status change."), code="invalid", status=422)
    try:
        if name == "cancel":
            orders_service.cancel(order, actor=actor, actor_kind="seller", note=note or N_("cancelled by the merchant"))
        else:
            orders_service.receive(order, actor=actor, actor_kind="seller", note=note)
    except Exception:
        db.session.rollback()
        raise
    return None


# --- The platform's moves -----------------------------------------------------------


def platform_complete(order: Order, *, actor) -> None:
    """Move to completed; history notes "moved to completed by the platform"."""
    try:
        orders_service.force_complete(order, actor=actor)
    except Exception:
        db.session.rollback()
        raise


def platform_close(order: Order, *, actor) -> None:
    """Close an order: an unpaid one is cancelled (stock back); a paid,
    shipped or received one is refunded in full (``close_paid``)."""
    try:
        if order.status == state.PENDING:
            orders_service.cancel(order, actor=actor, actor_kind="platform", note=N_("closed by the platform"))
        else:
            orders_service.close_paid(order, actor=actor, note=N_("closed by the platform"))
    except Exception:
        db.session.rollback()
        raise


# --- Exports and packing slips -------------------------------------------------------


def export(merchant_id: int | None, fmt: str, start: date | None, end: date | None, status: str | None):
    """(body bytes, mimetype, filename) of the orders placed in the range."""
    from jishi.reports import service as reports

    start, end = reports.report_range(start, end)  # the shop's days, not the server's
    name = f"orders-{start.isoformat()}-{end.isoformat()}"
    if fmt == "xlsx":
        body = reports.export_xlsx(start, end, status, merchant_id)
        return body, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", name + ".xlsx"
    body = ("\ufeff" + reports.export_csv(start, end, status, merchant_id)).encode("utf-8")
    return body, "text/csv", name + ".csv"


def merchant_names(ids) -> dict[int, str]:
    ids = sorted({i for i in ids if i is not None})
    if not ids:
        return {}
    return dict(db.session.execute(select(Merchant.id, Merchant.name).where(Merchant.id.in_(ids))).all())
