"""CP demo: ``jishi demo`` has a live platform coupon 满100减10, a merchant
coupon (with multistore), a 满减 activity, and the demo buyer holds 满100减10;
the claim centre and the buyer's coupon page render."""

from __future__ import annotations

import pytest
from jishi.db import db
from sqlalchemy import select


def _load(app):
    from jishi.demo import load_demo

    logins: dict = {}
    with app.test_request_context("/"):
        summary = load_demo(logins, history=False)
    return summary


def _check(app, client, login, merchant: bool):
    from jishi.models import User
    from jishi_coupons.models import CouponActivity, CouponTemplate, UserCoupon

    summary = _load(app)
    assert "满100减10" in summary
    templates = list(db.session.scalars(select(CouponTemplate)))
    assert any(
        t.name == "满100减10" and t.seller_id is None and t.threshold == 10000 and t.amount == 1000 for t in templates
    )
    assert any(t.seller_id is not None for t in templates) == merchant
    assert db.session.scalars(select(CouponActivity)).first() is not None
    held = db.session.scalars(select(UserCoupon)).all()
    assert len(held) == 1 and held[0].status == "unused"
    buyer = db.session.get(User, held[0].user_id)
    assert "满100减10" in client.get("/coupons").get_data(as_text=True)
    login(buyer)
    assert "满100减10" in client.get("/account/coupons").get_data(as_text=True)


def test_demo_single_store(app, client, login):
    """CP: the demo without multistore."""
    _check(app, client, login, merchant=False)


@pytest.mark.jishi_plugins("multistore", "coupons")
def test_demo_mall(app, client, login):
    """CP: the demo with multistore has a merchant coupon too."""
    _check(app, client, login, merchant=True)
