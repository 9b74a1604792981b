"""GB: the plugin's own catalogs (English msgids, zh_CN translations),
complete and compiled, and pages rendered with them."""

import jishi_groupbuy
from jishi.testing.i18n import check_catalogs

from . import helpers as gb


def test_catalogs_complete_and_compiled():
    """GB: every msgid has a zh_CN translation, English says the msgid, each
    .mo matches its .po, the sources' strings are all in the catalog."""
    check_catalogs(jishi_groupbuy, min_messages=51)


def test_product_page_in_chinese_and_english(client, factory, login):
    """GB: the group-buy box speaks Chinese by default and English on request."""
    p = factory.product(price=1000)
    gb.activity(p, size=2)
    login(gb.buyer(factory))
    zh = client.get(f"/product/{p.id}").get_data(as_text=True)
    assert "发起拼团" in zh
    en = client.get(f"/product/{p.id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Buy with group" in en
