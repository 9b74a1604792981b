"""Order operations used by the web, the API, consoles and jobs."""

from __future__ import annotations

from datetime import timedelta
from typing import cast

from flask import current_app
from sqlalchemy import CursorResult, select, update

from jishi.db import commit, db, utcnow
from jishi.i18n import N_
from jishi.orders import state
from jishi.orders.changes import (  # noqa: F401 - re-exported: order changes are part of the service
    OrderChangeError,
    change_address,
    change_address_from_form,
    change_price,
    change_price_from_form,
)
from jishi.orders.models import Order, OrderLine, PaymentOrder


def _hook():
    return current_app.extensions["jishi"].hook


def release_order_stock(order: Order, reason: str) -> None:
    hook = _hook()
    for line in order.lines:
        qty = line.quantity - line.refunded_quantity
        if qty > 0:
            hook.release_stock(order_line=line, quantity=qty, reason=reason)


def cancel(order: Order, *, actor=None, actor_kind: str = "buyer", note: str = "") -> None:
    """Cancel an unpaid order; closes its payment order when nothing else in
    it is still payable, and gives the stock back.

    The payment row is locked first, in the order payment notifications and
    the unpaid-order timeout lock (payment, then its orders): a buyer's
    cancel racing either cannot deadlock on PostgreSQL."""
    db.session.execute(select(PaymentOrder.id).where(PaymentOrder.id == order.payment_id).with_for_update())
    state.transition(
        order, "cancel", actor=actor, actor_kind=actor_kind, note=note or N_("cancelled"), reason="cancelled"
    )
    order.close_reason = "cancelled"
    release_order_stock(order, "closed")
    payment = order.payment
    if all(o.status == state.CLOSED for o in payment.orders):
        db.session.execute(
            update(PaymentOrder)
            .where(PaymentOrder.id == payment.id, PaymentOrder.status == "pending")
            .values(status="closed")
        )
    commit()


def fulfilment(order: Order):
    """How ``order`` leaves its seller (a ``jishi.hookspecs.Fulfilment``):
    its delivery method's answer to ``order_fulfilment``."""
    return _hook().order_fulfilment(order=order)


def check_shipment(order: Order, carrier: str = "", tracking_no: str = "") -> None:
    """Refuse to ship ``order`` by hand when its delivery method says
    otherwise: a ``handover`` (picked up) or ``dispatch`` (a rider) order is
    a 409 naming ``status`` (code ``not_shippable``); a ``parcel`` needs the carrier and the
    tracking number (422 naming the field). Writes nothing."""
    from jishi.errors import DomainError
    from jishi.i18n import gettext as _

    how = fulfilment(order)
    if how.mode == "handover":
        message = _(
            "Order %(number)s is collected by the buyer (%(method)s), never shipped.",
            number=order.number,
            method=how.label,
        )
        raise DomainError("status", f"{message} {how.note}".strip(), code="not_shippable", status=409)
    if how.mode == "dispatch":
        raise DomainError(
            "status",
            _(
                "Order %(number)s goes out with a rider (%(method)s): dispatch it instead of shipping it.",
                number=order.number,
                method=how.label,
            ),
            code="not_shippable",
            status=409,
        )
    if how.mode == "parcel":
        if not (carrier or "").strip():
            raise DomainError("carrier", _("Enter the carrier."))
        if not (tracking_no or "").strip():
            raise DomainError("tracking_no", _("Enter the tracking number."))


def ship(
    order: Order, *, carrier: str = "", tracking_no: str = "", actor=None, actor_kind: str = "platform", note: str = ""
) -> None:
    order.carrier = carrier[:40]
    order.tracking_no = tracking_no[:60]
    state.transition(order, "ship", actor=actor, actor_kind=actor_kind, note=note)
    commit()


def receive(order: Order, *, actor=None, actor_kind: str = "buyer", note: str = "") -> None:
    state.transition(order, "receive", actor=actor, actor_kind=actor_kind, note=note)
    if order.payment_method == "cod" and order.paid_at is None:
        order.paid_at = utcnow()  # the cash was collected on delivery
    commit()


def complete(order: Order, *, actor=None, actor_kind: str = "system", note: str = "") -> None:
    state.transition(order, "complete", actor=actor, actor_kind=actor_kind, note=note)
    commit()


def force_complete(order: Order, *, actor=None) -> None:
    state.transition(
        order, "force_complete", actor=actor, actor_kind="platform", note=N_("moved to completed by the platform")
    )
    commit()


def close_paid(order: Order, *, actor=None, note: str = "") -> None:
    """Close a paid, shipped or received order (the platform's "close"):
    everything still refundable is refunded at once through after-sales, so
    the stock goes back (when not shipped), the allocations are reversed,
    the money is returned and settlement reverses, exactly as a full refund
    does; the order then moves by the kernel's ``close`` transition.

    Refused (409) while the buyer has an after-sales request open: decide it
    first. Commits, or writes nothing.
    """
    from jishi.aftersales import service as aftersales
    from jishi.aftersales.models import KIND_REFUND, RefundLine
    from jishi.errors import DomainError
    from jishi.i18n import gettext as _

    if not state.can(order, "close", "platform"):
        raise state.TransitionError(order, "close")
    if aftersales._pending_quantities(order.id):
        raise DomainError(
            "status", _("This order has an open after-sales request; decide it first."), code="conflict", status=409
        )
    left = [
        (line, line.quantity - line.refunded_quantity) for line in order.lines if line.quantity > line.refunded_quantity
    ]
    if not left:
        raise state.TransitionError(order, "close")
    refund = aftersales.new_refund(
        order_id=order.id,
        user_id=order.user_id,
        seller_id=order.seller_id,
        kind=KIND_REFUND,
        reason=(note or N_("closed by the platform"))[:200],
        amount=0,
    )
    for line, quantity in left:
        db.session.add(
            RefundLine(
                refund_id=refund.id,
                order_line_id=line.id,
                quantity=quantity,
                amount=aftersales.line_amount(line, quantity),
            )
        )
    db.session.flush()
    aftersales.approve(refund, actor, note or N_("closed by the platform"))


def close_at_gateways(payment: PaymentOrder) -> bool:
    """Before closing a pending payment locally (a timeout of your own),
    close its trades at their gateways: False when it must not be closed now
    (a gateway says it was paid, and the payment is recorded from that; or
    a gateway could not be reached: try again on the next pass)."""
    from jishi.payments import service as payments

    return payments.close_at_gateways(payment)


def close_unpaid(now=None) -> int:
    """Close payment orders unpaid past the timeout (idempotent job).

    Each payment's trades are closed at their gateways first
    (:func:`jishi.payments.service.close_at_gateways`: a trade found paid is
    recorded instead); then the payment order is closed by a conditional
    UPDATE; a payment notification racing with it finds it closed and
    refunds the money.
    """
    now = now or utcnow()
    cutoff = now - timedelta(minutes=int(current_app.config["JISHI_UNPAID_TIMEOUT_MINUTES"]))
    ids = (
        db.session.execute(
            select(PaymentOrder.id).where(PaymentOrder.status == "pending", PaymentOrder.created_at < cutoff).limit(500)
        )
        .scalars()
        .all()
    )
    closed = 0
    from jishi.payments import service as payments

    for pid in ids:
        payment = db.session.get(PaymentOrder, pid)
        # Closed at its gateways first: a trade paid meanwhile is recorded
        # instead, one that cannot be closed now waits for the next pass.
        if payment is None or payment.status != "pending" or not payments.close_at_gateways(payment):
            continue
        won = cast(
            CursorResult,
            db.session.execute(
                update(PaymentOrder)
                .where(PaymentOrder.id == pid, PaymentOrder.status == "pending")
                .values(status="closed")
            ),
        ).rowcount
        if not won:
            db.session.rollback()
            continue
        orders = (
            db.session.execute(select(Order).where(Order.payment_id == pid, Order.status == state.PENDING))
            .scalars()
            .all()
        )
        for order in orders:
            state.transition(order, "cancel", actor_kind="system", note=N_("payment timed out"), reason="timeout")
            order.close_reason = "timeout"
            release_order_stock(order, "closed")
        commit()
        closed += 1
    return closed


def auto_confirm(now=None) -> int:
    """Shipped orders not confirmed after JISHI_AUTO_CONFIRM_DAYS are
    received; received orders complete after JISHI_AUTO_COMPLETE_DAYS."""
    now = now or utcnow()
    n = 0
    cfg = current_app.config
    for status, days, name in (
        (state.SHIPPED, cfg["JISHI_AUTO_CONFIRM_DAYS"], "receive"),
        (state.RECEIVED, cfg["JISHI_AUTO_COMPLETE_DAYS"], "complete"),
    ):
        stamp = Order.shipped_at if status == state.SHIPPED else Order.received_at
        orders = (
            db.session.execute(
                select(Order).where(Order.status == status, stamp < now - timedelta(days=int(days))).limit(500)
            )
            .scalars()
            .all()
        )
        for order in orders:
            try:
                state.transition(order, name, actor_kind="system", note=N_("automatic"))
                if name == "receive" and order.payment_method == "cod" and order.paid_at is None:
                    order.paid_at = now
                commit()
                n += 1
            except state.TransitionError:
                db.session.rollback()
    return n


def buyer_order(user, order_id: int) -> Order | None:
    """The buyer's own order, or None (another buyer's order is 'not found')."""
    order = db.session.get(Order, order_id)
    if order is None or order.user_id != user.id:
        return None
    return order


def lines_of(order_ids) -> dict[int, list[OrderLine]]:
    out: dict[int, list[OrderLine]] = {}
    if not order_ids:
        return out
    for line in db.session.execute(
        select(OrderLine).where(OrderLine.order_id.in_(list(order_ids))).order_by(OrderLine.id)
    ).scalars():
        out.setdefault(line.order_id, []).append(line)
    return out
