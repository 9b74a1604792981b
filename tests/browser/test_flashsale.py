"""FS in headless Chromium: the product page shows the flash price and a
ticking countdown from the server's clock; the buyer buys at the flash
price, pays on the sandbox gateway; the listing page shows the sale; a
second buyer finds it sold out. Screenshots under test-artifacts/browser/."""

from __future__ import annotations

from datetime import timedelta

import pytest
from jishi.db import db, utcnow
from jishi.models import Order
from jishi.testing import factories
from jishi.testing.browser import sign_in, submit

pytestmark = pytest.mark.jishi_plugins("flashsale")


def test_buy_in_a_flash_sale_with_the_countdown(live_app, browser, shot):
    """FS: countdown visible and ticking on the product page; buying at the flash price; paid; the next buyer finds it sold out."""
    from jishi_flashsale import service

    base = live_app.config["LIVE_URL"]
    with live_app.app_context():
        product = factories.product(name="阳澄湖大闸蟹", price=19900, stock=0)
        now = utcnow()
        service.save_activity(
            {
                "product_id": product.id,
                "title": "整点秒杀",
                "per_user_limit": 1,
                "starts_at": now - timedelta(minutes=10),
                "ends_at": now + timedelta(hours=2, minutes=30),
                "skus": [{"sku_id": product.skus[0].id, "flash_price": 9900, "stock": 1}],
            },
            seller_id=None,
            platform=True,
        )
        db.session.commit()
        a, b = factories.user(phone="13700000001"), factories.user(phone="13700000002")
        factories.address(a)
        factories.address(b, name="韩梅梅")
        product_id, a_id = product.id, a.id

    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = ctx.new_page()
    sign_in(page, base, "13700000001")
    page.goto(f"{base}/product/{product_id}")
    box = page.locator(".flashsale-box")
    assert box.count() == 1
    clock = page.locator(".flashsale-box [data-fs-clock]")
    first = clock.inner_text()
    assert first.startswith("02:2"), first  # ~2 h 29 min left, counted from the server's time
    # It ticks: wait (up to 10 s, a loaded CI machine throttles timers) for the text to change.
    page.wait_for_function("([el, t]) => el.innerText !== t", arg=[clock.element_handle(), first], timeout=10000)
    assert clock.inner_text() != first
    assert "¥99.00" in box.inner_text()
    shot(page, "product-countdown")

    submit(page, "button[data-flashsale-buy]")
    assert "/flashsale/checkout" in page.url
    assert "¥99.00" in page.inner_text(".checkout-bar")
    shot(page, "checkout")
    submit(page, "button[data-flashsale-place]")
    shot(page, "pay")
    submit(page, "form.pay-methods button[type=submit]")
    assert "sandbox-gateway" in page.url
    submit(page, "button[name=action][value=pay]")
    shot(page, "paid")
    with live_app.app_context():
        order = db.session.execute(db.select(Order).where(Order.user_id == a_id)).scalar_one()
        assert order.status == "paid" and order.pay_amount == 9900 + order.delivery_fee
        assert order.lines[0].price_source == "flashsale"

    page.goto(f"{base}/flashsale")
    assert page.locator(".flashsale-item [data-fs-clock]").count() == 1
    shot(page, "listing")

    ctx_b = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page_b = ctx_b.new_page()
    sign_in(page_b, base, "13700000002")
    page_b.goto(f"{base}/product/{product_id}")
    assert "已售罄" in page_b.inner_text(".flashsale-box")
    shot(page_b, "sold-out")
    ctx.close()
    ctx_b.close()
