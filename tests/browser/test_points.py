"""Points end to end in headless Chromium (issue 16 "Proof"): a buyer with
points opens the points centre (phone width), checks out goods of two
merchants using points (desktop width): the checkout shows the points
available, used and the money they take off, and each merchant order's
share of it (seed 001 §4.3: in proportion to what each pays); pays on the
sandbox gateway; a merchant's clerk approves the refund of one order in the
merchant console; the buyer finds the points back in the centre; the platform adjusts with
a reason and reads the liability; the buyer signs in for the day (签到)
from the centre.
Screenshots of every step go to test-artifacts/browser/.
"""

from __future__ import annotations

import pytest
from jishi.db import db
from jishi.models import Order
from jishi.testing import factories, flows
from jishi.testing.browser import sign_in, submit

pytestmark = pytest.mark.jishi_plugins("multistore", "points")

PHONE = {"viewport": {"width": 375, "height": 812}, "locale": "zh-CN", "is_mobile": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}, "locale": "zh-CN"}


def test_points_at_a_two_merchant_checkout_and_back_on_refund(live_app, browser, shot):
    from jishi_multistore import testing as ms
    from jishi_points import ledger, service

    base = live_app.config["LIVE_URL"]
    with live_app.app_context():
        buyer = factories.user(phone="13900000161", name="积分买家")
        factories.address(buyer, name="李雷", phone="13900000161")
        service.adjust(buyer.id, 2000, "新会员见面礼")
        db.session.commit()
        tea_shop, cup_shop = ms.merchant("龙井茶庄"), ms.merchant("青瓷茶具店")
        ms.clerk(tea_shop, factories.user(phone="13900000162", name="店员小王"))
        tea = ms.product(tea_shop, name="明前龙井", price=4000, stock=10).id
        cup = ms.product(cup_shop, name="青瓷茶杯", price=6000, stock=10).id
        buyer_id, tea_shop_id, cup_shop_id = buyer.id, tea_shop.id, cup_shop.id

    # 1. The points centre on a phone: 2,000 usable points, the adjustment in words.
    phone = sign_in(browser.new_context(**PHONE), base, "13900000161")
    phone.goto(base + "/account")
    phone.click("a[data-points-centre]")
    phone.wait_for_selector(".points-summary")
    assert phone.get_attribute(".points-summary", "data-points-balance") == "2000"
    assert "平台调整：新会员见面礼" in phone.content()
    shot(phone, "centre-phone")

    # 2. Two merchants' goods, points ticked at checkout (desktop).
    desk = sign_in(browser.new_context(**DESKTOP), base, "13900000161")
    for product_id in (tea, cup):
        desk.goto(f"{base}/product/{product_id}")
        submit(desk, "form.add-to-cart button.btn-secondary")
    desk.goto(base + "/cart")
    submit(desk, "button[name=action][value=checkout]")
    toggle = desk.locator(".points-toggle")
    assert toggle.get_attribute("data-points-available") == "2000"
    shot(desk, "checkout-before-points")
    desk.check("input[name='opt.points']")
    desk.wait_for_selector(".points-used")
    # the cap: 50% of ¥100 = ¥50 = 5,000 points > 2,000 held: all 2,000 used, ¥20 off
    toggle = desk.locator(".points-toggle")
    assert (toggle.get_attribute("data-points-used"), toggle.get_attribute("data-points-money")) == ("2000", "2000")
    shares = sorted(
        int(v) for v in desk.eval_on_selector_all(".points-share", "els => els.map(e => e.dataset.pointsShare)")
    )
    assert shares == [800, 1200], shares  # ¥20 over ¥40 + ¥60
    shot(desk, "checkout-points-split")

    # 3. Place and pay on the sandbox gateway.
    submit(desk, "button[name=action][value=place]")
    shot(desk, "pay")
    submit(desk, "form.pay-methods button[type=submit]")
    assert "sandbox-gateway" in desk.url
    submit(desk, "button[name=action][value=pay]")
    shot(desk, "paid")
    with live_app.app_context():
        orders = {
            o.seller_id: o for o in db.session.execute(db.select(Order).where(Order.user_id == buyer_id)).scalars()
        }
        assert {k: (o.status, o.discount_amount) for k, o in orders.items()} == {
            tea_shop_id: ("paid", 800),
            cup_shop_id: ("paid", 1200),
        }
        tea_goods = orders[tea_shop_id].pay_amount - orders[tea_shop_id].delivery_fee
        cup_goods = orders[cup_shop_id].pay_amount - orders[cup_shop_id].delivery_fee
        assert ledger.balance(buyer_id) == (0, tea_goods // 100 + cup_goods // 100)
        refund = flows.request_refund(orders[tea_shop_id], reason="不想要了")
        refund_id = refund.id

    # 4. The tea shop's clerk approves the refund in the merchant console.
    clerk = sign_in(browser.new_context(**DESKTOP), base, "13900000162")
    clerk.goto(f"{base}/merchant/refunds/{refund_id}")
    clerk.wait_for_selector("#refund-approve")
    shot(clerk, "merchant-refund")
    submit(clerk, "#refund-approve")
    clerk.wait_for_selector(".refund-status")
    shot(clerk, "merchant-refunded")

    # 5. The buyer finds the tea order's 800 points back, its earned points taken back.
    phone.goto(base + "/account/points")
    phone.wait_for_selector(".points-summary")
    assert phone.get_attribute(".points-summary", "data-points-balance") == "800"
    assert phone.get_attribute(".points-summary", "data-points-frozen") == str(cup_goods // 100)
    html = phone.content()
    assert "退款退回" in html and "+800" in html and "退款扣回赠送积分" in html
    shot(phone, "centre-points-back")
    with live_app.app_context():
        assert ledger.balance(buyer_id) == ledger.ledger_sums(buyer_id) == (800, cup_goods // 100)
        factories.admin(phone="13900000160")

    # 6. The platform finds the buyer in the console, adjusts with a reason, reads the report.
    admin = sign_in(browser.new_context(**DESKTOP), base, "13900000160")
    admin.goto(base + "/console/")
    submit(admin, "nav.console-menu a[href='/console/points/']")
    admin.fill("input[name=q]", "13900000161")
    submit(admin, "form.filters button[type=submit]")
    submit(admin, f"a[href='/console/points/buyers/{buyer_id}']")
    admin.fill("input[name=points]", "abc")
    admin.fill("input[name=reason]", "客服补偿")
    submit(admin, "form.points-adjust button[type=submit]")
    assert admin.get_attribute("form.points-adjust [role=alert]", "data-field") == "points"
    shot(admin, "console-adjust-error")
    admin.fill("input[name=points]", "200")
    submit(admin, "form.points-adjust button[type=submit]")
    assert admin.get_attribute("[data-points-balance]", "data-points-balance") == "1000"
    shot(admin, "console-buyer")
    admin.goto(base + "/console/points/report")
    liability = int(admin.get_attribute(".points-liability", "data-liability"))
    assert liability == 1000 + cup_goods // 100  # 1,000 usable + the cup order's frozen points, 100 = ¥1
    shot(admin, "console-report")

    # 7. The buyer signs in for the day (签到) from the centre: +5 points, the card says so.
    phone.goto(base + "/account/points")
    assert phone.get_attribute(".points-signin-card", "data-signed-today") == "no"
    submit(phone, "button[data-points-signin]")
    phone.goto(base + "/account/points")
    assert phone.get_attribute(".points-signin-card", "data-signed-today") == "yes"
    assert phone.get_attribute(".points-summary", "data-points-balance") == "1005"
    shot(phone, "centre-signed-in")
    for context in browser.contexts:
        context.close()
