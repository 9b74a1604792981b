"""GB: the plugin's own catalogs (English msgids, zh_CN translations),
complete and compiled, and pages rendered with them."""

from pathlib import Path

import jishi_groupbuy
import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from . import helpers as gb

TRANSLATIONS = Path(jishi_groupbuy.__file__).resolve().parent / "translations"


@pytest.fixture
def fresh_g_per_request(app):
    """Clear Flask-Babel's cached locale and the user in ``g`` before each
    test request (the app fixture reuses one app context)."""
    from flask import g

    def clear():
        for name in ("_login_user", "_flask_babel", "jishi_settings"):
            g.pop(name, None)

    app.before_request_funcs.setdefault(None, []).insert(0, clear)


def _catalog(locale):
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as fh:
        return read_po(fh, locale=locale)


def test_catalogs_complete_and_compiled():
    """GB: every msgid has a zh_CN translation, English says the msgid, each .mo matches its .po."""
    zh = _catalog("zh_CN")
    assert not [m.id for m in zh if m.id and (m.fuzzy or not m.string)]
    assert len([m for m in zh if m.id]) > 50
    en = _catalog("en")
    assert all(m.string == m.id for m in en if m.id)
    for locale, catalog in (("zh_CN", zh), ("en", en)):
        with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.mo", "rb") as fh:
            compiled = read_mo(fh)
        assert {m.id: m.string for m in compiled if m.id} == {m.id: m.string for m in catalog if m.id}


def test_product_page_in_chinese_and_english(client, factory, login, fresh_g_per_request):
    """GB: the group-buy box speaks Chinese by default and English on request."""
    p = factory.product(price=1000)
    gb.activity(p, size=2)
    login(gb.buyer(factory))
    zh = client.get(f"/product/{p.id}").get_data(as_text=True)
    assert "发起拼团" in zh
    en = client.get(f"/product/{p.id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Buy with group" in en
