"""favorites (商品收藏) in headless Chromium, on a phone and on a desktop:
the buyer taps the heart on a product page (it fills), finds the product
under 我的收藏 from the account page with its price, and lets it go there.
Screenshots go to test-artifacts/browser/."""

from __future__ import annotations

import pytest
from jishi.testing import factories
from jishi.testing.browser import sign_in, submit

pytestmark = pytest.mark.jishi_plugins("favorites")

PHONE = {"viewport": {"width": 375, "height": 812}, "locale": "zh-CN", "is_mobile": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}, "locale": "zh-CN"}


@pytest.mark.parametrize("context", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_keep_find_and_let_go(live_app, browser, shot, context):
    base = live_app.config["LIVE_URL"]
    phone_number = "13900000411" if context is PHONE else "13900000412"
    with live_app.app_context():
        factories.user(phone=phone_number, name="爱收藏的买家")
        product_id = factories.product(name="一个名字相当长的西湖龙井明前特级新茶礼盒", price=7500).id
    kind = "phone" if context is PHONE else "desktop"
    page = sign_in(browser.new_context(**context), base, phone_number)
    page.goto(f"{base}/product/{product_id}")
    assert page.get_attribute(".favorites-heart button", "aria-pressed") == "false"
    submit(page, ".favorites-heart button")
    assert page.get_attribute(".favorites-heart button", "aria-pressed") == "true"
    assert "已收藏" in page.inner_text(".favorites-heart")
    shot(page, f"favorites-kept-{kind}")
    page.goto(f"{base}/account")
    submit(page, "a[href='/favorites']")
    item = page.locator(f"[data-favorite-product='{product_id}']")
    assert "¥75.00" in item.inner_text()
    box = item.bounding_box()
    assert box is not None and box["width"] <= context["viewport"]["width"]  # no sideways scrolling
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, f"favorites-list-{kind}")
    submit(page, f"[data-favorite-product='{product_id}'] button")
    assert "还没有收藏" in page.inner_text(".favorites-list")
    shot(page, f"favorites-empty-{kind}")
