"""The points' campaign effect in the reports (``report_sections``, issue 19).

The platform's reports only (the platform funds points; a merchant's
reports get no points section). One row for the shop days of the range,
from :func:`jishi_points.report.summary` (the points report's own
figures): points issued (frozen for orders and earned), adjusted in and
out, spent, returned, expired; the money spent points took off orders paid
in the range (the ``points`` discount's allocations, fen, before refunds;
points spent in the exchange take no money off); and at the range's end the
outstanding points and their liability (fen, rounded up). Three statements.
"""

from __future__ import annotations

from jishi.db import db
from jishi.hookspecs import ReportSection
from jishi.i18n import gettext as _
from jishi.i18n import shop_day_bounds
from jishi.orders.models import Order, OrderAllocation
from sqlalchemy import func, select

from jishi_points import report, service


def points_sections(start, end, seller_id: int | None) -> list[ReportSection]:
    if seller_id:
        return []
    s, e = shop_day_bounds(start, end)
    figures = report.summary(start, end)
    paid_at = func.coalesce(Order.paid_at, Order.created_at)
    money = db.session.execute(
        select(func.coalesce(func.sum(OrderAllocation.amount), 0))
        .join(Order, Order.id == OrderAllocation.order_id)
        .where(
            OrderAllocation.source == service.SOURCE,
            Order.status != "pending_payment",
            Order.close_reason.notin_(("cancelled", "timeout")),
            paid_at >= s,
            paid_at < e,
        )
    ).scalar_one()
    t = figures.totals
    row = {
        "issued": t["issued"],
        "adjusted_in": t["adjusted_in"],
        "adjusted_out": t["adjusted_out"],
        "spent": t["spent"],
        "money": int(money),
        "returned": t["returned"],
        "expired": t["expired"],
        "outstanding": figures.outstanding,
        "liability": figures.liability,
    }
    return [
        ReportSection(
            key="points",
            title=_("Points"),
            columns=[
                ("issued", _("Issued")),
                ("adjusted_in", _("Adjusted in")),
                ("adjusted_out", _("Adjusted out")),
                ("spent", _("Spent")),
                ("money", _("Money taken off")),
                ("returned", _("Returned")),
                ("expired", _("Expired")),
                ("outstanding", _("Outstanding points")),
                ("liability", _("Liability")),
            ],
            rows=[row],
            money=frozenset({"money", "liability"}),
            sort=40,
        )
    ]
