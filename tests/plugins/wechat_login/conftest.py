"""Fixtures of the WeChat login tests: the plugin enabled (``app_plugins``;
``@pytest.mark.jishi_plugins("multistore", "wechat_login")`` adds
multistore), a local fake WeChat server for the whole session (``wechat``,
its appids and secrets generated here), the platform settings pointing the
plugin at it (``wx``: the fake, reset, with the apps configured)."""

from __future__ import annotations

import secrets

import pytest
from jishi_wechat_login.testing import FakeWeChat, serve

MP_APPID = "wx" + secrets.token_hex(8)
WEB_APPID = "wx" + secrets.token_hex(8)


@pytest.fixture(scope="session")
def wechat():
    # The client's timeout is 3 s (a loaded CI machine once took over 1 s
    # to answer a plain call of the fake); "slow" sleeps past it.
    fake = FakeWeChat(apps={MP_APPID: secrets.token_hex(16), WEB_APPID: secrets.token_hex(16)}, slow_seconds=3.5)
    with serve(fake):
        yield fake


@pytest.fixture
def app_plugins(request):
    marker = request.node.get_closest_marker("jishi_plugins")
    return list(marker.args) if marker else ["wechat_login"]


@pytest.fixture
def app_config(wechat):
    return {
        "JISHI_WECHAT_LOGIN_API_BASE": wechat.url,
        "JISHI_WECHAT_LOGIN_OPEN_BASE": wechat.url + "/",
        "JISHI_WECHAT_LOGIN_TIMEOUT": 3,
    }


@pytest.fixture
def wx(app, wechat):
    from jishi import settings
    from jishi.db import commit

    wechat.mode = ""
    wechat.calls.clear()
    settings.set_many(
        {
            "wechat_login.mp_appid": MP_APPID,
            "wechat_login.mp_secret": wechat.apps[MP_APPID],
            "wechat_login.web_appid": WEB_APPID,
            "wechat_login.web_secret": wechat.apps[WEB_APPID],
        }
    )
    commit()
    wechat.mp, wechat.web = MP_APPID, WEB_APPID
    return wechat
