"""C7/i18n and configuration of the WeChat login plugin (issue 14): its
catalogs, and the platform console's settings panel where the appids are
shown and the secrets never are."""

from __future__ import annotations

import jishi_wechat_login
from jishi import settings
from jishi.testing.i18n import check_catalogs


def test_catalogs_complete_and_compiled():
    """C7/i18n: every msgid has a zh_CN translation; en says the msgid; the
    .mo match the .po; every string the plugin marks is in the catalog."""
    zh = check_catalogs(jishi_wechat_login, min_messages=40)["zh_CN"]
    assert zh["WeChat login"].string == "微信登录"


def test_settings_panel_never_shows_a_secret_back(client, wx, factory, login):
    """Issue 14: the console's settings show the appids and only the last
    four characters of each secret; an empty secret field keeps the stored
    secret, a typed one replaces it."""
    secret = wx.apps[wx.mp]
    login(factory.admin())
    page = client.get("/console/settings").get_data(as_text=True)
    assert wx.mp in page and wx.web in page
    assert secret not in page and wx.apps[wx.web] not in page
    assert "••••••••" + secret[-4:] in page
    form = {
        "panel": "wechat_login",
        "wechat_login.mp_appid": wx.mp,
        "wechat_login.mp_secret": "",
        "wechat_login.web_appid": wx.web,
        "wechat_login.web_secret": "  new-web-secret-value  ",
    }
    assert client.post("/console/settings", data=form).status_code == 302
    assert settings.get("wechat_login.mp_secret") == secret
    assert settings.get("wechat_login.web_secret") == "new-web-secret-value"
    en = client.get("/console/settings", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "new-web-secret-value" not in en


def test_buyer_pages_in_chinese(client, wx, factory, login):
    """C7/i18n: the bindings page in Chinese by default, English on request;
    the account page links to it."""
    login(factory.user())
    assert "/wechat/account" in client.get("/account").get_data(as_text=True)
    html = client.get("/wechat/account").get_data(as_text=True)
    assert "微信绑定" in html and "扫码绑定微信" in html
    en = client.get("/wechat/account", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Bind WeChat by scanning a QR code" in en
