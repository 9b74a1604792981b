"""``jishi demo``: WeChat Pay offered in test mode against a local fake.

When the demo's API host is still the production default, a
:class:`~jishi_wechatpay.fake.FakeWechatPay` with freshly generated keys is
started in the demo process (a daemon thread on 127.0.0.1), the app is
pointed at it and the plugin is configured with the generated keys. The
settings are marked ``wechatpay.demo``: served again later without the fake
(the production host), WeChat Pay is not offered with those keys.
"""

from __future__ import annotations

from flask import current_app
from jishi import settings
from jishi.db import commit

from jishi_wechatpay import config, fake


def demo_data(data: dict) -> str | None:
    cfg = current_app.config
    if str(cfg["JISHI_WECHATPAY_API_BASE"]).rstrip("/") != config.PRODUCTION_BASE:
        return None  # a host was configured on purpose: leave it alone
    merchant, private_pem = fake.merchant_keys(appids=("wxd0000000demo0001", "wxd0000000demomini"))
    service = fake.FakeWechatPay(merchant)
    base = service.serve()
    current_app.extensions["wechatpay_fake"] = service
    cfg["JISHI_WECHATPAY_API_BASE"] = base
    settings.set_many(
        {
            config.ENABLED: True,
            config.DEMO: True,
            config.MCHID: merchant.mchid,
            config.SERIAL_NO: merchant.serial_no,
            config.APPID: merchant.appids[0],
            config.MINI_APPID: merchant.appids[1],
            config.VERIFY_MODE: "public_key",
            config.PLATFORM_KEY_ID: service.platform_key_id,
            config.PLATFORM_KEY: service.platform_key_pem,
            config.PRIVATE_KEY: private_pem,
            config.APIV3_KEY: merchant.apiv3_key,
        }
    )
    commit()
    return f"WeChat Pay in test mode (local fake at {base})"
