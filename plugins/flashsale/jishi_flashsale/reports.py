"""The flash sales' campaign effect in the reports (``report_sections``, issue 19).

Per activity whose window meets the shop days of the range (or with flash
orders in it): units sold and the flash stock (the activity's whole run,
the counters the purchase moves), then for the flash orders of the range
(``FlashSaleReservation``: one per order and SKU) the paid orders, their
GMV (what the flash lines paid, fen), the buyers, the attempts (flash
orders placed, paid or not) and the conversion, paid orders ÷ attempts
(permille). The daily product aggregates' UV is not part of the kernel's
public API, so the conversion is not per visitor. A merchant's reports count
the activities on its own products only. Two grouped statements.
"""

from __future__ import annotations

from jishi.db import db
from jishi.hookspecs import ReportSection
from jishi.i18n import gettext as _
from jishi.i18n import shop_day_bounds
from jishi.orders.models import Order, OrderLine
from sqlalchemy import and_, case, func, or_, select

from jishi_flashsale.models import FlashSaleActivity, FlashSaleReservation, FlashSku


def flashsale_section(start, end, seller_id: int | None) -> ReportSection:
    s, e = shop_day_bounds(start, end)
    own = (FlashSaleActivity.seller_id == seller_id,) if seller_id else ()
    paid_at = func.coalesce(Order.paid_at, Order.created_at)
    paid = and_(
        Order.status != "pending_payment",
        Order.close_reason.notin_(("cancelled", "timeout")),
        paid_at >= s,
        paid_at < e,
    )
    placed = and_(Order.created_at >= s, Order.created_at < e)
    orders = {
        int(aid): (int(attempts), int(n_paid), int(gmv or 0), int(buyers))
        for aid, attempts, n_paid, gmv, buyers in db.session.execute(
            select(
                FlashSku.activity_id,
                func.count(func.distinct(case((placed, Order.id)))),
                func.count(func.distinct(case((paid, Order.id)))),
                func.sum(case((paid, OrderLine.pay_amount), else_=0)),
                func.count(func.distinct(case((paid, Order.user_id)))),
            )
            .select_from(FlashSaleReservation)
            .join(FlashSku, FlashSku.id == FlashSaleReservation.flash_sku_id)
            .join(FlashSaleActivity, FlashSaleActivity.id == FlashSku.activity_id)
            .join(Order, Order.id == FlashSaleReservation.order_id)
            .join(
                OrderLine,
                and_(
                    OrderLine.order_id == FlashSaleReservation.order_id, OrderLine.sku_id == FlashSaleReservation.sku_id
                ),
            )
            .where(or_(placed, paid), *own)
            .group_by(FlashSku.activity_id)
        ).all()
    }
    window = and_(FlashSaleActivity.starts_at < e, FlashSaleActivity.ends_at > s)
    activities = db.session.execute(
        select(FlashSaleActivity.id, FlashSaleActivity.title, func.sum(FlashSku.sold), func.sum(FlashSku.stock))
        .join(FlashSku, FlashSku.activity_id == FlashSaleActivity.id)
        .where(or_(window, FlashSaleActivity.id.in_(list(orders))) if orders else window, *own)
        .group_by(FlashSaleActivity.id, FlashSaleActivity.title)
        .order_by(FlashSaleActivity.id)
    ).all()
    rows = []
    for aid, title, sold, stock in activities:
        attempts, n_paid, gmv, buyers = orders.get(int(aid), (0, 0, 0, 0))
        rows.append(
            {
                "activity_id": int(aid),
                "title": title,
                "sold": int(sold or 0),
                "stock": int(stock or 0),
                "attempts": attempts,
                "orders": n_paid,
                "buyers": buyers,
                "gmv": gmv,
                "conversion": n_paid * 1000 // attempts if attempts else 0,
            }
        )
    return ReportSection(
        key="flashsale",
        title=_("Flash sales"),
        columns=[
            ("activity_id", _("ID")),
            ("title", _("Flash sale")),
            ("sold", _("Sold")),
            ("stock", _("Flash stock")),
            ("attempts", _("Orders placed")),
            ("orders", _("Paid orders")),
            ("buyers", _("Buyers")),
            ("gmv", _("GMV")),
            ("conversion", _("Conversion")),
        ],
        rows=rows,
        money=frozenset({"gmv"}),
        permille=frozenset({"conversion"}),
        sort=20,
    )
