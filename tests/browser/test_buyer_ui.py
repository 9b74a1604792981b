"""Issue 13 in headless Chromium, on a phone and on a desktop.

A1: the buyer changes the quantity in the cart (stepper) and the delivery
and coupon on the checkout page; the totals follow at once (shop.js posts
the form as Recalculate does and swaps the totals), and the buyer places and
pays exactly the total displayed. A7: add to cart stays on the product page
with a toast and the cart badge; names are not squeezed on a phone;
placeholders keep their size; gallery thumbnails switch the picture;
已售罄 disables buying; 确认收货 asks first. Screenshots go to
test-artifacts/browser/.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from jishi import settings
from jishi.db import commit, db, utcnow
from jishi.models import Order, PaymentOrder
from jishi.testing import factories
from jishi.testing.browser import sign_in, submit

pytestmark = pytest.mark.jishi_plugins("coupons", "pickup")

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def _pay_amount(page) -> int:
    return int(page.get_attribute("[data-pay-amount]", "data-pay-amount"))


def _wait_total(page, fen: int) -> None:
    """Wait until the checkout shows ``fen`` (shop.js swapped the totals)."""
    page.wait_for_selector(f'[data-pay-amount="{fen}"]')
    assert page.get_attribute("input[name=expected_total]", "value") == str(fen)


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_checkout_totals_follow_every_change_and_the_shown_total_is_paid(live_app, browser, shot, viewport):
    """A1 + A7: cart stepper, toast and badge; on the checkout, delivery and
    coupon changes update the total live; the payment equals the total shown."""
    from jishi_coupons import service as coupons
    from jishi_pickup import service as pickup

    base = live_app.config["LIVE_URL"]
    with live_app.app_context():
        buyer = factories.user(phone="13700000131", name="手机买家")
        factories.address(buyer, name="李雷", phone="13700000131")
        product_id = factories.product(name="一个名字相当长的西湖龙井明前特级新茶礼盒", price=7500, stock=10).id
        pickup.create_point(
            None, {"name": "门店自提点", "address": "文三路1号", "hours": "09:00-21:00", "phone": "0571"}
        )
        settings.set_many({"delivery.free_over": 0})  # the flat ¥10 delivery whatever the amount
        now = utcnow()
        for name, amount in (("满100减20", 2000), ("满100减5", 500)):
            template = coupons.create_template(
                None,
                {
                    "name": name,
                    "kind": "fixed",
                    "threshold": 10000,
                    "amount": amount,
                    "scope": "all",
                    "starts_at": now - timedelta(days=1),
                    "ends_at": now + timedelta(days=30),
                    "total_quantity": 10,
                },
            )
            coupons.claim(buyer, template.id)
        commit()

    ctx = browser.new_context(viewport=viewport, locale="zh-CN")
    page = sign_in(ctx, base, "13700000131")

    # Add to cart: back on the product page with a toast and the badge.
    page.goto(f"{base}/product/{product_id}")
    submit(page, "form.add-to-cart button.btn-secondary")
    assert page.url.endswith(f"/product/{product_id}")
    assert page.locator(".flash-toast").inner_text().strip() == "已加入购物车。"
    assert page.locator("[data-cart-badge]").first.inner_text() == "1"
    shot(page, "added-toast-badge")

    # The cart: + on the stepper saves 2 and the total follows, no reload.
    page.goto(base + "/cart")
    page.click(".cart-line .stepper button[data-step='1']")
    page.wait_for_selector('[data-cart-total="15000"]')
    assert page.input_value(".cart-line input[name^=qty-]") == "2"
    if viewport is PHONE:  # the name keeps its width beside the picture
        assert page.locator(".cart-line .info").bounding_box()["width"] > 150
        box = page.locator(".cart-line .noimg").bounding_box()
        assert (round(box["width"]), round(box["height"])) == (56, 56)
    shot(page, "cart-stepper")
    submit(page, "button[name=action][value=checkout]")

    # The checkout: 150 + 10 delivery - 20 (the best coupon, preselected).
    assert page.input_value("select[name^='delivery-']") == "standard"
    assert _pay_amount(page) == 14000
    assert page.is_visible("button[name=action][value=refresh]")
    shot(page, "checkout-start")
    page.select_option("select[name^='delivery-']", "pickup")
    _wait_total(page, 13000)  # no delivery fee
    assert page.locator("select[name^='opt.pickup.']").input_value()  # the pickup point choice came in
    page.select_option("select[name='opt.coupons.platform']", label="满100减5 -¥5.00")
    _wait_total(page, 14500)  # the other coupon
    shown = page.locator(".checkout-bar .total strong").inner_text()
    assert shown == "¥145.00"
    if viewport is PHONE:
        assert page.locator(".checkout-group .line .info").bounding_box()["width"] > 150
    shot(page, "checkout-changed")

    submit(page, "button[name=action][value=place]")
    shot(page, "pay")
    submit(page, "form.pay-methods button[type=submit]")
    submit(page, "button[name=action][value=pay]")
    shot(page, "paid")
    with live_app.app_context():
        [payment] = db.session.execute(db.select(PaymentOrder)).scalars().all()
        assert payment.status == "paid"
        assert payment.amount == 14500  # exactly the total displayed
        [order] = payment.orders
        assert (order.delivery_method, order.delivery_fee, order.discount_amount) == ("pickup", 0, 500)
    ctx.close()


@pytest.mark.jishi_plugins()
def test_product_and_order_details_on_a_phone(live_app, browser, shot):
    """A7: gallery thumbnails switch the picture; a sold-out product shows
    已售罄 and cannot be bought; 确认收货 asks first (dismissed: nothing
    happens; accepted: received); the order page keeps names readable."""
    from jishi.catalog.models import ProductImage
    from jishi.orders import service as orders_service

    base = live_app.config["LIVE_URL"]
    pixel = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"
    with live_app.app_context():
        buyer = factories.user(phone="13700000132", name="买家")
        factories.address(buyer)
        pictured = factories.product(name="有图的茶", price=1000, stock=5)
        pictured.image = pixel + "#hero"
        pictured.images.extend([ProductImage(url=pixel + "#one", sort=0), ProductImage(url=pixel + "#two", sort=1)])
        sold_out = factories.product(name="卖完的茶", price=1000, stock=0)
        commit()
        pictured_id, sold_out_id = pictured.id, sold_out.id

    ctx = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = sign_in(ctx, base, "13700000132")
    page.goto(f"{base}/product/{pictured_id}")
    page.click("[data-gallery-thumb$='#two']")
    assert page.get_attribute(".gallery img.hero", "src").endswith("#two")
    shot(page, "gallery-switched")

    page.goto(f"{base}/product/{sold_out_id}")
    assert page.locator(".soldout-badge").inner_text() == "已售罄"
    assert page.locator(".sticky-actions button").count() == 1
    assert page.locator(".sticky-actions button").is_disabled()
    shot(page, "sold-out")

    page.goto(f"{base}/product/{pictured_id}")
    page.click(".stepper button[data-step='1']")
    assert page.input_value("input[name=quantity]") == "2"
    submit(page, "form.add-to-cart button[name=buy_now]")
    submit(page, "button[name=action][value=place]")
    submit(page, "form.pay-methods button[type=submit]")
    submit(page, "button[name=action][value=pay]")
    with live_app.app_context():
        order = db.session.execute(db.select(Order)).scalar_one()
        orders_service.ship(order, carrier="顺丰", tracking_no="SF1", actor_kind="platform")
        order_id = order.id
    page.goto(f"{base}/orders/{order_id}")
    assert page.locator(".line .info").bounding_box()["width"] > 150
    questions = []

    def dismiss(dialog):
        questions.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.click("button[data-confirm]")
    with live_app.app_context():
        assert db.session.get(Order, order_id).status == "shipped"
    submit(page, "button[data-confirm]", confirm=True)
    assert len(questions) == 1 and "确认已收到商品" in questions[0]
    with live_app.app_context():
        assert db.session.get(Order, order_id).status == "received"
    shot(page, "received")
    ctx.close()
