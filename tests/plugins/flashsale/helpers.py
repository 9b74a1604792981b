"""Helpers for the flashsale tests: activities, purchases, payments."""

from __future__ import annotations

import itertools
from datetime import timedelta

from jishi.db import commit, db, utcnow
from jishi.orders.models import Order
from jishi.testing import flows
from jishi_flashsale import service
from jishi_flashsale.models import Activity, FlashSku

_keys = itertools.count(1)


def activity(product, *, stock=10, per_user=1, price=None, seller_id="auto", platform=True, **kw) -> Activity:
    now = utcnow()
    data = {
        "product_id": product.id,
        "title": "秒杀",
        "per_user_limit": per_user,
        "starts_at": kw.pop("starts_at", now - timedelta(hours=1)),
        "ends_at": kw.pop("ends_at", now + timedelta(days=1)),
        "skus": [
            {"sku_id": s.id, "flash_price": price if price is not None else s.price // 2, "stock": stock}
            for s in product.skus
        ],
    }
    data.update(kw)
    a = service.save_activity(
        data, seller_id=product.seller_id if seller_id == "auto" else seller_id, platform=platform
    )
    commit()
    return a


def buyer(factory):
    u = factory.user()
    factory.address(u)
    return u


address_id = flows.address_id


def buy_api(api, user, sku_id, quantity=1, key=None):
    body = {"sku_id": sku_id, "quantity": quantity}
    if user is not None:
        body["address_id"] = address_id(user)
    return api.post("/flashsale/buy", json=body, user=user, headers={"Idempotency-Key": key or f"fs-{next(_keys)}"})


def place(user, sku_id, quantity=1) -> Order:
    """Place through the kernel's checkout service; returns the order."""
    from jishi.checkout.service import place_order

    payments = place_order(user, [(sku_id, quantity)], address_id(user), {}, idempotency_key=f"fs-{next(_keys)}")
    return payments[0].orders[0]


#: pay an order's payment through the sandbox's signed notification
pay = flows.pay


def flash_sku(activity_id: int, sku_id: int | None = None) -> FlashSku:
    db.session.expire_all()
    q = db.select(FlashSku).where(FlashSku.activity_id == activity_id)
    if sku_id is not None:
        q = q.where(FlashSku.sku_id == sku_id)
    return db.session.execute(q.limit(1)).scalar_one()


def order(order_id: int) -> Order:
    db.session.expire_all()
    return db.session.get(Order, order_id)


def age_reservations(minutes: int) -> None:
    """Move every flash reservation ``minutes`` into the past (the unpaid timeout)."""
    from jishi_flashsale.models import Reservation

    db.session.execute(db.update(Reservation).values(created_at=utcnow() - timedelta(minutes=minutes)))
    commit()
