"""Demo data: a gift card sold as card codes (卡密) and a video course
delivered as a link, both the shop's own; the demo buyer buys and pays a
gift card (so the demo shows a code in the order)."""

from __future__ import annotations

import secrets

from jishi.db import commit

from jishi_virtual import service
from jishi_virtual.models import KIND_CODES, KIND_TEXT

GIFT_CARD = "电子礼品卡 100 元"
COURSE = "手冲咖啡入门视频课"


def _category_id(data: dict) -> int | None:
    categories = list((data.get("categories") or {}).values())
    return categories[0].id if categories else None


def demo_data(data: dict) -> str | None:
    from jishi.catalog.service import save_product

    category_id = _category_id(data)
    card = save_product(
        {
            "name": GIFT_CARD,
            "subtitle": "付款后自动发放卡密，可在订单详情查看",
            "description": "<p>电子礼品卡：付款后自动发放卡密，无需收货地址。</p>",
            "category_id": category_id,
            "skus": [{"price": 10000, "stock": 20}],
            "is_virtual": True,
            "on_shelf": True,
        }
    )
    service.save_good(card, KIND_CODES, "")
    codes = "\n".join(f"JS-{secrets.token_hex(4).upper()}-{secrets.token_hex(4).upper()}" for _ in range(20))
    service.add_codes(card, card.skus[0].id, codes)
    course = save_product(
        {
            "name": COURSE,
            "subtitle": "付款后自动发送观看链接",
            "description": "<p>视频课程：付款后在订单详情查看观看链接。</p>",
            "category_id": category_id,
            "skus": [{"price": 1990, "stock": 999}],
            "is_virtual": True,
            "on_shelf": True,
        }
    )
    service.save_good(course, KIND_TEXT, "https://example.com/jishi-demo/coffee-course")
    commit()
    data["virtual_gift_card"] = card
    return "2 virtual products (a gift card with 20 card codes, a course link)"


def demo_orders(data: dict) -> str | None:
    """The buyer buys one gift card and pays: the order completes with its code."""
    from flask import current_app
    from jishi.checkout.entry import place_order
    from jishi.demo import pay

    buyer, card = data.get("buyer"), data.get("virtual_gift_card")
    if buyer is None or card is None:
        return None
    with current_app.test_request_context("/"):
        [payment] = place_order(buyer, [(card.skus[0].id, 1)], None, {}, idempotency_key="demo-virtual-1")
        pay(payment)
    return "1 gift card order delivered with its code"
