"""The points exchange (积分商城, issue 16): items the platform lists,
redeemed for points or points plus cash. No Flask request in here.

Items (:class:`~jishi_points.models.PointsExchangeItem`):

- ``product``: one SKU. The buyer redeems it through the kernel's checkout
  with the option ``{"points_exchange": {"item_id": N}}``: a price rule
  (:func:`price_rules`, priority 200, above flash prices) makes the line's
  unit price the item's cash part; :func:`validate` checks the item, the
  line, the buyer's points and that points deduction is not also asked; the
  order is placed, paid, delivered, cancelled and refunded like any order.
  Inside the placing transaction (:func:`place`, the ``order_placing``
  hook) the buyer's units are counted, the exchange stock taken and the
  points spent (``ledger.spend``: one conditional UPDATE); any of them
  short raises ``CheckoutError`` and nothing is placed. The SKU's own
  stock is taken by the kernel as for any order.
- ``coupon`` (with the coupons plugin): one coupon template, redeemed in
  place (:func:`redeem_coupon`): units, stock, points and the coupon
  (``jishi_coupons.service.issue``) in one transaction.

Counters move only by conditional statements::

    UPDATE points_exchange_items SET sold = sold + n WHERE id = ? AND sold + n <= stock
    INSERT INTO points_exchange_usage .. ON CONFLICT (item_id, user_id)
        DO UPDATE SET bought = bought + n WHERE bought + n <= per_user_limit

so no interleaving sells more than the stock or lets a buyer pass the limit.

Giving back (:func:`on_order_transition`, :func:`on_refund`): an unpaid
order cancelled (or an order closed) gives back everything; a refund gives
back ``quantity refunded`` units and ``points * refunded // quantity``
points, cumulatively (each refund posts the difference to what was already
given back), so several partial refunds sum exactly to the whole, and a
redelivered event gives nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from jishi.checkout.errors import CheckoutError
from jishi.db import conflict_insert, db, utcnow
from jishi.errors import DomainError
from jishi.hookspecs import PriceRule, Problem
from jishi.i18n import gettext as _
from jishi.i18n import naive_utc
from jishi.signals import plugin_enabled
from sqlalchemy import func, or_, select, update

from jishi_points import ledger
from jishi_points.ledger import Post
from jishi_points.models import (
    EXCHANGE_COUPON,
    EXCHANGE_KINDS,
    EXCHANGE_PRODUCT,
    REFUNDED,
    SOURCE_EXCHANGE,
    SOURCE_REFUND,
    SPENT,
    PointsExchangeItem,
    PointsExchangeRedemption,
    PointsExchangeUsage,
)

OPTION = "points_exchange"
PRICE_SOURCE = "points_exchange"
PRICE_PRIORITY = 200  # above every built-in price (flash 100): the exchange's price or no exchange
MAX_POINTS = 10**8
MAX_CASH = 10**9
MAX_STOCK = 10**7
MAX_LIMIT = 10000
MAX_ID = 2**31 - 1

# what :func:`state_of` answers
OFF, UPCOMING, RUNNING, ENDED, SOLD_OUT, UNAVAILABLE = "off", "upcoming", "running", "ended", "sold_out", "unavailable"


class ExchangeError(DomainError):
    """Bad input or a conflicting state (4xx naming the field)."""


class ExchangeConflict(CheckoutError):
    """The exchange stock or the buyer's limit ran out at placement (409)."""

    status = 409


def now() -> datetime:
    return utcnow()


def coupons_enabled() -> bool:
    return plugin_enabled("coupons")


# -- items ----------------------------------------------------------------------------------


def get(item_id) -> PointsExchangeItem | None:
    if not isinstance(item_id, int) or isinstance(item_id, bool) or not 0 < item_id <= MAX_ID:
        return None
    return db.session.get(PointsExchangeItem, item_id)


def visible(item: PointsExchangeItem | None) -> bool:
    """Whether buyers may see ``item`` at all: coupon items only with the
    coupons plugin enabled (the points plugin works without it)."""
    return item is not None and (item.kind != EXCHANGE_COUPON or coupons_enabled())


def state_of(item: PointsExchangeItem, at: datetime | None = None) -> str:
    """``off``, ``upcoming``, ``ended``, ``sold_out``, ``unavailable`` (its
    SKU or coupon is gone, or coupons are disabled) or ``running``."""
    at = at or now()
    if not item.enabled:
        return OFF
    if item.starts_at is not None and at < item.starts_at:
        return UPCOMING
    if item.ends_at is not None and at >= item.ends_at:
        return ENDED
    if item.kind == EXCHANGE_PRODUCT and item.sku_id is None:
        return UNAVAILABLE
    if item.kind == EXCHANGE_COUPON and not coupons_enabled():
        return UNAVAILABLE
    if item.sold >= item.stock:
        return SOLD_OUT
    return RUNNING


def _open_filter(at: datetime):
    return (
        PointsExchangeItem.enabled.is_(True),
        or_(PointsExchangeItem.ends_at.is_(None), PointsExchangeItem.ends_at > at),
    )


def listing(at: datetime | None = None, limit: int = 200) -> list[PointsExchangeItem]:
    """The items buyers see: on, not ended (upcoming ones too), coupon items
    only with coupons enabled; by ``sort`` then newest."""
    at = at or now()
    q = select(PointsExchangeItem).where(*_open_filter(at))
    if not coupons_enabled():
        q = q.where(PointsExchangeItem.kind != EXCHANGE_COUPON)
    return list(db.session.scalars(q.order_by(PointsExchangeItem.sort, PointsExchangeItem.id.desc()).limit(limit)))


def all_items(limit: int = 500) -> list[PointsExchangeItem]:
    """Every item, newest first (the console)."""
    return list(db.session.scalars(select(PointsExchangeItem).order_by(PointsExchangeItem.id.desc()).limit(limit)))


def used_units(item_id: int, user_id: int) -> int:
    return int(
        db.session.scalar(
            select(PointsExchangeUsage.bought).where(
                PointsExchangeUsage.item_id == item_id, PointsExchangeUsage.user_id == user_id
            )
        )
        or 0
    )


def used_many(item_ids, user_id: int) -> dict[int, int]:
    ids = list(item_ids)
    if not ids:
        return {}
    return dict(
        db.session.execute(
            select(PointsExchangeUsage.item_id, PointsExchangeUsage.bought).where(
                PointsExchangeUsage.user_id == user_id, PointsExchangeUsage.item_id.in_(ids)
            )
        ).all()
    )


@dataclass
class Availability:
    """What the signed-in buyer may do with an item now."""

    state: str
    remaining: int
    used: int = 0
    limit_left: int | None = None  # None: no per-buyer limit
    balance: int | None = None  # None: signed out
    can_redeem: bool = False
    reason: str = ""


def availability(item: PointsExchangeItem, user, used: int | None = None, balance: int | None = None) -> Availability:
    state = state_of(item)
    a = Availability(state=state, remaining=item.remaining)
    if user is None or not getattr(user, "is_authenticated", False):
        a.reason = _("Sign in to redeem.")
        return a
    a.used = used_units(item.id, user.id) if used is None else used
    a.balance = ledger.balance(user.id)[0] if balance is None else balance
    if item.per_user_limit:
        a.limit_left = max(item.per_user_limit - a.used, 0)
    if state != RUNNING:
        a.reason = state_text(state)
    elif a.limit_left == 0:
        a.reason = _("You have redeemed this item as often as allowed.")
    elif a.balance < item.points:
        a.reason = _("You have %(balance)s points; %(points)s needed.", balance=a.balance, points=item.points)
    else:
        a.can_redeem = True
    return a


def availability_many(items, user) -> dict[int, Availability]:
    """:func:`availability` of every item with one query for the buyer's units."""
    signed_in = user is not None and getattr(user, "is_authenticated", False)
    used = used_many([i.id for i in items], user.id) if signed_in else {}
    balance = ledger.balance(user.id)[0] if signed_in else None
    return {i.id: availability(i, user, used.get(i.id, 0), balance) for i in items}


def state_text(state: str) -> str:
    return {
        OFF: _("Not available"),
        UPCOMING: _("Not started yet"),
        ENDED: _("Ended"),
        SOLD_OUT: _("Sold out"),
        UNAVAILABLE: _("Not available"),
        RUNNING: _("Redeemable"),
    }[state]


def product_of(item: PointsExchangeItem):
    from jishi.catalog.models import Product

    return db.session.get(Product, item.product_id) if item.product_id else None


def coupon_template_of(item: PointsExchangeItem):
    """The coupons plugin's template of a coupon item (None without coupons)."""
    if item.kind != EXCHANGE_COUPON or not item.coupon_template_id or not coupons_enabled():
        return None
    from jishi_coupons.models import CouponTemplate

    return db.session.get(CouponTemplate, item.coupon_template_id)


# -- the per-buyer limit and the exchange stock -----------------------------------------------


def _take_units(item_id: int, user_id: int, n: int, limit: int) -> bool:
    """Count ``n`` more units for the buyer, never beyond ``limit`` (0: no
    limit), in ONE upsert (a parallel first redemption of the same buyer
    waits for the row and then re-checks the condition). False: the limit
    is reached, nothing written."""
    if limit and n > limit:
        return False
    table = PointsExchangeUsage.__table__
    stmt = conflict_insert(table).values(item_id=item_id, user_id=user_id, bought=n)
    where = (table.c.bought + stmt.excluded.bought <= limit) if limit else None
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.item_id, table.c.user_id],
        set_={"bought": table.c.bought + stmt.excluded.bought},
        where=where,
    ).returning(table.c.bought)
    return db.session.execute(stmt).first() is not None


def _take_stock(item_id: int, n: int, at: datetime) -> bool:
    """``sold = sold + n WHERE sold + n <= stock`` while the item is on and
    in its window; False when short (nothing written)."""
    won = db.session.execute(
        update(PointsExchangeItem)
        .where(
            PointsExchangeItem.id == item_id,
            PointsExchangeItem.sold + n <= PointsExchangeItem.stock,
            PointsExchangeItem.enabled.is_(True),
            or_(PointsExchangeItem.starts_at.is_(None), PointsExchangeItem.starts_at <= at),
            or_(PointsExchangeItem.ends_at.is_(None), PointsExchangeItem.ends_at > at),
        )
        .values(sold=PointsExchangeItem.sold + n)
        .execution_options(synchronize_session=False)
    ).rowcount
    return won == 1


def _record(item: PointsExchangeItem, user_id: int, quantity: int, points: int, cash: int, **ids):
    r = PointsExchangeRedemption(
        item_id=item.id,
        user_id=user_id,
        kind=item.kind,
        quantity=quantity,
        points=points,
        cash=cash,
        created_at=now(),
        **ids,
    )
    db.session.add(r)
    db.session.flush()
    return r


def _spend(user_id: int, r: PointsExchangeRedemption, title: str) -> bool:
    ledger.ensure_account(user_id)
    return ledger.spend(user_id, [Post(SPENT, SOURCE_EXCHANGE, r.id, delta=-r.points, reason=title)])


# -- product items through the kernel's checkout ---------------------------------------------------


def choice(options) -> int | bool | None:
    """The checkout's ``options["points_exchange"]``: the item id, None
    when absent, False when malformed (a problem at validation). Form values
    arrive as strings (``opt.points_exchange.item_id``)."""
    raw = (options or {}).get(OPTION)
    if raw is None or raw == "" or raw == {}:
        return None
    item_id = raw.get("item_id") if isinstance(raw, dict) else None
    if isinstance(item_id, str) and item_id.strip().isdecimal() and len(item_id.strip()) < 11:
        item_id = int(item_id.strip())
    if not isinstance(item_id, int) or isinstance(item_id, bool) or not 0 < item_id <= MAX_ID:
        return False
    return item_id


def price_rules(lines, user, options) -> dict[str, list[PriceRule]] | None:
    """The item's cash part as the unit price of its SKU's line, only when
    the checkout asks for the item (``options["points_exchange"]``) and the
    item is a product item; ``quantity_limit``: what the stock and the
    buyer's limit still allow."""
    item_id = choice(options)
    if not item_id or user is None or not getattr(user, "id", None):
        return None
    item = get(item_id)
    if item is None or item.kind != EXCHANGE_PRODUCT or item.sku_id is None or not item.enabled:
        return None
    mine = [line for line in lines if line.sku_id == item.sku_id]
    if not mine:
        return None
    left = item.remaining
    if item.per_user_limit:
        left = min(left, max(item.per_user_limit - used_units(item.id, user.id), 0))
    rule = PriceRule(
        source=PRICE_SOURCE,
        unit_price=item.cash,
        priority=PRICE_PRIORITY,
        label=_("Points exchange"),
        quantity_limit=left,
        data={"item_id": item.id, "points": item.points},
    )
    return {line.key: [rule] for line in mine}


def _problem(code: str, message: str, field: str = f"options.{OPTION}.item_id", **kw) -> Problem:
    return Problem(code, message, field=field, **kw)


def validate(checkout) -> list[Problem]:
    """``validate_checkout`` of an exchange checkout: the item exists, is a
    product item and redeemable now; the checkout is exactly its SKU at its
    price; the buyer has the points; points deduction is not also asked.
    An order that asks 0 (a points-only item) is paid at once by the kernel."""
    item_id = choice(checkout.options)
    if item_id is None:
        return []
    item = get(item_id) if item_id else None
    if item is None or item.kind != EXCHANGE_PRODUCT:
        return [_problem("exchange_item", _("Unknown points-exchange item."))]
    if checkout.user is None or not getattr(checkout.user, "id", None):
        return [_problem("exchange_sign_in", _("Sign in to redeem."))]
    state = state_of(item)
    if state != RUNNING:
        return [
            _problem("exchange_" + state, _("This item cannot be redeemed now: %(state)s.", state=state_text(state)))
        ]
    if len(checkout.lines) != 1:
        return [_problem("exchange_lines", _("A points-exchange order holds exactly one item."), field="items")]
    line = checkout.lines[0]
    if line.price_source != PRICE_SOURCE or line.price_data.get("item_id") != item.id:
        return [
            _problem(
                "exchange_sku",
                _("This variant is not the points-exchange item's."),
                field="items",
                line_key=line.key,
            )
        ]
    problems = []
    from jishi_points import checkout as points_checkout

    if points_checkout.plan_for(checkout).requested:
        problems.append(
            _problem("exchange_points", _("Points cannot pay the cash part of a points exchange."), field="points")
        )
    user = checkout.user
    need = item.points * line.quantity
    have = ledger.balance(user.id)[0]
    if have < need:
        problems.append(
            _problem(
                "points_short",
                _("You have %(balance)s points; %(points)s needed.", balance=have, points=need),
                field="points",
            )
        )
    return problems


def place(checkout, orders) -> None:
    """``order_placing``: inside the placing transaction, count the buyer's
    units, take the exchange stock, record the redemption and spend the
    points (one conditional UPDATE). Any of them short: ``CheckoutError``,
    and the kernel rolls the whole placement back."""
    item_id = choice(checkout.options)
    if not item_id:
        return
    item = get(item_id)
    line, order = checkout.lines[0], orders[0]
    user_id = checkout.user.id
    n = line.quantity
    if not _take_units(item.id, user_id, n, item.per_user_limit):
        raise ExchangeConflict(
            [
                _problem(
                    "exchange_limit",
                    _("At most %(n)d per buyer for this item.", n=item.per_user_limit),
                    field="items.quantity",
                )
            ]
        )
    if not _take_stock(item.id, n, now()):
        raise ExchangeConflict([_problem("exchange_sold_out", _("This item is sold out."), field="items")])
    points = int(line.price_data.get("points", item.points)) * n
    r = _record(item, user_id, n, points, line.goods_amount, order_id=order.id)
    if not _spend(user_id, r, item.title):
        raise CheckoutError(
            [_problem("points_short", _("Your points were just used elsewhere; check again."), field="points")]
        )


# -- giving back ---------------------------------------------------------------------------------


def redemption_of_order(order_id: int) -> PointsExchangeRedemption | None:
    return db.session.execute(
        select(PointsExchangeRedemption)
        .where(PointsExchangeRedemption.order_id == order_id)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def _give_back(r: PointsExchangeRedemption, units: int, points: int, source_kind: str, source_id: int) -> None:
    """Give back up to ``units`` units and ``points`` points in total
    (cumulative targets): each moves by a conditional UPDATE from what was
    given back before, so a repeated or concurrent call gives nothing twice."""
    units = min(units, r.quantity)
    points = min(points, r.points)
    more = units - r.units_released
    if more > 0:
        won = db.session.execute(
            update(PointsExchangeRedemption)
            .where(PointsExchangeRedemption.id == r.id, PointsExchangeRedemption.units_released == r.units_released)
            .values(units_released=units)
            .execution_options(synchronize_session=False)
        ).rowcount
        if won == 1:
            db.session.execute(
                update(PointsExchangeItem)
                .where(PointsExchangeItem.id == r.item_id, PointsExchangeItem.sold >= more)
                .values(sold=PointsExchangeItem.sold - more)
                .execution_options(synchronize_session=False)
            )
            db.session.execute(
                update(PointsExchangeUsage)
                .where(
                    PointsExchangeUsage.item_id == r.item_id,
                    PointsExchangeUsage.user_id == r.user_id,
                    PointsExchangeUsage.bought >= more,
                )
                .values(bought=PointsExchangeUsage.bought - more)
                .execution_options(synchronize_session=False)
            )
    more = points - r.points_returned
    if more > 0:
        won = db.session.execute(
            update(PointsExchangeRedemption)
            .where(PointsExchangeRedemption.id == r.id, PointsExchangeRedemption.points_returned == r.points_returned)
            .values(points_returned=points)
            .execution_options(synchronize_session=False)
        ).rowcount
        if won == 1:
            ledger.post(r.user_id, Post(REFUNDED, source_kind, source_id, delta=more))
    db.session.flush()


def order_notices(order) -> list[str] | None:
    """``order_notices``: what an exchange order spent, and gave back."""
    r = db.session.execute(
        select(PointsExchangeRedemption).where(PointsExchangeRedemption.order_id == order.id)
    ).scalar_one_or_none()
    if r is None:
        return None
    notes = [_("Points exchange: %(points)s points spent on this order.", points=r.points)]
    if r.points_returned:
        notes.append(_("%(points)s points given back.", points=r.points_returned))
    return notes


def on_order_transition(order, name: str) -> None:
    """Cancelled unpaid, or closed: everything back, once."""
    if name not in ("cancel", "close"):
        return
    r = redemption_of_order(order.id)
    if r is not None:
        _give_back(r, r.quantity, r.points, SOURCE_EXCHANGE, r.id)


def on_refund(refund) -> None:
    """A refund of the exchange order: the refunded units back to the
    exchange stock and the buyer's limit, ``points * refunded // quantity``
    points back (cumulative, exact over several partial refunds)."""
    r = redemption_of_order(refund.order_id)
    if r is None:
        return
    from jishi.orders.models import OrderLine

    refunded = int(
        db.session.scalar(
            select(func.coalesce(func.sum(OrderLine.refunded_quantity), 0)).where(OrderLine.order_id == r.order_id)
        )
        or 0
    )
    _give_back(r, refunded, r.points * min(refunded, r.quantity) // r.quantity, SOURCE_REFUND, refund.id)


# -- coupon items ------------------------------------------------------------------------------------


def earlier_redemption(user_id: int, key: str | None) -> PointsExchangeRedemption | None:
    if not key:
        return None
    return db.session.execute(
        select(PointsExchangeRedemption).where(
            PointsExchangeRedemption.user_id == user_id, PointsExchangeRedemption.idempotency_key == key
        )
    ).scalar_one_or_none()


def redeem_coupon(user, item_id: int, key: str | None = None) -> PointsExchangeRedemption:
    """Redeem one coupon item for ``user`` in the caller's transaction
    (commit on success, roll back on :class:`~jishi.errors.DomainError`):
    the buyer's units, the exchange stock, the points (one conditional
    UPDATE) and the coupon, issued by the coupons plugin within its own
    stock and per-buyer limit, idempotent by the redemption's key. With
    ``key`` (the request's ``Idempotency-Key``) the redemption is recorded
    under it (unique per buyer): the caller answers a retry with
    :func:`earlier_redemption` (an ``IntegrityError`` at commit means a
    parallel retry won)."""
    item = get(item_id)
    if item is None or not visible(item):
        raise ExchangeError("item_id", _("Unknown points-exchange item."), code="not_found", status=404)
    if item.kind != EXCHANGE_COUPON:
        raise ExchangeError("item_id", _("Products are redeemed through the checkout."), code="conflict", status=409)
    state = state_of(item)
    if state != RUNNING:
        raise ExchangeError(
            "item_id",
            _("This item cannot be redeemed now: %(state)s.", state=state_text(state)),
            code=state,
            status=409,
        )
    if not _take_units(item.id, user.id, 1, item.per_user_limit):
        raise ExchangeError(
            "item_id", _("At most %(n)d per buyer for this item.", n=item.per_user_limit), code="limit", status=409
        )
    if not _take_stock(item.id, 1, now()):
        raise ExchangeError("item_id", _("This item is sold out."), code="sold_out", status=409)
    r = _record(item, user.id, 1, item.points, 0, idempotency_key=key)
    if not _spend(user.id, r, item.title):
        raise ExchangeError(
            "points",
            _(
                "You have %(balance)s points; %(points)s needed.",
                balance=ledger.balance(user.id)[0],
                points=item.points,
            ),
            code="points_short",
            status=409,
        )
    from jishi_coupons import service as coupons

    coupon = coupons.issue(item.coupon_template_id, user.id, source=SOURCE_EXCHANGE, key=f"points_exchange:{r.id}")
    r.coupon_id = coupon.id
    db.session.flush()
    return r


# -- the console ---------------------------------------------------------------------------------------


def _whole(data: dict, key: str, lo: int, hi: int, message: str, default=None) -> int:
    value = data.get(key, default)
    if isinstance(value, str) and value.strip().isdecimal() and len(value.strip()) <= 10:
        value = int(value.strip())
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise ExchangeError(key, message)
    return value


def _moment(value, key: str) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, datetime):
        raise ExchangeError(key, _("Enter a date and time."))
    try:
        return naive_utc(value)
    except ValueError:
        raise ExchangeError(key, _("Enter a date and time.")) from None


def save_item(data: dict, item: PointsExchangeItem | None = None) -> PointsExchangeItem:
    """Create (``item`` None) or edit an item from validated-or-not input;
    raises :class:`ExchangeError` naming the field. An item's kind and what
    it gives (SKU or coupon template) are fixed once created; its stock
    never goes below what live redemptions hold."""
    kind = item.kind if item is not None else data.get("kind")
    if kind not in EXCHANGE_KINDS:
        raise ExchangeError("kind", _("Choose a product or a coupon."))
    title = (data.get("title") or "").strip()
    if not title or len(title) > 60:
        raise ExchangeError("title", _("Enter a title of at most 60 characters."))
    description = (data.get("description") or "").strip()
    if len(description) > 500:
        raise ExchangeError("description", _("At most 500 characters."))
    points = _whole(data, "points", 1, MAX_POINTS, _("Points are a whole number from 1 to 100,000,000."))
    stock = _whole(data, "stock", 0, MAX_STOCK, _("The stock is a whole number from 0 to 10,000,000."))
    limit = _whole(
        data, "per_user_limit", 0, MAX_LIMIT, _("The per-buyer limit is from 0 (no limit) to 10,000."), default=0
    )
    sort = _whole(data, "sort", 0, 10000, _("The order is a whole number from 0 to 10,000."), default=0)
    starts, ends = _moment(data.get("starts_at"), "starts_at"), _moment(data.get("ends_at"), "ends_at")
    if starts and ends and ends <= starts:
        raise ExchangeError("ends_at", _("The end must be after the start."))
    if item is not None and stock < item.sold:
        raise ExchangeError("stock", _("At least %(n)d: redeemed units not given back.", n=item.sold))
    if kind == EXCHANGE_PRODUCT:
        # 0: points only (the kernel pays an order of ¥0 at once).
        cash = _whole(data, "cash", 0, MAX_CASH, _("The cash part is from ¥0 to ¥%(most)s.", most=MAX_CASH // 100))
    else:
        cash = 0
    if item is None:
        item = PointsExchangeItem(kind=kind, sold=0, created_at=now())
        if kind == EXCHANGE_PRODUCT:
            from jishi.catalog.models import Sku

            sku_id = data.get("sku_id")
            sku = db.session.get(Sku, sku_id) if isinstance(sku_id, int) and 0 < sku_id <= MAX_ID else None
            if sku is None:
                raise ExchangeError("sku_id", _("Unknown product variant."))
            item.sku_id, item.product_id = sku.id, sku.product_id
        else:
            if not coupons_enabled():
                raise ExchangeError("kind", _("Coupon items need the coupons plugin."))
            from jishi_coupons.models import ACTIVE, CouponTemplate

            tid = data.get("coupon_template_id")
            t = db.session.get(CouponTemplate, tid) if isinstance(tid, int) and 0 < tid <= MAX_ID else None
            if t is None or t.seller_id is not None or t.status != ACTIVE:
                raise ExchangeError("coupon_template_id", _("Choose an active platform coupon."))
            item.coupon_template_id = t.id
        db.session.add(item)
    item.title, item.description = title, description
    item.points, item.cash, item.stock, item.per_user_limit, item.sort = points, cash, stock, limit, sort
    item.starts_at, item.ends_at = starts, ends
    item.enabled = bool(data.get("enabled", True))
    db.session.flush()
    return item


def set_enabled(item: PointsExchangeItem, enabled: bool) -> None:
    """Stop (or start again) an item; live redemptions are unaffected."""
    db.session.execute(
        update(PointsExchangeItem)
        .where(PointsExchangeItem.id == item.id)
        .values(enabled=enabled)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(item)
