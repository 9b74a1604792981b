"""The order state machine: allowed transitions as data, one function to move.

::

    pending_payment --pay--> paid --ship--> shipped --receive--> received --complete--> completed
          |                   |               |                    |
          +--close--> closed <+---------------+--------------------+   (cancel, timeout, full refund)

An order picked up at the counter goes ``paid --hand_over--> received``.
``paid`` means "awaiting shipment"; a cash-on-delivery order enters it
without ``paid_at`` (the cash is collected on receipt). The platform may
also move a paid, shipped or received order straight to ``completed``
(noted "moved to completed by the platform").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult
from sqlalchemy.orm.attributes import set_committed_value

from jishi import signals
from jishi.db import db, utcnow
from jishi.errors import DomainError
from jishi.orders.models import Order, OrderEvent, PaymentOrder

PENDING = "pending_payment"
PAID = "paid"
SHIPPED = "shipped"
RECEIVED = "received"
COMPLETED = "completed"
CLOSED = "closed"
STATUSES = (PENDING, PAID, SHIPPED, RECEIVED, COMPLETED, CLOSED)
OPEN_STATUSES = (PAID, SHIPPED, RECEIVED)


@dataclass(frozen=True)
class Transition:
    name: str
    source: tuple[str, ...]
    target: str
    actors: tuple[str, ...]  # "system", "buyer", "platform", "seller"


TRANSITIONS = {
    t.name: t
    for t in (
        Transition("pay", (PENDING,), PAID, ("system",)),
        Transition("cancel", (PENDING,), CLOSED, ("buyer", "platform", "seller", "system")),
        Transition("ship", (PAID,), SHIPPED, ("platform", "seller", "system")),
        Transition("receive", (SHIPPED,), RECEIVED, ("buyer", "system", "seller", "platform")),
        # Handed to the buyer without shipping (pickup at the counter, 核销).
        Transition("hand_over", (PAID,), RECEIVED, ("seller", "platform", "system")),
        Transition("complete", (RECEIVED,), COMPLETED, ("system", "buyer")),
        Transition("force_complete", (PAID, SHIPPED, RECEIVED), COMPLETED, ("platform",)),
        Transition("close", (PAID, SHIPPED, RECEIVED), CLOSED, ("platform", "system")),
    )
}

_TIMESTAMP = {
    PAID: "paid_at",
    SHIPPED: "shipped_at",
    RECEIVED: "received_at",
    COMPLETED: "completed_at",
    CLOSED: "closed_at",
}
_SIGNAL = {
    PAID: signals.order_paid,
    SHIPPED: signals.order_shipped,
    RECEIVED: signals.order_received,
    COMPLETED: signals.order_completed,
    CLOSED: signals.order_closed,
}


class TransitionError(DomainError):
    """The order cannot make that move now (HTTP 409, field "status")."""

    def __init__(self, order: Order, name: str, message: str | None = None):
        """``message``: why, when a plugin refuses the move (raised from
        ``order_transitioned``, which rolls the move back)."""
        from jishi.i18n import gettext as _

        self.order = order
        self.name = name
        if message is None:
            message = _(
                "Order %(number)s cannot %(action)s while %(status)s.",
                number=order.number,
                action=name,
                status=order.status,
            )
        super().__init__("status", message, code="conflict", status=409)


def can(order: Order, name: str, actor_kind: str) -> bool:
    t = TRANSITIONS[name]
    return order.status in t.source and actor_kind in t.actors


def transition(
    order: Order,
    name: str,
    *,
    actor=None,
    actor_kind: str = "system",
    note: str = "",
    set_paid_at: bool = True,
    set_columns: dict[str, Any] | None = None,
    **signal_kwargs,
) -> None:
    """Move ``order`` by transition ``name``, record history, queue the signal.

    The status change is a conditional UPDATE (``WHERE status = <current>``)
    so two concurrent moves of one order cannot both win. The caller commits
    with :func:`jishi.db.commit`, which sends the signal after commit.
    ``set_columns``: more columns of the order that UPDATE writes (say the
    payment method on "pay"), instead of a flush of their own.
    Raises :class:`TransitionError` when not allowed.
    """
    t = TRANSITIONS[name]
    if order.status not in t.source or actor_kind not in t.actors:
        raise TransitionError(order, name)
    now = utcnow()
    values: dict[str, Any] = {**(set_columns or {}), "status": t.target}
    stamp = _TIMESTAMP.get(t.target)
    if stamp and (t.target != PAID or set_paid_at):
        values[stamp] = now
    result = cast(
        CursorResult,
        db.session.execute(
            db.update(Order)
            .where(Order.id == order.id, Order.status == order.status)
            .values(**values)
            .execution_options(synchronize_session=False)
        ),
    )
    if result.rowcount != 1:
        raise TransitionError(order, name)
    old = order.status
    for key, value in values.items():
        set_committed_value(order, key, value)  # already written by the UPDATE
    db.session.add(
        OrderEvent(
            order_id=order.id,
            from_status=old,
            to_status=t.target,
            actor_id=getattr(actor, "id", None),
            actor_role=actor_kind,
            note=note,
            created_at=now,
        )
    )
    if old == PENDING and t.target == CLOSED:
        _leave_payment(order)
    from flask import current_app

    hook = current_app.extensions["jishi"].hook
    hook.order_transitioned(order=order, name=name, from_status=old, actor_kind=actor_kind)
    if t.target == COMPLETED:
        hook.settle_order(order=order)
    signals.queue(_SIGNAL[t.target], order, **signal_kwargs)


def _leave_payment(order: Order) -> None:
    """An unpaid order closed while its payment is still pending and pays
    for other orders still payable (合并支付): the payment asks that much
    less, in one conditional UPDATE, and the gateway trades started for the
    old amount are closed (a notification for the old amount is refused,
    see :func:`jishi.payments.service.handle_notification`). When the order
    was the last payable one, the payment keeps its amount: the caller
    closes it (a late payment for it is refunded in full)."""
    from sqlalchemy import exists, select, update

    still_payable = exists(
        select(Order.id).where(Order.payment_id == order.payment_id, Order.status == PENDING, Order.id != order.id)
    )
    lowered = cast(
        CursorResult,
        db.session.execute(
            update(PaymentOrder)
            .where(PaymentOrder.id == order.payment_id, PaymentOrder.status == "pending", still_payable)
            .values(amount=PaymentOrder.amount - order.pay_amount)
            .execution_options(synchronize_session=False)
        ),
    ).rowcount
    if not lowered:
        return
    from sqlalchemy.orm.util import identity_key

    payment = db.session.identity_map.get(identity_key(PaymentOrder, order.payment_id))
    if payment is not None:
        db.session.expire(payment, ["amount"])
    from jishi.payments import service as payments

    payments.amount_changed(order.payment_id)
