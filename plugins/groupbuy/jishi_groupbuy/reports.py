"""The group buys' campaign effect in the reports (``report_sections``, issue 19).

Per activity, for the shop days of the range: groups opened (the leader
paid), groups that succeeded and failed (finished in the range), the
success rate (succeeded ÷ the groups decided either way, permille) and the
GMV (what the members' orders paid in the range, delivery included, fen,
not counting members refunded since, e.g. by a failed group). A merchant's reports count the
activities on its own products only. Two grouped statements.
"""

from __future__ import annotations

from jishi.db import db
from jishi.hookspecs import ReportSection
from jishi.i18n import gettext as _
from jishi.i18n import shop_day_bounds
from jishi.orders.models import Order
from sqlalchemy import and_, case, func, or_, select

from jishi_groupbuy.models import GroupBuyActivity, GroupBuyGroup, GroupBuyMember
from jishi_groupbuy.service import FAILED, M_PAID, SUCCEEDED


def groupbuy_section(start, end, seller_id: int | None) -> ReportSection:
    s, e = shop_day_bounds(start, end)
    own = (GroupBuyActivity.seller_id == seller_id,) if seller_id else ()
    opened = and_(GroupBuyGroup.opened_at >= s, GroupBuyGroup.opened_at < e)
    finished = and_(GroupBuyGroup.finished_at >= s, GroupBuyGroup.finished_at < e)

    def n(cond):
        return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)

    groups = db.session.execute(
        select(
            GroupBuyActivity.id,
            GroupBuyActivity.title,
            n(opened),
            n(and_(finished, GroupBuyGroup.state == SUCCEEDED)),
            n(and_(finished, GroupBuyGroup.state == FAILED)),
        )
        .join(GroupBuyActivity, GroupBuyActivity.id == GroupBuyGroup.activity_id)
        .where(or_(opened, finished), *own)
        .group_by(GroupBuyActivity.id, GroupBuyActivity.title)
    ).all()
    sales = db.session.execute(
        select(GroupBuyActivity.id, GroupBuyActivity.title, func.sum(Order.pay_amount))
        .select_from(GroupBuyMember)
        .join(GroupBuyActivity, GroupBuyActivity.id == GroupBuyMember.activity_id)
        .join(Order, Order.id == GroupBuyMember.order_id)
        .where(GroupBuyMember.status == M_PAID, GroupBuyMember.paid_at >= s, GroupBuyMember.paid_at < e, *own)
        .group_by(GroupBuyActivity.id, GroupBuyActivity.title)
    ).all()
    titles = {int(aid): title for aid, title, *_rest in [*groups, *sales]}
    counts = {int(aid): (int(o), int(ok), int(ko)) for aid, _t, o, ok, ko in groups}
    gmv = {int(aid): int(amount or 0) for aid, _t, amount in sales}
    rows = []
    for aid in sorted(titles):
        n_opened, n_ok, n_failed = counts.get(aid, (0, 0, 0))
        rows.append(
            {
                "activity_id": aid,
                "title": titles[aid],
                "opened": n_opened,
                "succeeded": n_ok,
                "failed": n_failed,
                "success_rate": n_ok * 1000 // (n_ok + n_failed) if n_ok + n_failed else 0,
                "gmv": gmv.get(aid, 0),
            }
        )
    return ReportSection(
        key="groupbuy",
        title=_("Group buys"),
        columns=[
            ("activity_id", _("ID")),
            ("title", _("Group buy")),
            ("opened", _("Groups opened")),
            ("succeeded", _("Succeeded")),
            ("failed", _("Failed")),
            ("success_rate", _("Success rate")),
            ("gmv", _("GMV")),
        ],
        rows=rows,
        money=frozenset({"gmv"}),
        permille=frozenset({"success_rate"}),
        sort=30,
    )
