"""DE-I18N: the plugin's catalogs (English msgids, zh_CN complete and
compiled); pages in Chinese by default and English on request."""

from __future__ import annotations

import jishi_delivery_express
from jishi.testing.i18n import check_catalogs


def test_catalogs_complete_and_compiled():
    """DE-I18N: every zh_CN msgid translated, English msgstr == msgid, .mo
    files match their .po, the sources' strings are all in the catalog."""
    zh = check_catalogs(jishi_delivery_express, min_messages=101)["zh_CN"]
    assert {m.id: m.string for m in zh}["Express delivery"] == "快递发货"


def test_pages_chinese_by_default_english_on_request(client, factory):
    """DE-I18N: the seller's shipping page in Chinese, then in English."""
    admin = factory.admin()
    with client.session_transaction() as sess:
        sess["_user_id"] = admin.get_id()
    html = client.get("/seller/express/orders").get_data(as_text=True)
    assert "没有待发货的快递订单。" in html and "导入 CSV 批量发货" in html
    html = client.get("/seller/express/orders", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "No express order awaits shipment." in html
