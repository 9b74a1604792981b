"""Paying through gateways: starting, notifications, refunds, reconciliation
(SPEC K9; the gateway contract is :class:`jishi.hookspecs.PaymentGateway`).

Everything that must not depend on a plugin is here:

- **Money state is derived from events** (:class:`PaymentEvent`): a charge
  or a refund a gateway reports is recorded once under its reference
  (``dedupe_key``); the same report twice is harmless, the same reference
  with another amount is a recorded failure. :func:`balance` sums them.
- **A payment moves once**: a notification is kept under its unique
  reference in the transaction that marks the payment paid, and the
  payment moves by a conditional UPDATE (``WHERE status='pending'``), so
  duplicates, replays and concurrent deliveries change state once; the
  units of the orders it pays are added to their products' ``sales`` in that
  transaction (:func:`jishi.catalog.service.count_sales`).
- **The gateway must be the payment's**: a notification is applied only
  for a payment that was started with that gateway, for the trade number
  the kernel gave it (:func:`trade_number`), and for the amount that trade
  asked; money that arrives for a payment no longer accepting it (closed,
  paid by another trade, or a trade for an amount it no longer asks) is
  recorded and refunded at once through the same gateway.
- **Refunds are real**: a :class:`PaymentRefund` is committed under the
  payment's lock (so two refunds cannot both pass the balance check) before
  the gateway is called; it is ``succeeded`` only when the gateway says the
  money moved; a retry reuses its number; a refusal is ``failed``, visible in
  the console with a retry.
- **Reconciliation** (:func:`reconcile`, a periodic job): pending payments
  are queried at their gateways, so a lost notification is recovered;
  refunds not yet confirmed are sent again or queried.
- A notification is never answered "success" when handling it failed: the
  gateway's retries are the only second chance.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import cast

from flask import current_app, url_for
from sqlalchemy import CursorResult, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from jishi import signals
from jishi.catalog import service as catalog
from jishi.db import after_commit, commit, db, rollback, utcnow
from jishi.errors import DomainError
from jishi.hookspecs import (
    GatewayNotification,
    GatewayResult,
    Payer,
    PaymentGateway,
    PaymentStart,
    Problem,
    RefundRequest,
)
from jishi.i18n import N_
from jishi.orders import state
from jishi.orders.models import Order, PaymentOrder
from jishi.payments.models import PaymentEvent, PaymentNotification, PaymentRefund

log = logging.getLogger("jishi.payments")


class PaymentError(DomainError):
    """A payment step that is refused (``problem`` kept for older callers)."""

    def __init__(self, message: str, field: str | None = None, code: str = "payment", status: int = 422):
        self.problem = Problem(code, message, field=field)
        super().__init__(field, message, code=code, status=status)


class NotificationRefused(Exception):
    """Raised by :meth:`PaymentGateway.verify_notification`: the signature,
    the app or merchant id, or the timestamp does not check out."""

    def __init__(self, message: str, field: str | None = None):
        self.message = message
        self.field = field
        super().__init__(message)


# -- the gateways -------------------------------------------------------------


def gateways() -> dict[str, PaymentGateway]:
    """Every installed gateway by code, in ``sort`` order."""
    return current_app.extensions["jishi"].payment_gateways()


def gateway(code: str | None) -> PaymentGateway | None:
    return gateways().get(code or "")


def offered(channel: str | None = None) -> list[PaymentGateway]:
    """The gateways a buyer may choose now, for ``channel`` when given."""
    return [g for g in gateways().values() if g.available(channel)]


def channel_for(user_agent: str | None) -> str:
    """The web channel for a browser: ``jsapi`` inside WeChat, ``h5`` on a
    phone, else ``pc``."""
    ua = (user_agent or "").lower()
    if "micromessenger" in ua:
        return "jsapi"
    if any(word in ua for word in ("mobile", "android", "iphone")):
        return "h5"
    return "pc"


def trade_number(payment: PaymentOrder) -> str:
    """The ``out_trade_no`` sent to gateways for ``payment`` as it asks now:
    its number, suffixed ``-N`` after its amount changed N times (a gateway
    never takes a second amount for one trade number)."""
    return payment.number if not payment.trade_seq else f"{payment.number}-{payment.trade_seq}"


def payment_for_trade(number: str) -> tuple[PaymentOrder | None, int]:
    """The payment a trade number names, and the amount version it was for."""
    base, _, seq = (number or "").partition("-")
    payment = db.session.execute(select(PaymentOrder).where(PaymentOrder.number == base)).scalar_one_or_none()
    if payment is None:
        return None, 0
    try:
        return payment, int(seq) if seq else 0
    except ValueError:
        return None, 0


def notify_url(code: str, kind: str = "payment") -> str:
    """Where ``code``'s gateway posts notifications (routed by path: WeChat
    Pay v3 forbids a query string)."""
    endpoint = "payments.notify_refund" if kind == "refund" else "payments.notify"
    return url_for(endpoint, gateway=code, _external=True)


def return_url(payment: PaymentOrder) -> str:
    """Where a gateway's page sends the buyer back."""
    return url_for("shop.payment_return", number=payment.number, _external=True)


# -- starting -------------------------------------------------------------------


def start(payment: PaymentOrder, method_code: str, channel: str = "pc", payer: Payer | None = None) -> PaymentStart:
    """The buyer chose ``method_code`` on a ``channel`` client: start it."""
    from jishi.i18n import gettext as _

    gw = gateway(method_code)
    if gw is None:
        raise PaymentError(_("Unknown payment method %(code)s.", code=method_code), field="method")
    if not gw.available(channel if gw.online else None):
        raise PaymentError(_("This payment method is not offered here."), field="method")
    if payment.status != "pending":
        raise PaymentError(_("This payment is %(status)s.", status=payment.status), field="payment", status=409)
    payer = payer or Payer(user=None)
    if not gw.online:
        started = gw.start(payment, "offline", payer)
        _accept_offline(payment, gw)
        return started
    started = gw.start(payment, channel, payer)
    db.session.add(
        PaymentEvent(
            payment_id=payment.id,
            gateway=gw.code,
            kind="start",
            status="request",
            amount=payment.amount,
            reference=(started.gateway_trade_no or trade_number(payment))[:64],
            channel=channel,
        )
    )
    db.session.execute(
        update(PaymentOrder)
        .where(PaymentOrder.id == payment.id, PaymentOrder.status == "pending")
        .values(method=gw.code)
    )
    commit()
    return started


def _accept_offline(payment: PaymentOrder, gw: PaymentGateway) -> None:
    """An offline method (cash on delivery): the orders go to shipping;
    the money is collected on receipt."""
    from jishi.i18n import gettext as _

    won = _changed(
        update(PaymentOrder)
        .where(PaymentOrder.id == payment.id, PaymentOrder.status == "pending")
        .values(status="cod", method=gw.code)
    )
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
                set_columns={"payment_method": gw.code},
                payment=payment,
            )
            paid.append(order.id)
    # Sold once the order is confirmed for shipping, as a paid one; a
    # refused delivery is refunded through after-sales, which takes it back.
    catalog.count_sales(paid)
    commit()


def started_gateways(payment_id: int) -> list[str]:
    """The gateways a payment was started with (each may hold a trade)."""
    rows = db.session.execute(
        select(PaymentEvent.gateway)
        .where(PaymentEvent.payment_id == payment_id, PaymentEvent.kind == "start")
        .distinct()
    ).scalars()
    return sorted(rows)


def amount_changed(payment_id: int) -> None:
    """The amount a pending payment asks has changed (an order of it was
    cancelled or its price changed), inside the transaction that changed it:
    the trade number moves on (:func:`trade_number`), so paying again starts
    a trade for the new amount, and the trades started for the old amount
    are closed at their gateways so their pages take no more money. A
    gateway that answers the old trade was paid already makes this a
    conflict (PaymentError 409, the caller rolls back: the notification on
    its way pays the payment as it was). Money that arrives for an old
    trade anyway (a gateway that could not be reached) is refunded."""
    from jishi.i18n import gettext as _

    payment = db.session.get(PaymentOrder, payment_id)
    if payment is None:
        return
    db.session.refresh(payment, ["trade_seq", "amount"])
    for code in started_gateways(payment_id):
        gw = gateway(code)
        if gw is None or not gw.online:
            continue
        try:
            result = gw.close(payment)
        except Exception as exc:  # a plugin's failure: an old trade's money is refunded if it comes
            result = GatewayResult("failed", message=str(exc)[:200], retryable=True)
        if result.status == "succeeded":
            raise PaymentError(_("The order was paid meanwhile; reload it."), field="payment", status=409)
        if result.status == "failed":
            log.warning("closing the old trade of %s at %s failed: %s", payment.number, code, result.message)
    db.session.execute(
        update(PaymentOrder)
        .where(PaymentOrder.id == payment_id)
        .values(trade_seq=PaymentOrder.trade_seq + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(payment, ["trade_seq"])
    db.session.refresh(payment, ["amount", "status"])
    if payment.amount == 0:
        # The orders left ask nothing (the cancelled one was all the money):
        # paid at once, as a payment of 0 is at placement.
        pay_free(payment)


def close_at_gateways(payment: PaymentOrder) -> bool:
    """Before a pending payment is closed locally (its time ran out), close
    its trades at their gateways. False when it may not be closed now: a
    gateway says it was paid (the payment is recorded from that answer) or
    could not be reached (the next pass tries again)."""
    for code in started_gateways(payment.id):
        gw = gateway(code)
        if gw is None or not gw.online:
            continue
        try:
            result = gw.close(payment)
        except Exception as exc:  # a plugin's failure is a failed close
            result = GatewayResult("failed", message=str(exc)[:200], retryable=True)
        if result.status == "succeeded":
            _record_event(payment.id, code, "close", "failure", result.amount, result.reference, "paid meanwhile")
            try:
                record_charge(gw, payment, payment.trade_seq, result.reference, result.amount, result.paid_at)
            except PaymentError as exc:  # recorded as a failure event; the payment stays open, looked at again
                log.warning("%s at %s, paid meanwhile: %s", payment.number, code, exc.problem.message)
            return False
        if result.status == "failed":
            log.warning("closing %s at %s failed: %s", payment.number, code, result.message)
            rollback()
            return False
        _record_event(payment.id, code, "close", "success", 0, trade_number(payment), "")
    return True


# -- notifications ----------------------------------------------------------------


def notify(code: str, kind: str, request):
    """The notify route: verify with the named gateway, apply, answer in
    the gateway's own form. Never "success" when handling failed."""
    gw = gateway(code)
    if gw is None or not gw.online:
        return "unknown gateway", 404, {"Content-Type": "text/plain"}
    try:
        note = gw.verify_notification(request, kind)
    except NotificationRefused as exc:
        rollback()
        _count(code, "refused")
        log.warning("%s notification refused: %s", code, exc.message)
        return gw.reply(False, f"{exc.field}: {exc.message}" if exc.field else exc.message)
    if note is None:
        return gw.reply(True)
    try:
        result = apply_notification(gw, note)
    except PaymentError as exc:
        rollback()
        _count(code, "rejected")
        log.warning("%s notification rejected: %s", code, exc.problem.message)
        return gw.reply(
            False, f"{exc.problem.field}: {exc.problem.message}" if exc.problem.field else exc.problem.message
        )
    except Exception:
        rollback()
        _count(code, "error")
        log.exception("%s notification failed", code)
        return gw.reply(False, "internal error")
    _count(code, result)
    return gw.reply(True)


def _count(code: str, result: str) -> None:
    """Count a notification by gateway and result (Prometheus, ``/metrics``)."""
    from jishi import metrics

    metrics.count_payment_notification(code, result)


def handle_notification(code: str, params: dict) -> str:
    """Apply a notification given as its decoded parameters (the sandbox's
    in-process delivery and tests): ``"success"`` or PaymentError."""
    gw = gateway(code)
    parse = getattr(gw, "notification_from", None)
    if gw is None or parse is None:
        raise PaymentError("unknown gateway", field="gateway", status=404)
    try:
        note = parse(params)
    except NotificationRefused as exc:
        raise PaymentError(exc.message, field=exc.field, status=400) from None
    if note is not None:
        apply_notification(gw, note)
    return "success"


def apply_notification(gw: PaymentGateway, note: GatewayNotification) -> str:
    """Apply one verified notification; commits. Returns what happened
    (``paid``, ``already_paid``, ``duplicate``, ``refunded_late``, ...)."""
    if note.kind == "refund":
        return _apply_refund_note(gw, note)
    payment, seq = payment_for_trade(note.payment_number)
    if payment is None:
        raise PaymentError("unknown out_trade_no", field="out_trade_no", status=400)
    if note.status != "paid":
        return "ignored"
    if gw.code not in started_gateways(payment.id):
        _record_event(payment.id, gw.code, "charge", "failure", note.amount, note.gateway_trade_no, "not started here")
        commit()
        raise PaymentError("this payment was not started with this gateway", field="gateway", status=400)
    record = PaymentNotification(
        gateway=gw.code,
        notify_id=f"{gw.code}:{note.reference}"[:64],
        payment_number=payment.number,
        amount=note.amount,
        payload={k: str(v) for k, v in dict(note.raw).items()},
        result="pending",
    )
    try:
        with db.session.begin_nested():
            db.session.add(record)
    except IntegrityError:
        rollback()
        return "duplicate"  # a replay: already handled
    result = record_charge(gw, payment, seq, note.gateway_trade_no, note.amount, note.paid_at, record=record)
    return result


def record_charge(
    gw: PaymentGateway,
    payment: PaymentOrder,
    seq: int,
    trade_no: str,
    amount: int,
    paid_at=None,
    *,
    record: PaymentNotification | None = None,
) -> str:
    """Money came in for ``payment`` by the trade ``trade_no`` (numbered for
    amount version ``seq``), as a notification, a query or a close said.
    Moves the payment once; money it no longer accepts is refunded. Commits."""
    if seq == payment.trade_seq and amount != payment.amount and payment.status == "pending":
        # A trade numbered for what the payment asks now, for another amount:
        # nothing a gateway that took the asked amount would say.
        _record_event(payment.id, gw.code, "charge", "failure", amount, trade_no, "amount does not match")
        commit()
        raise PaymentError("amount does not match the payment", field="total_amount", status=400)
    key = f"{gw.code}:charge:{trade_no}"
    event = PaymentEvent(
        payment_id=payment.id,
        gateway=gw.code,
        kind="charge",
        status="success",
        amount=amount,
        reference=trade_no[:64],
        dedupe_key=key[:160],
    )
    try:
        with db.session.begin_nested():
            db.session.add(event)
    except IntegrityError:
        earlier = db.session.execute(select(PaymentEvent).where(PaymentEvent.dedupe_key == key[:160])).scalar_one()
        if earlier.amount != amount or earlier.payment_id != payment.id:
            _record_event(payment.id, gw.code, "charge", "failure", amount, trade_no, "reported again differently")
            if record is not None:
                record.result = "conflict"
            commit()
            raise PaymentError("this trade was reported with another amount", field="total_amount", status=400)
        if record is not None:
            record.result = "already_paid"
        commit()
        return "already_paid"
    won = 0
    if seq == payment.trade_seq:
        won = _changed(
            update(PaymentOrder)
            .where(
                PaymentOrder.id == payment.id,
                PaymentOrder.status == "pending",
                PaymentOrder.amount == amount,
                PaymentOrder.trade_seq == seq,
            )
            .values(status="paid", method=gw.code, paid_at=utcnow(), gateway_trade_no=trade_no)
        )
    if won:
        result = "paid"
        _pay_orders(payment, gw.code, f"{gw.code} {trade_no}")
    else:
        db.session.refresh(payment)
        if payment.status == "pending" and seq == payment.trade_seq:
            # An order of it was cancelled meanwhile: it asks less now, and
            # this trade's number was for the old amount.
            rollback()
            raise PaymentError("amount does not match the payment", field="total_amount", status=400)
        # Money arrived for a payment we no longer accept it for (timed out,
        # a second trade for a paid payment, a trade for an old amount):
        # give it back at once, through the same gateway.
        result = "refunded_late"
        _reserve(
            payment,
            gw.code,
            amount,
            trade_number=payment.number if not seq else f"{payment.number}-{seq}",
            gateway_trade_no=trade_no,
            trade_amount=amount,
            reason="late_payment",
        )
    if record is not None:
        record.result = result
    commit()
    return result


def _pay_orders(payment: PaymentOrder, code: str, note: str) -> None:
    """The payment just moved to ``paid`` (by the caller's conditional
    UPDATE, inside its transaction): its pending orders move by "pay" (the
    ``order_paid`` signal, the ``order_transitioned`` hooks), their units are
    counted as sold, and ``payment_succeeded`` is queued. Runs once per
    payment, as only the UPDATE's winner gets here."""
    paid = []
    for order in db.session.execute(select(Order).where(Order.payment_id == payment.id)).scalars():
        if order.status == state.PENDING:
            state.transition(
                order,
                "pay",
                actor_kind="system",
                note=note,
                set_columns={"payment_method": code},
                payment=payment,
            )
            paid.append(order.id)
    # 已售: once, as the payment moved once (a replay never gets here).
    catalog.count_sales(paid)
    signals.queue(signals.payment_succeeded, payment)


#: The built-in internal gateway that records a payment of 0 as paid
#: (:class:`jishi.defaults.payments.FreeGateway`).
FREE = "free"


def pay_free(payment: PaymentOrder) -> bool:
    """A payment that asks 0 (a points-only exchange, an order a coupon or
    points paid in full) is paid at once by the internal gateway ``free``
    (0元订单自动支付), inside the caller's transaction (the placement's): the
    same move as a gateway's charge (:func:`record_charge`): the payment by
    a conditional UPDATE (``WHERE status='pending' AND amount=0``), its
    orders by "pay", a charge event of 0 under a unique key. True when this
    call paid it; False for a payment that asks money or is not pending."""
    if payment.amount != 0 or payment.status != "pending":
        return False
    now = utcnow()
    won = _changed(
        update(PaymentOrder)
        .where(PaymentOrder.id == payment.id, PaymentOrder.status == "pending", PaymentOrder.amount == 0)
        .values(status="paid", method=FREE, paid_at=now)
        .execution_options(synchronize_session=False)
    )
    if not won:
        return False
    from sqlalchemy.orm.attributes import set_committed_value

    for key, value in (("status", "paid"), ("method", FREE), ("paid_at", now)):
        set_committed_value(payment, key, value)  # written by the UPDATE
    db.session.add(
        PaymentEvent(
            payment_id=payment.id,
            gateway=FREE,
            kind="charge",
            status="success",
            amount=0,
            reference=payment.number[:64],
            dedupe_key=f"{FREE}:charge:{payment.number}"[:160],
        )
    )
    _pay_orders(payment, FREE, N_("paid at once: nothing to pay"))
    return True


def _changed(statement) -> int:
    """Run a conditional UPDATE; how many rows it changed."""
    return cast(CursorResult, db.session.execute(statement)).rowcount


def _record_event(payment_id: int, code: str, kind: str, status: str, amount: int, reference: str, message: str):
    db.session.add(
        PaymentEvent(
            payment_id=payment_id,
            gateway=code,
            kind=kind,
            status=status,
            amount=amount,
            reference=(reference or "")[:64],
            message=(message or "")[:300],
        )
    )


# -- money state ------------------------------------------------------------------


def balance(payment_id: int) -> dict[str, int]:
    """What a payment was charged and given back, from its events, and what
    its refunds hold (``reserved``: committed, not failed for good)."""
    rows = db.session.execute(
        select(PaymentEvent.kind, func.coalesce(func.sum(PaymentEvent.amount), 0))
        .where(
            PaymentEvent.payment_id == payment_id,
            PaymentEvent.status == "success",
            PaymentEvent.kind.in_(("charge", "refund")),
        )
        .group_by(PaymentEvent.kind)
    ).all()
    sums = {kind: int(total) for kind, total in rows}
    reserved = db.session.execute(
        select(func.coalesce(func.sum(PaymentRefund.amount), 0)).where(PaymentRefund.payment_id == payment_id)
    ).scalar_one()
    return {"charged": sums.get("charge", 0), "refunded": sums.get("refund", 0), "reserved": int(reserved)}


# -- refunds ----------------------------------------------------------------------


def reserve_refund(order: Order, amount: int, *, refund_id: int | None = None) -> PaymentRefund | None:
    """Inside the caller's transaction (an after-sales refund being
    executed): commit to give ``amount`` fen of ``order``'s payment back.
    Returns the :class:`PaymentRefund` (sent to the gateway once the caller
    commits), or None when no money moves (cash on delivery not collected).
    Refused (409) when the payment's charges do not cover it."""
    if amount <= 0:
        return None
    payment = order.payment
    code = order.payment_method or payment.method or ""
    if code == FREE:
        return None  # a payment of 0: no money to give back
    gw = gateway(code)
    if code == "cod" or (gw is not None and not gw.online):
        if order.paid_at is None:
            return None  # nothing was collected yet
    return _reserve(
        payment,
        code,
        amount,
        trade_number=trade_number(payment),
        gateway_trade_no=payment.gateway_trade_no or "",
        trade_amount=payment.amount,
        reason="aftersales",
        refund_id=refund_id,
    )


def _reserve(
    payment: PaymentOrder,
    code: str,
    amount: int,
    *,
    trade_number: str,
    gateway_trade_no: str,
    trade_amount: int,
    reason: str,
    refund_id: int | None = None,
) -> PaymentRefund:
    from jishi.checkout.service import _number
    from jishi.i18n import gettext as _

    # The payment's row lock: refunds of one payment pass the check one at a time.
    db.session.execute(select(PaymentOrder.id).where(PaymentOrder.id == payment.id).with_for_update()).all()
    gw = gateway(code)
    if gw is not None and gw.online:
        money = balance(payment.id)
        charged = money["charged"] or (payment.amount if payment.status == "paid" else 0)
        if money["reserved"] + amount > charged:
            rollback()
            raise PaymentError(_("A refund cannot exceed what was paid."), field="amount", status=409)
    pr = PaymentRefund(
        number=_number("T"),
        payment_id=payment.id,
        refund_id=refund_id,
        gateway=code,
        trade_number=trade_number,
        gateway_trade_no=gateway_trade_no,
        trade_amount=trade_amount,
        amount=amount,
        reason=reason,
        status="requested",
    )
    db.session.add(pr)
    db.session.flush()
    pr_id = pr.id
    after_commit(lambda: send_refund(pr_id))
    return pr


def _request_of(pr: PaymentRefund) -> RefundRequest:
    return RefundRequest(
        number=pr.number,
        payment_number=pr.trade_number,
        gateway_trade_no=pr.gateway_trade_no,
        payment_amount=pr.trade_amount,
        amount=pr.amount,
        reason=pr.reason,
    )


def send_refund(refund_id: int) -> str:
    """Send (or send again, same number) a committed refund to its gateway
    and record the answer. Returns the refund's status after it."""
    pr = db.session.get(PaymentRefund, refund_id)
    if pr is None or pr.status not in ("requested",):
        return pr.status if pr is not None else "missing"
    gw = gateway(pr.gateway)
    if gw is None:
        result = GatewayResult("failed", message=f"gateway {pr.gateway} is not installed")
    else:
        try:
            result = gw.refund(_request_of(pr))
        except Exception as exc:  # a plugin's failure: try again later
            log.exception("refund %s at %s failed", pr.number, pr.gateway)
            result = GatewayResult("failed", message=str(exc)[:200], retryable=True)
    return apply_refund_result(pr.id, result, attempt=True)


def apply_refund_result(refund_id: int, result: GatewayResult, *, attempt: bool = False) -> str:
    """Record a gateway's answer about a refund (to the request, a query or
    a notification). Commits; returns the refund's status."""
    pr = db.session.get(PaymentRefund, refund_id)
    assert pr is not None
    now = utcnow()
    counts = {"attempts": PaymentRefund.attempts + 1, "tried_at": now} if attempt else {}
    if result.status == "succeeded":
        _refund_done(pr, result.reference, result.amount or pr.amount, counts)
    elif result.status in ("pending", "abnormal") or (result.status == "failed" and result.retryable):
        target = (
            "pending" if result.status == "pending" else ("abnormal" if result.status == "abnormal" else "requested")
        )
        db.session.execute(
            update(PaymentRefund)
            .where(PaymentRefund.id == pr.id, PaymentRefund.status.in_(("requested", "pending", "abnormal")))
            .values(
                status=target,
                gateway_refund_no=(result.reference or pr.gateway_refund_no)[:64],
                last_error=(result.message or "")[:300],
                **counts,
            )
            .execution_options(synchronize_session=False)
        )
        if result.status == "abnormal":
            _record_event(pr.payment_id, pr.gateway, "refund", "failure", pr.amount, pr.number, "abnormal")
    else:
        won = db.session.execute(
            update(PaymentRefund)
            .where(PaymentRefund.id == pr.id, PaymentRefund.status.in_(("requested", "pending", "abnormal")))
            .values(status="failed", last_error=(result.message or "refused")[:300], **counts)
            .execution_options(synchronize_session=False)
        )
        if won:
            _record_event(pr.payment_id, pr.gateway, "refund", "failure", pr.amount, pr.number, result.message)
            if pr.refund_id is not None:
                from jishi.aftersales import service as aftersales

                aftersales.money_failed(pr.refund_id)
    commit()
    db.session.refresh(pr)
    return pr.status


def _refund_done(pr: PaymentRefund, reference: str, amount: int, counts: dict) -> None:
    if amount != pr.amount:
        _record_event(pr.payment_id, pr.gateway, "refund", "failure", amount, pr.number, "amount does not match")
        return
    won = _changed(
        update(PaymentRefund)
        .where(PaymentRefund.id == pr.id, PaymentRefund.status != "succeeded")
        .values(
            status="succeeded",
            finished_at=utcnow(),
            gateway_refund_no=(reference or pr.gateway_refund_no)[:64],
            last_error="",
            **counts,
        )
        .execution_options(synchronize_session=False)
    )
    if not won:
        return
    db.session.add(
        PaymentEvent(
            payment_id=pr.payment_id,
            gateway=pr.gateway,
            kind="refund",
            status="success",
            amount=amount,
            reference=(reference or pr.number)[:64],
            dedupe_key=f"{pr.gateway}:refund:{pr.number}"[:160],
            refund_id=pr.id,
        )
    )
    if pr.refund_id is not None:
        from jishi.aftersales import service as aftersales

        aftersales.money_returned(pr.refund_id)


def retry_refund(refund_id: int) -> str:
    """The console's retry of a failed (or abnormal) refund: the same number
    is sent again. Returns the status after it."""
    from jishi.i18n import gettext as _

    won = _changed(
        update(PaymentRefund)
        .where(PaymentRefund.id == refund_id, PaymentRefund.status.in_(("failed", "abnormal")))
        .values(status="requested")
        .execution_options(synchronize_session=False)
    )
    if not won:
        rollback()
        raise PaymentError(_("Only a failed refund can be retried."), field="status", status=409)
    pr = db.session.get(PaymentRefund, refund_id)
    assert pr is not None
    if pr.refund_id is not None:
        from jishi.aftersales import service as aftersales

        aftersales.money_retried(pr.refund_id)
    commit()
    return send_refund(refund_id)


def _apply_refund_note(gw: PaymentGateway, note: GatewayNotification) -> str:
    pr = db.session.execute(
        select(PaymentRefund).where(PaymentRefund.number == (note.refund_number or ""))
    ).scalar_one_or_none()
    if pr is None or pr.gateway != gw.code:
        raise PaymentError("unknown refund", field="out_refund_no", status=400)
    if note.payment_number != pr.trade_number and note.gateway_trade_no != pr.gateway_trade_no:
        raise PaymentError("the refund is not of this trade", field="out_trade_no", status=400)
    record = PaymentNotification(
        gateway=gw.code,
        notify_id=f"{gw.code}:{note.reference}"[:64],
        payment_number=pr.trade_number[:32],
        amount=note.amount,
        payload={k: str(v) for k, v in dict(note.raw).items()},
        result=f"refund_{note.status}"[:30],
    )
    try:
        with db.session.begin_nested():
            db.session.add(record)
    except IntegrityError:
        rollback()
        return "duplicate"
    status = {"succeeded": "succeeded", "failed": "failed", "abnormal": "abnormal"}.get(note.status, "pending")
    apply_refund_result(
        pr.id, GatewayResult(status, amount=note.amount, reference=note.gateway_refund_no or "", message=note.status)
    )
    return f"refund_{status}"


# -- reconciliation ---------------------------------------------------------------


def reconcile(now: datetime | None = None) -> dict[str, int]:
    """One pass (a periodic job): query pending payments started a while
    ago, so a lost notification is recovered; send again refunds no gateway
    answered; query refunds the gateway accepted and has not confirmed.
    Idempotent; each step commits on its own."""
    cfg = current_app.config
    now = now or utcnow()
    after = timedelta(seconds=int(cfg.get("JISHI_PAYMENT_QUERY_AFTER_SECONDS", 60)))
    horizon = timedelta(hours=int(cfg.get("JISHI_PAYMENT_QUERY_HOURS", 48)))
    counts = {"queried": 0, "recovered": 0, "refunds_sent": 0, "refunds_queried": 0}
    rows = db.session.execute(
        select(PaymentEvent.payment_id, PaymentEvent.gateway)
        .join(PaymentOrder, PaymentOrder.id == PaymentEvent.payment_id)
        .where(
            PaymentEvent.kind == "start",
            PaymentOrder.status == "pending",
            PaymentEvent.created_at < now - after,
            PaymentEvent.created_at > now - horizon,
        )
        .distinct()
        .limit(200)
    ).all()
    for payment_id, code in rows:
        gw, payment = gateway(code), db.session.get(PaymentOrder, payment_id)
        if gw is None or payment is None or payment.status != "pending":
            continue
        counts["queried"] += 1
        try:
            result = gw.query(payment)
        except Exception:
            log.exception("query of %s at %s failed", payment.number, code)
            continue
        if result.status == "succeeded":
            try:
                if record_charge(gw, payment, payment.trade_seq, result.reference, result.amount, result.paid_at) in (
                    "paid",
                    "refunded_late",
                ):
                    counts["recovered"] += 1
            except PaymentError as exc:
                log.warning("query of %s at %s: %s", payment.number, code, exc.problem.message)
    retry_after = timedelta(seconds=int(cfg.get("JISHI_REFUND_RETRY_SECONDS", 60)))
    for pr_id in _refund_ids("requested", now - retry_after):
        send_refund(pr_id)
        counts["refunds_sent"] += 1
    for pr_id in _refund_ids("pending", now - retry_after):
        pr = db.session.get(PaymentRefund, pr_id)
        gw = gateway(pr.gateway) if pr is not None else None
        if pr is None or gw is None:
            continue
        try:
            result = gw.query_refund(_request_of(pr))
        except Exception:
            log.exception("refund query of %s failed", pr.number)
            continue
        counts["refunds_queried"] += 1
        if result.status != "pending":
            apply_refund_result(pr.id, result)
    return counts


def _refund_ids(status: str, before: datetime) -> Iterable[int]:
    conditions = [
        PaymentRefund.status == status,
        or_(PaymentRefund.tried_at.is_(None), PaymentRefund.tried_at < before),
    ]
    if status == "requested":  # a new one is being sent by the request that made it
        conditions.append(PaymentRefund.created_at < before)
    return (
        db.session.execute(select(PaymentRefund.id).where(*conditions).order_by(PaymentRefund.id).limit(200))
        .scalars()
        .all()
    )


# -- the daily bill ---------------------------------------------------------------


def compare_bill(gw: PaymentGateway, day) -> list:
    """Compare ``gw``'s bill of the shop day ``day`` with the kernel's
    events and record the differences (:class:`BillDifference`), replacing
    the unresolved ones of an earlier comparison of that day (idempotent).
    A line of the bill is matched with the event of its reference whenever
    it was recorded (a notification that arrived after midnight is no
    difference); an event of the day the bill does not show is one. Commits;
    returns the differences, or [] when the gateway has no bill."""
    from jishi.i18n import shop_day_bounds
    from jishi.payments.models import BillDifference

    entries = gw.bill(day)
    if entries is None:
        return []
    start, end = shop_day_bounds(day, day)
    theirs: dict[tuple[str, str], int] = {}
    for e in entries:
        theirs[(e.kind, e.reference)] = theirs.get((e.kind, e.reference), 0) + e.amount
    charges = dict(
        db.session.execute(
            select(PaymentEvent.reference, PaymentEvent.amount).where(
                PaymentEvent.gateway == gw.code,
                PaymentEvent.kind == "charge",
                PaymentEvent.status == "success",
                or_(
                    PaymentEvent.reference.in_([r for k, r in theirs if k == "charge"]),
                    (PaymentEvent.created_at >= start) & (PaymentEvent.created_at < end),
                ),
            )
        ).all()
    )
    refunds = dict(
        db.session.execute(
            select(PaymentRefund.number, PaymentEvent.amount)
            .join(PaymentRefund, PaymentRefund.id == PaymentEvent.refund_id)
            .where(
                PaymentEvent.gateway == gw.code,
                PaymentEvent.kind == "refund",
                PaymentEvent.status == "success",
                or_(
                    PaymentRefund.number.in_([r for k, r in theirs if k == "refund"]),
                    (PaymentEvent.created_at >= start) & (PaymentEvent.created_at < end),
                ),
            )
        ).all()
    )
    ours = {("charge", r): a for r, a in charges.items()} | {("refund", n): a for n, a in refunds.items()}
    found = []
    for key in sorted(set(ours) | set(theirs)):
        mine, other = ours.get(key), theirs.get(key)
        if mine == other:
            continue
        problem = "missing_here" if mine is None else "missing_there" if other is None else "amount"
        found.append(
            BillDifference(
                gateway=gw.code, day=day, kind=key[0], problem=problem, reference=key[1][:64], ours=mine, theirs=other
            )
        )
    db.session.execute(
        delete(BillDifference)
        .where(BillDifference.gateway == gw.code, BillDifference.day == day, BillDifference.resolved_at.is_(None))
        .execution_options(synchronize_session="fetch")
    )
    db.session.add_all(found)
    commit()
    return found


def compare_bills(day=None) -> str:
    """The daily job: every gateway's bill of ``day`` (the shop's yesterday
    by default) against the kernel's records."""
    from datetime import timedelta as td

    from jishi.i18n import to_shop_time

    day = day or (to_shop_time(utcnow()).date() - td(days=1))
    counts = []
    for gw in gateways().values():
        if gw.code == FREE:
            continue  # no money moves through it: no bill
        try:
            found = compare_bill(gw, day)
        except Exception:  # one gateway's failure must not stop the others
            rollback()
            log.exception("the bill of %s for %s could not be compared", gw.code, day)
            counts.append(f"{gw.code}: failed")
            continue
        counts.append(f"{gw.code}: {len(found)}")
    return f"{day}: " + ", ".join(counts)
