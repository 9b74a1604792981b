"""Points on orders: earning (frozen at payment, usable at completion),
claw-back and return of spent points on refunds and cancellations.

Everything here runs inside the kernel's transaction of the order's state
change or refund, where the kernel holds the order row's lock, so the
per-order row (``points_orders``) is read and written by one transaction at
a time. Refunds work on cumulative targets: after each refund the points
clawed back are ``earned * refunded / paid`` (rounded down; both sums
over the goods lines, the delivery fee earns nothing) and the points
returned ``spent * reversed / spent_money`` (rounded down); each refund
posts the difference to what was already done, so several partial refunds
sum exactly to what one full refund would give, and a redelivered event
posts nothing.
"""

from __future__ import annotations

from jishi import settings
from jishi.db import db, utcnow
from sqlalchemy import func, select

from jishi_points import ledger, levels
from jishi_points.ledger import Post
from jishi_points.models import (
    ADJUSTED,
    CLAWED_BACK,
    FROZEN,
    REFUNDED,
    SOURCE_ADJUSTMENT,
    SOURCE_ORDER,
    SOURCE_REFUND,
    PointsOrder,
)

SOURCE = "points"  # the Discount's source, and the OrderAllocation rows'

# settings (points.*): see docs/plugins/points.md
EARN_PER_YUAN = "points.earn_per_yuan"
RATE = "points.rate"
MIN_USE = "points.min_use"
CAP_BP = "points.cap_bp"

DEFAULTS = {EARN_PER_YUAN: 1, RATE: 100, MIN_USE: 0, CAP_BP: 5000}


def setting(key: str) -> int:
    value = settings.get(key, DEFAULTS[key])
    try:
        value = int(value)
    except (TypeError, ValueError):
        value = DEFAULTS[key]
    if key == RATE:
        return max(1, value)
    if key == CAP_BP:
        return min(max(0, value), 10000)
    return max(0, value)


def earned_for(paid_fen: int, percent: int = 100) -> int:
    """Points earned by ``paid_fen`` paid: ``earn_per_yuan`` per whole yuan's
    worth, times the buyer's level multiplier ``percent`` (150 = 1.5×),
    rounded down once."""
    return paid_fen * setting(EARN_PER_YUAN) * percent // 10000


def _row(order_id: int, user_id: int) -> PointsOrder:
    """The order's points row, locked (PostgreSQL) for this transaction."""
    row = db.session.execute(
        select(PointsOrder)
        .where(PointsOrder.order_id == order_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if row is None:
        row = PointsOrder(order_id=order_id, user_id=user_id)
        db.session.add(row)
        db.session.flush()
    return row


def _goods_money(order_id: int, column) -> int:
    """Sum of ``column`` (``pay_amount`` or ``refunded_amount``) over the order's lines."""
    from jishi.orders.models import OrderLine

    return int(db.session.scalar(select(func.coalesce(func.sum(column), 0)).where(OrderLine.order_id == order_id)) or 0)


def on_paid(order) -> None:
    """Give the order's points, frozen: once per order (``earned_at``), on
    what its goods lines actually paid (the delivery fee earns nothing),
    times the multiplier of the buyer's member level at payment."""
    from jishi.orders.models import OrderLine

    row = _row(order.id, order.user_id)
    if row.earned_at is not None:
        return
    base = _goods_money(order.id, OrderLine.pay_amount)
    points = earned_for(base, levels.points_percent(order.user_id))
    row.earn_base, row.earned, row.earned_at = base, points, utcnow()
    ledger.post(order.user_id, Post(FROZEN, SOURCE_ORDER, order.id, frozen_delta=points))


def on_completed(order) -> None:
    """Make the order's frozen points usable, once per order (``unfrozen_at``,
    a conditional UPDATE); with a return window (``points.return_days`` > 0)
    the ``points_unfreeze`` job does it once the window has passed
    (:mod:`.window`)."""
    from jishi_points import window

    if window.return_days() > 0:
        return
    window.unfreeze(order.id, order.user_id)


def _reversed_points_money(order_id: int) -> int:
    from jishi.orders.models import OrderAllocation

    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(OrderAllocation.reversed_amount), 0)).where(
                OrderAllocation.order_id == order_id, OrderAllocation.source == SOURCE
            )
        )
        or 0
    )


def _settle(order_id: int, source_kind: str, source_id: int, *, everything: bool) -> None:
    """Claw back / give back what the order's refunds (or its closing, when
    ``everything``) call for, beyond what was already done."""
    from jishi.orders.models import Order, OrderLine

    if db.session.get(PointsOrder, order_id) is None:
        return
    order = db.session.execute(
        select(Order).where(Order.id == order_id).execution_options(populate_existing=True)
    ).scalar_one()
    row = _row(order_id, order.user_id)
    posts = []
    if row.spent:
        reversed_money = row.spent_money if everything else min(_reversed_points_money(order_id), row.spent_money)
        target = row.spent * reversed_money // row.spent_money
        if target > row.returned:
            posts.append(Post(REFUNDED, source_kind, source_id, delta=target - row.returned))
            row.returned = target
    if row.earned_at is not None and row.earned:
        refunded = (
            row.earn_base if everything else min(_goods_money(order_id, OrderLine.refunded_amount), row.earn_base)
        )
        target = row.earned * refunded // row.earn_base if row.earn_base else 0
        if target > row.clawed:
            take = target - row.clawed
            frozen = row.unfrozen_at is None
            posts.append(
                Post(
                    CLAWED_BACK,
                    source_kind,
                    source_id,
                    delta=0 if frozen else -take,
                    frozen_delta=-take if frozen else 0,
                )
            )
            row.clawed = target
    if posts:
        ledger.post(order.user_id, *posts)
    db.session.flush()


def on_refund(refund) -> None:
    _settle(refund.order_id, SOURCE_REFUND, refund.id, everything=False)


def on_closed(order) -> None:
    """Cancelled unpaid (or closed after a full refund): everything back."""
    _settle(order.id, SOURCE_ORDER, order.id, everything=True)


MAX_ADJUSTMENT = 10**7


def adjust(user_id: int, points: int, reason: str) -> None:
    """The platform adds (or takes) ``points`` with a ``reason``, in the
    caller's transaction. Taking more than the usable balance is refused
    (409): an adjustment never drives a balance negative."""
    from jishi.accounts.models import User
    from jishi.errors import DomainError
    from jishi.i18n import gettext as _

    reason = (reason or "").strip()
    if not reason or len(reason) > 200:
        raise DomainError("reason", _("Give a reason of at most 200 characters."))
    if isinstance(points, bool) or not isinstance(points, int) or not points or abs(points) > MAX_ADJUSTMENT:
        raise DomainError("points", _("Points are a whole number other than 0, at most 10,000,000 either way."))
    if db.session.get(User, user_id) is None:
        raise DomainError("user_id", _("No such buyer."), status=404, code="not_found")
    entry = Post(ADJUSTED, SOURCE_ADJUSTMENT, None, delta=points, reason=reason)
    if points > 0:
        ledger.post(user_id, entry)
        return
    ledger.ensure_account(user_id)
    if not ledger.spend(user_id, [entry]):
        raise DomainError("points", _("The buyer has fewer usable points than that."), status=409, code="conflict")


def record_spent(orders_points: list[tuple[int, int, int, int]]) -> None:
    """``(order_id, user_id, points, money)`` per order of a placement."""
    for order_id, user_id, points, money in orders_points:
        db.session.add(PointsOrder(order_id=order_id, user_id=user_id, spent=points, spent_money=money))
    db.session.flush()
