"""The points tables (prefix ``points_``).

- ``points_entries``: the append-only ledger. Every change of a buyer's
  points is one row: ``delta`` changes the usable balance, ``frozen_delta``
  the frozen one (points earned by an order not yet completed). A buyer's
  balance is ``sum(delta)``, the frozen points ``sum(frozen_delta)``. Each
  entry names its source (``source_kind`` + ``source_id``: an order, a
  refund, an adjustment); ``(kind, source_kind, source_id)`` is unique, so a
  redelivered event can never post twice.
- ``points_accounts``: one row per buyer carrying the same two sums, changed
  only together with an entry, in the same transaction. It is what a spend
  locks: ``UPDATE ... SET balance = balance - n WHERE balance >= n``.
- ``points_lots``: one row per award of usable points (Odoo's model): how
  many it gave (``amount``), how many are left (``remaining``), when it was
  earned and when it expires (``expires_at``, fixed when it is created;
  NULL: never). Usable decreases draw from the soonest-expiring lots first
  (then the oldest); the sum of ``remaining`` always equals the usable
  balance when it is positive, 0 when it is negative (see :mod:`.ledger`).
- ``points_orders``: per order, what it earned (on what base) and spent (for
  how much money), and how much of each has been clawed back / returned, so
  refunds work on differences of cumulative targets (exact over several).
- ``points_signins``: one row per buyer per shop day signed in (签到), with
  the streak it made and the points it gave; ``(user_id, day)`` is unique,
  so a double tap or two requests at once sign in once.
"""

from __future__ import annotations

from datetime import date, datetime

from jishi.db import db, utcnow
from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

EARNED = "earned"
FROZEN = "frozen"
UNFROZEN = "unfrozen"
SPENT = "spent"
REFUNDED = "refunded"
CLAWED_BACK = "clawed_back"
EXPIRED = "expired"
ADJUSTED = "adjusted"
KINDS = (EARNED, FROZEN, UNFROZEN, SPENT, REFUNDED, CLAWED_BACK, EXPIRED, ADJUSTED)

SOURCE_ORDER = "order"
SOURCE_REFUND = "refund"
SOURCE_ADJUSTMENT = "adjustment"
SOURCE_SIGNIN = "signin"  # source_id: the points_signins row
SOURCE_REVIEW = "review"  # source_id: the reviewed order line (one reward per line)
SOURCE_REGISTER = "register"  # source_id: the user
SOURCE_EXPIRY = "expiry"
SOURCE_EXCHANGE = "exchange"  # a points-exchange redemption (source_id: its id)


class PointsAccount(db.Model):
    __tablename__ = "points_accounts"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, autoincrement=False)
    balance: Mapped[int] = mapped_column(default=0)
    frozen: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class PointsEntry(db.Model):
    __tablename__ = "points_entries"
    __table_args__ = (
        UniqueConstraint("kind", "source_kind", "source_id", name="uq_points_entries_source"),
        Index("ix_points_entries_user_id_id", "user_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(20))
    delta: Mapped[int] = mapped_column(default=0)
    frozen_delta: Mapped[int] = mapped_column(default=0)
    source_kind: Mapped[str] = mapped_column(String(20))
    source_id: Mapped[int | None]
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PointsOrder(db.Model):
    __tablename__ = "points_orders"

    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    spent: Mapped[int] = mapped_column(default=0)
    spent_money: Mapped[int] = mapped_column(default=0)
    returned: Mapped[int] = mapped_column(default=0)
    earn_base: Mapped[int] = mapped_column(default=0)
    earned: Mapped[int] = mapped_column(default=0)
    earned_at: Mapped[datetime | None]
    clawed: Mapped[int] = mapped_column(default=0)
    unfrozen_at: Mapped[datetime | None]


class PointsSignin(db.Model):
    __tablename__ = "points_signins"
    __table_args__ = (UniqueConstraint("user_id", "day", name="uq_points_signins_user_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    day: Mapped[date] = mapped_column(Date)  # the shop's calendar day (its time zone)
    streak: Mapped[int] = mapped_column(default=1)  # consecutive days up to and including this one
    points: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PointsLot(db.Model):
    __tablename__ = "points_lots"
    __table_args__ = (
        Index("ix_points_lots_user_id_expires_at", "user_id", "expires_at"),
        Index("ix_points_lots_expires_at", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # the entry that created it (NULL: a balance carried over by the migration)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("points_entries.id"), unique=True)
    amount: Mapped[int] = mapped_column(default=0)
    remaining: Mapped[int] = mapped_column(default=0)
    earned_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]


# --- Points exchange (积分商城) -------------------------------------------------

EXCHANGE_PRODUCT = "product"
EXCHANGE_COUPON = "coupon"
EXCHANGE_KINDS = (EXCHANGE_PRODUCT, EXCHANGE_COUPON)


class PointsExchangeItem(db.Model):
    """An item the platform lists in the points exchange (积分商城).

    ``kind`` ``product``: one SKU, redeemed through the kernel's checkout for
    ``points`` per unit plus ``cash`` fen per unit (the order's price);
    ``coupon``: one coupon template of the coupons plugin for ``points``.
    ``stock`` is the exchange's own stock (a quota apart from the SKU's
    stock, which the order also takes); ``sold`` the units held by live
    redemptions, moved only by ``sold = sold + n WHERE sold + n <= stock``
    (CHECK backs it). ``per_user_limit`` units per buyer (0: no limit).
    ``enabled`` and the optional window ``starts_at`` / ``ends_at`` decide
    whether it can be redeemed now."""

    __tablename__ = "points_exchange_items"
    __table_args__ = (
        CheckConstraint("sold >= 0 AND sold <= stock", name="sold"),
        Index("ix_points_exchange_items_listing", "enabled", "sort", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(60))
    description: Mapped[str] = mapped_column(String(500), default="")
    sku_id: Mapped[int | None] = mapped_column(ForeignKey("skus.id", ondelete="SET NULL"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="SET NULL"))
    coupon_template_id: Mapped[int | None]  # coupons' template (no foreign key: coupons may not be installed)
    points: Mapped[int]
    cash: Mapped[int] = mapped_column(default=0)
    stock: Mapped[int]
    sold: Mapped[int] = mapped_column(default=0)
    per_user_limit: Mapped[int] = mapped_column(default=1)
    enabled: Mapped[bool] = mapped_column(default=True)
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    sort: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def remaining(self) -> int:
        return max(self.stock - self.sold, 0)


class PointsExchangeUsage(db.Model):
    """Units one buyer holds of one item (the per-buyer limit), moved by one
    upsert ``.. DO UPDATE SET bought = bought + n WHERE bought + n <= limit``
    and given back by ``bought - n WHERE bought >= n``."""

    __tablename__ = "points_exchange_usage"

    item_id: Mapped[int] = mapped_column(ForeignKey("points_exchange_items.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    bought: Mapped[int] = mapped_column(default=0)


class PointsExchangeRedemption(db.Model):
    """One redemption: ``quantity`` units of an item for ``points`` (the
        total spent, one ``spent`` entry with source ``exchange`` + this id) and
        ``cash`` fen (the order's goods price; 0 for a coupon). A product
        redemption names its order (unique), a coupon one the user coupon it
        issued (``idempotency_key``: the API's ``Idempotency-Key``, unique per
    buyer, so a retried redemption answers the first). ``points_returned`` / ``units_released`` count what cancels and
        refunds gave back (cumulative targets: each refund posts the
        difference; never more than spent / redeemed)."""

    __tablename__ = "points_exchange_redemptions"
    __table_args__ = (
        CheckConstraint("points_returned >= 0 AND points_returned <= points", name="returned"),
        CheckConstraint("units_released >= 0 AND units_released <= quantity", name="released"),
        Index("ix_points_exchange_redemptions_user", "user_id", "id"),
        UniqueConstraint("user_id", "idempotency_key", name="uq_points_exchange_redemptions_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("points_exchange_items.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(10))
    quantity: Mapped[int]
    points: Mapped[int]
    cash: Mapped[int] = mapped_column(default=0)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), unique=True)
    coupon_id: Mapped[int | None]
    idempotency_key: Mapped[str | None] = mapped_column(String(72))  # a coupon redemption's retry key
    points_returned: Mapped[int] = mapped_column(default=0)
    units_released: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- Member growth levels (会员等级) -------------------------------------------

GROWTH_EARNED = "earned"
GROWTH_REDUCED = "reduced"


class PointsLevel(db.Model):
    """One rung of the platform's level ladder: reached at ``threshold``
    growth, linked to the kernel's member level the buyer then holds.
    Benefits: ``discount_bp`` off every price (basis points: 500 = 5% off,
    9.5折), the SKU's ``member_price`` (when ``member_price``), and
    ``points_percent`` of the points an order earns (150 = 1.5×)."""

    __tablename__ = "points_levels"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_level_id: Mapped[int] = mapped_column(ForeignKey("member_levels.id", ondelete="CASCADE"), unique=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    threshold: Mapped[int] = mapped_column(unique=True)
    discount_bp: Mapped[int] = mapped_column(default=0)
    member_price: Mapped[bool] = mapped_column(default=False)
    points_percent: Mapped[int] = mapped_column(default=100)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class GrowthAccount(db.Model):
    """The buyer's growth value: the sum of their ``points_growth`` entries,
    changed only together with an entry, in the same transaction."""

    __tablename__ = "points_growth_accounts"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, autoincrement=False)
    growth: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class GrowthEntry(db.Model):
    """The growth ledger: ``earned`` when an order completes (source the
    order), ``reduced`` by a refund after that (source the refund);
    ``(kind, source_kind, source_id)`` unique."""

    __tablename__ = "points_growth"
    __table_args__ = (
        UniqueConstraint("kind", "source_kind", "source_id", name="uq_points_growth_source"),
        Index("ix_points_growth_user_id_id", "user_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(20))
    delta: Mapped[int] = mapped_column(default=0)
    source_kind: Mapped[str] = mapped_column(String(20))
    source_id: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class GrowthOrder(db.Model):
    """Per completed order: the growth its goods were worth (``growth`` on
    ``base`` fen paid) and how much of it refunds took (``taken``, the
    cumulative target ``growth * refunded // base``), so several partial
    refunds reduce exactly what one full refund would."""

    __tablename__ = "points_growth_orders"

    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    base: Mapped[int] = mapped_column(default=0)
    growth: Mapped[int] = mapped_column(default=0)
    taken: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
