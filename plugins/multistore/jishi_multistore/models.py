"""The multistore plugin's tables (prefix ``multistore_``, own migrations).

A merchant's id is what the kernel stores, opaquely, in ``Product.seller_id``,
``Order.seller_id``, ``Refund.seller_id`` and ``Review.seller_id``: the
kernel groups and filters by that column without ever joining these tables.

Money is integer fen. Balances are never stored: they are sums of
:class:`LedgerEntry` rows (see :mod:`jishi_multistore.ledger`).
"""

from __future__ import annotations

from datetime import datetime

from jishi.db import db, utcnow
from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

# Review of an application (入驻审核) and of a merchant's product (产品审核).
REVIEW_PENDING = "pending"
REVIEW_APPROVED = "approved"
REVIEW_REJECTED = "rejected"
REVIEW_STATUSES = (REVIEW_PENDING, REVIEW_APPROVED, REVIEW_REJECTED)

# Business states (营业状态), set by the platform only (MS4, MS5).
OPEN = "open"  # 营业中
RESTING = "resting"  # 休息中: products visible, not purchasable
CLOSED_TODAY = "closed_today"  # 已打烊: cart tag, shop page says so
SHUT = "shut"  # 已关闭: hidden, cart tag, order-center notices
BUSINESS_STATES = (OPEN, RESTING, CLOSED_TODAY, SHUT)

ROLE_ADMIN = "admin"
ROLE_CLERK = "clerk"
MEMBER_ROLES = (ROLE_ADMIN, ROLE_CLERK)


class Merchant(db.Model):
    """A merchant (子商户), from its application on.

    ``review_status`` tracks the application; only approved, not deleted
    merchants have a console and may sell. ``status`` is the business state.
    """

    __tablename__ = "multistore_merchants"
    __table_args__ = (
        # Bounding-box prefilter of the distance sort (MS13).
        Index("ix_multistore_merchants_geo", "lat", "lng"),
        # Distance sort (MS13): one index seek per 0.01° latitude strip of the
        # bounding box, each scanning only the box's longitudes.
        Index("ix_multistore_merchants_strip", "lat_strip", "lng"),
        # Buyers' list by join time and by name (MS13).
        Index("ix_multistore_merchants_joined", "approved_at", "id"),
        Index("ix_multistore_merchants_name", "name", "id"),
        Index("ix_multistore_merchants_listing", "review_status", "status", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    category: Mapped[str] = mapped_column(String(40), default="")
    review_status: Mapped[str] = mapped_column(String(20), default=REVIEW_PENDING)
    reject_reason: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(20), default=OPEN)
    # The stars shown (1–5): the platform's override when set, else the
    # rounded average of the recent ratings, else 5 (see ratings.py).
    stars: Mapped[int] = mapped_column(default=5)
    stars_override: Mapped[int | None]  # set by the platform; None: computed
    # Average × 10 of the merchant's last RATING_WINDOW visible ratings (None: none yet).
    rating_x10: Mapped[int | None]
    rating_count: Mapped[int] = mapped_column(default=0, server_default="0")
    # Answers to the platform's application fields: {field key: value}.
    fields: Mapped[dict] = mapped_column(JSON, default=dict)
    logo: Mapped[str] = mapped_column(String(300), default="")
    images: Mapped[list] = mapped_column(JSON, default=list)
    intro: Mapped[str] = mapped_column(Text, default="")
    hours: Mapped[str] = mapped_column(String(40), default="00:00-24:00")  # default: open 24 hours
    avg_spend: Mapped[int | None]  # fen per person; None: not shown
    address: Mapped[str] = mapped_column(String(200), default="")
    # Coordinates are not money: float degrees are fine here.
    lat: Mapped[float | None]
    lng: Mapped[float | None]
    lat_strip: Mapped[int | None]  # floor(lat * 100), kept in step with lat (merchants.LAT_STRIPS_PER_DEGREE)
    service_phone: Mapped[str] = mapped_column(String(30), default="")
    service_wechat: Mapped[str] = mapped_column(String(60), default="")
    announcement: Mapped[str] = mapped_column(String(100), default="")  # ≤ 100 characters (MS6)
    returns_enabled: Mapped[bool] = mapped_column(default=True)
    return_address: Mapped[str] = mapped_column(String(200), default="")
    return_recipient: Mapped[str] = mapped_column(String(40), default="")
    return_phone: Mapped[str] = mapped_column(String(30), default="")
    delivery_templates: Mapped[list] = mapped_column(JSON, default=list)  # platform template ids chosen
    # Basis points (1/100 of a percent); None: the category's, then the platform's default.
    commission_bp: Mapped[int | None]
    commission_category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id", ondelete="SET NULL"))
    # Withdrawal account, reused by the next withdrawal: {"method", "name", "account", "bank"}.
    withdraw_account: Mapped[dict] = mapped_column(JSON, default=dict)
    # Bumped by every ledger write of this merchant: the row lock that
    # serialises concurrent withdrawals (an atomic UPDATE, see ledger.lock).
    ledger_version: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)  # applied
    reviewed_at: Mapped[datetime | None]
    approved_at: Mapped[datetime | None]  # join time (入驻时间)
    deleted_at: Mapped[datetime | None]

    owner = relationship("User", lazy="joined", foreign_keys=[owner_id])


class MerchantMember(db.Model):
    """A user working in a merchant's console: its admin or a clerk (MS17).

    A user belongs to at most one merchant.
    """

    __tablename__ = "multistore_members"
    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("multistore_merchants.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    role: Mapped[str] = mapped_column(String(20), default=ROLE_CLERK)
    # A clerk's role (a kernel StaffRole of this merchant); None: CLERK_PERMISSIONS.
    role_id: Mapped[int | None] = mapped_column(ForeignKey("staff_roles.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    merchant: Mapped[Merchant] = relationship(lazy="joined")
    user = relationship("User", lazy="joined")


class ApplicationField(db.Model):
    """One item of the application form the platform defines (MS2)."""

    __tablename__ = "multistore_application_fields"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    label: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(20), default="text")  # text, textarea, phone, image
    required: Mapped[bool] = mapped_column(default=False)
    editable: Mapped[bool] = mapped_column(default=True)  # the merchant may change it after approval
    sort: Mapped[int] = mapped_column(default=0)


class CategoryCommission(db.Model):
    """Default commission of a platform category (MS11)."""

    __tablename__ = "multistore_category_commissions"
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id", ondelete="CASCADE"), primary_key=True)
    rate_bp: Mapped[int]


class ProductState(db.Model):
    """A merchant product's review and listing choice (MS7).

    ``listing`` is ``on_approval`` (上架 when approved), ``stay_off`` or
    ``at_time`` (at ``list_at``, or on approval if that is later).
    """

    __tablename__ = "multistore_product_states"
    __table_args__ = (Index("ix_multistore_product_states_merchant", "merchant_id", "review_status"),)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("multistore_merchants.id", ondelete="CASCADE"))
    review_status: Mapped[str] = mapped_column(String(20), default=REVIEW_PENDING)
    reject_reason: Mapped[str] = mapped_column(String(200), default="")
    listing: Mapped[str] = mapped_column(String(20), default="on_approval")
    list_at: Mapped[datetime | None] = mapped_column(index=True)
    pinned: Mapped[bool] = mapped_column(default=False)  # 置顶, set by the platform
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    reviewed_at: Mapped[datetime | None]


class LineCommission(db.Model):
    """The commission rate frozen on an order line when it was sold (MS11)."""

    __tablename__ = "multistore_line_commissions"
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id", ondelete="CASCADE"), primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    merchant_id: Mapped[int] = mapped_column(index=True)
    rate_bp: Mapped[int]
    # Written once when the order completes (see ledger.settle_order): the
    # line's commission base (what the merchant earned on it) and the
    # commission taken, from which refunds reverse proportionally.
    base: Mapped[int | None]
    amount: Mapped[int | None]


class LedgerJournal(db.Model):
    """One balanced posting (its entries sum to zero), for one event.

    ``(kind, source_type, source_id)`` is unique: replaying an event posts
    nothing the second time.
    """

    __tablename__ = "multistore_journals"
    __table_args__ = (UniqueConstraint("kind", "source_type", "source_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(30))  # paid, completed, refund, withdraw_request, ...
    source_type: Mapped[str] = mapped_column(String(20))  # order, refund, withdrawal
    source_id: Mapped[int]
    order_id: Mapped[int | None] = mapped_column(index=True)  # the order the event belongs to (None: withdrawals)
    memo: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    entries: Mapped[list[LedgerEntry]] = relationship(order_by="LedgerEntry.id")


class LedgerEntry(db.Model):
    """One leg of a journal: ``amount`` fen, positive = credit to ``account``."""

    __tablename__ = "multistore_entries"
    __table_args__ = (Index("ix_multistore_entries_balance", "merchant_id", "account"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    journal_id: Mapped[int] = mapped_column(ForeignKey("multistore_journals.id", ondelete="CASCADE"), index=True)
    merchant_id: Mapped[int | None]  # None: a platform account
    account: Mapped[str] = mapped_column(String(30))
    amount: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Withdrawal(db.Model):
    """A merchant's withdrawal request (MS12)."""

    __tablename__ = "multistore_withdrawals"
    __table_args__ = (Index("ix_multistore_withdrawals_merchant", "merchant_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("multistore_merchants.id"))
    amount: Mapped[int]
    method: Mapped[str] = mapped_column(String(20))  # bank, alipay, wechat
    account: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)  # pending, approved, rejected, paid
    reject_reason: Mapped[str] = mapped_column(String(200), default="")
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    reviewed_at: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]

    merchant: Mapped[Merchant] = relationship(lazy="joined")


class Announcement(db.Model):
    """A platform announcement shown in every merchant console (MS15)."""

    __tablename__ = "multistore_announcements"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class ShareReceiver(db.Model):
    """A merchant's receiver account for profit sharing (分账接收方) at one
    gateway: bound through the gateway's ``add_receiver`` (one per merchant
    and gateway)."""

    __tablename__ = "multistore_share_receivers"
    __table_args__ = (UniqueConstraint("merchant_id", "gateway"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("multistore_merchants.id"))
    gateway: Mapped[str] = mapped_column(String(30))
    type: Mapped[str] = mapped_column(String(30))  # MERCHANT_ID, PERSONAL_OPENID, loginName, userId
    account: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(64), default="")
    reference: Mapped[str] = mapped_column(String(64), default="")  # what the gateway answered
    bound_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def as_receiver(self) -> dict[str, str]:
        out = {"type": self.type, "account": self.account}
        if self.name:
            out["name"] = self.name
        return out


class ProfitShare(db.Model):
    """One profit sharing (分账, ``kind="share"``, one per completed order) or
    one return of it (分账回退, ``kind="return"``, one per refund), sent to
    the gateway under ``number`` — the same on every retry.

    A share is ``requested`` (committed, being sent), ``succeeded``,
    ``failed`` (retried by the periodic job; ``retryable`` False: the
    gateway refused) or ``released`` (the platform gave up on it: the money
    became withdrawable). A return is ``requested``, ``succeeded``,
    ``failed`` (retried) or ``debt`` (the gateway refused: the merchant owes
    the amount, recorded in its ledger).

    ``netted``: for a share, the merchant's debt settled out of the order's
    money (not sent); for a return, the part of the refund that was not
    shared (owed at once).
    """

    __tablename__ = "multistore_profit_shares"
    __table_args__ = (
        UniqueConstraint("kind", "source_id"),
        Index("ix_multistore_profit_shares_merchant", "merchant_id", "id"),
        Index("ix_multistore_profit_shares_status", "status", "tried_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(10))  # share, return
    source_id: Mapped[int]  # share: the order; return: the refund
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("multistore_profit_shares.id"))
    merchant_id: Mapped[int] = mapped_column(ForeignKey("multistore_merchants.id"))
    order_id: Mapped[int] = mapped_column(index=True)
    payment_id: Mapped[int]
    gateway: Mapped[str] = mapped_column(String(30))
    trade_number: Mapped[str] = mapped_column(String(64))
    gateway_trade_no: Mapped[str] = mapped_column(String(64), default="")
    receiver: Mapped[dict] = mapped_column(JSON, default=dict)
    amount: Mapped[int]
    netted: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(20), default="requested")
    retryable: Mapped[bool] = mapped_column(default=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(String(300), default="")
    reference: Mapped[str] = mapped_column(String(64), default="")  # the gateway's number
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    tried_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
