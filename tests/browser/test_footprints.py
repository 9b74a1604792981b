"""footprints (浏览足迹) in headless Chromium, on a phone and on a desktop:
the buyer opens two products, finds them under 我的足迹 from the account
page (newest first, under 今天, with their prices), removes one and clears
the rest. The views reach the list as they do when served: tracking's
writer thread writes each batch after a response (here every request's:
``JISHI_TRACKING_FLUSH_SECONDS`` 0). Screenshots go to
test-artifacts/browser/."""

from __future__ import annotations

import time

import pytest
from jishi.testing import factories
from jishi.testing.browser import sign_in, submit

pytestmark = pytest.mark.jishi_plugins("footprints")

# A browser's own user agent: tracking counts nothing for "HeadlessChrome" (a bot to it)
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36"
PHONE = {"viewport": {"width": 375, "height": 812}, "locale": "zh-CN", "is_mobile": True, "user_agent": UA}
DESKTOP = {"viewport": {"width": 1280, "height": 900}, "locale": "zh-CN", "user_agent": UA}


@pytest.mark.parametrize("context", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_open_find_remove_and_clear(live_app, browser, shot, context):
    live_app.config["JISHI_TRACKING_FLUSH_SECONDS"] = 0  # (every tracked request's batch is due)
    base = live_app.config["LIVE_URL"]
    phone_number = "13900000421" if context is PHONE else "13900000422"
    with live_app.app_context():
        factories.user(phone=phone_number, name="爱逛的买家")
        tea = factories.product(name="一个名字相当长的西湖龙井明前特级新茶礼盒", price=7500).id
        cup = factories.product(name="青瓷茶杯", price=1900).id
    kind = "phone" if context is PHONE else "desktop"
    page = sign_in(browser.new_context(**context), base, phone_number)
    page.goto(f"{base}/product/{tea}")
    page.goto(f"{base}/product/{cup}")
    page.goto(f"{base}/account")
    submit(page, "a[href='/footprints']")
    deadline = time.monotonic() + 10
    while page.locator("[data-footprint-product]").count() < 2 and time.monotonic() < deadline:
        time.sleep(0.2)  # (the writer thread's batch, after the responses)
        page.reload()
    items = page.locator("[data-footprint-product]")
    assert [items.nth(i).get_attribute("data-footprint-product") for i in range(2)] == [str(cup), str(tea)]
    assert page.inner_text(".footprints-day") == "今天"
    assert "¥75.00" in page.inner_text(f"[data-footprint-product='{tea}']")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scrolling
    shot(page, f"footprints-list-{kind}")
    submit(page, f"[data-footprint-product='{cup}'] button")
    assert page.locator("[data-footprint-product]").count() == 1
    submit(page, "[data-footprints-clear]", confirm=True)
    assert "还没有足迹" in page.inner_text("main")
    shot(page, f"footprints-empty-{kind}")
