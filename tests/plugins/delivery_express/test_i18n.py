"""DE-I18N: the plugin's catalogs (English msgids, zh_CN complete and
compiled); pages in Chinese by default and English on request."""

from __future__ import annotations

from pathlib import Path

import jishi_delivery_express
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

TRANSLATIONS = Path(jishi_delivery_express.__file__).resolve().parent / "translations"


def _catalog(locale):
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as fh:
        return read_po(fh, locale=locale)


def test_catalogs_complete_and_compiled():
    """DE-I18N: every zh_CN msgid translated, English msgstr == msgid, .mo
    files match their .po."""
    zh, en = _catalog("zh_CN"), _catalog("en")
    assert not [m.id for m in zh if m.id and (m.fuzzy or not m.string)]
    assert len([m for m in zh if m.id]) > 100
    assert all(m.string == m.id for m in en if m.id)
    for locale, catalog in (("zh_CN", zh), ("en", en)):
        with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.mo", "rb") as fh:
            compiled = read_mo(fh)
        assert {m.id: m.string for m in compiled if m.id} == {m.id: m.string for m in catalog if m.id}, locale
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
