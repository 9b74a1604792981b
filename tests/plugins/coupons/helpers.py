"""Helpers shared by the coupons tests."""

from __future__ import annotations

from datetime import timedelta

from jishi.db import db, utcnow
from sqlalchemy import select


def template(seller_id=None, **kw):
    from jishi_coupons import service

    now = utcnow()
    data = {"name": kw.pop("name", "满100减10"), "kind": "fixed", "threshold": 10000, "amount": 1000, "scope": "all",
            "starts_at": now - timedelta(days=1), "ends_at": now + timedelta(days=30), "total_quantity": 100, "per_user_limit": 1}
    data.update(kw)
    return service.create_template(seller_id, data)


def activity(seller_id=None, **kw):
    from jishi_coupons import service

    now = utcnow()
    data = {"name": kw.pop("name", "满减"), "tiers": [[10000, 1000], [20000, 3000]], "scope": "all",
            "starts_at": now - timedelta(days=1), "ends_at": now + timedelta(days=30)}
    data.update(kw)
    return service.create_activity(seller_id, data)


def give(user, t):
    """``user`` claims one coupon of template ``t``; returns the user coupon."""
    from jishi_coupons import service

    return service.claim(user, t.id)


def body(items, addr=None, coupons=None, **extra):
    data = {"items": [{"sku_id": s.id if hasattr(s, "id") else s, "quantity": q} for s, q in items]}
    if addr is not None:
        data["address_id"] = addr.id
    if coupons is not None:
        data["options"] = {"coupons": coupons}
    data.update(extra)
    return data


def pay(payment):
    from flask import current_app
    from jishi.payments import sandbox
    from jishi.payments.service import handle_notification

    with current_app.test_request_context("/"):
        trade = sandbox.create_trade(payment)
        trade.status = "paid"
        db.session.commit()
        assert handle_notification("sandbox", sandbox.notification_for(trade)) == "success"


def pay_number(number):
    from jishi.models import PaymentOrder

    pay(db.session.execute(select(PaymentOrder).where(PaymentOrder.number == number)).scalar_one())


def coupon(cid):
    from jishi_coupons.models import UserCoupon

    db.session.expire_all()
    return db.session.get(UserCoupon, cid)
