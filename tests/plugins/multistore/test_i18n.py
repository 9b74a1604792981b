"""The multistore plugin's own catalogs (translations/{zh_CN,en}) and the
pages rendered with them: Chinese by default, English on request."""

from pathlib import Path

import jishi_multistore
import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

TRANSLATIONS = Path(jishi_multistore.__file__).resolve().parent / "translations"


@pytest.fixture
def fresh_g_per_request(app):
    """As in tests/web/conftest.py: the ``app`` fixture's app context is
    reused by every test request, so Flask-Babel's cached locale (and
    Flask-Login's user) in ``flask.g`` would carry over from one request to
    the next; clear them before each request, as production's fresh ``g``."""
    from flask import g

    def clear():
        for name in ("_login_user", "_flask_babel", "jishi_settings"):
            g.pop(name, None)

    app.before_request_funcs.setdefault(None, []).insert(0, clear)


def _catalog(locale):
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as fh:
        return read_po(fh, locale=locale)


def test_zh_cn_catalog_is_complete_and_compiled():
    """Every msgid of the plugin's zh_CN catalog is translated (all plural
    forms, none fuzzy), English says msgid as msgstr, and each .mo holds
    exactly what its .po says."""
    zh = _catalog("zh_CN")
    untranslated = [
        m.id for m in zh
        if m.id and (m.fuzzy or not m.string or (isinstance(m.string, tuple) and not all(m.string)))
    ]
    assert not untranslated, untranslated[:20]
    assert len([m for m in zh if m.id]) > 300
    en = _catalog("en")
    assert all(m.string == m.id for m in en if m.id and isinstance(m.id, str))
    for locale, catalog in (("zh_CN", zh), ("en", en)):
        with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.mo", "rb") as fh:
            compiled = read_mo(fh)
        po = {m.id: m.string for m in catalog if m.id}
        mo = {m.id: m.string for m in compiled if m.id}
        assert mo == po, f"{locale}: messages.mo is out of date; run scripts/i18n.sh compile"


def test_seed_wording_of_the_buyer_notices():
    """MS5: the buyer-facing notices of a merchant's states say exactly the
    agreed Chinese words."""
    zh = _catalog("zh_CN")
    expected = {
        "The shop is resting": "商家休息中",
        "This shop has closed for today, have a look at others": "该商户已打烊，看看其他吧",
        "This shop is closed, have a look at others": "该商户已关闭，看看其他吧",
        "This merchant has closed. If you have paid, contact the mall.": "该商户已关闭，若已付款，请联系商家处理",
        "This merchant has closed. If the goods do not arrive, contact the mall.": "该商户已关闭，若之后未收到货，请联系商家处理",
    }
    assert {k: zh[k].string for k in expected} == expected


def test_pages_render_in_chinese_and_english(app, client, ms, login, fresh_g_per_request):
    """A resting merchant's product page says 商家休息中; a closed-for-today
    shop page says 该商户已打烊; the merchant console is Chinese by default
    and English with Accept-Language: en."""
    resting = ms.merchant("休息小铺", status="resting")
    p = ms.product(resting, name="休息中的茶")
    page = client.get(f"/product/{p.id}").get_data(as_text=True)
    assert "商家休息中" in page and "The shop is resting" not in page
    page = client.get(f"/product/{p.id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "The shop is resting" in page and "商家休息中" not in page

    closed = ms.merchant("打烊小铺", status="closed_today")
    page = client.get(f"/shops/{closed.id}").get_data(as_text=True)
    assert "该商户已打烊，看看其他吧" in page
    page = client.get(f"/shops/{closed.id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "This shop has closed for today, have a look at others" in page and "已打烊" not in page

    shop = ms.merchant("控制台小铺")
    login(ms.admin_of(shop))
    resp = client.get("/merchant/")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    # The brand, a plugin menu entry and a dashboard label, in Chinese.
    assert "商户后台" in page and "店铺详情" in page and "营业状态" in page
    assert "Merchant console" not in page and "Shop profile" not in page
    page = client.get("/merchant/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Merchant console" in page and "Shop profile" in page and "Business status" in page
    assert "商户后台" not in page and "店铺详情" not in page
