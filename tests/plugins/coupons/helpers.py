"""Helpers shared by the coupons tests."""

from __future__ import annotations

from datetime import timedelta

from jishi.db import db, utcnow
from jishi.testing import flows


def template(seller_id=None, **kw):
    from jishi_coupons import service

    now = utcnow()
    data = {
        "name": kw.pop("name", "满100减10"),
        "kind": "fixed",
        "threshold": 10000,
        "amount": 1000,
        "scope": "all",
        "starts_at": now - timedelta(days=1),
        "ends_at": now + timedelta(days=30),
        "total_quantity": 100,
        "per_user_limit": 1,
    }
    data.update(kw)
    return service.create_template(seller_id, data)


def activity(seller_id=None, **kw):
    from jishi_coupons import service

    now = utcnow()
    data = {
        "name": kw.pop("name", "满减"),
        "tiers": [[10000, 1000], [20000, 3000]],
        "scope": "all",
        "starts_at": now - timedelta(days=1),
        "ends_at": now + timedelta(days=30),
    }
    data.update(kw)
    return service.create_activity(seller_id, data)


def give(user, t):
    """``user`` claims one coupon of template ``t``; returns the user coupon."""
    from jishi_coupons import service

    return service.claim(user, t.id)


def body(items, addr=None, coupons=None, **extra):
    """A checkout body (:func:`jishi.testing.flows.checkout_body`) choosing ``coupons``."""
    return flows.checkout_body(items, addr, {"coupons": coupons} if coupons is not None else None, **extra)


#: pay a payment order by its number (the sandbox gateway's notification)
pay_number = flows.pay


def coupon(cid):
    from jishi_coupons.models import UserCoupon

    db.session.expire_all()
    return db.session.get(UserCoupon, cid)
