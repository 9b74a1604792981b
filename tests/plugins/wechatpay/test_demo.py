"""WXP-DEMO: ``jishi demo`` offers WeChat Pay in test mode, pointed at a
local fake started in the demo process; served again without the fake (the
production host), the demo's keys are not offered."""

from __future__ import annotations

from flask import g
from jishi.hookspecs import Payer
from jishi.payments import service
from jishi_wechatpay import demo
from jishi_wechatpay.gateway import WechatPay

from .helpers import place


def test_demo_configures_a_fake_and_labels_test_mode(app):
    app.config["JISHI_WECHATPAY_API_BASE"] = "https://api.mch.weixin.qq.com"
    summary = demo.demo_data({})
    g.pop("jishi_settings", None)
    fake = app.extensions.pop("wechatpay_fake")
    try:
        assert "test mode" in summary and fake.base in summary
        gw = WechatPay()
        assert gw.test_mode and gw.available("native") and gw.available("mini_program")
        _, payment = place()
        with app.test_request_context("/"):
            started = service.start(payment, "wechatpay", "native", Payer(user=None, client_ip="127.0.0.1"))
        assert started.qr_code.startswith(fake.base)
        # served again later without the fake: not offered with the fake's keys
        app.config["JISHI_WECHATPAY_API_BASE"] = "https://api.mch.weixin.qq.com"
        assert not gw.available()
        # a host configured on purpose is left alone
        app.config["JISHI_WECHATPAY_API_BASE"] = fake.base
        assert demo.demo_data({}) is None
    finally:
        fake.stop()
