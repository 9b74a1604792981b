"""Distribution's campaign effect in the reports (``report_sections``, issue 19).

For the commissions booked in the shop days of the range (at payment; not
those cancelled with a removed promoter): the orders sold through
distribution, their sales (what the distributed lines paid, fen: the
level-1 commissions' base, so a line counts once), the commission cost
(booked less what refunds reversed, fen, both levels) and, on the
platform's reports, the top 10 promoters by commission. A merchant's
reports count only the commissions it funds (its products opted in,
``funded_by`` merchant) and list no promoters. Two statements on the
platform's reports, one on a merchant's.
"""

from __future__ import annotations

from jishi.accounts.models import User
from jishi.db import db
from jishi.hookspecs import ReportSection
from jishi.i18n import gettext as _
from jishi.i18n import shop_day_bounds
from sqlalchemy import case, func, select

from jishi_distribution.models import C_CANCELLED, Commission

TOP = 10


def distribution_sections(start, end, seller_id: int | None) -> list[ReportSection]:
    s, e = shop_day_bounds(start, end)
    where = [Commission.created_at >= s, Commission.created_at < e, Commission.status != C_CANCELLED]
    if seller_id:
        where += [Commission.seller_id == seller_id, Commission.funded_by == "merchant"]
    net = Commission.amount - Commission.reversed
    sales = func.coalesce(func.sum(case((Commission.level == 1, Commission.base), else_=0)), 0)
    orders, gmv, cost = db.session.execute(
        select(func.count(func.distinct(Commission.order_id)), sales, func.coalesce(func.sum(net), 0)).where(*where)
    ).one()
    sections = [
        ReportSection(
            key="distribution",
            title=_("Distribution"),
            columns=[
                ("orders", _("Orders")),
                ("sales", _("Sales through distribution")),
                ("commission", _("Commission cost")),
            ],
            rows=[{"orders": int(orders), "sales": int(gmv), "commission": int(cost)}],
            money=frozenset({"sales", "commission"}),
            sort=50,
        )
    ]
    if seller_id:
        return sections
    total = func.sum(net)
    top = db.session.execute(
        select(User.id, User.name, User.phone, func.count(func.distinct(Commission.order_id)), sales, total)
        .join(User, User.id == Commission.promoter_id)
        .where(*where)
        .group_by(User.id, User.name, User.phone)
        .order_by(total.desc(), User.id)
        .limit(TOP)
    ).all()
    rows = [
        {
            "promoter_id": int(uid),
            "name": User(name=name, phone=phone).display_name(),
            "orders": int(n),
            "sales": int(amount),
            "commission": int(earned or 0),
        }
        for uid, name, phone, n, amount, earned in top
    ]
    sections.append(
        ReportSection(
            key="promoters",
            title=_("Top promoters"),
            columns=[
                ("promoter_id", _("ID")),
                ("name", _("Promoter")),
                ("orders", _("Orders")),
                ("sales", _("Sales through distribution")),
                ("commission", _("Commission")),
            ],
            rows=rows,
            money=frozenset({"sales", "commission"}),
            sort=51,
        )
    )
    return sections
