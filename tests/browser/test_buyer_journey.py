"""The single-store shop end to end in headless Chromium (K4–K9, K11, K12).

A visitor registers, searches, puts two products in the cart, checks out,
pays on the sandbox gateway and sees the order paid; the platform ships it;
the buyer confirms receipt and writes a review. Screenshots of every step
are saved under test-artifacts/browser/.
"""

from __future__ import annotations

from jishi.db import db
from jishi.models import Order, Review
from jishi.testing import factories
from jishi.testing.browser import submit


def test_register_buy_pay_ship_receive_review(live_app, browser, shot):
    base = live_app.config["LIVE_URL"]
    with live_app.app_context():
        tea = factories.category("茶叶")
        factories.product(name="西湖龙井", price=12800, stock=10, category=tea, subtitle="明前特级")
        factories.product(name="青瓷茶杯", price=3900, stock=10, category=tea)
        factories.product(name="景德镇茶壶", price=25800, stock=3)
        factories.admin(phone="13800000000", password="admin1234")

    buyer = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = buyer.new_page()
    page.goto(base + "/")
    shot(page, "home")

    page.goto(base + "/register")
    page.fill("input[name=phone]", "13912345678")
    page.fill("input[name=password]", "buyer12345")
    page.fill("input[name=password2]", "buyer12345")
    submit(page, "form.form button[type=submit]")
    shot(page, "registered")

    page.fill("form.search input[name=q]", "茶")
    submit(page, "form.search button[type=submit]")
    assert page.locator("a.product-card").count() == 2  # one Chinese character: 青瓷茶杯, 景德镇茶壶
    shot(page, "search")
    page.fill("form.search input[name=q]", "龙井")
    submit(page, "form.search button[type=submit]")
    assert page.locator("a.product-card").count() == 1

    for name in ("西湖龙井", "青瓷茶杯"):
        page.goto(base + "/search?q=" + name)
        submit(page, "a.product-card")
        assert name in page.inner_text("h1")
        submit(page, "form.add-to-cart button.btn-secondary")
    page.goto(base + "/cart")
    assert page.locator("form.cart input[name=selected]").count() == 2
    shot(page, "cart")

    submit(page, "button[name=action][value=checkout]")
    submit(page, "a[href*='addresses/new']")
    for field, value in {
        "name": "李雷",
        "phone": "13912345678",
        "province": "浙江省",
        "city": "杭州市",
        "district": "西湖区",
        "detail": "龙井路 1 号",
    }.items():
        page.fill(f"input[name={field}]", value)
    submit(page, "form.form button[type=submit]")
    assert "/checkout" in page.url
    shot(page, "checkout")
    submit(page, "button[name=action][value=place]")
    shot(page, "pay")
    submit(page, "form.pay-methods button[type=submit]")
    assert "sandbox-gateway" in page.url
    shot(page, "gateway")
    submit(page, "button[name=action][value=pay]")
    shot(page, "paid")

    with live_app.app_context():
        order = db.session.execute(db.select(Order)).scalar_one()
        assert order.status == "paid"
        assert order.goods_amount == 12800 + 3900
        order_id = order.id

    page.goto(f"{base}/orders/{order_id}")
    shot(page, "order-paid")

    platform = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    admin = platform.new_page()
    admin.goto(base + "/login")
    admin.fill("input[name=phone]", "13800000000")
    admin.fill("input[name=password]", "admin1234")
    submit(admin, "form.form button[type=submit]")
    admin.goto(f"{base}/console/orders/{order_id}")
    admin.fill("input[name=carrier]", "顺丰速运")
    admin.fill("input[name=tracking_no]", "SF1234567890")
    submit(admin, "form.row-form button[type=submit]")
    shot(admin, "console-shipped")
    with live_app.app_context():
        assert db.session.get(Order, order_id).status == "shipped"

    page.goto(f"{base}/orders/{order_id}")
    assert "SF1234567890" in page.content()
    submit(page, "form[action$='/receive'] button", confirm=True)
    shot(page, "received")
    submit(page, "a[href*='/review']")
    page.fill("textarea[name=content]", "茶香浓郁，包装精美。")
    picture = {"name": "tea.png", "mimeType": "image/png", "buffer": factories.image_bytes("PNG", size=(400, 300))}
    page.set_input_files("input[name=images]", files=[picture])  # K11 晒图: a plain multipart form
    submit(page, "form.form button[type=submit]")
    shot(page, "reviewed")

    with live_app.app_context():
        assert db.session.get(Order, order_id).status == "received"
        review = db.session.execute(db.select(Review)).scalar_one()
        assert review.rating == 5 and "茶香" in review.content and review.image_count == 1
        thumb = review.pictures[0]["thumb"]
        product_id = review.product_id
    page.goto(f"{base}/product/{product_id}#reviews")
    assert page.locator(f".review-pictures img[src='{thumb}']").count() == 1
    shot(page, "review-pictures")

    phone = browser.new_context(viewport={"width": 375, "height": 812}, locale="zh-CN", is_mobile=True)
    small = phone.new_page()
    small.goto(base + "/")
    shot(small, "home-phone")
    for ctx in (buyer, platform, phone):
        ctx.close()
