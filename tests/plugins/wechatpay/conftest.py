"""Fixtures for the wechatpay plugin's tests: every test runs with the
plugin enabled and ``wx`` (:class:`.helpers.WX`): a local fake WeChat Pay
(keys generated now, served on 127.0.0.1) and the plugin configured for it.
``@pytest.mark.wechatpay_mode("certificate")`` uses the platform-certificate
mode instead of the WeChat Pay public key."""

from __future__ import annotations

import pytest


@pytest.fixture
def app_plugins(request):
    marker = request.node.get_closest_marker("jishi_plugins")
    return list(marker.args) if marker else ["wechatpay"]


@pytest.fixture(scope="session")
def wx_merchant():
    from jishi_wechatpay import fake

    return fake.merchant_keys(appids=("wxd678efh567hg6787", "wxminiprogram0001"))


@pytest.fixture
def wx(request, app, client, wx_merchant):
    from .helpers import WX

    marker = request.node.get_closest_marker("wechatpay_mode")
    helper = WX(app, client, *wx_merchant, mode=marker.args[0] if marker else "public_key")
    helper.configure()
    yield helper
    helper.fake.stop()


def pytest_configure(config):
    config.addinivalue_line("markers", "wechatpay_mode(mode): the fake's verification mode")
