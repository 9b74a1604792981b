"""WXP-BROWSER: the web checkout's WeChat Pay flows in headless Chromium
against the fake's buyer page, over real HTTP both ways (the fake posts its
signed notification to the live app's notify URL): a desktop shows the
Native QR code and the buyer confirms on the page the code opens (phone
width); a phone browser is sent to the H5 cashier and comes back paid.
Screenshots in test-artifacts/browser/."""

from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path

import pytest
from jishi.testing import factories, flows, make_app, reset_database
from jishi.testing.browser import sign_in, submit
from werkzeug.serving import make_server

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "browser"
CHROMIUM = os.environ.get("JISHI_CHROMIUM", "/usr/bin/chromium")
PHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)

pytestmark = pytest.mark.browser


@pytest.fixture
def fake(wx_merchant):
    from jishi_wechatpay.fake import FakeWechatPay

    service = FakeWechatPay(wx_merchant[0])
    service.serve()
    yield service
    service.stop()


@pytest.fixture
def live(tmp_path, fake, wx_merchant):
    from jishi import settings
    from jishi.db import db
    from jishi_wechatpay import config

    app = make_app(
        tmp_path,
        plugins=["wechatpay"],
        config={"SERVER_NAME": None, "WTF_CSRF_ENABLED": True, "JISHI_WECHATPAY_API_BASE": fake.base},
    )
    with app.app_context():
        settings.set_many(
            {
                config.ENABLED: True,
                config.MCHID: fake.merchant.mchid,
                config.SERIAL_NO: fake.merchant.serial_no,
                config.APPID: fake.merchant.appids[0],
                config.PLATFORM_KEY_ID: fake.platform_key_id,
                config.PLATFORM_KEY: fake.platform_key_pem,
                config.PRIVATE_KEY: wx_merchant[1],
                config.APIV3_KEY: fake.merchant.apiv3_key,
            }
        )
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    app.config["LIVE_URL"] = f"http://127.0.0.1:{server.server_port}"
    try:
        yield app
    finally:
        server.shutdown()
        reset_database(app)


def _shot(page, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"wechatpay-{name}.png"), full_page=True)


def _placed(app):
    from jishi.db import db

    with app.app_context():
        buyer = factories.user()
        product = factories.product(name="微信支付测试商品", price=2590, stock=5)
        db.session.commit()
        [payment] = flows.place(buyer, [(product.skus[0], 1)], factories.address(buyer))
        return buyer.phone, payment.number, payment.amount


def _status(app, number):
    from jishi.db import db
    from jishi.orders.models import PaymentOrder

    with app.app_context():
        return db.session.execute(db.select(PaymentOrder.status).where(PaymentOrder.number == number)).scalar_one()


def _wait_paid(app, number, seconds=15.0):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if _status(app, number) == "paid":
            return True
        time.sleep(0.2)
    return False


def _choose_wechatpay(page, base, number):
    page.goto(f"{base}/pay/{number}")
    assert page.locator("input[name=method][value=wechatpay]").count() == 1
    page.check("input[name=method][value=wechatpay]")
    assert "测试" in page.inner_text("form.pay-methods") or "Test" in page.inner_text("form.pay-methods")


def test_desktop_native_qr_paid_on_the_fake_page(live, fake, browser):
    base = live.config["LIVE_URL"]
    phone, number, amount = _placed(live)
    desktop = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = sign_in(desktop, base, phone)
    _choose_wechatpay(page, base, number)
    _shot(page, "desktop-choose")
    submit(page, "form.pay-methods button[type=submit]")
    assert page.locator(".qr-code svg").count() == 1
    _shot(page, "desktop-qr")
    # the buyer scans the code: the fake's page, on a phone
    code_url = next(t for t in fake.trades.values() if t.out_trade_no == number)
    qr_target = f"{fake.base}/pay/{code_url.prepay_id}"
    scanner = browser.new_context(viewport={"width": 390, "height": 844}, user_agent=PHONE_UA)
    cashier = scanner.new_page()
    cashier.goto(qr_target)
    assert f"¥{amount // 100}.{amount % 100:02d}" in cashier.inner_text("#amount")
    _shot(cashier, "phone-cashier")
    submit(cashier, "#pay")
    assert cashier.locator("#paid").count() == 1
    assert _wait_paid(live, number)
    submit(page, "a.btn-primary")
    assert re.search(f"/pay/return/{number}", page.url)
    _shot(page, "desktop-paid")
    desktop.close()
    scanner.close()


def test_phone_h5_cashier_and_back(live, fake, browser):
    base = live.config["LIVE_URL"]
    phone, number, amount = _placed(live)
    context = browser.new_context(viewport={"width": 390, "height": 844}, user_agent=PHONE_UA, locale="zh-CN")
    page = sign_in(context, base, phone)
    _choose_wechatpay(page, base, number)
    _shot(page, "h5-choose")
    submit(page, "form.pay-methods button[type=submit]")
    assert page.url.startswith(fake.base + "/cgi-bin/mmpayweb-bin/checkmweb")
    assert "测试环境" in page.content()
    _shot(page, "h5-cashier")
    submit(page, "#pay")  # WeChat Pay sends the browser back to redirect_url
    assert page.url.startswith(f"{base}/pay/return/{number}")
    assert _wait_paid(live, number)
    page.reload()
    _shot(page, "h5-back")
    context.close()
