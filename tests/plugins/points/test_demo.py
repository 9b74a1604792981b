"""Issue 16 "Proof" (demo): after ``jishi demo``'s data load the demo buyer
and 积分达人 have points histories through the real code paths (an
adjustment, points spent at checkout, earned frozen and made usable, a
refund's return and claw-back), the ledger agrees with the accounts, and
the points centre and console render them."""

from __future__ import annotations

import pytest
from jishi.db import db
from sqlalchemy import select


def _check(app, client, login):
    from jishi.demo import load_demo
    from jishi.models import User
    from jishi_points import ledger
    from jishi_points.demo import POINTS_BUYER
    from jishi_points.models import PointsEntry

    logins: dict = {}
    with app.test_request_context("/"):
        summary = load_demo(logins)
    assert "2 buyers with points history" in summary, summary
    assert logins["points buyer"] == POINTS_BUYER
    fan = db.session.scalars(select(User).where(User.phone == POINTS_BUYER[0])).one()
    buyer = db.session.scalars(select(User).where(User.name == "演示买家")).one()
    kinds = {
        u.id: {k for (k,) in db.session.execute(select(PointsEntry.kind).where(PointsEntry.user_id == u.id))}
        for u in (buyer, fan)
    }
    assert {"adjusted", "spent", "frozen", "unfrozen"} <= kinds[buyer.id]
    assert {"adjusted", "spent", "frozen", "unfrozen", "refunded", "clawed_back"} <= kinds[fan.id]
    for u in (buyer, fan):
        assert ledger.balance(u.id) == ledger.ledger_sums(u.id)
        assert ledger.balance(u.id)[0] > 0
    login(fan)
    html = client.get("/account/points").get_data(as_text=True)
    assert "平台调整：双十一活动奖励" in html and "退款退回" in html and "付款赠送（冻结）" in html
    admin = db.session.scalars(select(User).where(User.role == "platform_admin")).first()
    login(admin)
    report = client.get("/console/points/report")
    assert report.status_code == 200 and 'data-liability="0"' not in report.get_data(as_text=True)


def test_demo_single_store(app, client, login):
    """Issue 16/Proof: the demo without multistore."""
    _check(app, client, login)


@pytest.mark.jishi_plugins("multistore", "coupons", "points")
def test_demo_mall(app, client, login):
    """Issue 16/Proof: the demo with multistore and coupons (the demo orders use no coupon)."""
    _check(app, client, login)
