"""Issue 14 (alipay): the web checkout's PC and H5 flows in headless
Chromium against the fake Alipay's cashier page: the buyer chooses 支付宝
(labelled test mode), lands on the fake's cashier (page pay on a desktop,
wap pay on a phone), clicks 确认付款, comes back to the shop, and the
fake's notification (posted over HTTP by its thread, with retries) marks
the order paid. Screenshots under test-artifacts/browser/."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from jishi.db import db
from jishi.models import Order
from jishi.testing import factories, make_app, reset_database
from jishi.testing.browser import sign_in, submit
from jishi_alipay import wire
from jishi_alipay.fake import FakeAlipay
from werkzeug.serving import make_server

from . import helpers

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "browser"
CHROMIUM = os.environ.get("JISHI_CHROMIUM", "/usr/bin/chromium")
PHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)


@pytest.fixture
def live(tmp_path, app_key_pem, alipay_key_pem):
    app = make_app(tmp_path, plugins=["alipay"], config={"SERVER_NAME": None, "WTF_CSRF_ENABLED": True})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    app_public = wire.public_pem(wire.load_private_key(app_key_pem))
    fake = FakeAlipay(
        helpers.APP_ID,
        app_public,
        seller_id=helpers.SELLER_ID,
        alipay_private_key=alipay_key_pem,
        delivery="thread",
        retry_delays=(0.3, 1, 2),
    ).start()
    with app.app_context():
        helpers.configure(fake, app_key_pem)
    try:
        yield app, base, fake
    finally:
        fake.stop()
        server.shutdown()
        reset_database(app)


@pytest.mark.parametrize(
    ("device", "viewport", "user_agent", "method"),
    [
        ("desktop", {"width": 1280, "height": 900}, None, "alipay.trade.page.pay"),
        ("phone", {"width": 390, "height": 844}, PHONE_UA, "alipay.trade.wap.pay"),
    ],
)
def test_checkout_pays_at_the_fake_cashier(live, browser, device, viewport, user_agent, method):
    """Issue 14 (alipay, browser): cart → checkout → 支付宝 → the fake's
    cashier → 确认付款 → back in the shop, the order paid by the notification."""
    app, base, fake = live
    phone = "13912345678"
    with app.app_context():
        buyer = factories.user(phone=phone)
        factories.address(buyer)
        product = factories.product(name="西湖龙井", price=12830, stock=10)
        product_id = product.id
    options = {"viewport": viewport, "locale": "zh-CN"}
    if user_agent:
        options.update(user_agent=user_agent, is_mobile=True, has_touch=True)
    context = browser.new_context(**options)
    page = sign_in(context, base, phone)
    page.goto(f"{base}/product/{product_id}")
    submit(page, "form.add-to-cart button.btn-secondary")
    page.goto(base + "/cart")
    submit(page, "button[name=action][value=checkout]")
    submit(page, "button[name=action][value=place]")
    label = page.locator("label.method", has_text="支付宝")
    assert label.count() == 1 and "测试模式" in label.inner_text()
    label.locator("input").check()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"alipay-{device}-01-pay.png"), full_page=True)
    submit(page, "form.pay-methods button[type=submit]")
    assert page.url.startswith(fake.url) and "收银台" in page.content()
    assert fake.requests[-1][0] == method
    page.screenshot(path=str(ARTIFACTS / f"alipay-{device}-02-cashier.png"), full_page=True)
    submit(page, "#pay")
    assert page.url.startswith(base + "/pay/return/")
    deadline = time.monotonic() + 15
    while fake.outbox and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not fake.outbox and fake.delivered[-1].answers[-1] == "success"
    page.reload()
    page.screenshot(path=str(ARTIFACTS / f"alipay-{device}-03-returned.png"), full_page=True)
    with app.app_context():
        order = db.session.execute(db.select(Order)).scalar_one()
        assert (order.status, order.payment_method) == ("paid", "alipay")
    context.close()
