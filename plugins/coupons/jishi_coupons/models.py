"""The coupons plugin's tables (prefix ``coupon_``, own migrations).

Money is integer fen; percentages are integer basis points (1/10000):
``percent_off=1000`` is 10 % off (9折). ``seller_id`` None is the platform
(or, without multistore, the shop itself); otherwise a multistore merchant.
"""

from __future__ import annotations

from datetime import datetime

from jishi.db import db, utcnow
from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

KIND_FIXED = "fixed"  # 满X减Y (threshold 0: no threshold, 无门槛)
KIND_PERCENT = "percent"  # 折扣券: percent_off basis points, optional cap
KINDS = (KIND_FIXED, KIND_PERCENT)

SCOPE_ALL = "all"
SCOPE_CATEGORIES = "categories"
SCOPE_PRODUCTS = "products"
SCOPE_MERCHANT = "merchant"  # platform only: one merchant's goods
SCOPES = (SCOPE_ALL, SCOPE_CATEGORIES, SCOPE_PRODUCTS, SCOPE_MERCHANT)

ACTIVE = "active"
#: the setting holding when 满减 activities may run (``jishi.promotions``
#: windows; issue 20: the checkout skips their query while none runs)
ACTIVITY_WINDOWS = "coupons.activity_windows"
STOPPED = "stopped"

UNUSED = "unused"
USED = "used"
EXPIRED = "expired"  # stored only when a used coupon comes back after its validity


class CouponTemplate(db.Model):
    """A coupon as the platform or a merchant defines it (券模板)."""

    __tablename__ = "coupon_templates"
    __table_args__ = (
        CheckConstraint("claimed_count <= total_quantity", name="claimed_within_total"),
        CheckConstraint("claimed_count >= 0", name="claimed_not_negative"),
        Index("ix_coupon_templates_listing", "status", "seller_id", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    seller_id: Mapped[int | None] = mapped_column(index=True)
    name: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(10), default=KIND_FIXED)
    threshold: Mapped[int] = mapped_column(default=0)  # fen; 0 = no threshold
    amount: Mapped[int] = mapped_column(default=0)  # fen off (fixed)
    percent_off: Mapped[int] = mapped_column(default=0)  # basis points off (percent)
    max_discount: Mapped[int | None]  # fen cap (percent); None = no cap
    scope: Mapped[str] = mapped_column(String(12), default=SCOPE_ALL)
    scope_ids: Mapped[list] = mapped_column(JSON, default=list)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    valid_days: Mapped[int | None]  # None: valid starts_at..ends_at; N: N days from claiming
    total_quantity: Mapped[int]
    claimed_count: Mapped[int] = mapped_column(default=0)
    per_user_limit: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(10), default=ACTIVE)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def funded_by(self) -> str:
        return "platform" if self.seller_id is None else "seller"


class UserCoupon(db.Model):
    """A coupon a buyer claimed (领券). ``seq`` numbers the buyer's coupons of
    one template: the unique (template, user, seq) makes the per-user limit
    race-free. ``open_orders`` counts the orders of the placing checkout the
    coupon's discount went to that are not yet closed or fully refunded."""

    __tablename__ = "coupon_user_coupons"
    __table_args__ = (
        UniqueConstraint("template_id", "user_id", "seq", name="uq_coupon_user_coupons_seq"),
        Index("ix_coupon_user_coupons_user", "user_id", "status", "valid_until"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    # (no index of its own: the unique key it leads serves its lookups)
    template_id: Mapped[int] = mapped_column(ForeignKey("coupon_templates.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    seq: Mapped[int]
    status: Mapped[str] = mapped_column(String(10), default=UNUSED)
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime]
    used_at: Mapped[datetime | None]
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payment_orders.id", ondelete="SET NULL"))
    open_orders: Mapped[int] = mapped_column(default=0)
    returned_count: Mapped[int] = mapped_column(default=0)
    # Issued by another plugin (``service.issue``) rather than claimed:
    # what issued it (e.g. ``exchange``) and its idempotency key (unique).
    source: Mapped[str] = mapped_column(String(20), default="claim", server_default="claim")
    issue_key: Mapped[str | None] = mapped_column(String(80), unique=True)

    template: Mapped[CouponTemplate] = relationship(lazy="joined")


class CouponUsage(db.Model):
    """One order a used coupon's discount went to (and how much); ``released``
    flips once when that order is closed or fully refunded."""

    __tablename__ = "coupon_usages"
    __table_args__ = (UniqueConstraint("user_coupon_id", "order_id", "use_no", name="uq_coupon_usages_order"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    # (no index of its own: the unique key it leads serves its lookups)
    user_coupon_id: Mapped[int] = mapped_column(ForeignKey("coupon_user_coupons.id"))
    use_no: Mapped[int] = mapped_column(default=1)  # the coupon's n-th use (after a return it may be used again)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    amount: Mapped[int]
    released: Mapped[bool] = mapped_column(default=False)
    released_at: Mapped[datetime | None]


class CouponActivity(db.Model):
    """A full-reduction activity (满减活动): applies without a coupon.
    ``tiers`` is ``[[threshold, amount], ...]`` in fen, ascending; the highest
    tier reached applies."""

    __tablename__ = "coupon_activities"
    __table_args__ = (Index("ix_coupon_activities_live", "status", "starts_at", "ends_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    seller_id: Mapped[int | None] = mapped_column(index=True)
    name: Mapped[str] = mapped_column(String(60))
    tiers: Mapped[list] = mapped_column(JSON, default=list)
    scope: Mapped[str] = mapped_column(String(12), default=SCOPE_ALL)
    scope_ids: Mapped[list] = mapped_column(JSON, default=list)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(10), default=ACTIVE)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def funded_by(self) -> str:
        return "platform" if self.seller_id is None else "seller"
