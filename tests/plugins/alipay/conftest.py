"""Fixtures for the Alipay plugin's tests: the plugin enabled
(``app_plugins``), a local fake Alipay gateway on 127.0.0.1 (``fake``) with
key pairs generated here (never committed), and the platform's Alipay
settings pointed at it (``alipay``). ``ap`` is :mod:`.helpers`."""

from __future__ import annotations

import pytest
from jishi_alipay import wire
from jishi_alipay.fake import FakeAlipay

from . import helpers


@pytest.fixture
def app_plugins(request):
    marker = request.node.get_closest_marker("jishi_plugins")
    return list(marker.args) if marker else ["alipay"]


@pytest.fixture(scope="session")
def app_key_pem():
    """The application's key pair (the merchant's side)."""
    return wire.private_pem(wire.new_key())


@pytest.fixture(scope="session")
def alipay_key_pem():
    """The fake Alipay's own key pair (Alipay's side)."""
    return wire.private_pem(wire.new_key())


@pytest.fixture
def fake(app_key_pem, alipay_key_pem):
    f = FakeAlipay(
        helpers.APP_ID,
        wire.public_pem(wire.load_private_key(app_key_pem)),
        seller_id=helpers.SELLER_ID,
        alipay_private_key=alipay_key_pem,
    ).start()
    yield f
    f.stop()


@pytest.fixture
def alipay(app, fake, app_key_pem):
    """Alipay configured in the platform's settings, pointed at the fake."""
    helpers.configure(fake, app_key_pem)
    return fake


@pytest.fixture
def ap(app):
    return helpers
