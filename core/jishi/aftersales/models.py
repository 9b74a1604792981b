"""After-sales: refund-only and return-and-refund requests (SPEC K10)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from jishi.db import db, utcnow

KIND_REFUND = "refund_only"
KIND_RETURN = "return_refund"
#: A request still in progress (the buyer waits for a decision, a return or the money).
OPEN_STATUSES = ("requested", "approved", "returning", "returned")


class Refund(db.Model):
    __tablename__ = "refunds"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    seller_id: Mapped[int | None] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(20), default=KIND_REFUND)
    # requested -> approved -> (returning -> returned ->) refunded; or rejected / cancelled
    status: Mapped[str] = mapped_column(String(20), default="requested")
    reason: Mapped[str] = mapped_column(String(200), default="")
    reject_reason: Mapped[str] = mapped_column(String(200), default="")
    amount: Mapped[int]
    return_carrier: Mapped[str] = mapped_column(String(40), default="")
    return_tracking_no: Mapped[str] = mapped_column(String(60), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    refunded_at: Mapped[datetime | None]

    lines: Mapped[list[RefundLine]] = relationship(back_populates="refund", order_by="RefundLine.id")
    order = relationship("Order")


class RefundLine(db.Model):
    __tablename__ = "refund_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    refund_id: Mapped[int] = mapped_column(ForeignKey("refunds.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), index=True)
    quantity: Mapped[int]
    amount: Mapped[int]

    refund: Mapped[Refund] = relationship(back_populates="lines")
    order_line = relationship("OrderLine")
    reversals: Mapped[list[RefundReversal]] = relationship(order_by="RefundReversal.id")


class RefundReversal(db.Model):
    """The part of one recorded allocation that a refund line gives back."""

    __tablename__ = "refund_reversals"
    id: Mapped[int] = mapped_column(primary_key=True)
    refund_line_id: Mapped[int] = mapped_column(ForeignKey("refund_lines.id"), index=True)
    allocation_id: Mapped[int] = mapped_column(ForeignKey("order_allocations.id"), index=True)
    amount: Mapped[int]


class RefundNote(db.Model):
    __tablename__ = "refund_notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    refund_id: Mapped[int] = mapped_column(ForeignKey("refunds.id"), index=True)
    actor_id: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
