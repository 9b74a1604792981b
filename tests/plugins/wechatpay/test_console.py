"""WXP-CONSOLE: WeChat Pay's configuration in the platform console — the
settings panel for the plain values, the keys page for the secrets (never
shown back in full, an empty field keeps them, bad keys a 422 naming the
field), who may open it (authorization matrix), the catalogs, and
``jishi plugins list``."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from jishi import settings
from jishi.db import db
from jishi.testing import authz, principals
from jishi.testing.authz import Row
from jishi.testing.i18n import check_catalogs
from jishi_wechatpay import config, crypto
from jishi_wechatpay.fake import new_key
from jishi_wechatpay.gateway import WechatPay

PRINCIPALS = ("anonymous", "other_buyer", "buyer", "clerk1", "admin1", "admin2", "platform")
BLUEPRINTS = ("wechatpay_admin",)

ROWS = [
    Row("GET", "/console/wechatpay/keys", "platform"),
    Row("POST", "/console/wechatpay/keys", "platform", data={"apiv3_key": ""}),
]


@pytest.mark.parametrize("row", ROWS, ids=authz.label)
def test_matrix(app, client, api, factory, row):
    """WXP-AUTHZ: the keys page is for platform admins only."""
    who = principals.standard(factory, multistore=False)
    authz.assert_row(
        row, authz.World(who.users, {}), client=client, api=api, principals=PRINCIPALS, allowed=authz.standard_access
    )


def test_every_route_has_a_row(app):
    covered = authz.assert_every_route_has_a_row(app, ROWS, blueprints=BLUEPRINTS)
    assert len(covered) == len(ROWS)


def test_platform_staff_may_not_open_the_keys(app, client, factory, login):
    """WXP-AUTHZ: staff holding the settings permission still may not read
    or change the payment keys (admin only)."""
    login(factory.user(role="platform_staff"))
    assert client.get("/console/wechatpay/keys").status_code == 403
    assert client.post("/console/wechatpay/keys", data={"apiv3_key": "x" * 32}).status_code == 403
    assert settings.get(config.APIV3_KEY, "") == ""


def test_secrets_are_masked_kept_and_checked(wx, app, client, factory, login):
    """WXP-CONFIG: the page never shows the private key or the APIv3 key
    (a masked hint); an empty submit keeps them; a new valid one replaces
    them; a bad one is a 422 naming the field, nothing written."""
    login(factory.admin())
    page = client.get("/console/wechatpay/keys", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert wx.merchant.apiv3_key not in page
    assert wx.private_pem.strip().splitlines()[1] not in page
    assert wx.merchant.apiv3_key[-4:] in page  # the hint
    assert "RSA 2048, SHA-256 " in page  # the private key's hint: its public key's digest
    assert "Test mode" in page and "WeChat Pay is configured and offered." in page
    assert wx.fake.platform_key_pem.strip().splitlines()[1] in page  # public: shown
    r = client.post(
        "/console/wechatpay/keys", data={"private_key": "", "apiv3_key": "", "platform_key": wx.fake.platform_key_pem}
    )
    assert r.status_code == 302
    db.session.expire_all()
    assert settings.get(config.APIV3_KEY) == wx.merchant.apiv3_key
    assert settings.get(config.PRIVATE_KEY).strip() == wx.private_pem.strip()
    for data, field in (
        ({"apiv3_key": "short"}, "32 characters"),
        ({"private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"}, "RSA private key"),
        ({"platform_key": "not a key", "apiv3_key": "n" * 32}, "public key or platform certificate"),
    ):
        r = client.post("/console/wechatpay/keys", data=data, headers={"Accept-Language": "en"})
        assert r.status_code == 422 and field in r.get_data(as_text=True)
    db.session.expire_all()
    assert settings.get(config.APIV3_KEY) == wx.merchant.apiv3_key  # nothing half-written
    other = crypto.private_pem(new_key())
    assert client.post("/console/wechatpay/keys", data={"private_key": other, "apiv3_key": "z" * 32}).status_code == 302
    db.session.expire_all()
    assert settings.get(config.APIV3_KEY) == "z" * 32 and settings.get(config.PRIVATE_KEY).strip() == other.strip()


def test_available_only_when_enabled_and_complete(wx, app):
    """WXP-CONFIG: not offered until enabled and every key set; a channel
    whose app id is missing is not offered."""
    gw = WechatPay()
    assert gw.available() and gw.available("native") and gw.available("mini_program")
    assert not gw.available("app") and not gw.available("offline")
    wx.configure(**{config.MINI_APPID: ""})
    assert gw.available("native") and not gw.available("mini_program")
    wx.configure(**{config.APIV3_KEY: "short"})
    assert not gw.available()
    wx.configure(**{config.ENABLED: False})
    assert not gw.available()
    assert gw.test_mode
    app.config["JISHI_WECHATPAY_API_BASE"] = "https://api.mch.weixin.qq.com"
    assert not gw.test_mode


def test_settings_panel_and_menu(wx, app, client, factory, login):
    login(factory.admin())
    html = client.get("/console/settings").get_data(as_text=True)
    assert 'id="panel-wechatpay"' in html and "商户号（mchid）" in html
    assert wx.merchant.apiv3_key not in html  # secrets are not in the panel
    home = client.get("/console/").get_data(as_text=True)
    assert "/console/wechatpay/keys" in home and "微信支付密钥" in home


def test_keys_page_says_what_is_missing(app, client, factory, login):
    login(factory.admin())
    html = client.get("/console/wechatpay/keys").get_data(as_text=True)
    assert "微信支付尚未提供" in html and "缺少：商户号（mchid）。" in html


def test_catalogs_complete_and_compiled():
    """C7/i18n: every msgid translated in zh_CN, en says the msgid, .mo compiled."""
    import jishi_wechatpay

    zh = check_catalogs(jishi_wechatpay, min_messages=30)["zh_CN"]
    assert zh["WeChat Pay"].string == "微信支付"


def test_plugins_list_shows_it(app, monkeypatch):
    from jishi.cli import make_cli

    monkeypatch.setenv("JISHI_DEMO", "true")
    result = CliRunner().invoke(make_cli(), ["plugins", "list"])
    assert result.exit_code == 0 and "jishi-wechatpay" in result.output
