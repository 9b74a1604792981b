"""The wechatpay tests' helper: the fake, the plugin's settings, payments."""

from __future__ import annotations

import urllib.parse

from flask import g
from jishi import settings
from jishi.db import db
from jishi.testing import factories, flows
from jishi_wechatpay import config
from jishi_wechatpay.fake import FakeWechatPay, Merchant, Notification

APPID = "wxd678efh567hg6787"
MINI_APPID = "wxminiprogram0001"


class WX:
    def __init__(self, app, client, merchant: Merchant, private_pem: str, *, mode: str = "public_key"):
        self.app, self.client = app, client
        self.merchant, self.private_pem = merchant, private_pem
        self.fake = FakeWechatPay(merchant, mode=mode)
        self.fake.serve()
        # notifications reach the app through the test client (same wire form)
        self.fake.deliver = self.post
        self.answers: list = []

    def configure(self, **overrides) -> None:
        self.app.config["JISHI_WECHATPAY_API_BASE"] = self.fake.base
        values = {
            config.ENABLED: True,
            config.MCHID: self.merchant.mchid,
            config.SERIAL_NO: self.merchant.serial_no,
            config.APPID: APPID,
            config.MINI_APPID: MINI_APPID,
            config.VERIFY_MODE: self.fake.mode,
            config.PLATFORM_KEY_ID: self.fake.platform_key_id,
            config.PLATFORM_KEY: self.fake.platform_key_pem,
            config.PRIVATE_KEY: self.private_pem,
            config.APIV3_KEY: self.merchant.apiv3_key,
            config.PROFIT_SHARING: True,
        }
        values.update(overrides)
        settings.set_many(values)
        db.session.commit()
        g.pop("jishi_settings", None)  # the test's app context caches settings

    def post(self, url: str, headers: dict, body: bytes):
        """POST a notification to its notify URL (routed by path)."""
        path = urllib.parse.urlsplit(url).path
        resp = self.client.post(path, data=body, headers=headers)
        self.answers.append(resp)
        return resp

    def send(self, note: Notification):
        return self.post(note.url, note.headers, note.body)

    def place(self, price: int = 1234, quantity: int = 1, buyer=None):
        return place(price, quantity, buyer)

    def start(self, payment, channel: str = "native", openid: str | None = None, client_ip: str = "203.0.113.9"):
        from jishi.hookspecs import Payer
        from jishi.payments import service

        with self.app.test_request_context("/", base_url="http://localhost"):
            started = service.start(payment, "wechatpay", channel, Payer(user=None, client_ip=client_ip, openid=openid))
            db.session.commit()
        return started

    def pay(self, payment) -> Notification:
        """The buyer pays the started trade at the fake: its notification (not sent)."""
        from jishi.payments.service import trade_number

        note = self.fake.pay(trade_number(payment))
        assert note is not None
        return note


def place(price: int = 1234, quantity: int = 1, buyer=None):
    """A buyer's placed order: (buyer, its pending payment)."""
    buyer = buyer or factories.user()
    product = factories.product(price=price, stock=50)
    db.session.commit()
    [payment] = flows.place(buyer, [(product.skus[0], quantity)], factories.address(buyer))
    return buyer, payment
