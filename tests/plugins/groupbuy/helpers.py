"""Helpers for the groupbuy tests: activities, group checkouts, payments."""

from __future__ import annotations

import itertools
from datetime import timedelta

from jishi.db import commit, db, utcnow
from jishi.orders.models import Order
from jishi.testing import flows
from jishi_groupbuy import service
from jishi_groupbuy.models import Activity, Group, Member

_keys = itertools.count(1)


def activity(product, *, size=3, minutes=60, per_user=0, price=None, seller_id="auto", platform=True, **kw) -> Activity:
    now = utcnow()
    data = {
        "product_id": product.id,
        "title": "拼团",
        "group_size": size,
        "time_limit_minutes": minutes,
        "per_user_limit": per_user,
        "starts_at": kw.pop("starts_at", now - timedelta(hours=1)),
        "ends_at": kw.pop("ends_at", now + timedelta(days=1)),
        "skus": [{"sku_id": s.id, "group_price": price if price is not None else s.price // 2} for s in product.skus],
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


def checkout_body(user, sku_id, activity_id, token=None, quantity=1) -> dict:
    opt = {"activity_id": activity_id}
    if token is not None:
        opt["group_token"] = token
    return {
        "items": [{"sku_id": sku_id, "quantity": quantity}],
        "address_id": address_id(user),
        "options": {"groupbuy": opt},
    }


def place_api(api, user, sku_id, activity_id, token=None, quantity=1):
    return api.post(
        "/checkout/place",
        json=checkout_body(user, sku_id, activity_id, token, quantity),
        user=user,
        headers={"Idempotency-Key": f"gb-{next(_keys)}"},
    )


def place(user, sku_id, activity_id, token=None, quantity=1) -> Order:
    """Place through the kernel's checkout service; returns the order."""
    from jishi.checkout.service import place_order

    opt = {"activity_id": activity_id}
    if token is not None:
        opt["group_token"] = token
    payments = place_order(
        user, [(sku_id, quantity)], address_id(user), {"groupbuy": opt}, idempotency_key=f"gb-{next(_keys)}"
    )
    return payments[0].orders[0]


#: pay an order's payment through the sandbox's signed notification
pay = flows.pay


def group_of(order: Order) -> Group:
    db.session.expire_all()
    m = db.session.execute(db.select(Member).where(Member.order_id == order.id)).scalar_one()
    return db.session.get(Group, m.group_id)


def member_of(order: Order) -> Member:
    db.session.expire_all()
    return db.session.execute(db.select(Member).where(Member.order_id == order.id)).scalar_one()


def order(order_id: int) -> Order:
    db.session.expire_all()
    return db.session.get(Order, order_id)


def expire(group: Group) -> None:
    """Move the group's deadline into the past."""
    db.session.execute(db.update(Group).where(Group.id == group.id).values(expires_at=utcnow() - timedelta(seconds=1)))
    commit()
