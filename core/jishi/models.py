"""Every kernel model in one import, plus the kernel's small tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from jishi.accounts.models import Address, ApiToken, MemberLevel, User
from jishi.aftersales.models import Refund, RefundLine, RefundNote, RefundReversal
from jishi.cart.models import CartLine
from jishi.catalog.models import Category, Product, ProductImage, ProductParam, ProductSpec, Sku, Tag, product_tags
from jishi.db import db, utcnow
from jishi.media.models import MediaAsset
from jishi.orders.models import Order, OrderAllocation, OrderEvent, OrderLine, PaymentOrder
from jishi.payments.models import (
    BillDifference,
    PaymentEvent,
    PaymentNotification,
    PaymentRefund,
    SandboxOperation,
    SandboxTrade,
)
from jishi.reports.models import ReportBuyerDaily, ReportDaily, ReportProductDaily, VisitorDay
from jishi.reviews.models import Review


class Setting(db.Model):
    """Platform settings edited in the console (theme, checkout, reviews...)."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[object] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SignalFailure(db.Model):
    """A signal receiver that raised; the event itself stays committed."""

    __tablename__ = "signal_failures"
    id: Mapped[int] = mapped_column(primary_key=True)
    signal: Mapped[str] = mapped_column(String(60))
    sender_repr: Mapped[str] = mapped_column(String(200))
    receiver: Mapped[str] = mapped_column(String(200))
    error: Mapped[str] = mapped_column(Text)
    kwargs_repr: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class JobSchedule(db.Model):
    """The durable schedule of one timed job (``periodic_jobs``), read and
    claimed by every ``jishi worker`` (see :mod:`jishi.jobs`).

    A worker runs the job when ``next_due`` has passed and nobody holds it:
    ``claimed_by`` names the worker running it until ``lease_until``, which
    the worker's heartbeat keeps extending; a worker that died leaves a lease
    that expires, and the next worker claims the job again."""

    __tablename__ = "job_schedule"
    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    every_seconds: Mapped[int] = mapped_column(default=60)
    next_due: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    lease_until: Mapped[datetime | None] = mapped_column()
    last_start: Mapped[datetime | None] = mapped_column()
    last_finish: Mapped[datetime | None] = mapped_column()
    last_success: Mapped[datetime | None] = mapped_column()
    last_duration_ms: Mapped[int | None] = mapped_column()
    last_summary: Mapped[str | None] = mapped_column(String(200))
    last_error: Mapped[str | None] = mapped_column(Text)
    last_failure: Mapped[datetime | None] = mapped_column()
    runs: Mapped[int] = mapped_column(default=0)
    failures: Mapped[int] = mapped_column(default=0)
    lost_leases: Mapped[int] = mapped_column(default=0)


class PageVisit(db.Model):
    """Daily visit counters for reports (visit -> order -> pay funnel)."""

    __tablename__ = "page_visits"
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)  # site, product
    ref_id: Mapped[int] = mapped_column(primary_key=True, default=0)
    count: Mapped[int] = mapped_column(default=0)


__all__ = [
    "Address",
    "ApiToken",
    "BillDifference",
    "CartLine",
    "Category",
    "JobSchedule",
    "MediaAsset",
    "MemberLevel",
    "Order",
    "OrderAllocation",
    "OrderEvent",
    "OrderLine",
    "PageVisit",
    "PaymentEvent",
    "PaymentNotification",
    "PaymentOrder",
    "PaymentRefund",
    "Product",
    "ProductImage",
    "ProductParam",
    "ProductSpec",
    "Refund",
    "RefundLine",
    "RefundNote",
    "RefundReversal",
    "ReportBuyerDaily",
    "ReportDaily",
    "ReportProductDaily",
    "Review",
    "SandboxOperation",
    "SandboxTrade",
    "Setting",
    "SignalFailure",
    "Sku",
    "Tag",
    "User",
    "VisitorDay",
    "db",
    "product_tags",
    "utcnow",
]
