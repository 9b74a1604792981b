"""The flash sales' campaign effect in the reports (``report_sections``, issue 19).

Per activity whose window meets the shop days of the range (or with flash
orders in it): units sold and the flash stock (the activity's whole run,
the counters the purchase moves), then for the flash orders of the range
(``FlashSaleReservation``: one per order and SKU) the paid orders, their
GMV (what the flash lines paid, fen), the buyers, the attempts (flash
orders placed, paid or not) and the conversion, paid orders ÷ attempts
(permille); and the visitor conversion: paid buyers ÷ the unique visitors
of the activity's product over the shop days of its window within the range
(``jishi.reports.service.product_visitors``: exact, a visitor of two days
counts once). A merchant's reports count the activities on its own products
only. Two grouped statements, plus one per distinct window for the visitors.
"""

from __future__ import annotations

from jishi.db import db
from jishi.hookspecs import ReportSection
from jishi.i18n import gettext as _
from jishi.i18n import shop_day_bounds, to_shop_time
from jishi.orders.models import Order, OrderLine
from jishi.reports.service import product_visitors
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
        select(
            FlashSaleActivity.id,
            FlashSaleActivity.title,
            func.sum(FlashSku.sold),
            func.sum(FlashSku.stock),
            FlashSaleActivity.product_id,
            FlashSaleActivity.starts_at,
            FlashSaleActivity.ends_at,
        )
        .join(FlashSku, FlashSku.activity_id == FlashSaleActivity.id)
        .where(or_(window, FlashSaleActivity.id.in_(list(orders))) if orders else window, *own)
        .group_by(
            FlashSaleActivity.id,
            FlashSaleActivity.title,
            FlashSaleActivity.product_id,
            FlashSaleActivity.starts_at,
            FlashSaleActivity.ends_at,
        )
        .order_by(FlashSaleActivity.id)
    ).all()
    visitors = _window_visitors(start, end, activities)
    rows = []
    for aid, title, sold, stock, *_window in activities:
        attempts, n_paid, gmv, buyers = orders.get(int(aid), (0, 0, 0, 0))
        uv = visitors.get(int(aid), 0)
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
                "visitors": uv,
                "visitor_conversion": buyers * 1000 // uv if uv else 0,
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
            ("visitors", _("Product visitors")),
            ("visitor_conversion", _("Visitor conversion")),
        ],
        rows=rows,
        money=frozenset({"gmv"}),
        permille=frozenset({"conversion", "visitor_conversion"}),
        sort=20,
    )


def _window_visitors(start, end, activities) -> dict[int, int]:
    """Per activity the unique visitors of its product over the shop days its
    window covers within ``start``..``end``: one read per distinct window
    (the activities of one window together), never one per activity."""
    from datetime import timedelta

    windows: dict[tuple, list[tuple[int, int]]] = {}
    for aid, _title, _sold, _stock, product_id, starts_at, ends_at in activities:
        d0 = max(start, to_shop_time(starts_at).date())
        d1 = min(end, to_shop_time(ends_at - timedelta(microseconds=1)).date())
        if d0 <= d1:
            windows.setdefault((d0, d1), []).append((int(aid), int(product_id)))
    out: dict[int, int] = {}
    for (d0, d1), members in sorted(windows.items()):
        uv = product_visitors([pid for _aid, pid in members], d0, d1)
        out.update((aid, uv.get(pid, 0)) for aid, pid in members)
    return out
