"""Issue 15, "Running behind a proxy": ``JISHI_TRUSTED_PROXIES`` (hops)
applies Werkzeug's ProxyFix, so the client's address, scheme and host come
from X-Forwarded-*; with 0 (the default) those headers are ignored."""

from __future__ import annotations

import pytest
from flask import Blueprint, jsonify, request, url_for
from jishi.hookspecs import hookimpl

probe = Blueprint("proxy_probe", __name__)


@probe.get("/_probe/urls")
def urls():
    from jishi.payments.service import notify_url

    return jsonify(
        notify=notify_url("sandbox"),
        home=url_for("shop.index", _external=True),
        remote_addr=request.remote_addr,
        secure=request.is_secure,
    )


class ProxyProbe:
    """A test plugin: a page answering the URLs the app builds."""

    @hookimpl
    def blueprints(self):
        return [probe]


BUYER_A = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "shop.example.com"}
BUYER_B = {"X-Forwarded-For": "198.51.100.9", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "shop.example.com"}


def _login_budget(client, user, headers) -> list[int]:
    return [
        client.post("/login", data={"phone": user.phone, "password": "wrong-password"}, headers=headers).status_code
        for _ in range(3)
    ]


class TestBehindOneProxy:
    @pytest.fixture
    def app_config(self):
        return {
            "RATELIMIT_ENABLED": True,
            "JISHI_LOGIN_RATE_LIMIT": "2 per minute",
            "JISHI_TRUSTED_PROXIES": 1,
            "SERVER_NAME": None,  # behind a proxy the host comes from the request
        }

    @pytest.fixture
    def extra_plugins(self):
        return [ProxyProbe()]

    def test_two_buyers_behind_the_proxy_have_their_own_login_budget(self, client, factory):
        """Issue 15 proxy: the login rate limit counts per forwarded client
        address, not per proxy (every buyer shared one budget behind nginx)."""
        user = factory.user()
        assert _login_budget(client, user, BUYER_A) == [401, 401, 429]
        assert _login_budget(client, user, BUYER_B) == [401, 401, 429]

    def test_external_urls_use_the_forwarded_scheme_and_host(self, client):
        """Issue 15 proxy: the payment notify URL (and every url_for
        _external) is built from X-Forwarded-Proto/-Host."""
        body = client.get("/_probe/urls", headers=BUYER_A).get_json()
        assert body["notify"] == "https://shop.example.com/payments/notify/sandbox"
        assert body["home"] == "https://shop.example.com/"
        assert body["remote_addr"] == "203.0.113.7"
        assert body["secure"] is True

    def test_only_the_trusted_hop_is_believed(self, client):
        """A client's own X-Forwarded-For in front of the proxy's value is
        not believed with one trusted hop: the proxy's appended value is."""
        headers = dict(BUYER_A, **{"X-Forwarded-For": "10.9.9.9, 203.0.113.7"})
        assert client.get("/_probe/urls", headers=headers).get_json()["remote_addr"] == "203.0.113.7"


class TestWithoutProxies:
    @pytest.fixture
    def app_config(self):
        return {"RATELIMIT_ENABLED": True, "JISHI_LOGIN_RATE_LIMIT": "2 per minute", "SERVER_NAME": None}

    @pytest.fixture
    def extra_plugins(self):
        return [ProxyProbe()]

    def test_forwarded_headers_are_ignored(self, app, client, factory):
        """Issue 15 proxy: with 0 hops (the default) X-Forwarded-* change
        nothing: a client cannot pick its address (and a fresh login
        budget) or the host of the URLs the app builds."""
        assert app.config["JISHI_TRUSTED_PROXIES"] == 0
        body = client.get("/_probe/urls", headers=BUYER_A).get_json()
        assert body["notify"] == "http://localhost/payments/notify/sandbox"
        assert body["remote_addr"] == "127.0.0.1"
        user = factory.user()
        assert _login_budget(client, user, BUYER_A) == [401, 401, 429]
        assert _login_budget(client, user, BUYER_B) == [429, 429, 429]


def test_trusted_proxies_setting_is_checked():
    """A wrong JISHI_TRUSTED_PROXIES stops the app with a clear error."""
    from jishi.config import ConfigError
    from jishi.serving import trusted_proxies

    assert trusted_proxies({}) == {"x_for": 0, "x_proto": 0, "x_host": 0, "x_port": 0, "x_prefix": 0}
    assert trusted_proxies({"JISHI_TRUSTED_PROXIES": "2"})["x_for"] == 2
    assert trusted_proxies({"JISHI_TRUSTED_PROXIES": {"x_for": 1, "x_proto": 1}}) == {"x_for": 1, "x_proto": 1}
    for bad in ("two", -1, {"x_forwarded": 1}):
        with pytest.raises(ConfigError, match="JISHI_TRUSTED_PROXIES"):
            trusted_proxies({"JISHI_TRUSTED_PROXIES": bad})
