"""The distribution tables (prefix ``distribution_``).

- ``distribution_promoters``: one row per user who is (or asked to be) a
  promoter: the referral ``code``, ``status`` (``pending`` application,
  ``active``, ``rejected``, ``frozen``, ``removed``), how they became one.
- ``distribution_bindings``: who referred a buyer (one row per buyer),
  durable in the database, with ``expires_at`` (None: permanent).
- ``distribution_binding_log``: every change of a binding (who, when, why,
  old -> new): the audit trail.
- ``distribution_referrals``: a click not yet turned into a binding (the
  rule "bind on first order"): the buyer's last referral code.
- ``distribution_category_rates`` / ``distribution_products``: commission
  rates per category; per product the opt-in/opt-out, rates or fixed fen
  per unit.
- ``distribution_commissions``: one row per order line per level: the base
  (what the line paid), the amount, what refunds reversed so far
  (cumulative), its status (``frozen`` -> ``released``; ``reversed`` when
  refunds took all of it; ``cancelled`` when the promoter was removed while
  it was frozen).
  ``funded_by`` ``platform`` or ``merchant`` (a merchant's opted-in
  product with multistore: charged in multistore's ledger);
  ``paid_amount``: what withdrawals paid out of it (allocated oldest first).
- ``distribution_accounts``: per promoter: ``frozen``, ``available``,
  ``withdrawing``, ``paid`` and ``debt`` fen, changed only together with a
  ``distribution_entries`` row (the ledger) in the same transaction.
- ``distribution_withdrawals``: payout requests.
"""

from __future__ import annotations

from datetime import datetime

from jishi.db import db, utcnow
from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

PENDING = "pending"
ACTIVE = "active"
REJECTED = "rejected"
FROZEN = "frozen"
REMOVED = "removed"
PROMOTER_STATUSES = (PENDING, ACTIVE, REJECTED, FROZEN, REMOVED)

# commission statuses
C_FROZEN = "frozen"
C_RELEASED = "released"
C_REVERSED = "reversed"
C_CANCELLED = "cancelled"
COMMISSION_STATUSES = (C_FROZEN, C_RELEASED, C_REVERSED, C_CANCELLED)

# what a record shows (:attr:`Commission.state`)
S_PENDING = "pending"  # frozen, the order not completed yet
S_FROZEN = "frozen"  # frozen, the order completed: waiting for the return window
S_AVAILABLE = "available"  # released, not (fully) paid out yet
S_PAID = "paid"  # released and paid out in full
S_DEBT = "debt"  # reversed after it was paid out: the excess is owed
S_REVERSED = "reversed"  # refunds took all of it before it was paid
S_CANCELLED = "cancelled"
STATES = (S_PENDING, S_FROZEN, S_AVAILABLE, S_PAID, S_DEBT, S_REVERSED, S_CANCELLED)

# ledger entry kinds
E_EARNED = "earned"  # frozen += amount
E_RELEASED = "released"  # frozen -> available (debt offset first)
E_REVERSED = "reversed"  # a refund took frozen or available (or became debt)
E_CANCELLED = "cancelled"  # removed promoter: frozen commission dropped
E_WITHDRAW = "withdraw"  # available -> withdrawing
E_WITHDRAW_REJECTED = "withdraw_rejected"  # withdrawing -> available
E_WITHDRAW_PAID = "withdraw_paid"  # withdrawing -> paid


class Promoter(db.Model):
    __tablename__ = "distribution_promoters"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, autoincrement=False)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    status: Mapped[str] = mapped_column(String(20), default=ACTIVE, index=True)
    source: Mapped[str] = mapped_column(String(20), default="everyone")
    application: Mapped[dict] = mapped_column(JSON, default=dict)
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    reviewed_at: Mapped[datetime | None]
    reviewed_by: Mapped[int | None]

    user = relationship("User", lazy="joined")


class Binding(db.Model):
    __tablename__ = "distribution_bindings"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, autoincrement=False)
    promoter_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    source: Mapped[str] = mapped_column(String(20), default="link")
    bound_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]


class BindingLog(db.Model):
    __tablename__ = "distribution_binding_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    old_promoter_id: Mapped[int | None]
    new_promoter_id: Mapped[int | None]
    reason: Mapped[str] = mapped_column(String(40))
    actor_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Referral(db.Model):
    __tablename__ = "distribution_referrals"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, autoincrement=False)
    promoter_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    clicked_at: Mapped[datetime] = mapped_column(default=utcnow)


class CategoryRate(db.Model):
    __tablename__ = "distribution_category_rates"

    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), primary_key=True, autoincrement=False)
    level1_bp: Mapped[int]
    level2_bp: Mapped[int]


class ProductRule(db.Model):
    __tablename__ = "distribution_products"

    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), primary_key=True, autoincrement=False)
    enabled: Mapped[bool] = mapped_column(default=True)
    level1_bp: Mapped[int | None]
    level2_bp: Mapped[int | None]
    level1_fixed: Mapped[int | None]  # fen per unit
    level2_fixed: Mapped[int | None]


class Commission(db.Model):
    __tablename__ = "distribution_commissions"
    __table_args__ = (
        UniqueConstraint("order_line_id", "level", name="uq_distribution_commissions_line_level"),
        Index("ix_distribution_commissions_promoter_id_id", "promoter_id", "id"),
        Index("ix_distribution_commissions_status_order_id", "status", "order_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"))
    level: Mapped[int]
    promoter_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    seller_id: Mapped[int | None]
    base: Mapped[int]  # what the line paid at payment (fen)
    rule: Mapped[str] = mapped_column(String(40), default="")  # "rate:1000" or "fixed:150"
    amount: Mapped[int]
    reversed: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(20), default=C_FROZEN)
    funded_by: Mapped[str] = mapped_column(String(20), default="platform", server_default="platform")
    paid_amount: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    released_at: Mapped[datetime | None]

    order_completed = False  # not a column: set by ``service.with_states``

    @property
    def net(self) -> int:
        return self.amount - self.reversed

    @property
    def debt(self) -> int:
        """Paid out beyond what is left of it after reversals (owed)."""
        return max(0, (self.paid_amount or 0) - self.net)

    @property
    def state(self) -> str:
        """pending / frozen / available / paid / debt / reversed / cancelled."""
        if self.status == C_CANCELLED:
            return S_CANCELLED
        if self.status == C_FROZEN:
            return S_FROZEN if self.order_completed else S_PENDING
        paid = self.paid_amount or 0
        if paid > self.net:
            return S_DEBT
        if self.net <= 0:
            return S_REVERSED
        return S_PAID if paid >= self.net else S_AVAILABLE


class Account(db.Model):
    __tablename__ = "distribution_accounts"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, autoincrement=False)
    frozen: Mapped[int] = mapped_column(default=0)
    available: Mapped[int] = mapped_column(default=0)
    withdrawing: Mapped[int] = mapped_column(default=0)
    paid: Mapped[int] = mapped_column(default=0)
    debt: Mapped[int] = mapped_column(default=0)
    last_withdraw_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Entry(db.Model):
    __tablename__ = "distribution_entries"
    __table_args__ = (
        UniqueConstraint("kind", "ref", name="uq_distribution_entries_ref"),
        Index("ix_distribution_entries_user_id_id", "user_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(20))
    ref: Mapped[str] = mapped_column(String(60))
    frozen_delta: Mapped[int] = mapped_column(default=0)
    available_delta: Mapped[int] = mapped_column(default=0)
    withdrawing_delta: Mapped[int] = mapped_column(default=0)
    paid_delta: Mapped[int] = mapped_column(default=0)
    debt_delta: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Withdrawal(db.Model):
    __tablename__ = "distribution_withdrawals"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    amount: Mapped[int]
    method: Mapped[str] = mapped_column(String(20))
    account: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    reject_reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    reviewed_at: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]
