"""Member growth levels (会员等级): growth value, the level ladder and its benefits.

Growth (成长值) is an append-only ledger per buyer (``points_growth``) with
a sum row (``points_growth_accounts``) changed in the same transaction.
An order adds growth when it completes (``settle_order``): ``growth_per_yuan``
per whole yuan its goods lines paid (the delivery fee adds none), less what
refunds before completion already took; a refund after completion takes
back ``growth * refunded // paid`` cumulatively (the difference to what was
already taken), so several partial refunds take exactly what one full
refund would. Both run inside the kernel's transaction of the order's
completion or refund, which holds the order's lock; the per-order row
(``points_growth_orders``) and the unique ``(kind, source_kind, source_id)``
make a redelivered event change nothing.

Levels: the platform's ladder (``points_levels``), each rung linked to a
kernel member level (:mod:`jishi.accounts.external` creates, renames and
deletes it with the rung). The buyer's level is RECOMPUTED from growth
whenever it changes (up, and down after refunds; Youzan's rule, not
CRMEB's "a level once reached is kept": a level bought and refunded would
otherwise keep its discount for free) and whenever the ladder changes. A
kernel member level that is not on the ladder (given by hand in the
console) is left alone: growth never replaces it.

Benefits: ``discount_bp`` off every unit price and/or the SKU's member
price (``member_price``), through the kernel's ``price_rules`` hook (one
query per pricing: the cart, the product page and the checkout price
alike), and ``points_percent`` of the points an order earns
(:func:`points_percent`, used by ``service.on_paid``).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from jishi import settings
from jishi.accounts import external
from jishi.accounts.models import MemberLevel, User
from jishi.db import db, utcnow
from jishi.errors import DomainError
from jishi.hookspecs import PriceRule
from jishi.i18n import gettext as _
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from jishi_points.models import (
    GROWTH_EARNED,
    GROWTH_REDUCED,
    SOURCE_ORDER,
    SOURCE_REFUND,
    GrowthAccount,
    GrowthEntry,
    GrowthOrder,
    PointsLevel,
)

GROWTH_PER_YUAN = "points.growth_per_yuan"
GROWTH_DEFAULT = 1

#: The level price's priority: above the kernel's member price (10), so a
#: level whose benefit is not the member price is not given it either; below
#: a group price (50) and a flash price (100), which the buyer chose.
LEVEL_PRICE_PRIORITY = 11
PRICE_SOURCE = "points_level"

MAX_THRESHOLD = 10**9
MAX_DISCOUNT_BP = 9000  # at most 90% off (1折)
MIN_POINTS_PERCENT, MAX_POINTS_PERCENT = 100, 1000  # 1× to 10×


def growth_per_yuan() -> int:
    value = settings.get(GROWTH_PER_YUAN, GROWTH_DEFAULT)
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return GROWTH_DEFAULT


def growth_for(paid_fen: int) -> int:
    """Growth worth ``paid_fen``: ``growth_per_yuan`` per whole yuan's worth, rounded down."""
    return paid_fen * growth_per_yuan() // 100


# --- The growth ledger ----------------------------------------------------------


def growth_of(user_id: int) -> int:
    return int(db.session.scalar(select(GrowthAccount.growth).where(GrowthAccount.user_id == user_id)) or 0)


def ledger_growth(user_id: int) -> int:
    """The sum of the buyer's growth entries: always :func:`growth_of`."""
    return int(
        db.session.scalar(select(func.coalesce(func.sum(GrowthEntry.delta), 0)).where(GrowthEntry.user_id == user_id))
        or 0
    )


def _post(user_id: int, kind: str, source_kind: str, source_id: int, delta: int) -> None:
    """One entry and the same change of the sum row (an atomic ``growth + delta``)."""
    if not delta:
        return
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    db.session.execute(
        insert(GrowthAccount)
        .values(user_id=user_id, growth=0, updated_at=utcnow())
        .on_conflict_do_nothing(index_elements=["user_id"])
    )
    db.session.execute(
        update(GrowthAccount)
        .where(GrowthAccount.user_id == user_id)
        .values(growth=GrowthAccount.growth + delta, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.add(
        GrowthEntry(
            user_id=user_id, kind=kind, delta=delta, source_kind=source_kind, source_id=source_id, created_at=utcnow()
        )
    )
    db.session.flush()


def _goods(order_id: int) -> tuple[int, int]:
    """(paid, refunded) over the order's goods lines."""
    from jishi.orders.models import OrderLine

    row = db.session.execute(
        select(
            func.coalesce(func.sum(OrderLine.pay_amount), 0), func.coalesce(func.sum(OrderLine.refunded_amount), 0)
        ).where(OrderLine.order_id == order_id)
    ).one()
    paid = int(row[0])
    return paid, min(int(row[1]), paid)


def on_completed(order) -> None:
    """The order's growth, once: its goods' growth less what refunds so far took."""
    if db.session.get(GrowthOrder, order.id) is not None:
        return
    paid, refunded = _goods(order.id)
    growth = growth_for(paid)
    taken = growth * refunded // paid if paid else 0
    db.session.add(GrowthOrder(order_id=order.id, user_id=order.user_id, base=paid, growth=growth, taken=taken))
    db.session.flush()
    _post(order.user_id, GROWTH_EARNED, SOURCE_ORDER, order.id, growth - taken)
    sync_level(order.user_id)


def on_refund(refund) -> None:
    """A refund of a completed order takes its share of the growth back
    (cumulative target minus what was taken). Before completion nothing is
    posted: completion adds only what is left."""
    row = db.session.execute(
        select(GrowthOrder)
        .where(GrowthOrder.order_id == refund.order_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if row is None or not row.base:
        return
    _paid, refunded = _goods(refund.order_id)
    target = row.growth * min(refunded, row.base) // row.base
    if target <= row.taken:
        return
    _post(row.user_id, GROWTH_REDUCED, SOURCE_REFUND, refund.id, -(target - row.taken))
    row.taken = target
    db.session.flush()
    sync_level(row.user_id)


# --- The ladder -----------------------------------------------------------------


def ladder() -> list[PointsLevel]:
    """Every level, lowest threshold first."""
    return list(db.session.scalars(select(PointsLevel).order_by(PointsLevel.threshold)))


def level_at(growth: int, rungs: list[PointsLevel]) -> PointsLevel | None:
    """The highest level whose threshold ``growth`` reaches (None: below the first)."""
    reached = None
    for rung in rungs:
        if rung.threshold <= growth:
            reached = rung
    return reached


def _sync(user: User, growth: int, rungs: list[PointsLevel], linked: set[int]) -> None:
    current = user.member_level_id
    if current is not None and current not in linked:
        return  # a level given by hand, not on the ladder: kept
    target = level_at(growth, rungs)
    target_id = target.member_level_id if target else None
    if current != target_id:
        external.set_member_level(user, target_id)


def sync_level(user_id: int) -> None:
    """Give the buyer the kernel member level their growth reaches (in the caller's transaction)."""
    rungs = ladder()
    user = db.session.get(User, user_id)
    if user is None or user.is_platform:
        return
    _sync(user, growth_of(user_id), rungs, {r.member_level_id for r in rungs})


def resync_all(linked: set[int]) -> None:
    """After a change of the ladder: every buyer without a level or with one
    of ``linked`` (the ladder's kernel levels before the change, a deleted
    rung's included) gets the level their growth reaches now."""
    rungs = ladder()
    users = db.session.scalars(
        select(User).where(
            User.role == "buyer",
            (User.member_level_id.is_(None)) | (User.member_level_id.in_(linked or {0})),
        )
    ).all()
    if not users:
        return
    growth = dict(
        db.session.execute(
            select(GrowthAccount.user_id, GrowthAccount.growth).where(GrowthAccount.user_id.in_([u.id for u in users]))
        ).all()
    )
    linked = linked | {r.member_level_id for r in rungs}
    for user in users:
        _sync(user, growth.get(user.id, 0), rungs, linked)


def _rerank(rungs: list[PointsLevel]) -> None:
    """The kernel levels' ranks follow the ladder (1 = the lowest)."""
    for rank, rung in enumerate(rungs, start=1):
        kernel = db.session.get(MemberLevel, rung.member_level_id)
        if kernel is not None and (kernel.rank != rank or kernel.name != rung.name):
            external.save_member_level(rung.name, rank, kernel)


def _int(data: dict, name: str, low: int, high: int, message: str) -> int:
    value = data.get(name)
    if isinstance(value, str):
        value = value.strip()
        if value.removeprefix("-").isdecimal() and len(value) < 12:
            value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise DomainError(name, message)
    return value


def parse_percent_bp(raw, name: str) -> int:
    """A percent typed in a form ("5", "4.5") as basis points (500, 450)."""
    text = str(raw if raw is not None else "").strip().rstrip("%").strip() or "0"
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise DomainError(name, _("Enter a percent, e.g. 5 or 4.5.")) from None
    bp = value * 100
    if bp != bp.to_integral_value():
        raise DomainError(name, _("Enter a percent, e.g. 5 or 4.5."))
    return int(bp)


def save_level(data: dict, level: PointsLevel | None = None) -> PointsLevel:
    """Create or change a level (the caller commits; a :class:`DomainError`
    names the bad field and nothing is written). ``data``: ``name`` (1 to 40
    characters, unique), ``threshold`` (growth, 0 to 10^9; no two levels at
    the same growth, so the ladder's thresholds strictly increase),
    ``discount_bp`` (0 to 9000), ``member_price`` (bool), ``points_percent``
    (100 to 1000)."""
    name = data.get("name")
    name = name.strip() if isinstance(name, str) else ""
    if not name or len(name) > 40:
        raise DomainError("name", _("Give the level a name of at most 40 characters."))
    threshold = _int(
        data, "threshold", 0, MAX_THRESHOLD, _("The growth threshold is a whole number from 0 to 1,000,000,000.")
    )
    discount_bp = _int(data, "discount_bp", 0, MAX_DISCOUNT_BP, _("The member discount is from 0 to 90 percent off."))
    points_percent = _int(
        data,
        "points_percent",
        MIN_POINTS_PERCENT,
        MAX_POINTS_PERCENT,
        _("The points multiplier is from 100 (1×) to 1000 (10×) percent."),
    )
    member_price = bool(data.get("member_price"))
    others = [r for r in ladder() if level is None or r.id != level.id]
    if any(r.name == name for r in others):
        raise DomainError("name", _("Another level already has this name."), code="conflict")
    if any(r.threshold == threshold for r in others):
        raise DomainError(
            "threshold",
            _("Another level already starts at this growth: thresholds strictly increase up the ladder."),
            code="conflict",
        )
    before = {r.member_level_id for r in others} | ({level.member_level_id} if level else set())
    if level is None:
        kernel = external.save_member_level(name, 1)
        level = PointsLevel(member_level_id=kernel.id, name=name, threshold=threshold)
        db.session.add(level)
    level.name, level.threshold = name, threshold
    level.discount_bp, level.member_price, level.points_percent = discount_bp, member_price, points_percent
    db.session.flush()
    _rerank(ladder())
    resync_all(before)
    return level


def delete_level(level: PointsLevel) -> None:
    """Delete a level and its kernel member level; its buyers get the level
    their growth reaches on the ladder left (the caller commits)."""
    linked = {r.member_level_id for r in ladder()}
    kernel = db.session.get(MemberLevel, level.member_level_id)
    db.session.delete(level)
    db.session.flush()
    resync_all(linked)
    if kernel is not None:
        external.delete_member_level(kernel)
    _rerank(ladder())


def get_level(level_id: int) -> PointsLevel | None:
    return db.session.get(PointsLevel, level_id)


# --- Benefits -------------------------------------------------------------------


def level_of_member(member_level_id: int | None) -> PointsLevel | None:
    """The ladder's level behind a kernel member level (None: not on the ladder)."""
    if member_level_id is None:
        return None
    return db.session.scalar(select(PointsLevel).where(PointsLevel.member_level_id == member_level_id))


def points_percent(user_id: int) -> int:
    """The points multiplier (percent) of the buyer's level; 100 without one."""
    pct = db.session.scalar(
        select(PointsLevel.points_percent)
        .join(User, User.member_level_id == PointsLevel.member_level_id)
        .where(User.id == user_id)
    )
    return int(pct) if pct else 100


def level_price(base_price: int, sku_member_price: int | None, level: PointsLevel) -> int | None:
    """The unit price ``level`` gives (None: the level changes nothing)."""
    candidates = []
    if level.discount_bp:
        candidates.append(base_price * (10000 - level.discount_bp) // 10000)
    if level.member_price and sku_member_price is not None:
        candidates.append(sku_member_price)
    if not candidates:
        if sku_member_price is None:
            return None
        candidates.append(base_price)  # the kernel's member price is not this level's benefit
    return min(candidates)


def price_rules(lines, user, options):
    """The buyer's level price for every line (one query): the member
    discount and/or the member price, at :data:`LEVEL_PRICE_PRIORITY`."""
    level = level_of_member(getattr(user, "member_level_id", None) if user is not None else None)
    if level is None:
        return None
    out = {}
    for line in lines:
        price = level_price(line.base_price, getattr(line.sku, "member_price", None), level)
        if price is not None:
            out[line.key] = [
                PriceRule(
                    PRICE_SOURCE,
                    price,
                    priority=LEVEL_PRICE_PRIORITY,
                    label=level.name,
                    data={"level_id": level.id},
                )
            ]
    return out or None


def page_loaders(product, user):
    """The product page reads the buyer's level with its other rows (one statement)."""
    from jishi.hookspecs import PageLoader

    member_level_id = getattr(user, "member_level_id", None) if user is not None else None
    if member_level_id is None:
        return None
    if not _PAGE_QUERY:  # declared once (PageLoader.params): a page builds no query
        _PAGE_QUERY.append(select(PointsLevel).where(PointsLevel.member_level_id == bindparam("level_id")).limit(1))
    return [PageLoader("points.level", _PAGE_QUERY[0], {"level_id": member_level_id})]


_PAGE_QUERY: list = []


def render_slot(slot: str, context: dict):
    """``product_detail_after_price``: the buyer's level price of each SKU
    (what the cart and checkout will charge, a flash or group price aside)
    when the level has a member discount; the kernel's "member price" badge
    hidden when the member price is not the level's benefit."""
    from flask import render_template
    from flask_login import current_user
    from markupsafe import Markup

    if slot != "product_detail_after_price" or context.get("product") is None:
        return None
    loaded = context.get("loaded")
    if loaded is not None and "points.level" in loaded:
        level = loaded.first("points.level")
    else:
        level = level_of_member(getattr(current_user, "member_level_id", None))
    if level is None:
        return None
    skus = [s for s in context["product"].skus if s.is_active]
    prices = {s.id: level_price(s.price, s.member_price, level) for s in skus} if level.discount_bp else {}
    selected = context.get("sku")
    return Markup(
        render_template(
            "points/_level_price.html",
            level=level,
            prices={k: v for k, v in prices.items() if v is not None},
            selected_id=selected.id if selected is not None else None,
        )
    )


# --- What the buyer sees --------------------------------------------------------


def number_text(hundredths: int) -> str:
    """500 -> "5", 450 -> "4.5", 125 -> "1.25" (basis points as a percent, percent as times)."""
    whole, part = divmod(hundredths, 100)
    return str(whole) if not part else f"{whole}.{part:02d}".rstrip("0")


def rung_dict(rung: PointsLevel) -> dict:
    return {
        "discount_text": number_text(rung.discount_bp),
        "times_text": number_text(rung.points_percent),
        "id": rung.id,
        "name": rung.name,
        "threshold": rung.threshold,
        "discount_bp": rung.discount_bp,
        "member_price": rung.member_price,
        "points_percent": rung.points_percent,
    }


def level_for(user_id: int) -> dict:
    """The buyer's growth, level, next level and the growth still needed,
    the progress towards it (basis points) and the whole ladder; the context
    of ``points/level.html``."""
    rungs = ladder()
    growth = growth_of(user_id)
    current = level_at(growth, rungs)
    above = [r for r in rungs if r.threshold > growth]
    nxt = above[0] if above else None
    floor = current.threshold if current else 0
    if nxt is None:
        progress = 10000 if current else 0
    else:
        progress = (growth - floor) * 10000 // max(1, nxt.threshold - floor)
    return {
        "growth": growth,
        "level": rung_dict(current) if current else None,
        "next": rung_dict(nxt) if nxt else None,
        "needed": nxt.threshold - growth if nxt else 0,
        "progress_bp": max(0, min(progress, 10000)),
        "ladder": [rung_dict(r) for r in rungs],
    }


def on_registered(user, **_kw) -> None:
    """A new buyer gets the level 0 growth reaches (a rung at threshold 0)."""
    from jishi.db import commit, rollback

    try:
        sync_level(user.id)
        commit()
    except Exception:
        rollback()
        raise


# --- Demo -----------------------------------------------------------------------

DEMO_LADDER = (
    ("普通会员", 0, 0, False, 100),
    ("银卡会员", 1000, 200, False, 120),
    ("金卡会员", 5000, 500, True, 150),
    ("钻石会员", 20000, 1000, True, 200),
)


def demo_data(data: dict) -> str:
    from jishi.db import commit

    for name, threshold, discount_bp, member_price, pct in DEMO_LADDER:
        save_level(
            {
                "name": name,
                "threshold": threshold,
                "discount_bp": discount_bp,
                "member_price": member_price,
                "points_percent": pct,
            }
        )
    commit()
    return f"{len(DEMO_LADDER)} member levels"
