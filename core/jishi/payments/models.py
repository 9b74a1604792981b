"""Payment notifications, kept for deduplication and audit (SPEC K9)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String
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
