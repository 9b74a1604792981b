"""Paying: choosing a method, handling notifications, refunding (SPEC K9).

:func:`handle_notification` is idempotent: a notification is recorded under
its unique ``notify_id`` in the same transaction that marks the payment paid,
and the payment moves by a conditional UPDATE (``WHERE status='pending'``),
so duplicates, replays and concurrent deliveries change state once; the
units of the orders it pays are added to their products' ``sales`` in that
transaction, in one UPDATE (:func:`jishi.catalog.service.count_sales`). A payment
that arrives after its order was closed (timeout) is refunded at once.
"""

from __future__ import annotations

import time

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from jishi import signals
from jishi.catalog import service as catalog
from jishi.db import commit, db, rollback, utcnow
from jishi.errors import DomainError
from jishi.hookspecs import PaymentStart, Problem
from jishi.i18n import N_
from jishi.orders import state
from jishi.orders.models import Order, PaymentOrder
from jishi.payments import sandbox
from jishi.payments.models import PaymentNotification, SandboxTrade


class PaymentError(DomainError):
    """A payment step that is refused (``problem`` kept for older callers)."""

    def __init__(self, message: str, field: str | None = None, code: str = "payment", status: int = 422):
        self.problem = Problem(code, message, field=field)
        super().__init__(field, message, code=code, status=status)


def methods() -> dict:
    return current_app.extensions["jishi"].payment_methods()


def start(payment: PaymentOrder, method_code: str) -> PaymentStart:
    from jishi.i18n import gettext as _

    method = methods().get(method_code)
    if method is None:
        raise PaymentError(_("Unknown payment method %(code)s.", code=method_code), field="method")
    if payment.status != "pending":
        raise PaymentError(_("This payment is %(status)s.", status=payment.status), field="payment", status=409)
    return method.start(payment)


def start_sandbox(payment: PaymentOrder) -> PaymentStart:
    from flask import url_for

    trade = sandbox.create_trade(payment)
    payment.method = "sandbox"
    commit()
    return PaymentStart(redirect_url=url_for("payments.gateway_page", trade_no=trade.trade_no))


def start_cod(payment: PaymentOrder) -> PaymentStart:
    """Cash on delivery: the orders go to shipping; cash is collected on receipt."""
    from jishi.i18n import gettext as _

    if any(o.is_virtual for o in payment.orders):
        raise PaymentError(_("Virtual goods cannot be paid on delivery."), field="method")
    won = db.session.execute(
        update(PaymentOrder)
        .where(PaymentOrder.id == payment.id, PaymentOrder.status == "pending")
        .values(status="cod", method="cod")
    ).rowcount
    if not won:
        rollback()
        raise PaymentError(_("This payment is no longer pending."), field="payment", status=409)
    paid = []
    for order in payment.orders:
        if order.status == state.PENDING:
            state.transition(
                order,
                "pay",
                actor_kind="system",
                note=N_("cash on delivery"),
                set_paid_at=False,
                set_columns={"payment_method": "cod"},
                payment=payment,
            )
            paid.append(order.id)
    # Sold once the order is confirmed for shipping, as a paid one; a
    # refused delivery is refunded through after-sales, which takes it back.
    catalog.count_sales(paid)
    commit()
    return PaymentStart(offline=True)


def amount_changed(payment_id: int) -> None:
    """The amount a pending payment asks has changed (an order of it was
    cancelled or its price changed), inside the transaction that changed it:
    every gateway trade started for the old amount is closed, so its page
    takes no more money, and paying again starts a trade for the new amount.
    A notification for the old amount is refused by
    :func:`handle_notification` in any case (its amount is checked against
    what the payment asks now).

    This is where a real gateway's "close trade" call belongs (one per
    gateway whose trades this payment started); the sandbox closes its own
    rows."""
    sandbox.close_trades(payment_id)


def handle_notification(gateway: str, params: dict) -> str:
    """Verify and apply one gateway notification; returns what to answer the
    gateway: ``"success"`` (stop retrying) or raises PaymentError (4xx)."""
    cfg = current_app.config
    if gateway != "sandbox":
        raise PaymentError("unknown gateway", field="gateway", status=404)
    if not sandbox.verify(params, cfg["JISHI_SANDBOX_SECRET"]):
        raise PaymentError("bad signature", field="sign", status=400)
    if params.get("app_id") != cfg["JISHI_SANDBOX_APP_ID"]:
        raise PaymentError("wrong app_id", field="app_id", status=400)
    try:
        ts = int(params.get("timestamp", ""))
        amount = int(params.get("total_amount", ""))
    except ValueError:
        raise PaymentError("bad timestamp or amount", field="timestamp", status=400) from None
    if abs(time.time() - ts) > int(cfg["JISHI_SANDBOX_NOTIFY_WINDOW_SECONDS"]):
        raise PaymentError("notification outside the time window", field="timestamp", status=400)
    notify_id = str(params.get("notify_id", ""))
    if not notify_id:
        raise PaymentError("missing notify_id", field="notify_id", status=400)
    payment = db.session.execute(
        select(PaymentOrder).where(PaymentOrder.number == params.get("out_trade_no"))
    ).scalar_one_or_none()
    if payment is None:
        raise PaymentError("unknown out_trade_no", field="out_trade_no", status=400)
    # The gateway's trade must be one started for this payment, for this
    # amount; and the amount what the payment asks now (an order of it
    # cancelled since lowers it, and closes the trades of the old amount).
    trade_no = str(params.get("trade_no", ""))
    trade = db.session.execute(select(SandboxTrade).where(SandboxTrade.trade_no == trade_no)).scalar_one_or_none()
    if trade is None or trade.out_trade_no != payment.number:
        raise PaymentError("trade_no is not a trade of this payment", field="trade_no", status=400)
    if amount != trade.amount:
        raise PaymentError("amount does not match the trade", field="total_amount", status=400)
    if amount != payment.amount:
        raise PaymentError("amount does not match the payment", field="total_amount", status=400)
    if params.get("trade_status") != "TRADE_SUCCESS":
        return "success"

    record = PaymentNotification(
        gateway=gateway,
        notify_id=notify_id,
        payment_number=payment.number,
        amount=amount,
        payload=dict(params),
        result="pending",
    )
    try:
        with db.session.begin_nested():
            db.session.add(record)
    except IntegrityError:
        rollback()
        return "success"  # duplicate or replay: already handled

    won = db.session.execute(
        update(PaymentOrder)
        .where(PaymentOrder.id == payment.id, PaymentOrder.status == "pending", PaymentOrder.amount == amount)
        .values(status="paid", method="sandbox", paid_at=utcnow(), gateway_trade_no=trade_no)
    ).rowcount
    if won:
        record.result = "paid"
        paid = []
        for order in db.session.execute(select(Order).where(Order.payment_id == payment.id)).scalars():
            if order.status == state.PENDING:
                state.transition(
                    order,
                    "pay",
                    actor_kind="system",
                    note=f"sandbox {trade_no}",
                    set_columns={"payment_method": "sandbox"},
                    payment=payment,
                )
                paid.append(order.id)
        # 已售: once, as the payment moved once (a replay never gets here).
        catalog.count_sales(paid)
        signals.queue(signals.payment_succeeded, payment)
    else:
        db.session.refresh(payment)
        if payment.status == "pending":  # an order of it was cancelled meanwhile: it asks less now
            rollback()
            raise PaymentError("amount does not match the payment", field="total_amount", status=400)
        if payment.status == "closed" or (payment.status == "paid" and payment.gateway_trade_no != trade_no):
            # Money arrived for a payment we no longer accept (timed out, or a
            # second trade for an already paid order): give it back at once.
            record.result = "refunded_late"
            sandbox.refund(trade.trade_no, amount)
        else:
            record.result = "already_paid"
    if trade.status == "created":
        trade.status = "paid" if record.result != "refunded_late" else "refunded"
        if record.result == "refunded_late":
            trade.refunded_amount = trade.amount
    commit()
    return "success"


def refund_money(order: Order, amount: int) -> bool:
    """Send ``amount`` fen back through the way the order was paid."""
    if amount <= 0:
        return True
    payment = order.payment
    if order.payment_method == "sandbox" and payment.gateway_trade_no:
        return sandbox.refund(payment.gateway_trade_no, amount)
    return True  # cash on delivery / offline: refunded by the shop in person
