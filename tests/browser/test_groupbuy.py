"""GB in headless Chromium: buyer A opens a group from the product page and
pays on the sandbox gateway, buyer B joins through the share link and pays,
the group succeeds. Screenshots under test-artifacts/browser/."""

from __future__ import annotations

from datetime import timedelta

import pytest
from jishi.db import db, utcnow
from jishi.models import Order
from jishi.testing import factories
from jishi.testing.browser import sign_in, submit

pytestmark = pytest.mark.jishi_plugins("groupbuy")


def _place_and_pay(page, shot, who):
    submit(page, "button[data-groupbuy-place]")
    shot(page, f"{who}-pay")
    submit(page, "form.pay-methods button[type=submit]")
    assert "sandbox-gateway" in page.url
    submit(page, "button[name=action][value=pay]")
    shot(page, f"{who}-paid")


def test_open_share_join_succeed(live_app, browser, shot):
    """GB: open a group by paying, join through the share link, the group succeeds and its orders can ship."""
    from jishi_groupbuy import service
    from jishi_groupbuy.models import Group

    base = live_app.config["LIVE_URL"]
    with live_app.app_context():
        product = factories.product(name="阳山水蜜桃", price=9900, stock=20)
        now = utcnow()
        service.save_activity(
            {
                "product_id": product.id,
                "title": "双人团",
                "group_size": 2,
                "time_limit_minutes": 60,
                "per_user_limit": 2,
                "starts_at": now - timedelta(hours=1),
                "ends_at": now + timedelta(days=1),
                "skus": [{"sku_id": product.skus[0].id, "group_price": 6900}],
            },
            seller_id=None,
            platform=True,
        )
        db.session.commit()
        a, b = factories.user(phone="13700000001"), factories.user(phone="13700000002")
        factories.address(a)
        factories.address(b, name="韩梅梅")
        product_id, a_id, b_id = product.id, a.id, b.id

    ctx_a = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = ctx_a.new_page()
    sign_in(page, base, "13700000001")
    page.goto(f"{base}/product/{product_id}")
    assert page.locator(".groupbuy-box").count() == 1
    shot(page, "a-product")
    submit(page, "button[data-groupbuy-start]")
    assert "/groupbuy/checkout" in page.url
    shot(page, "a-checkout")
    _place_and_pay(page, shot, "a")
    with live_app.app_context():
        order_a = db.session.execute(db.select(Order).where(Order.user_id == a_id)).scalar_one()
        assert order_a.status == "paid" and order_a.goods_amount == 6900
        group = db.session.execute(db.select(Group)).scalar_one()
        assert group.state == "forming" and group.paid == 1
        token = group.token
    page.goto(f"{base}/orders/{order_a.id}")
    shot(page, "a-order")
    submit(page, ".groupbuy-order a")
    share_url = page.input_value("input[data-share-url]")
    assert share_url.endswith(f"/groupbuy/groups/{token}")
    shot(page, "a-share")

    ctx_b = browser.new_context(viewport={"width": 375, "height": 812}, locale="zh-CN", is_mobile=True)
    page_b = ctx_b.new_page()
    sign_in(page_b, base, "13700000002")
    page_b.goto(f"{base}/groupbuy/groups/{token}")
    shot(page_b, "b-share-page")
    submit(page_b, "button[data-groupbuy-join]")
    assert "group_token=" in page_b.url
    shot(page_b, "b-checkout")
    _place_and_pay(page_b, shot, "b")
    page_b.goto(f"{base}/groupbuy/groups/{token}")
    assert page_b.get_attribute("article.groupbuy-group", "data-state") == "succeeded"
    shot(page_b, "b-succeeded")

    with live_app.app_context():
        db.session.expire_all()
        group = db.session.execute(db.select(Group)).scalar_one()
        assert (group.state, group.paid) == ("succeeded", 2)
        orders = db.session.execute(db.select(Order).order_by(Order.id)).scalars().all()
        assert [o.user_id for o in orders] == [a_id, b_id] and all(o.status == "paid" for o in orders)
    page.goto(f"{base}/groupbuy/groups/{token}")
    shot(page, "a-succeeded")
    ctx_a.close()
    ctx_b.close()
