"""CP i18n: the plugin's catalogs (English msgids, zh_CN translations) are
complete and compiled; pages read Chinese by default and English on request;
coupon rules read 满100元减10元 / 9折."""

from __future__ import annotations

from pathlib import Path

import jishi_coupons
import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from .helpers import template

TRANSLATIONS = Path(jishi_coupons.__file__).resolve().parent / "translations"


@pytest.fixture
def fresh_g_per_request(app):
    from flask import g

    def clear():
        for name in ("_login_user", "_flask_babel", "jishi_settings"):
            g.pop(name, None)

    app.before_request_funcs.setdefault(None, []).insert(0, clear)


def _catalog(locale):
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as fh:
        return read_po(fh, locale=locale)


def test_catalogs_complete_and_compiled():
    """CP: every msgid translated in zh_CN (none fuzzy), en says the msgid,
    each .mo holds what its .po says."""
    zh = _catalog("zh_CN")
    assert not [m.id for m in zh if m.id and (m.fuzzy or not m.string)]
    assert len([m for m in zh if m.id]) > 90
    en = _catalog("en")
    assert all(m.string == m.id for m in en if m.id)
    for locale, catalog in (("zh_CN", zh), ("en", en)):
        with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.mo", "rb") as fh:
            compiled = read_mo(fh)
        assert {m.id: m.string for m in compiled if m.id} == {m.id: m.string for m in catalog if m.id}


def test_pages_in_chinese_and_english(client, fresh_g_per_request):
    """CP: the claim centre in Chinese by default, English on Accept-Language."""
    template(name="A", threshold=10000, amount=1000)
    template(name="B", kind="percent", percent_off=1000, max_discount=2000, threshold=0, amount=None)
    zh = client.get("/coupons").get_data(as_text=True)
    assert "领券中心" in zh and "满100元减10元" in zh and "无门槛9折，最高减20元" in zh
    en = client.get("/coupons", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Coupon centre" in en and "Over ¥100: ¥10 off" in en and "10% off, at most ¥20 off" in en
