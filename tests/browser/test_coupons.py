"""Coupons end to end in headless Chromium (CP): a buyer claims a platform
coupon (满100减10) in the claim centre, then checks out goods of two
merchants: the coupon is preselected, the checkout shows it, and the
discount is spread over both merchant orders in proportion; the coupon is
used. Screenshots of every step go to test-artifacts/browser/.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from jishi.db import db, utcnow
from jishi.models import PaymentOrder
from jishi.testing import factories
from jishi.testing.browser import submit

pytestmark = pytest.mark.jishi_plugins("multistore", "coupons")


def test_claim_platform_coupon_and_use_it_across_two_merchants(live_app, browser, shot):
    from jishi_coupons import service
    from jishi_coupons.models import UserCoupon
    from jishi_multistore import testing as ms

    base = live_app.config["LIVE_URL"]
    with live_app.app_context():
        buyer = factories.user(phone="13900000013", name="买家")
        factories.address(buyer, name="李雷", phone="13900000013")
        tea_shop, cup_shop = ms.merchant("龙井茶庄"), ms.merchant("青瓷茶具店")
        tea_shop_id, cup_shop_id = tea_shop.id, cup_shop.id
        tea = ms.product(tea_shop, name="明前龙井", price=8000, stock=10).id
        cup = ms.product(cup_shop, name="青瓷茶杯", price=4000, stock=10).id
        now = utcnow()
        template = service.create_template(
            None,
            {
                "name": "平台满100减10",
                "kind": "fixed",
                "threshold": 10000,
                "amount": 1000,
                "scope": "all",
                "starts_at": now - timedelta(days=1),
                "ends_at": now + timedelta(days=30),
                "total_quantity": 10,
            },
        )
        template_id = template.id
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.goto(base + "/login")
    page.fill("input[name=phone]", "13900000013")
    page.fill("input[name=password]", "secret123")
    submit(page, "form.form button[type=submit]")

    # 1. The claim centre: claim the platform coupon.
    page.goto(base + "/coupons")
    assert "平台满100减10" in page.content()
    shot(page, "claim-centre")
    submit(page, f"form[action$='/coupons/{template_id}/claim'] button")
    assert "已领取" in page.content()
    shot(page, "claimed")
    page.goto(base + "/account/coupons")
    assert "平台满100减10" in page.content()
    shot(page, "my-coupons")

    # 2. Goods of two merchants in the cart; the checkout preselects the coupon.
    for product_id in (tea, cup):
        page.goto(f"{base}/product/{product_id}")
        submit(page, "form.add-to-cart button.btn-secondary")
    page.goto(base + "/cart")
    submit(page, "button[name=action][value=checkout]")
    select = page.locator("select[name='opt.coupons.platform']")
    assert select.count() == 1
    with live_app.app_context():
        coupon_id = db.session.execute(db.select(UserCoupon.id)).scalar_one()
    assert select.input_value() == str(coupon_id)
    assert "-¥10.00" in page.content() or "¥10.00" in page.content()
    shot(page, "checkout-coupon-preselected")

    # 3. Place and check the allocation: 10 yuan over 80 + 40 -> 6.67 + 3.33.
    submit(page, "button[name=action][value=place]")
    shot(page, "pay")
    with live_app.app_context():
        [payment] = db.session.execute(db.select(PaymentOrder)).scalars().all()
        discounts = {o.seller_id: o.discount_amount for o in payment.orders}
        assert discounts == {tea_shop_id: 667, cup_shop_id: 333}
        assert db.session.get(UserCoupon, coupon_id).status == "used"
    page.goto(base + "/account/coupons?status=used")
    assert "平台满100减10" in page.content()
    shot(page, "coupon-used")
    context.close()
