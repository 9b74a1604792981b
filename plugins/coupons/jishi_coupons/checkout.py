"""Coupons and activities at checkout (CP): what applies, the best choice,
stacking, marking used, giving back.

Order of application (each on what the previous ones left payable; every
threshold and percentage is computed on the eligible lines' payable at that
moment):

1. merchant activities (满减, seller-funded): per merchant, the one taking the most;
2. the platform activity: the one taking the most over the whole checkout;
3. merchant coupons: at most ONE per merchant order (seller-funded, its lines only);
4. the platform coupon: at most ONE per checkout (platform-funded, spread by the
   kernel over its eligible lines of every merchant in proportion to what they
   still pay — MS9: A 20 / B 30 / C 50 with 100−10 pay 18 / 27 / 45).

Activities and coupons therefore stack: activities first, then one merchant
coupon per store, then one platform coupon on what remains.

The buyer's choice arrives in ``checkout.options["coupons"]``:

- absent: the best coupons are chosen (per store the merchant coupon taking
  the most, then the platform coupon taking the most on what is left; ties:
  the one expiring first, then the oldest);
- a list of user-coupon ids (API): exactly those (``[]``: none; an id of 0
  or less is refused like an unknown id);
- a dict ``{"platform" | <group key>: id or "0"}`` (the web form's
  ``opt.coupons.<slot>`` fields): per slot, ``"0"``/empty is none and a missing
  slot gets the best.

A coupon that is not the buyer's, used, expired, not applicable, or a second
coupon for one slot is a :class:`~jishi.hookspecs.Problem` on field
``coupons`` (placement is refused; the preview shows it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from jishi import promotions
from jishi.checkout.errors import CheckoutError
from jishi.db import db, utcnow
from jishi.hookspecs import Discount, Problem
from jishi.i18n import gettext as _
from sqlalchemy import case, insert, or_, select, update

from jishi_coupons.models import (
    ACTIVE,
    ACTIVITY_WINDOWS,
    EXPIRED,
    UNUSED,
    USED,
    CouponActivity,
    CouponTemplate,
    CouponUsage,
    UserCoupon,
)
from jishi_coupons.rules import LineFacts, coupon_amount, covers, take, tier_amount

PLATFORM = "platform"
PLAN_ATTR = "coupons_plan"
COUPONS_LOADER = "coupons.mine"
TEMPLATES_LOADER = "coupons.templates"
_LOADER_QUERIES: list = []


def _mine_conditions(user_id, now, sellers) -> tuple:
    """The buyer's coupons of these sellers (and the platform's), valid now
    (values or bind parameters)."""
    return (
        UserCoupon.user_id == user_id,
        UserCoupon.status == UNUSED,
        UserCoupon.valid_from <= now,
        UserCoupon.valid_until > now,
        or_(CouponTemplate.seller_id.is_(None), CouponTemplate.seller_id.in_(sellers)),
    )


def checkout_loaders(lines, user) -> list:
    """The buyer's coupons valid now and their templates, read with the
    checkout's other rows in the kernel's one statement (queries built
    once; ``now`` is this call's)."""
    if not lines or user is None or not getattr(user, "id", None):
        return []
    from jishi.hookspecs import PageLoader
    from sqlalchemy import DateTime, Integer, bindparam

    if not _LOADER_QUERIES:
        cond = _mine_conditions(
            bindparam("user_id", type_=Integer),
            bindparam("now", type_=DateTime()),
            bindparam("sellers", expanding=True),
        )
        mine = (
            select(UserCoupon)
            .join(CouponTemplate, CouponTemplate.id == UserCoupon.template_id)
            .where(*cond)
            .order_by(UserCoupon.valid_until, UserCoupon.id)
        )
        ids = select(UserCoupon.template_id).join(CouponTemplate, CouponTemplate.id == UserCoupon.template_id)
        templates = select(CouponTemplate).where(CouponTemplate.id.in_(ids.where(*cond)))
        _LOADER_QUERIES.extend((mine, templates))
    sellers = sorted({line.seller_id for line in lines if line.seller_id is not None}) or [0]
    params = {"user_id": user.id, "now": utcnow(), "sellers": sellers}
    mine, templates = _LOADER_QUERIES
    return [PageLoader(COUPONS_LOADER, mine, params), PageLoader(TEMPLATES_LOADER, templates, params)]


def _loaded_coupons(checkout, sellers) -> list | None:
    """The buyer's coupons as ``checkout_loaders`` read them (their
    templates attached), or None when not read for these sellers."""
    loaded = getattr(checkout, "loaded", None)
    if loaded is None or COUPONS_LOADER not in loaded or TEMPLATES_LOADER not in loaded:
        return None
    if not set(sellers) <= {line.seller_id for line in checkout.lines}:
        return None  # a plugin's split_cart regrouped: read for the groups' sellers
    from sqlalchemy.orm.attributes import set_committed_value

    templates = {t.id: t for t in loaded[TEMPLATES_LOADER]}
    coupons = sorted(loaded[COUPONS_LOADER], key=lambda c: (c.valid_until, c.id))
    for c in coupons:
        set_committed_value(c, "template", templates[c.template_id])
    return coupons


@dataclass
class Option:
    """One of the buyer's coupons for one slot, with what it would take off."""

    coupon: UserCoupon
    slot: str
    amount: int = 0
    chosen: bool = False
    reason: str = ""

    @property
    def usable(self) -> bool:
        return self.amount > 0


@dataclass
class Plan:
    discounts: list[Discount] = field(default_factory=list)
    activities: list[tuple[CouponActivity, int]] = field(default_factory=list)
    options: dict[str, list[Option]] = field(default_factory=dict)  # slot -> options
    chosen: dict[str, Option] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    slot_titles: dict[str, str] = field(default_factory=dict)

    def chosen_ids(self) -> list[int]:
        return [o.coupon.id for o in self.chosen.values()]


def _facts(checkout) -> dict[str, LineFacts]:
    from jishi.catalog.models import Category

    cids = {line.category_id for line in checkout.lines if line.category_id}
    paths = (
        dict(db.session.execute(select(Category.id, Category.path).where(Category.id.in_(cids))).all()) if cids else {}
    )
    return {
        line.key: LineFacts(
            line.key,
            line.seller_id,
            line.product_id,
            (paths.get(line.category_id) or f"/{line.category_id}/") if line.category_id else "",
        )
        for line in checkout.lines
    }


def _parse_choice(raw) -> tuple[dict[str, object] | None, list[Problem]]:
    """-> ({slot or "*": id | None}, problems); None: choose the best everywhere.
    A list answers under "*" (the slots are found from the coupons)."""
    if raw is None:
        return None, []
    problems: list[Problem] = []

    def as_id(value, *, slot_form: bool):
        # A non-positive id is refused like an unknown one (it reaches
        # ``_unknown``); only a slot of the dict form says "none" with 0.
        if isinstance(value, bool):
            return "bad"
        if isinstance(value, int):
            return None if value == 0 and slot_form else value
        if isinstance(value, str):
            value = value.strip()
            if value in ("", "none") or (value == "0" and slot_form):
                return None
            if value.isdecimal() and len(value) < 11:
                return int(value)
        return "bad"

    if isinstance(raw, (str, int)) and not isinstance(raw, bool):
        raw = [raw]
    if isinstance(raw, list):
        ids = []
        for v in raw[:20]:
            i = as_id(v, slot_form=False)
            if i == "bad":
                problems.append(
                    Problem("coupon_invalid", _("Coupons are given as a list of coupon ids."), field="coupons")
                )
            elif i is not None:
                ids.append(i)
        return {"*": ids}, problems
    if isinstance(raw, dict):
        out = {}
        for slot, v in list(raw.items())[:50]:
            i = as_id(v, slot_form=True)
            if i == "bad":
                problems.append(
                    Problem("coupon_invalid", _("Coupons are given as a list of coupon ids."), field="coupons")
                )
                continue
            out[str(slot)] = i
        return out, problems
    return {"*": []}, [Problem("coupon_invalid", _("Coupons are given as a list of coupon ids."), field="coupons")]


def compute_plan(checkout, now: datetime | None = None) -> Plan:
    """Everything the plugin does to ``checkout`` (see module doc)."""
    now = now or utcnow()
    plan = Plan()
    if not checkout.lines or checkout.user is None or not getattr(checkout.user, "id", None):
        return plan
    facts = _facts(checkout)
    remaining = {line.key: line.payable for line in checkout.lines}
    groups = {g.seller_id: g for g in checkout.groups}
    sellers = [sid for sid in groups if sid is not None]
    group_of_seller = {sid: g.key for sid, g in groups.items()}
    plan.slot_titles = {g.key: g.title for g in checkout.groups}
    plan.slot_titles[PLATFORM] = ""

    def keys_for(owner, scope, scope_ids):
        return tuple(k for k, f in facts.items() if covers(owner, scope, scope_ids, f))

    def owner_filter(column):
        return or_(column.is_(None), column.in_(sellers)) if sellers else column.is_(None)

    # 1-2. activities: per merchant the best one, then the platform's best one
    # (no query while no activity runs: the windows, read with the settings).
    activities = (
        list(
            db.session.scalars(
                select(CouponActivity)
                .where(
                    CouponActivity.status == ACTIVE,
                    CouponActivity.starts_at <= now,
                    CouponActivity.ends_at > now,
                    owner_filter(CouponActivity.seller_id),
                )
                .order_by(CouponActivity.id)
            )
        )
        if promotions.may_run(ACTIVITY_WINDOWS, now)
        else []
    )
    for owner in [*sellers, None]:
        best = None
        for a in (a for a in activities if a.seller_id == owner):
            keys = keys_for(owner, a.scope, a.scope_ids)
            amount = tier_amount(a.tiers, sum(remaining[k] for k in keys))
            if amount > 0 and (best is None or amount > best[1]):
                best = (a, amount, keys)
        if best:
            a, amount, keys = best
            amount, _shares = take(remaining, keys, amount)
            plan.activities.append((a, amount))
            plan.discounts.append(
                Discount(
                    f"activity:{a.id}",
                    a.name,
                    amount,
                    line_keys=keys,
                    funded_by=a.funded_by,
                    seller_id=a.seller_id,
                    data={"activity_id": a.id},
                )
            )

    # 3-4. the buyer's coupons of these sellers, valid now (read with the
    # checkout's rows by ``checkout_loaders``, at the checkout's start).
    coupons = _loaded_coupons(checkout, sellers)
    if coupons is None:
        coupons = list(
            db.session.scalars(
                select(UserCoupon)
                .join(CouponTemplate, CouponTemplate.id == UserCoupon.template_id)
                .where(
                    UserCoupon.user_id == checkout.user.id,
                    UserCoupon.status == UNUSED,
                    UserCoupon.valid_from <= now,
                    UserCoupon.valid_until > now,
                    owner_filter(CouponTemplate.seller_id),
                )
                .order_by(UserCoupon.valid_until, UserCoupon.id)
            )
        )
    choice, problems = _parse_choice((checkout.options or {}).get("coupons"))
    plan.problems += problems
    for c in coupons:
        slot = PLATFORM if c.template.seller_id is None else group_of_seller[c.template.seller_id]
        plan.options.setdefault(slot, []).append(Option(c, slot))
    wanted: dict[str, int | None] = {}
    if choice is not None:
        by_id = {c.id: c for c in coupons}
        if "*" in choice:
            for cid in choice["*"]:
                c = by_id.get(cid)
                if c is None:
                    plan.problems.append(_unknown(checkout.user, cid, now))
                    continue
                slot = PLATFORM if c.template.seller_id is None else group_of_seller[c.template.seller_id]
                if slot in wanted:
                    plan.problems.append(
                        Problem(
                            "coupon_stacking",
                            _("Only one platform coupon per checkout and one shop coupon per shop order."),
                            field="coupons",
                            group_key=None if slot == PLATFORM else slot,
                        )
                    )
                    continue
                wanted[slot] = cid
            for slot in plan.options:
                wanted.setdefault(slot, None)
        else:
            for slot, cid in choice.items():
                if cid is None:
                    wanted[slot] = None
                    continue
                c = by_id.get(cid)
                real = (
                    None
                    if c is None
                    else (PLATFORM if c.template.seller_id is None else group_of_seller[c.template.seller_id])
                )
                if c is None or real != slot:
                    plan.problems.append(
                        _unknown(checkout.user, cid, now)
                        if c is None
                        else Problem(
                            "coupon_not_applicable", _("Coupon %(id)s does not belong there.", id=cid), field="coupons"
                        )
                    )
                    wanted[slot] = None
                    continue
                wanted[slot] = cid

    merchant_slots = [group_of_seller[sid] for sid in sellers]
    for slot in [*merchant_slots, PLATFORM]:
        opts = plan.options.get(slot, [])
        for o in opts:
            t = o.coupon.template
            keys = keys_for(t.seller_id, t.scope, t.scope_ids)
            base = sum(remaining[k] for k in keys)
            o.amount = coupon_amount(
                t.kind,
                base,
                threshold=t.threshold,
                amount=t.amount,
                percent_off=t.percent_off,
                max_discount=t.max_discount,
            )
            if not keys:
                o.reason = _("Nothing in this order is covered.")
            elif not o.amount:
                from jishi.money import fen_to_yuan_str

                o.reason = _("Spend ¥%(more)s more on covered goods.", more=fen_to_yuan_str(max(0, t.threshold - base)))
            o._keys = keys
        if slot in wanted:
            pick = next((o for o in opts if o.coupon.id == wanted[slot]), None) if wanted[slot] else None
            if pick is not None and not pick.usable:
                plan.problems.append(
                    Problem(
                        "coupon_not_applicable",
                        _(
                            "Coupon %(name)s does not apply: %(reason)s",
                            name=pick.coupon.template.name,
                            reason=pick.reason,
                        ),
                        field="coupons",
                        group_key=None if slot == PLATFORM else slot,
                    )
                )
                pick = None
        else:
            usable = [o for o in opts if o.usable]
            pick = (
                max(usable, key=lambda o: (o.amount, -o.coupon.valid_until.timestamp(), -o.coupon.id))
                if usable
                else None
            )
        if pick is None:
            continue
        t = pick.coupon.template
        amount, _shares = take(remaining, pick._keys, pick.amount)
        pick.chosen = True
        plan.chosen[slot] = pick
        plan.discounts.append(
            Discount(
                f"coupon:{pick.coupon.id}",
                t.name,
                amount,
                line_keys=pick._keys,
                funded_by=t.funded_by,
                seller_id=t.seller_id,
                data={"user_coupon_id": pick.coupon.id, "template_id": t.id},
            )
        )
    # the platform coupons' amounts above were computed after the merchant coupons chosen
    return plan


def _unknown(user, cid, now) -> Problem:
    c = db.session.get(UserCoupon, cid) if 1 <= cid < 2**31 else None
    if c is not None and c.user_id == user.id:
        if c.status == USED:
            return Problem("coupon_used", _("Coupon %(id)s has already been used.", id=cid), field="coupons")
        if c.valid_until <= now or c.status == EXPIRED:
            return Problem("coupon_expired", _("Coupon %(id)s has expired.", id=cid), field="coupons")
        if c.valid_from > now:
            return Problem("coupon_not_started", _("Coupon %(id)s is not valid yet.", id=cid), field="coupons")
        return Problem(
            "coupon_not_applicable", _("Coupon %(id)s does not apply to these goods.", id=cid), field="coupons"
        )
    # Another buyer's coupon reads exactly like one that does not exist.
    return Problem("coupon_unknown", _("Unknown coupon %(id)s.", id=cid), field="coupons")


def plan_for(checkout) -> Plan:
    plan = checkout.__dict__.get(PLAN_ATTR)
    if plan is None:
        plan = compute_plan(checkout)
        checkout.__dict__[PLAN_ATTR] = plan
    return plan


# --- Hooks -------------------------------------------------------------------


def order_discounts(checkout):
    plan = compute_plan(checkout)
    checkout.__dict__[PLAN_ATTR] = plan
    return plan.discounts


def validate_checkout(checkout):
    return plan_for(checkout).problems


def order_placing(checkout, payments, orders) -> None:
    """Mark every chosen coupon used, inside the placing transaction: a
    conditional UPDATE ``status='unused' -> 'used'``; a coupon used by a
    concurrent placement fails this one (rolled back, 409)."""
    plan = checkout.__dict__.get(PLAN_ATTR)
    if plan is None or not plan.chosen:
        return
    now = utcnow()
    order_by_group = {o.group_key: o for o in orders}
    payment_of = {o.id: o.payment_id for o in orders}
    index_of = {applied.discount.source: i for i, applied in enumerate(checkout.discounts)}
    usages = []
    for option in plan.chosen.values():
        source = f"coupon:{option.coupon.id}"
        i = index_of.get(source)
        per_order: dict[int, int] = {}
        if i is not None:
            for line in checkout.lines:
                for share in line.shares:
                    if share.discount_index == i and share.amount:
                        oid = order_by_group[line.group_key].id
                        per_order[oid] = per_order.get(oid, 0) + share.amount
        if not per_order:
            continue  # capped to nothing by another discount: not used
        won = db.session.execute(
            update(UserCoupon)
            .where(
                UserCoupon.id == option.coupon.id,
                UserCoupon.user_id == checkout.user.id,
                UserCoupon.status == UNUSED,
                UserCoupon.valid_until > now,
            )
            .values(status=USED, used_at=now, payment_id=payment_of[next(iter(per_order))], open_orders=len(per_order))
            .execution_options(synchronize_session=False)
        ).rowcount
        if won != 1:
            raise CheckoutError(
                [
                    Problem(
                        "coupon_used",
                        _("Coupon %(name)s has just been used in another order.", name=option.coupon.template.name),
                        field="coupons",
                    )
                ]
            )
        use_no = option.coupon.returned_count + 1
        usages += [
            {"user_coupon_id": option.coupon.id, "order_id": oid, "amount": amount, "use_no": use_no, "released": False}
            for oid, amount in per_order.items()
        ]
    if usages:
        db.session.execute(insert(CouponUsage), usages)


def release_order(order_id: int) -> list[int]:
    """Give back the coupons of a closed / fully refunded order, inside the
    caller's transaction. Each (coupon, order) is released exactly once (a
    conditional UPDATE on the usage); a coupon whose discount spans several
    orders comes back when the LAST of them is released (its ``open_orders``
    counter, decremented atomically, reaches 0), as ``unused`` when still
    valid, else ``expired``. Returns the ids of the coupons given back."""
    now = utcnow()
    released = (
        db.session.execute(
            update(CouponUsage)
            .where(CouponUsage.order_id == order_id, CouponUsage.released.is_(False))
            .values(released=True, released_at=now)
            .returning(CouponUsage.user_coupon_id)
            .execution_options(synchronize_session=False)
        )
        .scalars()
        .all()
    )
    back = []
    for cid in released:
        left = db.session.execute(
            update(UserCoupon)
            .where(UserCoupon.id == cid, UserCoupon.status == USED, UserCoupon.open_orders > 0)
            .values(open_orders=UserCoupon.open_orders - 1)
            .returning(UserCoupon.open_orders)
            .execution_options(synchronize_session=False)
        ).scalar_one_or_none()
        if left != 0:
            continue
        won = db.session.execute(
            update(UserCoupon)
            .where(UserCoupon.id == cid, UserCoupon.status == USED, UserCoupon.open_orders == 0)
            .values(
                status=case((UserCoupon.valid_until > now, UNUSED), else_=EXPIRED),
                used_at=None,
                payment_id=None,
                returned_count=UserCoupon.returned_count + 1,
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        if won:
            back.append(cid)
    if back:
        for obj in list(db.session.identity_map.values()):
            if isinstance(obj, UserCoupon) and obj.id in back:
                db.session.expire(obj)
    return back


def order_transitioned(order, name, from_status, actor_kind) -> None:
    if name in ("cancel", "close"):
        release_order(order.id)


def settle_refund(refund) -> None:
    """A refund that leaves nothing of the order unrefunded gives its coupons
    back (also for completed orders, which a full refund does not close)."""
    from jishi.orders.models import OrderLine
    from sqlalchemy import func

    left = db.session.scalar(
        select(func.count())
        .select_from(OrderLine)
        .where(OrderLine.order_id == refund.order_id, OrderLine.refunded_quantity < OrderLine.quantity)
    )
    if left == 0:
        release_order(refund.order_id)
