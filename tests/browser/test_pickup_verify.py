"""Pickup at the store end to end in headless Chromium (PU2, PU4, PU5).

A buyer checks out a merchant's goods for pickup, chooses one of its two
points, pays, and sees the pickup code with its QR code on the order page;
a clerk of that merchant signs in, opens the verification page (核销),
enters the code and sees the success; the order is completed. Screenshots
go to test-artifacts/browser/.
"""

from __future__ import annotations

import pytest
from jishi.db import db
from jishi.models import Order
from jishi.testing import factories
from jishi.testing.browser import sign_in, submit

pytestmark = pytest.mark.jishi_plugins("multistore", "pickup")


def test_buyer_picks_up_and_clerk_verifies(live_app, browser, shot):
    from jishi_multistore import testing as ms
    from jishi_pickup import service

    base = live_app.config["LIVE_URL"]
    with live_app.app_context():
        buyer = factories.user(phone="13900000011", name="买家")
        shop = ms.merchant("龙井茶庄", lat=30.25, lng=120.16)
        ms.clerk(shop, factories.user(phone="13900000012", name="店员小王"))
        service.create_point(
            shop.id, {"name": "茶庄门店", "address": "杭州市龙井路 1 号", "hours": "09:00-18:00", "phone": "0571-1"}
        )
        second = service.create_point(
            shop.id, {"name": "茶庄湖滨店", "address": "杭州市湖滨路 8 号", "hours": "10:00-21:00", "phone": "0571-2"}
        )
        db.session.commit()
        second_id, shop_id = second.id, shop.id
        tea = ms.product(shop, name="明前龙井", price=12800, stock=10)
        tea_id = tea.id
        del buyer
    viewport = {"width": 1280, "height": 900}

    # 1. The buyer checks out for pickup at the second point, and pays.
    shopper = browser.new_context(viewport=viewport, locale="zh-CN")
    buy = sign_in(shopper, base, "13900000011", "secret123")
    buy.goto(f"{base}/product/{tea_id}")
    submit(buy, "form.add-to-cart button.btn-secondary")
    buy.goto(base + "/cart")
    submit(buy, "button[name=action][value=checkout]")
    key = f"seller:{shop_id}"
    buy.select_option(f"select[name='delivery-{key}']", "pickup")
    buy.select_option(f"select[name='opt.pickup.{key}']", str(second_id))
    shot(buy, "checkout-pickup")
    submit(buy, "button[name=action][value=place]")
    submit(buy, "form.pay-methods button[type=submit]")
    submit(buy, "button[name=action][value=pay]")
    with live_app.app_context():
        order = db.session.execute(db.select(Order)).scalar_one()
        assert order.status == "paid" and order.delivery_method == "pickup"
        assert order.delivery_data["name"] == "茶庄湖滨店"
        order_id = order.id
    buy.goto(f"{base}/orders/{order_id}")
    code = buy.get_attribute(".pickup-code [data-code]", "data-code")
    assert code and len(code) == 12 and code.isdigit()
    assert buy.locator("img.pickup-qr").evaluate("img => img.complete && img.naturalWidth > 0")
    assert "茶庄湖滨店" in buy.content()
    shot(buy, "order-with-code")

    # 2. The clerk signs in, opens the verification page and enters the code.
    counter = browser.new_context(viewport=viewport, locale="zh-CN")
    clerk = sign_in(counter, base, "13900000012", "secret123")
    clerk.goto(base + "/merchant/")
    clerk.click("nav.console-menu a[href='/seller/pickup/verify']")
    clerk.wait_for_selector("form.pickup-verify")
    shot(clerk, "verify-page")
    clerk.fill("form.pickup-verify input[name=code]", f"{code[:4]} {code[4:8]} {code[8:]}")
    shot(clerk, "code-entered")
    submit(clerk, "form.pickup-verify button[type=submit]")
    assert clerk.locator(".pickup-done").is_visible()
    assert "核销成功" in clerk.content()
    shot(clerk, "verified")

    # 3. The same code again is refused.
    clerk.fill("form.pickup-verify input[name=code]", code)
    submit(clerk, "form.pickup-verify button[type=submit]")
    assert "已被核销" in clerk.content()
    shot(clerk, "used-again")
    with live_app.app_context():
        assert db.session.get(Order, order_id).status == "completed"

    # 4. The buyer's order page now says picked up.
    buy.goto(f"{base}/orders/{order_id}")
    assert "已于" in buy.locator(".pickup-info").inner_text()
    shot(buy, "order-picked-up")
    shopper.close()
    counter.close()
