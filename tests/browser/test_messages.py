"""Buyer ↔ shop messages in headless Chromium (issue 18 "Buyer ↔ shop
messages"): on a phone, the buyer taps 联系商家 on a product page and sends
a first message by the plain form; the shop's staff see it unread in the
console (desktop) and answer; the buyer's open conversation shows the
answer without a reload (the polling script, through the API) and marks it
read. Screenshots go to test-artifacts/browser/.
"""

from __future__ import annotations

import time

import pytest
from jishi.db import db
from jishi.testing import factories
from jishi.testing.browser import sign_in, submit

pytestmark = pytest.mark.jishi_plugins("messages")

PHONE = {"viewport": {"width": 375, "height": 812}, "locale": "zh-CN", "is_mobile": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}, "locale": "zh-CN"}


def test_buyer_asks_the_shop_answers_and_the_page_polls(live_app, browser, shot):
    from jishi_messages import service
    from jishi_messages.models import Thread

    base = live_app.config["LIVE_URL"]
    live_app.config["JISHI_MESSAGES_POLL_SECONDS"] = 1
    with live_app.app_context():
        factories.user(phone="13900000181", name="问茶的买家")
        factories.admin(phone="13900000182")
        product_id = factories.product(name="明前龙井", price=4000).id

    # 1. Phone: 联系商家 on the product page, a first message by the form.
    phone = sign_in(browser.new_context(**PHONE), base, "13900000181")
    phone.goto(f"{base}/product/{product_id}")
    submit(phone, "p.messages-contact a")
    assert "明前龙井" in phone.content()
    phone.fill("textarea[name=body]", "请问是今年的新茶吗？")
    shot(phone, "contact-phone")
    submit(phone, "form.msg-compose button[type=submit]")
    phone.wait_for_selector("li.msg.mine")
    assert "请问是今年的新茶吗？" in phone.content()
    shot(phone, "sent-phone")

    # 2. Desktop: the platform's staff see it unread and answer.
    desk = sign_in(browser.new_context(**DESKTOP), base, "13900000182")
    desk.goto(base + "/seller/messages/")
    assert desk.get_attribute("[data-total-unread]", "data-total-unread") == "1"
    shot(desk, "console-unread")
    submit(desk, "tr[data-thread] a")
    desk.fill("textarea[name=body]", "是的，四月初采摘。")
    submit(desk, "form.msg-compose button[type=submit]")
    shot(desk, "console-answered")

    # 3. The buyer's open page shows the answer without a reload and reads it.
    phone.wait_for_selector("li.msg.side-seller", timeout=15000)
    assert "是的，四月初采摘。" in phone.inner_text("[data-messages]")
    shot(phone, "answer-polled-phone")
    with live_app.app_context():
        deadline = time.monotonic() + 10
        while True:
            db.session.expire_all()
            t = db.session.query(Thread).one()
            if t.buyer_read_id == t.last_message_id or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert t.buyer_read_id == t.last_message_id
        assert service.seller_unread(None) == 0
