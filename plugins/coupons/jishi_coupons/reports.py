"""The coupons' campaign effect in the reports (``report_sections``, issue 19).

Per coupon template, for the shop days of the range: coupons claimed,
coupons used (on orders paid in the range, not released by a cancel), the
use rate (used / claimed, permille), the GMV driven (what those orders
paid, fen), the discount cost (the coupons' part of their discounts, fen)
and the ROI (GMV / cost, permille). A merchant's reports count its own
templates only. Three grouped statements, whatever the number of templates.
"""

from __future__ import annotations

from jishi.db import db
from jishi.hookspecs import ReportSection
from jishi.i18n import gettext as _
from jishi.i18n import shop_day_bounds
from jishi.orders.models import Order, OrderAllocation
from sqlalchemy import String, cast, func, literal, select

from jishi_coupons.models import CouponActivity, CouponTemplate, CouponUsage, UserCoupon


def coupon_section(start, end, seller_id: int | None) -> ReportSection:
    s, e = shop_day_bounds(start, end)
    own = (CouponTemplate.seller_id == seller_id,) if seller_id else ()
    claimed = dict(
        db.session.execute(
            select(UserCoupon.template_id, func.count(UserCoupon.id))
            .join(CouponTemplate, CouponTemplate.id == UserCoupon.template_id)
            .where(UserCoupon.claimed_at >= s, UserCoupon.claimed_at < e, *own)
            .group_by(UserCoupon.template_id)
        ).all()
    )
    paid_at = func.coalesce(Order.paid_at, Order.created_at)
    used = {
        tid: (int(n), int(gmv or 0), int(cost or 0))
        for tid, n, gmv, cost in db.session.execute(
            select(
                UserCoupon.template_id,
                func.count(func.distinct(CouponUsage.user_coupon_id)),
                func.sum(Order.pay_amount),
                func.sum(CouponUsage.amount),
            )
            .select_from(CouponUsage)
            .join(UserCoupon, UserCoupon.id == CouponUsage.user_coupon_id)
            .join(CouponTemplate, CouponTemplate.id == UserCoupon.template_id)
            .join(Order, Order.id == CouponUsage.order_id)
            .where(
                CouponUsage.released.is_(False),
                Order.status != "pending_payment",
                Order.close_reason.notin_(("cancelled", "timeout")),
                paid_at >= s,
                paid_at < e,
                *own,
            )
            .group_by(UserCoupon.template_id)
        ).all()
    }
    ids = sorted(set(claimed) | set(used))
    names = (
        dict(db.session.execute(select(CouponTemplate.id, CouponTemplate.name).where(CouponTemplate.id.in_(ids))).all())
        if ids
        else {}
    )
    rows = []
    for tid in ids:
        n_claimed = int(claimed.get(tid, 0))
        n_used, gmv, cost = used.get(tid, (0, 0, 0))
        rows.append(
            {
                "template_id": tid,
                "name": names.get(tid, ""),
                "claimed": n_claimed,
                "used": n_used,
                "use_rate": n_used * 1000 // n_claimed if n_claimed else 0,
                "gmv": gmv,
                "cost": cost,
                "roi": gmv * 1000 // cost if cost else 0,
            }
        )
    return ReportSection(
        key="coupons",
        title=_("Coupons"),
        columns=[
            ("template_id", _("ID")),
            ("name", _("Coupon")),
            ("claimed", _("Claimed")),
            ("used", _("Used")),
            ("use_rate", _("Use rate")),
            ("gmv", _("GMV driven")),
            ("cost", _("Discount cost")),
            ("roi", _("ROI")),
        ],
        rows=rows,
        money=frozenset({"gmv", "cost"}),
        permille=frozenset({"use_rate", "roi"}),
        sort=10,
    )


def activity_section(start, end, seller_id: int | None) -> ReportSection:
    """满减 per activity, for orders paid in the shop days of the range (not
    cancelled or timed out): the orders the activity took money off, their
    GMV (what they paid, fen) and the discount cost (the activity's
    allocations, fen, before refunds). The kernel records each discount's
    share per line as an ``OrderAllocation`` whose ``source`` is
    ``activity:<id>``. A merchant's reports count its own activities only.
    Two grouped statements: per (order, activity) totals grouped by
    activity, then the activities' names."""
    s, e = shop_day_bounds(start, end)
    source = literal("activity:") + cast(CouponActivity.id, String)
    paid_at = func.coalesce(Order.paid_at, Order.created_at)
    per_order = (
        select(
            CouponActivity.id.label("activity_id"),
            OrderAllocation.order_id.label("order_id"),
            func.sum(OrderAllocation.amount).label("cost"),
        )
        .select_from(OrderAllocation)
        .join(CouponActivity, OrderAllocation.source == source)
        .where(OrderAllocation.source.like("activity:%"))
        .group_by(CouponActivity.id, OrderAllocation.order_id)
    )
    if seller_id:
        per_order = per_order.where(CouponActivity.seller_id == seller_id)
    po = per_order.subquery()
    figures = db.session.execute(
        select(po.c.activity_id, func.count(po.c.order_id), func.sum(Order.pay_amount), func.sum(po.c.cost))
        .join(Order, Order.id == po.c.order_id)
        .where(
            Order.status != "pending_payment",
            Order.close_reason.notin_(("cancelled", "timeout")),
            paid_at >= s,
            paid_at < e,
        )
        .group_by(po.c.activity_id)
    ).all()
    ids = sorted(int(aid) for aid, *_rest in figures)
    names = (
        dict(db.session.execute(select(CouponActivity.id, CouponActivity.name).where(CouponActivity.id.in_(ids))).all())
        if ids
        else {}
    )
    by_id = {int(aid): (int(n), int(gmv or 0), int(cost or 0)) for aid, n, gmv, cost in figures}
    rows = [
        {"activity_id": aid, "name": names.get(aid, ""), "orders": n, "gmv": gmv, "cost": cost}
        for aid in ids
        for n, gmv, cost in [by_id[aid]]
    ]
    return ReportSection(
        key="activities",
        title=_("Full-reduction activities"),
        columns=[
            ("activity_id", _("ID")),
            ("name", _("Activity")),
            ("orders", _("Orders")),
            ("gmv", _("GMV")),
            ("cost", _("Discount cost")),
        ],
        rows=rows,
        money=frozenset({"gmv", "cost"}),
        sort=11,
    )
