"""Demo data: two platform templates chosen by the shop and every merchant,
and (in ``demo_orders``) one shipped order with a tracking timeline."""

from __future__ import annotations

from datetime import timedelta

from jishi.db import db, utcnow
from sqlalchemy import select

from jishi_delivery_express import service


def demo_data(data: dict) -> str:
    piece = service.save_template(
        {
            "name": "全国包邮满99（按件）",
            "charge_by": "piece",
            "first_units": 1,
            "first_fee": 800,
            "additional_units": 1,
            "additional_fee": 200,
            "free_over_amount": 9900,
            "regions": [{"province": "新疆", "served": False}, {"province": "西藏", "served": False}],
        }
    )
    weight = service.save_template(
        {
            "name": "按重量计费",
            "charge_by": "weight",
            "first_units": 1000,
            "first_fee": 1000,
            "additional_units": 500,
            "additional_fee": 300,
            "regions": [
                {
                    "province": "浙江",
                    "first_units": 1000,
                    "first_fee": 600,
                    "additional_units": 500,
                    "additional_fee": 200,
                },
                {"province": "新疆", "served": False},
                {"province": "西藏", "served": False},
            ],
        }
    )
    service.make_default(piece)
    service.choose_templates(None, [piece.id, weight.id], piece.id)
    merchants = data.get("merchants") or {}
    for m in merchants.values():
        service.choose_templates(m.id, [piece.id, weight.id], piece.id)
    data["express_templates"] = {"piece": piece, "weight": weight}
    return f"2 delivery templates, chosen by the shop and {len(merchants)} merchants"


def demo_orders(data: dict) -> str | None:
    """Ship the shop's paid express order (the kernel's demo order) and add
    its tracking events."""
    from jishi.orders import state
    from jishi.orders.models import Order

    order = db.session.execute(
        select(Order)
        .where(Order.seller_id.is_(None), Order.status == state.PAID, Order.delivery_method == service.CODE)
        .order_by(Order.id)
        .limit(1)
    ).scalar_one_or_none()
    if order is None:
        return None
    admin = data.get("admin")
    service.ship(None, order, "sf", "SF1234567890123", actor=admin)
    start = utcnow() - timedelta(hours=20)
    for hours, text in (
        (0, "【杭州市】顺丰速运 已收取快件"),
        (6, "【杭州市】快件已发往 杭州转运中心"),
        (14, "【杭州市】快件已到达 西湖营业部，快递员正在派送"),
    ):
        service.add_event(None, order, start + timedelta(hours=hours), text, actor=admin)
    return f"order {order.number} shipped with 3 tracking events"
