"""PU/i18n: the plugin's catalogs (English msgids, zh_CN translated, both
compiled) and its pages in Chinese by default, English on request."""

import jishi_pickup
from jishi.testing.i18n import check_catalogs, source_messages


def test_catalogs_complete_and_compiled():
    """PU/i18n: every msgid has a zh_CN translation; en says the msgid; the
    .mo match the .po; every string the plugin marks is in the catalog."""
    check_catalogs(jishi_pickup, min_messages=60)
    assert len(source_messages(jishi_pickup)) > 50


def test_pages_in_chinese_and_english(app, client, factory, pk, login):
    """PU/i18n: the verification page and a refusal in Chinese by default, English on request."""
    login(factory.admin())
    html = client.get("/seller/pickup/verify").get_data(as_text=True)
    assert "自提核销" in html and "提货码" in html
    bad = client.post("/seller/pickup/verify", data={"code": "000000000000"})
    assert "提货码错误" in bad.get_data(as_text=True)
    en = client.get("/seller/pickup/verify", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Pickup verification" in en
