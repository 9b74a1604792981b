"""The groupbuy plugin's tables (prefix ``groupbuy_``, own migrations).

Money is integer fen. Every counter (a group's seats and paid members, a
buyer's units in an activity) moves only by atomic conditional UPDATEs in
:mod:`jishi_groupbuy.service`; the columns here are never read-modified-written.
"""

from __future__ import annotations

from datetime import datetime

from jishi.db import db, utcnow
from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

# Class names are prefixed: the kernel's declarative registry is shared by
# every plugin (flashsale and coupons also have an ``Activity``); the short
# names below are aliases for this plugin's code.


class GroupBuyActivity(db.Model):
    """A group-buy activity (拼团活动) on one product.

    ``seller_id`` is the product's seller (None: the shop / platform's own
    goods); ``created_by_platform`` tells whether the platform made it (for
    any product) or the merchant (for its own). Group prices live per SKU in
    :class:`ActivitySku`.
    """

    __tablename__ = "groupbuy_activities"
    __table_args__ = (Index("ix_groupbuy_activities_product", "product_id", "ends_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    seller_id: Mapped[int | None] = mapped_column(index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(60))
    group_size: Mapped[int]
    time_limit_minutes: Mapped[int]
    per_user_limit: Mapped[int] = mapped_column(default=0)  # units per buyer; 0 = no limit
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    enabled: Mapped[bool] = mapped_column(default=True)
    created_by_platform: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    skus: Mapped[list[GroupBuySku]] = relationship(
        lambda: GroupBuySku, order_by=lambda: GroupBuySku.id, cascade="all, delete-orphan"
    )


class GroupBuySku(db.Model):
    __tablename__ = "groupbuy_activity_skus"
    __table_args__ = (UniqueConstraint("activity_id", "sku_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    # (no index of its own: the unique key it leads serves its lookups)
    activity_id: Mapped[int] = mapped_column(ForeignKey("groupbuy_activities.id", ondelete="CASCADE"))
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id", ondelete="CASCADE"))
    group_price: Mapped[int]


class GroupBuyGroup(db.Model):
    """One group (团). ``state`` moves only through
    :data:`jishi_groupbuy.service.TRANSITIONS`.

    ``seats`` counts members holding a seat (placed, paid or not: a seat is
    reserved when the order is placed); ``paid`` counts members whose order
    is paid. Invariant: ``0 <= paid <= seats <= size``.
    """

    __tablename__ = "groupbuy_groups"
    __table_args__ = (
        Index("ix_groupbuy_groups_activity_state", "activity_id", "state"),
        Index("ix_groupbuy_groups_state_expires", "state", "expires_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("groupbuy_activities.id", ondelete="CASCADE"))
    seller_id: Mapped[int | None]
    token: Mapped[str] = mapped_column(String(32), unique=True)
    leader_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    state: Mapped[str] = mapped_column(String(20), default="pending")
    size: Mapped[int]
    seats: Mapped[int] = mapped_column(default=0)
    paid: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    opened_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    activity: Mapped[GroupBuyActivity] = relationship(lambda: GroupBuyActivity)
    members: Mapped[list[GroupBuyMember]] = relationship(
        lambda: GroupBuyMember, order_by=lambda: GroupBuyMember.id, viewonly=True
    )


class GroupBuyMember(db.Model):
    """A buyer's place in a group, tied to the order that pays for it.

    ``status``: ``pending`` (seat reserved, order unpaid), ``paid``,
    ``left`` (unpaid order closed; seat freed), ``refunded`` (paid order
    closed by a refund; seat freed if the group was still forming).
    """

    __tablename__ = "groupbuy_members"
    __table_args__ = (
        Index("ix_groupbuy_members_group", "group_id", "status"),
        Index("ix_groupbuy_members_user", "user_id", "activity_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groupbuy_groups.id", ondelete="CASCADE"))
    activity_id: Mapped[int] = mapped_column(ForeignKey("groupbuy_activities.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), unique=True)
    sku_id: Mapped[int | None]
    quantity: Mapped[int]
    is_leader: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)
    paid_at: Mapped[datetime | None]
    left_at: Mapped[datetime | None]


class GroupBuyUsage(db.Model):
    """Units a buyer holds in an activity's live memberships (per-user limit),
    moved by conditional UPDATEs (``WHERE units + n <= limit``)."""

    __tablename__ = "groupbuy_usage"
    activity_id: Mapped[int] = mapped_column(ForeignKey("groupbuy_activities.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    units: Mapped[int] = mapped_column(default=0)


Activity = GroupBuyActivity
ActivitySku = GroupBuySku
Group = GroupBuyGroup
Member = GroupBuyMember
Usage = GroupBuyUsage
