"""The points demo (``jishi demo``), through the plugin's real code paths:

- the demo buyer gets a welcome adjustment (平台调整), then buys with
  points: spent at checkout, earned frozen at payment, usable when the
  order completes (besides the points the other demo orders earn, frozen);
- a second buyer, 积分达人 (login printed with the others), gets an
  adjustment, completes an order bought partly with points, and refunds
  another one: points returned and points clawed back — 12 to 7 days ago
  (:func:`jishi.demo.backdated`).

Orders are placed last (``demo_orders``, trylast), once every plugin has
set up its delivery, with no coupon (``coupons: []``) so the other
plugins' demo is left as it is.
"""

from __future__ import annotations

from jishi.checkout.errors import CheckoutError
from jishi.db import commit, db

from jishi_points import service

POINTS_BUYER = ("13900001616", "demo1616")
KEY = "points_demo_buyer"


def demo_data(data: dict) -> str:
    from jishi.testing import factories

    user = factories.user(phone=POINTS_BUYER[0], password=POINTS_BUYER[1], name="积分达人")
    address = factories.address(user, name="王五", phone=POINTS_BUYER[0])
    data[KEY] = (user, address)
    data.setdefault("logins", {})["points buyer"] = POINTS_BUYER
    return "a points buyer (积分达人)"


def _own_skus(data: dict, n: int) -> list[int]:
    products = [
        p
        for p in data.get("products") or []
        if p.seller_id is None and not getattr(p, "is_virtual", False) and p.skus and p.skus[0].stock > 5
    ]
    return [p.skus[0].id for p in products[-n:]]


def _buy(user, address, sku_id: int, key: str, *, complete: bool):
    from flask import current_app
    from jishi.checkout.entry import place_order
    from jishi.demo import pay
    from jishi.orders import service as orders

    with current_app.test_request_context("/"):
        [payment] = place_order(user, [(sku_id, 1)], address.id, {"points": True, "coupons": []}, idempotency_key=key)
        pay(payment)
    order = payment.orders[0]
    if complete:
        db.session.refresh(order)
        orders.ship(order, carrier="SF", tracking_no=f"SF{order.id:010d}")
        orders.receive(order)
        orders.complete(order, actor_kind="buyer")
    return order


def _refund(user, order) -> None:
    from flask import current_app
    from jishi.aftersales import service as aftersales

    db.session.refresh(order)
    with current_app.test_request_context("/"):
        request = aftersales.request_refund(
            user, order, "refund_only", [(line.id, line.quantity) for line in order.lines], "不想要了"
        )
        aftersales.approve(request)


def demo_orders(data: dict) -> str | None:
    buyer, address = data.get("buyer"), data.get("address")
    fan, fan_address = data.get(KEY, (None, None))
    skus = _own_skus(data, 3)
    if buyer is None or address is None or fan is None or len(skus) < 3:
        return None
    service.adjust(buyer.id, 500, "新会员见面礼")
    service.adjust(fan.id, 3000, "双十一活动奖励")
    commit()
    import random
    from contextlib import nullcontext

    from jishi.demo import at_day, backdated

    rng = random.Random(24)
    try:
        _buy(buyer, address, skus[0], "demo-points-1", complete=True)
        # 积分达人's in the past (issue 19: points spent and returned on past days)
        past = data.get("history", True)
        with backdated(at_day(12, rng)) if past else nullcontext():
            _buy(fan, fan_address, skus[1], "demo-points-2", complete=True)
        with backdated(at_day(9, rng)) if past else nullcontext():
            refunded = _buy(fan, fan_address, skus[2], "demo-points-3", complete=False)
        with backdated(at_day(7, rng)) if past else nullcontext():
            _refund(fan, refunded)
    except CheckoutError:  # another plugin's rules refuse the demo orders: the adjustments stay
        db.session.rollback()
        return "points adjusted for 2 buyers"
    return "2 buyers with points history (spent, earned, a refund)"
