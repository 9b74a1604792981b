"""Payment notifications, kept for deduplication and audit (SPEC K9)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from jishi.db import db, utcnow


class PaymentNotification(db.Model):
    """Every verified notification, unique by the gateway's notify id.

    The unique constraint makes a duplicated or replayed notification a
    no-op even when two arrive at once.
    """

    __tablename__ = "payment_notifications"
    id: Mapped[int] = mapped_column(primary_key=True)
    gateway: Mapped[str] = mapped_column(String(30))
    notify_id: Mapped[str] = mapped_column(String(64), unique=True)
    payment_number: Mapped[str] = mapped_column(String(32), index=True)
    amount: Mapped[int]
    payload: Mapped[dict] = mapped_column(JSON)
    result: Mapped[str] = mapped_column(String(30))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class PaymentEvent(db.Model):
    """One thing a gateway was asked or reported about a payment (SPEC K9).

    Money state is derived from these, not written alone: what a payment was
    charged is the sum of its ``charge``/``success`` events, what was given
    back the sum of its ``refund``/``success`` events
    (:func:`jishi.payments.service.balance`). ``dedupe_key`` (gateway, kind,
    reference) is unique for the events that move money, so the same report
    arriving twice records once; the same reference with another amount is
    recorded as a ``failure`` event (no key) and changes nothing.

    ``kind``: ``start`` (a trade was started: the gateway, the channel),
    ``charge`` (money in), ``refund`` (money back), ``close``,
    ``share`` / ``share_return`` (profit sharing), ``query``.
    ``status``: ``request``, ``success``, ``pending``, ``failure``.
    """

    __tablename__ = "payment_events"
    __table_args__ = (Index("ix_payment_events_payment_kind", "payment_id", "kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payment_orders.id"))
    gateway: Mapped[str] = mapped_column(String(30))
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    amount: Mapped[int] = mapped_column(default=0)
    reference: Mapped[str] = mapped_column(String(64), default="")
    channel: Mapped[str] = mapped_column(String(20), default="")
    dedupe_key: Mapped[str | None] = mapped_column(String(160), unique=True)
    message: Mapped[str] = mapped_column(String(300), default="")
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("payment_refunds.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PaymentRefund(db.Model):
    """Money to send back through the gateway that took it: an after-sales
    refund's amount, or a payment that arrived for an order no longer
    accepting it (``reason`` ``late_payment``).

    Committed (``requested``) before the gateway is called, under the
    payment's lock, so two refunds can never both pass the balance check;
    ``number`` is the ``out_refund_no`` sent on every attempt (a retry never
    mints a new one). ``status``: ``requested`` (committed, not yet
    answered) → ``pending`` (the gateway accepted it) → ``succeeded``; or
    ``failed`` (refused; visible in the console with a retry) or
    ``abnormal`` (WeChat's 退款异常: needs a follow-up at the gateway).
    """

    __tablename__ = "payment_refunds"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payment_orders.id"), index=True)
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refunds.id"), unique=True)
    gateway: Mapped[str] = mapped_column(String(30))
    # The trade the money came in by (out_trade_no, the gateway's number, its total).
    trade_number: Mapped[str] = mapped_column(String(40))
    gateway_trade_no: Mapped[str] = mapped_column(String(64), default="")
    trade_amount: Mapped[int]
    amount: Mapped[int]
    reason: Mapped[str] = mapped_column(String(30), default="aftersales")
    status: Mapped[str] = mapped_column(String(20), default="requested", index=True)
    gateway_refund_no: Mapped[str] = mapped_column(String(64), default="")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    tried_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class SandboxTrade(db.Model):
    """The sandbox gateway's own record of a trade (its side of the world)."""

    __tablename__ = "sandbox_trades"
    id: Mapped[int] = mapped_column(primary_key=True)
    trade_no: Mapped[str] = mapped_column(String(64), unique=True)
    out_trade_no: Mapped[str] = mapped_column(String(32), index=True)
    amount: Mapped[int]
    subject: Mapped[str] = mapped_column(String(120), default="")
    notify_url: Mapped[str] = mapped_column(String(300))
    return_url: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), default="created")  # created, paid, refunded, closed
    refunded_amount: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SandboxOperation(db.Model):
    """The sandbox gateway's record of a refund or a profit sharing, by our
    number (``out_refund_no`` / ``out_order_no``): a retry with the same
    number answers what the first did."""

    __tablename__ = "sandbox_operations"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # refund, share, share_return
    number: Mapped[str] = mapped_column(String(64), unique=True)
    trade_no: Mapped[str] = mapped_column(String(64), index=True)
    amount: Mapped[int]
    status: Mapped[str] = mapped_column(String(20))  # pending, succeeded, failed
    receiver: Mapped[str] = mapped_column(String(120), default="")
    reference: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BillDifference(db.Model):
    """A difference between a gateway's daily bill and the kernel's events
    (:func:`jishi.payments.service.compare_bill`): money the gateway settled
    that Jishi has no record of (``missing_here``), money Jishi recorded the
    gateway does not show (``missing_there``), or both with other amounts
    (``amount``). Kept until someone marks it resolved."""

    __tablename__ = "bill_differences"
    __table_args__ = (Index("ix_bill_differences_gateway_day", "gateway", "day"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    gateway: Mapped[str] = mapped_column(String(30))
    day: Mapped[date]
    kind: Mapped[str] = mapped_column(String(20))  # charge, refund
    problem: Mapped[str] = mapped_column(String(20))  # missing_here, missing_there, amount
    reference: Mapped[str] = mapped_column(String(64))
    ours: Mapped[int | None]
    theirs: Mapped[int | None]
    resolved_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
