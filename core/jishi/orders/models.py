"""Payment orders, orders, lines, allocations and history (SPEC K7, K8, MS9).

One :class:`PaymentOrder` (合并支付) holds the orders of one checkout, one
:class:`Order` per cart group. Each :class:`OrderLine` records its payable
amount after the discounts allocated to it, and each allocation share is a
row in :class:`OrderAllocation`, so a refund reverses recorded shares and
never recomputes them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from jishi.db import db, utcnow


class PaymentOrder(db.Model):
    __tablename__ = "payment_orders"
    __table_args__ = (UniqueConstraint("user_id", "idempotency_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    # (no index of its own: the unique key it leads serves its lookups)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(80))
    amount: Mapped[int]
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending, paid, closed
    method: Mapped[str | None] = mapped_column(String(30))
    gateway_trade_no: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Bumped each time the amount asked changes: the trade number sent to
    # gateways then changes too (a gateway never takes a second amount for
    # one out_trade_no), see jishi.payments.service.trade_number.
    trade_seq: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    paid_at: Mapped[datetime | None]

    orders: Mapped[list[Order]] = relationship(back_populates="payment", order_by="Order.id")


class Order(db.Model):
    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_user_id_id", "user_id", "id"),
        Index("ix_orders_status_created", "status", "created_at"),
        Index("ix_orders_seller_id_id", "seller_id", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payment_orders.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    seller_id: Mapped[int | None]
    group_key: Mapped[str] = mapped_column(String(60), default="")
    status: Mapped[str] = mapped_column(String(20), default="pending_payment")
    payment_method: Mapped[str | None] = mapped_column(String(30))
    goods_amount: Mapped[int] = mapped_column(default=0)
    discount_amount: Mapped[int] = mapped_column(default=0)
    delivery_fee: Mapped[int] = mapped_column(default=0)
    # 改价: what the seller or the platform changed the price by before
    # payment (signed: negative lowers it); pay_amount includes it.
    adjustment_amount: Mapped[int] = mapped_column(default=0, server_default="0")
    pay_amount: Mapped[int] = mapped_column(default=0)
    refunded_amount: Mapped[int] = mapped_column(default=0)
    buyer_message: Mapped[str] = mapped_column(String(200), default="")
    delivery_method: Mapped[str] = mapped_column(String(30), default="")
    delivery_label: Mapped[str] = mapped_column(String(60), default="")
    delivery_data: Mapped[dict] = mapped_column(JSON, default=dict)
    address: Mapped[dict | None] = mapped_column(JSON)
    is_virtual: Mapped[bool] = mapped_column(default=False)
    carrier: Mapped[str] = mapped_column(String(40), default="")
    tracking_no: Mapped[str] = mapped_column(String(60), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    paid_at: Mapped[datetime | None]
    shipped_at: Mapped[datetime | None]
    received_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    close_reason: Mapped[str] = mapped_column(String(60), default="")

    payment: Mapped[PaymentOrder] = relationship(back_populates="orders")
    lines: Mapped[list[OrderLine]] = relationship(back_populates="order", order_by="OrderLine.id")
    events: Mapped[list[OrderEvent]] = relationship(order_by="OrderEvent.id")


class OrderLine(db.Model):
    __tablename__ = "order_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="SET NULL"), nullable=True)
    sku_id: Mapped[int | None] = mapped_column(ForeignKey("skus.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(120))
    spec_text: Mapped[str] = mapped_column(String(120), default="")
    image: Mapped[str] = mapped_column(String(300), default="")
    category_id: Mapped[int | None]
    base_price: Mapped[int]
    unit_price: Mapped[int]
    price_source: Mapped[str] = mapped_column(String(40), default="base")
    stock_source: Mapped[str] = mapped_column(String(40), default="sku")
    quantity: Mapped[int]
    goods_amount: Mapped[int]  # unit_price * quantity
    discount_amount: Mapped[int] = mapped_column(default=0)
    # this line's share of the order's price change (signed, see Order)
    adjustment_amount: Mapped[int] = mapped_column(default=0, server_default="0")
    pay_amount: Mapped[int]  # goods_amount - discount_amount + adjustment_amount
    refunded_amount: Mapped[int] = mapped_column(default=0)
    refunded_quantity: Mapped[int] = mapped_column(default=0)
    reviewed: Mapped[bool] = mapped_column(default=False)

    order: Mapped[Order] = relationship(back_populates="lines")
    allocations: Mapped[list[OrderAllocation]] = relationship(order_by="OrderAllocation.id")


class OrderAllocation(db.Model):
    """One discount's share on one line, as allocated at placement."""

    __tablename__ = "order_allocations"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), index=True)
    source: Mapped[str] = mapped_column(String(60))
    label: Mapped[str] = mapped_column(String(100), default="")
    funded_by: Mapped[str] = mapped_column(String(20), default="platform")
    amount: Mapped[int]
    reversed_amount: Mapped[int] = mapped_column(default=0)


class OrderEvent(db.Model):
    """One state transition with its actor, time and note, or a change of
    the order in its state (``kind`` ``price`` or ``address``: from and to
    status equal, ``data`` the old and new values, ``note`` the reason the
    seller or the platform gave, shown as typed)."""

    __tablename__ = "order_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    from_status: Mapped[str] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None]
    actor_role: Mapped[str] = mapped_column(String(30), default="system")
    note: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(20), default="", server_default="")
    data: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
