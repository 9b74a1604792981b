"""The multi-merchant mall end to end in headless Chromium (MS3, MS7, MS8,
MS10, MS11).

A member applies to open a shop, the platform approves; the new merchant
adds a product, the platform approves it; a buyer buys from two merchants in
one checkout and pays once; each merchant ships its own order; after the
buyer receives and the order completes, the merchant's withdrawable balance
appears. Screenshots of every step go to test-artifacts/browser/.
"""

from __future__ import annotations

import pytest
from jishi.db import db
from jishi.models import Order, PaymentOrder
from jishi.testing import factories
from jishi.testing.browser import sign_in, submit

pytestmark = pytest.mark.jishi_plugins("multistore")


def test_apply_approve_list_buy_ship_settle(live_app, browser, shot):
    from jishi_multistore import testing as ms
    from jishi_multistore.models import Merchant

    base = live_app.config["LIVE_URL"]
    with live_app.app_context():
        factories.category("茶叶")
        factories.admin(phone="13800000000", password="admin1234")
        factories.user(phone="13700000002", name="龙井茶农")  # the applicant
        buyer = factories.user(phone="13700000003", name="买家")
        factories.address(buyer, name="李雷", phone="13700000003")
        cups = ms.merchant("青瓷茶具店", lat=30.25, lng=120.16)
        ms.product(cups, name="青瓷茶杯", price=3900, stock=20)
        cups_admin_phone = ms.admin_of(cups).phone
    viewport = {"width": 1280, "height": 900}

    # 1. A member applies (申请开店).
    member = browser.new_context(viewport=viewport, locale="zh-CN")
    page = sign_in(member, base, "13700000002", "secret123")
    page.goto(base + "/shops/apply")
    page.fill("input[name=name]", "龙井茶庄")
    page.fill("input[name=category]", "茶叶")
    page.check("input[name=agree]")
    shot(page, "apply")
    submit(page, "form.form button[type=submit]")
    shot(page, "applied")

    # 2. The platform approves.
    platform = browser.new_context(viewport=viewport, locale="zh-CN")
    admin = sign_in(platform, base, "13800000000", "admin1234")
    admin.goto(base + "/console/multistore/applications")
    shot(admin, "applications")
    submit(admin, "a[href*='/console/multistore/applications/']")
    submit(admin, "form[action$='/approve'] button")
    shot(admin, "approved")
    with live_app.app_context():
        shop = db.session.execute(db.select(Merchant).where(Merchant.name == "龙井茶庄")).scalar_one()
        assert shop.review_status == "approved" and shop.stars == 5

    # 3. The new merchant adds a product in its console.
    page.goto(base + "/merchant/")
    shot(page, "merchant-console")
    page.goto(base + "/merchant/products/new")
    page.fill("input[name=name]", "明前龙井")
    page.select_option("select[name=category_id]", label="茶叶")
    page.fill("input[name='sku-0-price']", "128.00")
    page.fill("input[name='sku-0-stock']", "10")
    shot(page, "product-form")
    submit(page, "button[name=action][value=save]")
    shot(page, "product-submitted")

    # 4. The platform approves the product; it goes on sale.
    admin.goto(base + "/console/multistore/products/review")
    shot(admin, "product-review")
    submit(admin, "form[action$='/approve'] button")
    with live_app.app_context():
        from jishi.models import Product

        tea = db.session.execute(db.select(Product).where(Product.name == "明前龙井")).scalar_one()
        assert tea.on_shelf and tea.seller_id == shop.id
        tea_id = tea.id
        cup_id = db.session.execute(db.select(Product.id).where(Product.name == "青瓷茶杯")).scalar_one()

    # 5. A buyer buys from both merchants in one checkout and pays once.
    shopper = browser.new_context(viewport=viewport, locale="zh-CN")
    buy = sign_in(shopper, base, "13700000003", "secret123")
    buy.goto(base + "/shops")
    shot(buy, "shop-list")
    for product_id in (tea_id, cup_id):
        buy.goto(f"{base}/product/{product_id}")
        submit(buy, "form.add-to-cart button.btn-secondary")
    buy.goto(base + "/cart")
    assert "龙井茶庄" in buy.content() and "青瓷茶具店" in buy.content()
    shot(buy, "cart-two-shops")
    submit(buy, "button[name=action][value=checkout]")
    shot(buy, "checkout-two-orders")
    submit(buy, "button[name=action][value=place]")
    shot(buy, "pay")
    submit(buy, "form.pay-methods button[type=submit]")
    submit(buy, "button[name=action][value=pay]")
    shot(buy, "paid")
    with live_app.app_context():
        [payment] = db.session.execute(db.select(PaymentOrder)).scalars().all()
        orders = {o.seller_id: o for o in payment.orders}
        assert payment.status == "paid" and payment.amount == 12800 + 3900 + sum(
            o.delivery_fee for o in orders.values()
        )
        assert set(orders) == {shop.id, cups.id} and all(o.status == "paid" for o in orders.values())
        tea_order, cup_order = orders[shop.id].id, orders[cups.id].id

    # 6. Each merchant ships its own order.
    for ctx_page, order_id, tracking in (
        (page, tea_order, "SF0001"),
        (
            sign_in(browser.new_context(viewport=viewport, locale="zh-CN"), base, cups_admin_phone, "secret123"),
            cup_order,
            "YT0002",
        ),
    ):
        ctx_page.goto(f"{base}/merchant/orders")
        ctx_page.goto(f"{base}/merchant/orders/{order_id}")
        ctx_page.fill("input[name=carrier]", "顺丰速运")
        ctx_page.fill("input[name=tracking_no]", tracking)
        submit(ctx_page, "form[action$='/ship'] button")
        shot(ctx_page, f"shipped-{tracking}")
    # A merchant cannot open the other's order.
    assert page.goto(f"{base}/merchant/orders/{cup_order}").status == 404

    # 7. The buyer receives; the platform completes the tea order; the
    #    merchant's withdrawable balance appears.
    buy.goto(f"{base}/orders/{tea_order}")
    assert "龙井茶庄" in buy.content()
    submit(buy, "form[action$='/receive'] button", confirm=True)
    shot(buy, "received")
    admin.goto(f"{base}/console/multistore/orders/{tea_order}")
    submit(admin, "form[action$='/complete'] button")
    shot(admin, "completed")
    with live_app.app_context():
        assert db.session.get(Order, tea_order).status == "completed"
    page.goto(base + "/merchant/finance")
    withdrawable = page.inner_text("[data-balance=withdrawable]")
    assert withdrawable not in ("¥0.00", "0.00"), withdrawable
    shot(page, "merchant-withdrawable")
    for ctx in browser.contexts:
        ctx.close()
