"""The demo's Alipay: a fake Alipay gateway started in this process
(:class:`jishi_alipay.fake.FakeAlipay`, notifications posted by a thread
with retries) and the shop pointed at it, labelled test mode.

On when ``JISHI_ALIPAY_FAKE`` is true, or when it is unset and the app is a
demo (``JISHI_DEMO``). Never in production by default. The configuration
goes into the app config (``JISHI_ALIPAY_GATEWAY_URL`` and the
``SETTING_ALIPAY_*`` fallbacks of :mod:`jishi_alipay.config`), so settings
an admin saves on the console page still win. One fake per process: run
the demo with one server process (``jishi run``)."""

from __future__ import annotations

import threading

from flask import Flask

from jishi_alipay import wire
from jishi_alipay.fake import FakeAlipay

DEMO_APP_ID = "2021000000000001"
DEMO_SELLER_ID = "2088000000000001"

_lock = threading.Lock()
_running: dict[str, tuple[FakeAlipay, str]] = {}


def wanted(app: Flask) -> bool:
    flag = app.config.get("JISHI_ALIPAY_FAKE")
    if flag is None:
        return bool(app.config.get("JISHI_DEMO")) and not app.config.get("TESTING")
    return str(flag).lower() in ("1", "true", "yes", "on")


def fake_for_process() -> tuple[FakeAlipay, str]:
    """The process's fake Alipay and the app private key (PEM) it trusts."""
    with _lock:
        if "fake" not in _running:
            app_key = wire.new_key()
            fake = FakeAlipay(
                DEMO_APP_ID, wire.public_pem(app_key), seller_id=DEMO_SELLER_ID, delivery="thread"
            ).start()
            _running["fake"] = (fake, wire.private_pem(app_key))
        return _running["fake"]


def point_at_fake(app: Flask) -> FakeAlipay:
    fake, app_key = fake_for_process()
    app.config["JISHI_ALIPAY_GATEWAY_URL"] = fake.gateway_url
    app.config.setdefault("SETTING_ALIPAY_ENABLED", True)
    app.config.setdefault("SETTING_ALIPAY_APP_ID", DEMO_APP_ID)
    app.config.setdefault("SETTING_ALIPAY_APP_PRIVATE_KEY", app_key)
    app.config.setdefault("SETTING_ALIPAY_ALIPAY_PUBLIC_KEY", fake.alipay_public_pem)
    app.config.setdefault("SETTING_ALIPAY_SELLER_ID", DEMO_SELLER_ID)
    return fake
