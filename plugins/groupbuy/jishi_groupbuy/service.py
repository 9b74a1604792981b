"""Group buying (拼团, SPEC GB): the rules, no Flask request in here.

The group state machine (transitions as data, one function to move)::

    pending --open (leader's order paid)-------------> forming
    pending --abandon (leader's unpaid order closed)--> cancelled
    forming --succeed (paid members reach the size)---> succeeded
    forming --fail (time limit passed, by the job)----> failed

Seats (``Group.seats``) are reserved when a member's order is PLACED, by
``UPDATE groupbuy_groups SET seats = seats + 1 WHERE id = ? AND seats < size
AND state = 'forming'`` (checking the row count), so a group never holds
more members than its size, however many join at once. An unpaid member's
seat is released, exactly once, when that unpaid order closes (buyer cancel,
unpaid timeout): a late joiner then finds the seat free. A member counts as
paying (``Group.paid``) once the order's ``pay`` transition runs; the group
succeeds when ``paid`` reaches ``size`` — every seat is then paid, so no
unpaid joiner is ever left behind by a success.

Until the group succeeds its members' paid orders cannot be shipped, handed
over or force-completed: :func:`on_order_transition` raises
:class:`GroupNotReady` (a ``TransitionError``) inside the kernel's transition
transaction, which rolls the move back (every caller of the kernel's
``transition`` already rolls back on ``TransitionError``).

A failed group: :func:`expire_groups` (periodic job, idempotent) moves
expired forming groups to ``failed``, cancels the unpaid members' orders
(stock back, seat and limit released) and refunds every paid member through
the kernel's refund path (:func:`jishi.orders.service.close_paid`: full
refund through after-sales, stock restored, money back, order closed). A
member is refunded once: the member row moves ``paid -> refunded`` by a
conditional UPDATE in the same transaction that closes the order.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from jishi import promotions
from jishi.checkout.errors import CheckoutError
from jishi.db import commit, db, rollback, utcnow
from jishi.errors import DomainError
from jishi.hookspecs import PriceRule, Problem
from jishi.i18n import N_, naive_utc
from jishi.i18n import gettext as _
from jishi.orders import state as order_state
from jishi.orders.models import Order
from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from jishi_groupbuy.models import Activity, ActivitySku, Group, Member, Usage

OPTION = "groupbuy"
PRICE_SOURCE = "groupbuy"
GROUP_PRICE_PRIORITY = 50  # the kernel's built-in priority for group prices

PENDING, FORMING, SUCCEEDED, FAILED, CANCELLED = "pending", "forming", "succeeded", "failed", "cancelled"
STATES = (PENDING, FORMING, SUCCEEDED, FAILED, CANCELLED)
FINAL_STATES = (SUCCEEDED, FAILED, CANCELLED)

M_PENDING, M_PAID, M_LEFT, M_REFUNDED = "pending", "paid", "left", "refunded"
LIVE_MEMBER = (M_PENDING, M_PAID)

MAX_GROUP_SIZE = 100
MAX_TIME_LIMIT_MINUTES = 30 * 24 * 60
MAX_PRICE = 10**10

# Kernel transitions refused while a member's group has not succeeded.
HELD_TRANSITIONS = ("ship", "hand_over", "force_complete")


@dataclass(frozen=True)
class GroupTransition:
    name: str
    source: tuple[str, ...]
    target: str
    why: str


TRANSITIONS = {
    t.name: t
    for t in (
        GroupTransition("open", (PENDING,), FORMING, "the leader's order is paid"),
        GroupTransition("abandon", (PENDING,), CANCELLED, "the leader's unpaid order closed"),
        GroupTransition("succeed", (FORMING,), SUCCEEDED, "paid members reached the group size"),
        GroupTransition("fail", (FORMING,), FAILED, "the time limit passed"),
    )
}


class GroupBuyError(DomainError):
    """Bad input or a conflicting state in a group-buy step (4xx naming the field)."""


class GroupNotReady(order_state.TransitionError):
    """A member's order cannot ship (or be handed over) before its group succeeds."""

    def __init__(self, order: Order, name: str, group: Group):
        self.order = order
        self.name = name
        actions = {"ship": _("be shipped"), "hand_over": _("be handed over"), "force_complete": _("be completed")}
        message = _(
            "Order %(number)s waits for its group to fill (%(paid)d of %(size)d paid); it cannot %(action)s yet.",
            number=order.number,
            paid=group.paid,
            size=group.size,
            action=actions.get(name, name),
        )
        DomainError.__init__(self, "status", message, code="conflict", status=409)


def now() -> datetime:
    return utcnow()


def move(group: Group, name: str, **values) -> bool:
    """Move ``group`` by transition ``name`` with a conditional UPDATE
    (``WHERE state IN <sources>`` plus ``values`` guards given as ``where``);
    returns whether this call made the move."""
    t = TRANSITIONS[name]
    where = values.pop("where", ())
    won = db.session.execute(
        update(Group)
        .where(Group.id == group.id, Group.state.in_(t.source), *where)
        .values(state=t.target, **values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if won == 1:
        db.session.refresh(group)
    return won == 1


# -- activities ----------------------------------------------------------------


def is_running(activity: Activity, at: datetime | None = None) -> bool:
    at = at or now()
    return activity.enabled and activity.starts_at <= at < activity.ends_at


def running_query(product_id: int, at: datetime | None = None):
    """The SELECT of :func:`running_activity` (also a page loader's)."""
    at = at or now()
    return (
        select(Activity)
        .where(
            Activity.product_id == product_id,
            Activity.enabled.is_(True),
            Activity.starts_at <= at,
            Activity.ends_at > at,
        )
        .order_by(Activity.id)
        .limit(1)
    )


def running_activity(product_id: int, at: datetime | None = None) -> Activity | None:
    return db.session.execute(running_query(product_id, at)).scalar_one_or_none()


def page_loaders(product_id: int, at: datetime | None = None) -> list:
    """The product page's reads (``product_page_loaders``): the running
    activity, its SKUs and its first open groups, run with the page's other
    loaders."""
    from jishi.hookspecs import PageLoader

    params = {"product_id": product_id, "at": at or now()}
    activity, skus, groups = _page_queries()
    return [
        PageLoader("groupbuy.activity", activity, params),
        PageLoader("groupbuy.skus", skus, params),
        PageLoader("groupbuy.groups", groups, params),
    ]


_PAGE_QUERIES: list[tuple] = []


def _page_queries() -> tuple:
    """:func:`page_loaders`' three queries, declared once with named
    parameters (``product_id``, ``at``): a page builds no query
    (``PageLoader.params``)."""
    if not _PAGE_QUERIES:
        pid, at = bindparam("product_id"), bindparam("at")
        activity = (
            select(Activity)
            .where(
                Activity.product_id == pid, Activity.enabled.is_(True), Activity.starts_at <= at, Activity.ends_at > at
            )
            .order_by(Activity.id)
            .limit(1)
        )
        running = activity.with_only_columns(Activity.id)  # (no subquery's column proxies)
        skus = select(ActivitySku).where(ActivitySku.activity_id.in_(running)).order_by(ActivitySku.id)
        groups = (
            select(Group)
            .where(
                Group.activity_id.in_(running), Group.state == FORMING, Group.expires_at > at, Group.seats < Group.size
            )
            .order_by(Group.expires_at, Group.id)
            .limit(5)
        )
        _PAGE_QUERIES.append((activity, skus, groups))
    return _PAGE_QUERIES[0]


def _product(product_id):
    from jishi.catalog.models import Product

    return db.session.get(Product, product_id) if isinstance(product_id, int) and 0 < product_id < 2**31 else None


def save_activity(data: dict, *, seller_id: int | None, platform: bool, activity: Activity | None = None) -> Activity:
    """Create (or update) an activity from validated input.

    ``seller_id`` is the acting seller from :func:`jishi.sellers.current_scope`
    (never the request): a merchant may only use its own products; the
    platform (``platform=True``) any product, the activity then belonging to
    the product's seller. Raises :class:`GroupBuyError` naming the field.
    """
    product = _product(data.get("product_id")) if activity is None else _product(activity.product_id)
    if product is None or (not platform and product.seller_id != seller_id):
        raise GroupBuyError(
            "product_id", _("Unknown product."), code="not_found", status=404 if activity is None else 422
        )
    title = (data.get("title") or "").strip()
    if not title or len(title) > 60:
        raise GroupBuyError("title", _("Enter a title of at most 60 characters."))
    size = data.get("group_size")
    if not isinstance(size, int) or isinstance(size, bool) or not 2 <= size <= MAX_GROUP_SIZE:
        raise GroupBuyError("group_size", _("The group size must be between 2 and %(n)d.", n=MAX_GROUP_SIZE))
    limit = data.get("time_limit_minutes")
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_TIME_LIMIT_MINUTES:
        raise GroupBuyError("time_limit_minutes", _("The time limit must be between 1 minute and 30 days."))
    per_user = data.get("per_user_limit", 0) or 0
    if not isinstance(per_user, int) or isinstance(per_user, bool) or not 0 <= per_user <= 10000:
        raise GroupBuyError("per_user_limit", _("The per-buyer limit must be between 0 (no limit) and 10000."))
    starts, ends = data.get("starts_at"), data.get("ends_at")
    if not isinstance(starts, datetime):
        raise GroupBuyError("starts_at", _("Enter the start time."))
    if not isinstance(ends, datetime):
        raise GroupBuyError("ends_at", _("Enter the end time."))
    starts, ends = _naive_utc(starts, "starts_at"), _naive_utc(ends, "ends_at")
    if ends <= starts:
        raise GroupBuyError("ends_at", _("The end must be after the start."))
    skus = data.get("skus") or []
    if not skus:
        raise GroupBuyError("skus", _("Give a group price for at least one variant."))
    own = {s.id: s for s in product.skus}
    prices: dict[int, int] = {}
    for i, row in enumerate(skus):
        sku_id, price = row.get("sku_id"), row.get("group_price")
        if sku_id not in own:
            raise GroupBuyError(f"skus.{i}.sku_id", _("This variant is not one of the product's."))
        if sku_id in prices:
            raise GroupBuyError(f"skus.{i}.sku_id", _("Listed twice."))
        if not isinstance(price, int) or isinstance(price, bool) or not 0 < price <= MAX_PRICE:
            raise GroupBuyError(f"skus.{i}.group_price", _("The group price is a positive amount in fen."))
        if price > own[sku_id].price:
            raise GroupBuyError(f"skus.{i}.group_price", _("The group price must not exceed the variant's price."))
        prices[sku_id] = price
    overlap = select(Activity.id).where(
        Activity.product_id == product.id,
        Activity.enabled.is_(True),
        Activity.starts_at < ends,
        Activity.ends_at > starts,
    )
    if activity is not None:
        overlap = overlap.where(Activity.id != activity.id)
    if db.session.execute(overlap.limit(1)).first() is not None:
        raise GroupBuyError(
            "starts_at",
            _("Another group-buy activity of this product overlaps this time."),
            code="conflict",
            status=409,
        )
    if activity is None:
        activity = Activity(product_id=product.id, seller_id=product.seller_id, created_by_platform=platform)
        db.session.add(activity)
    activity.title = title
    activity.group_size = size
    activity.time_limit_minutes = limit
    activity.per_user_limit = per_user
    activity.starts_at, activity.ends_at = starts, ends
    activity.enabled = bool(data.get("enabled", True))
    existing = {s.sku_id: s for s in activity.skus}
    for sid, row in existing.items():
        if sid in prices:
            row.group_price = prices[sid]
        else:
            activity.skus.remove(row)
    for sid, p in prices.items():
        if sid not in existing:
            activity.skus.append(ActivitySku(sku_id=sid, group_price=p))
    db.session.flush()
    return activity


def _naive_utc(value: datetime, field: str) -> datetime:
    """``value`` as stored (naive UTC); a time out of the calendar's range
    is refused naming ``field``."""
    try:
        return naive_utc(value)
    except ValueError:
        raise GroupBuyError(
            field, _("Enter the start time.") if field == "starts_at" else _("Enter the end time.")
        ) from None


def visible_activities(*, seller_id: int | None, platform: bool):
    """The platform sees every activity; a seller its own products' ones."""
    return promotions.visible_activities(Activity, seller_id=seller_id, platform=platform)


def activity_for(activity_id: int, *, seller_id: int | None, platform: bool) -> Activity | None:
    """An activity the acting seller may see (None: not found, also for
    another merchant's activity)."""
    return promotions.activity_for(Activity, activity_id, seller_id=seller_id, platform=platform)


# -- pricing and checkout ------------------------------------------------------


def choice(options: dict | None) -> dict | None:
    """The buyer's ``options["groupbuy"]`` as ``{"activity_id": int,
    "group_token": str | None}``, or None when absent. Form values arrive as
    strings; anything malformed becomes ``activity_id`` None (a problem at
    validation)."""
    raw = (options or {}).get(OPTION)
    if not raw:
        return None
    if not isinstance(raw, dict):
        return {"activity_id": None, "group_token": None}
    aid = raw.get("activity_id")
    if isinstance(aid, str) and aid.strip().isdecimal() and len(aid.strip()) <= 10:
        aid = int(aid.strip())
    if not isinstance(aid, int) or isinstance(aid, bool) or not 0 < aid < 2**31:
        aid = None
    token = raw.get("group_token") or None
    if token is not None and (not isinstance(token, str) or len(token) > 32):
        token = ""
    return {"activity_id": aid, "group_token": token}


def used_units(activity_id: int, user_id: int) -> int:
    return int(
        db.session.execute(
            select(Usage.units).where(Usage.activity_id == activity_id, Usage.user_id == user_id)
        ).scalar()
        or 0
    )


def price_rules(lines, user, options) -> dict[str, list[PriceRule]] | None:
    """The group price of the lines in the activity the checkout asks for
    (``options["groupbuy"]``), for the ``price_rules`` hook: the activity,
    its SKUs and the buyer's units are loaded once, whatever the number of
    lines."""
    picked = choice(options)
    if picked is None or picked["activity_id"] is None or user is None:
        return None
    activity = db.session.get(Activity, picked["activity_id"])
    if activity is None or not activity.enabled:
        return None
    mine = [line for line in lines if line.product_id == activity.product_id]
    if not mine:
        return None
    prices = {s.sku_id: s.group_price for s in activity.skus}
    quantity_limit = None
    if activity.per_user_limit and any(line.sku_id in prices for line in mine):
        quantity_limit = max(activity.per_user_limit - used_units(activity.id, user.id), 0)
    return {
        line.key: [
            PriceRule(
                source=PRICE_SOURCE,
                unit_price=prices[line.sku_id],
                priority=GROUP_PRICE_PRIORITY,
                label=_("Group price"),
                quantity_limit=quantity_limit,
                data={"activity_id": activity.id, "group_token": picked["group_token"]},
            )
        ]
        for line in mine
        if line.sku_id in prices
    }


def _forming_group(token: str) -> Group | None:
    return db.session.execute(select(Group).where(Group.token == token)).scalar_one_or_none()


def validate(checkout) -> list[Problem]:
    picked = choice(checkout.options)
    if picked is None:
        return []
    field = "options.groupbuy.activity_id"
    aid = picked["activity_id"]
    activity = db.session.get(Activity, aid) if aid else None
    if activity is None or not activity.enabled:
        return [Problem("groupbuy_activity", _("Unknown group-buy activity."), field=field)]
    if len(checkout.lines) != 1:
        return [Problem("groupbuy_lines", _("A group-buy order holds exactly one product variant."), field="items")]
    line = checkout.lines[0]
    if line.price_source != PRICE_SOURCE or line.price_data.get("activity_id") != activity.id:
        return [
            Problem(
                "groupbuy_sku",
                _("This variant is not part of the group-buy activity."),
                field="items",
                line_key=line.key,
            )
        ]
    token = picked["group_token"]
    at = now()
    if token is None:
        if not is_running(activity, at):
            return [Problem("groupbuy_not_running", _("This group-buy activity is not running now."), field=field)]
        return []
    group = _forming_group(token) if token else None
    tfield = "options.groupbuy.group_token"
    if group is None or group.activity_id != activity.id:
        return [Problem("groupbuy_group", _("Unknown group."), field=tfield)]
    if group.state != FORMING or (group.expires_at and group.expires_at <= at):
        return [Problem("groupbuy_closed", _("This group is no longer open."), field=tfield)]
    if group.seats >= group.size:
        return [Problem("groupbuy_full", _("This group is full."), field=tfield)]
    if _live_member(group.id, checkout.user.id) is not None:
        return [Problem("groupbuy_member", _("You are already in this group."), field=tfield)]
    return []


def _live_member(group_id: int, user_id: int) -> Member | None:
    return db.session.execute(
        select(Member)
        .where(Member.group_id == group_id, Member.user_id == user_id, Member.status.in_(LIVE_MEMBER))
        .limit(1)
    ).scalar_one_or_none()


def _take_units(activity: Activity, user_id: int, n: int) -> None:
    """Count ``n`` more units for the buyer, never beyond the per-buyer limit
    (conditional UPDATE; the first purchase inserts the row)."""
    cond = [Usage.activity_id == activity.id, Usage.user_id == user_id]
    if activity.per_user_limit:
        cond.append(Usage.units + n <= activity.per_user_limit)
        if n > activity.per_user_limit:
            raise _limit_error(activity)
    for _attempt in range(2):
        won = db.session.execute(
            update(Usage).where(*cond).values(units=Usage.units + n).execution_options(synchronize_session=False)
        ).rowcount
        if won:
            return
        exists = db.session.execute(
            select(Usage.units).where(Usage.activity_id == activity.id, Usage.user_id == user_id)
        ).first()
        if exists is not None:
            raise _limit_error(activity)
        try:
            with db.session.begin_nested():
                db.session.execute(insert(Usage).values(activity_id=activity.id, user_id=user_id, units=n))
            return
        except IntegrityError:
            continue  # inserted by a concurrent purchase of the same buyer: update instead
    raise _limit_error(activity)


def _limit_error(activity: Activity) -> CheckoutError:
    return CheckoutError(
        [
            Problem(
                "limit",
                _("At most %(n)d per buyer in this group buy.", n=activity.per_user_limit),
                field="items.quantity",
            )
        ]
    )


def _release_units(member: Member) -> None:
    db.session.execute(
        update(Usage)
        .where(Usage.activity_id == member.activity_id, Usage.user_id == member.user_id, Usage.units >= member.quantity)
        .values(units=Usage.units - member.quantity)
        .execution_options(synchronize_session=False)
    )


def place(checkout, orders) -> None:
    """Inside the placing transaction: open a group (leader) or take a seat
    in the chosen one, count the buyer's units, and record the member."""
    picked = choice(checkout.options)
    if picked is None:
        return
    activity = db.session.get(Activity, picked["activity_id"])
    line, order = checkout.lines[0], orders[0]
    token = picked["group_token"]
    _take_units(activity, checkout.user.id, line.quantity)
    if token is None:
        group = Group(
            activity_id=activity.id,
            seller_id=activity.seller_id,
            token=secrets.token_urlsafe(12),
            leader_id=checkout.user.id,
            state=PENDING,
            size=activity.group_size,
            seats=1,
            paid=0,
            created_at=now(),
        )
        db.session.add(group)
        db.session.flush()
        leader = True
    else:
        group = _forming_group(token)
        at = now()
        won = db.session.execute(
            update(Group)
            .where(Group.id == group.id, Group.state == FORMING, Group.seats < Group.size, Group.expires_at > at)
            .values(seats=Group.seats + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        if won != 1:
            raise CheckoutError(
                [
                    Problem(
                        "groupbuy_full",
                        _("This group is full or no longer open."),
                        field="options.groupbuy.group_token",
                    )
                ]
            )
        leader = False
    db.session.add(
        Member(
            group_id=group.id,
            activity_id=activity.id,
            user_id=checkout.user.id,
            order_id=order.id,
            sku_id=line.sku_id,
            quantity=line.quantity,
            is_leader=leader,
            status=M_PENDING,
            joined_at=now(),
        )
    )
    db.session.flush()


# -- reacting to order transitions (inside the kernel's transaction) ------------


def member_of_order(order_id: int) -> Member | None:
    return db.session.execute(select(Member).where(Member.order_id == order_id)).scalar_one_or_none()


def on_order_transition(order: Order, name: str, from_status: str) -> None:
    if name not in ("pay", "cancel", "close") and name not in HELD_TRANSITIONS:
        return
    member = member_of_order(order.id)
    if member is None:
        return
    group = db.session.get(Group, member.group_id)
    if name in HELD_TRANSITIONS:
        db.session.refresh(group)
        if group.state != SUCCEEDED:
            raise GroupNotReady(order, name, group)
        return
    at = now()
    if name == "pay":
        _paid(member, group, at)
    elif name == "cancel":
        _left_unpaid(member, group, at)
    elif name == "close":
        _left_paid(member, group, at)


def _member_move(member: Member, source: str, target: str, **values) -> bool:
    won = db.session.execute(
        update(Member)
        .where(Member.id == member.id, Member.status == source)
        .values(status=target, **values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if won == 1:
        db.session.refresh(member)
    return won == 1


def _paid(member: Member, group: Group, at: datetime) -> None:
    if not _member_move(member, M_PENDING, M_PAID, paid_at=at):
        return
    # Counted only while the group can still fill: a payment landing after
    # the deadline (or after the group failed) is not, and the expiry job
    # refunds it with the rest of the group.
    counted = db.session.execute(
        update(Group)
        .where(
            Group.id == group.id,
            Group.state.in_((PENDING, FORMING)),
            or_(Group.expires_at.is_(None), Group.expires_at > at),
        )
        .values(paid=Group.paid + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(group)
    if not counted:
        return
    if group.state == PENDING:
        limit = db.session.get(Activity, group.activity_id).time_limit_minutes
        move(group, "open", opened_at=at, expires_at=at + timedelta(minutes=limit))
    move(group, "succeed", finished_at=at, where=(Group.paid >= Group.size,))


def _left_unpaid(member: Member, group: Group, at: datetime) -> None:
    if not _member_move(member, M_PENDING, M_LEFT, left_at=at):
        return
    _release_units(member)
    db.session.execute(
        update(Group)
        .where(Group.id == group.id, Group.state.in_((PENDING, FORMING)), Group.seats > 0)
        .values(seats=Group.seats - 1)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(group)
    if member.is_leader:
        move(group, "abandon", finished_at=at)


def _left_paid(member: Member, group: Group, at: datetime) -> None:
    if not _member_move(member, M_PAID, M_REFUNDED, left_at=at):
        return
    _release_units(member)
    db.session.execute(
        update(Group)
        .where(Group.id == group.id, Group.state == FORMING, Group.seats > 0, Group.paid > 0)
        .values(seats=Group.seats - 1, paid=Group.paid - 1)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(group)


# -- the expiry job --------------------------------------------------------------


def expire_groups(at: datetime | None = None) -> str:
    """Fail forming groups past their time limit, cancel their unpaid
    members' orders and refund their paid members (also members whose
    payment arrived after the group failed). Idempotent: every step is a
    conditional UPDATE, a member is refunded once, a second run finds
    nothing to do."""
    from jishi.orders import service as orders_service

    at = at or now()
    failed = 0
    ids = (
        db.session.execute(select(Group.id).where(Group.state == FORMING, Group.expires_at <= at).limit(500))
        .scalars()
        .all()
    )
    for gid in ids:
        group = db.session.get(Group, gid)
        if move(group, "fail", finished_at=at, where=(Group.expires_at <= at,)):
            failed += 1
        commit()
    cancelled = refunded = 0
    rows = db.session.execute(
        select(Member.id, Member.order_id, Member.status)
        .join(Group, Group.id == Member.group_id)
        .where(Group.state.in_((FAILED, CANCELLED)), Member.status.in_(LIVE_MEMBER))
        .order_by(Member.id)
        .limit(500)
    ).all()
    for _mid, order_id, _status in rows:
        order = db.session.get(Order, order_id)
        try:
            if order.status == order_state.PENDING:
                orders_service.cancel(order, actor_kind="system", note=N_("group buy failed"))
                cancelled += 1
            elif order.status in (order_state.PAID, order_state.SHIPPED, order_state.RECEIVED):
                orders_service.close_paid(order, note=N_("group buy failed: refunded automatically"))
                refunded += 1
        except DomainError as exc:  # an open after-sales request, a gateway refusal: next run retries
            rollback()
            current_app.logger.warning("groupbuy: could not refund order %s: %s", order_id, exc)
    return f"{failed} groups failed, {cancelled} unpaid orders cancelled, {refunded} members refunded"


# -- reading -----------------------------------------------------------------------


def open_groups_query(activity_id, limit: int = 10, at: datetime | None = None):
    """The SELECT of :func:`open_groups`; ``activity_id`` an id or a subquery of one."""
    at = at or now()
    of_activity = (
        Group.activity_id.in_(activity_id) if not isinstance(activity_id, int) else Group.activity_id == activity_id
    )
    return (
        select(Group)
        .where(
            of_activity,
            Group.state == FORMING,
            Group.expires_at > at,
            Group.seats < Group.size,
        )
        .order_by(Group.expires_at, Group.id)
        .limit(limit)
    )


def open_groups(activity_id: int, limit: int = 10, at: datetime | None = None) -> list[Group]:
    return list(db.session.execute(open_groups_query(activity_id, limit, at)).scalars())


def group_by_token(token: str) -> Group | None:
    if not token or len(token) > 32:
        return None
    return _forming_group(token)


def paid_members(group: Group) -> list[Member]:
    return list(
        db.session.execute(
            select(Member).where(Member.group_id == group.id, Member.status == M_PAID).order_by(Member.id)
        ).scalars()
    )


def count_by_state(activity_ids: list[int]) -> dict[int, dict[str, int]]:
    """Groups per state of each activity: one grouped query for all of them."""
    counts: dict[int, dict[str, int]] = {aid: {} for aid in activity_ids}
    if not activity_ids:
        return counts
    rows = db.session.execute(
        select(Group.activity_id, Group.state, func.count())
        .where(Group.activity_id.in_(activity_ids))
        .group_by(Group.activity_id, Group.state)
    ).all()
    for aid, state, n in rows:
        counts[aid][state] = int(n)
    return counts
