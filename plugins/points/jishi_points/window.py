"""The return window (issue 16 "Earning": usable after the order completes
"and its return window, if one is set").

``points.return_days`` (platform setting, default 0): days after an order
completes before the points it earned become usable. 0 unfreezes them at
completion (``settle_order``, as before); with N > 0 completion leaves them
frozen, and the ``points_unfreeze`` job (:func:`release_due`) unfreezes
every order completed at least N days ago, exactly once: one conditional
``UPDATE points_orders SET unfrozen_at = now WHERE order_id = ? AND
unfrozen_at IS NULL`` decides which worker posts the ``unfrozen`` entry
(whose unique key is the second guard). A refund inside the window claws
back frozen points (the order's ``unfrozen_at`` is still NULL), so no
usable point is ever given for goods that come back within it.

The kernel has no after-sales window of its own (a completed order stays
refundable; ``JISHI_AUTO_COMPLETE_DAYS`` is the time from receipt to
completion), so the default is 0.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast

from jishi import settings
from jishi.db import commit, db, utcnow
from sqlalchemy import CursorResult, select, update

from jishi_points import ledger
from jishi_points.ledger import Post
from jishi_points.models import SOURCE_ORDER, UNFROZEN, PointsOrder

RETURN_DAYS = "points.return_days"
MAX_DAYS = 365
BATCH = 500


def return_days() -> int:
    try:
        value = int(settings.get(RETURN_DAYS, 0))
    except (TypeError, ValueError):
        value = 0
    return min(max(0, value), MAX_DAYS)


def unfreeze(order_id: int, user_id: int) -> bool:
    """Make the order's frozen points usable, once: the conditional UPDATE
    of ``unfrozen_at`` (which also takes the row's lock, so a refund's
    claw-back waits or has already been counted), then the entry for what
    is left after claw-backs. False when it was already done."""
    won = db.session.execute(
        update(PointsOrder)
        .where(
            PointsOrder.order_id == order_id,
            PointsOrder.unfrozen_at.is_(None),
            PointsOrder.earned_at.is_not(None),
        )
        .values(unfrozen_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult, won).rowcount != 1:
        return False
    row = db.session.execute(
        select(PointsOrder).where(PointsOrder.order_id == order_id).execution_options(populate_existing=True)
    ).scalar_one()
    left = row.earned - row.clawed
    ledger.post(user_id, Post(UNFROZEN, SOURCE_ORDER, order_id, delta=left, frozen_delta=-left))
    return True


def release_due(now: datetime | None = None) -> str:
    """The ``points_unfreeze`` job: unfreeze the points of every order
    completed at least ``points.return_days`` days ago and not yet
    unfrozen, exactly once each (commits per order)."""
    from jishi.orders.models import Order

    now = now or utcnow()
    cutoff = now - timedelta(days=return_days())
    due = db.session.execute(
        select(PointsOrder.order_id, PointsOrder.user_id)
        .join(Order, Order.id == PointsOrder.order_id)
        .where(
            PointsOrder.unfrozen_at.is_(None),
            PointsOrder.earned_at.is_not(None),
            Order.completed_at.is_not(None),
            Order.completed_at <= cutoff,
        )
        .order_by(PointsOrder.order_id)
        .limit(BATCH)
    ).all()
    db.session.commit()
    done = 0
    for order_id, user_id in due:
        if unfreeze(order_id, user_id):
            done += 1
        commit()
    return f"{done} orders' points unfrozen"
