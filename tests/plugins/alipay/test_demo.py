"""Issue 14 (alipay): the demo offers Alipay pointed at a local fake
(started in the process), labelled test mode; never without being asked."""

from __future__ import annotations

import pytest
from jishi.gateways import Payer, gateway


@pytest.fixture
def app_config():
    return {"JISHI_ALIPAY_FAKE": True}


def test_demo_points_at_a_local_fake(app, factory, ap):
    """Issue 14 (alipay): with JISHI_ALIPAY_FAKE the shop offers Alipay in
    test mode against the process's fake, and a payment starts there."""
    from jishi_alipay import demo

    gw = gateway("alipay")
    assert gw.available("pc") and gw.test_mode
    fake, _ = demo.fake_for_process()
    assert app.config["JISHI_ALIPAY_GATEWAY_URL"] == fake.gateway_url
    _, payment = ap.place(factory)
    with app.test_request_context("/"):
        started = gw.start(payment, "native", Payer(user=None))
    assert started.qr_code and payment.number in fake.trades


@pytest.mark.parametrize(
    ("config", "wanted"),
    [
        ({}, False),
        ({"JISHI_DEMO": True}, True),
        ({"JISHI_DEMO": True, "TESTING": True}, False),
        ({"JISHI_DEMO": True, "JISHI_ALIPAY_FAKE": "false"}, False),
        ({"JISHI_ALIPAY_FAKE": "1"}, True),
    ],
)
def test_started_only_when_asked(config, wanted):
    """Issue 14 (alipay): the fake starts for a demo or when asked, never
    otherwise (production) and not under test unless asked."""
    from types import SimpleNamespace

    from jishi_alipay import demo

    assert demo.wanted(SimpleNamespace(config=config)) is wanted
