"""C7/i18n, issue 14 (alipay): the plugin's own catalogs are complete and
compiled; the console page in Chinese by default, English on request."""

import jishi_alipay
from jishi.testing.i18n import check_catalogs


def test_catalogs_complete_and_compiled():
    """C7/i18n: every msgid has a zh_CN translation; en says the msgid; the
    .mo match the .po; every string the plugin marks is in the catalog."""
    zh = check_catalogs(jishi_alipay, min_messages=30)["zh_CN"]
    assert zh["Alipay"].string == "支付宝"


def test_console_page_in_chinese_and_english(client, factory, login):
    """C7/i18n: the Alipay page in Chinese by default, English on request."""
    login(factory.admin())
    html = client.get("/console/alipay/").get_data(as_text=True)
    assert "支付宝公钥" in html and "应用私钥" in html
    english = client.get("/console/alipay/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Application private key (RSA2)" in english
