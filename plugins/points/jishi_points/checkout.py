"""Points at checkout (积分抵扣).

The buyer's choice is ``checkout.options["points"]``: absent, ``false`` or
``0`` uses none; ``true`` as many as allowed (none when that is under the
minimum); a whole number at most that many (under the minimum: refused). The money they take off is a platform-funded ``Discount`` (source
``points``) over every goods line, which the kernel caps at what is still
payable and spreads over the lines and merchant orders in proportion to what
they pay (SPEC MS9).

Order: points come LAST, after every other plugin's discounts (the hook is
``trylast``: activities / 满减, then coupons, then points). The cap is a
share (``points.cap_bp``, default 50%) of the goods amount before
discounts; the kernel then caps the points' money at what the other
discounts left payable, and the buyer is charged exactly the points for the
money actually taken off: ``ceil(money * rate / 100)``. Points never pay
the delivery fee; with a cap of 100% and nothing else payable they may pay
all the goods.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jishi.checkout.errors import CheckoutError
from jishi.hookspecs import Discount, Problem
from jishi.i18n import gettext as _
from jishi.money import allocate

from jishi_points import ledger, service
from jishi_points.ledger import Post
from jishi_points.models import SOURCE_ORDER, SPENT

PLAN_ATTR = "points_plan"
BALANCE_LOADER = "points.balance"
_BALANCE_QUERY: list = []


def checkout_loaders(user, options, placing: bool) -> list:
    """The buyer's balance, read with the checkout's other rows in one
    statement: in a preview (shown), and in a placement asking for points
    (a placement without points reads none)."""
    if user is None or not getattr(user, "id", None):
        return []
    if placing and not _parse((options or {}).get("points"))[0]:
        return []
    if not _BALANCE_QUERY:
        from sqlalchemy import Integer, bindparam, select

        from jishi_points.models import PointsAccount

        _BALANCE_QUERY.append(
            select(PointsAccount.balance.label("balance"), PointsAccount.frozen.label("frozen")).where(
                PointsAccount.user_id == bindparam("user_id", type_=Integer)
            )
        )
    from jishi.hookspecs import PageLoader

    return [PageLoader(BALANCE_LOADER, _BALANCE_QUERY[0], {"user_id": user.id})]


def _balance(checkout, user_id: int) -> tuple[int, int]:
    """(usable, frozen): from the checkout's loaded rows, else read."""
    loaded = getattr(checkout, "loaded", None)
    if loaded is not None and BALANCE_LOADER in loaded:
        row = loaded.first(BALANCE_LOADER)
        return (int(row["balance"]), int(row["frozen"])) if row else (0, 0)
    return ledger.balance(user_id)


MAX_POINTS = 10**9


@dataclass
class Plan:
    available: int = 0
    frozen: int = 0
    rate: int = 100
    minimum: int = 0
    cap_bp: int = 0
    requested: bool = False
    explicit: bool = False  # a number of points asked (not just "as many as allowed")
    limit: int = 0  # points the buyer allows (balance or the number asked)
    user_id: int | None = None  # the buyer's, while the balance is not read yet (``extras`` reads it)
    problems: list[Problem] = field(default_factory=list)


def points_for(money: int, rate: int) -> int:
    """The fewest points worth ``money`` fen at ``rate`` points per yuan."""
    return -(-money * rate // 100)


def money_for(points: int, rate: int) -> int:
    """The fen ``points`` are worth at ``rate`` points per yuan (rounded down)."""
    return points * 100 // rate


def _parse(raw) -> tuple[bool, int | None, Problem | None]:
    """-> (requested, count or None for "as many as allowed", problem)."""
    if raw is None or raw is False:  # the common case: no points, no message translated (issue 20)
        return False, None, None
    bad = Problem("points_invalid", _("Points are true, false or a whole number of points."), field="points")
    if raw is True:
        return True, None, None
    if isinstance(raw, str):
        raw = raw.strip().lower()
        if raw in ("", "0", "false", "off", "no"):
            return False, None, None
        if raw in ("true", "on", "yes"):
            return True, None, None
        if not raw.isdecimal() or len(raw) > 9:
            return False, None, bad
        raw = int(raw)
    if isinstance(raw, int) and not isinstance(raw, bool):
        if raw < 0 or raw > MAX_POINTS:
            return False, None, bad
        return raw > 0, raw or None, None
    return False, None, bad


def compute_plan(checkout) -> Plan:
    plan = Plan(
        rate=service.setting(service.RATE),
        minimum=service.setting(service.MIN_USE),
        cap_bp=service.setting(service.CAP_BP),
    )
    user = checkout.user
    if user is None or not getattr(user, "id", None):
        return plan
    # The balance only when points are asked for, or shown (``extras``): a
    # placement without points does not read it (issue 20).
    plan.user_id = user.id
    requested, count, problem = _parse((checkout.options or {}).get("points"))
    if problem:
        plan.problems.append(problem)
        return plan
    if not requested:
        return plan
    plan.available, plan.frozen = _balance(checkout, user.id)
    plan.user_id = None
    plan.requested = True
    plan.explicit = count is not None
    usable = max(0, plan.available)
    if count is not None and count > usable:
        plan.problems.append(
            Problem(
                "points_short",
                _("You have %(available)s points; %(count)s asked.", available=usable, count=count),
                field="points",
            )
        )
        return plan
    plan.limit = usable if count is None else count
    return plan


def plan_for(checkout) -> Plan:
    plan = checkout.__dict__.get(PLAN_ATTR)
    if plan is None:
        plan = compute_plan(checkout)
        checkout.__dict__[PLAN_ATTR] = plan
    return plan


def applied_money(checkout) -> int:
    """The fen the points actually take off (after the kernel's cap)."""
    return sum(a.amount for a in checkout.discounts if a.discount.source == service.SOURCE)


def used_points(checkout) -> int:
    return points_for(applied_money(checkout), plan_for(checkout).rate)


# --- Hooks -------------------------------------------------------------------


def order_discounts(checkout):
    plan = compute_plan(checkout)
    checkout.__dict__[PLAN_ATTR] = plan
    if not plan.limit or not checkout.lines:
        return None
    cap = checkout.goods_amount * plan.cap_bp // 10000
    money = min(money_for(plan.limit, plan.rate), cap)
    if money <= 0 or (not plan.explicit and points_for(money, plan.rate) < plan.minimum):
        return None  # "as many as allowed" under the minimum: none (a number asked is refused)
    return [
        Discount(
            service.SOURCE,
            _("Points"),
            money,
            funded_by="platform",
            data={"rate": plan.rate},
        )
    ]


def validate_checkout(checkout):
    plan = plan_for(checkout)
    problems = list(plan.problems)
    used = used_points(checkout)
    short = used < plan.minimum if used else plan.explicit and plan.limit < plan.minimum
    if plan.requested and not problems and short:
        problems.append(
            Problem(
                "points_minimum",
                _("At least %(minimum)s points are used at a time.", minimum=plan.minimum),
                field="points",
            )
        )
    return problems


def extras(checkout) -> dict:
    plan = plan_for(checkout)
    if plan.user_id is not None:  # points not asked for: the balance read to be shown
        plan.available, plan.frozen = _balance(checkout, plan.user_id)
        plan.user_id = None
    money = applied_money(checkout)
    return {
        "available": plan.available,
        "frozen": plan.frozen,
        "rate": plan.rate,
        "minimum": plan.minimum,
        "cap_bp": plan.cap_bp,
        "requested": plan.requested,
        "used": points_for(money, plan.rate),
        "money": money,
    }


def order_placing(checkout, orders) -> None:
    """Spend the points inside the placing transaction: one conditional
    UPDATE of the buyer's account, then one ``spent`` entry per order (the
    points split over the orders in proportion to the money each got)."""
    money = applied_money(checkout)
    if money <= 0:
        return
    plan = plan_for(checkout)
    total = points_for(money, plan.rate)
    index = next(i for i, a in enumerate(checkout.discounts) if a.discount.source == service.SOURCE)
    order_by_group = {o.group_key: o for o in orders}
    per_order: dict[int, int] = {}
    for line in checkout.lines:
        for share in line.shares:
            if share.discount_index == index and share.amount:
                oid = order_by_group[line.group_key].id
                per_order[oid] = per_order.get(oid, 0) + share.amount
    ids = list(per_order)
    points = allocate(total, [per_order[i] for i in ids])
    user_id = checkout.user.id
    posts = [Post(SPENT, SOURCE_ORDER, oid, delta=-p) for oid, p in zip(ids, points) if p]
    if not ledger.spend(user_id, posts):
        raise CheckoutError(
            [Problem("points_short", _("Your points were just used elsewhere; check again."), field="points")]
        )
    service.record_spent([(oid, user_id, p, per_order[oid]) for oid, p in zip(ids, points)])
