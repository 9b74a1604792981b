"""Themes (K12) and languages on the storefront."""

from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from jishi import settings
from jishi.db import db

TRANSLATIONS = Path(__file__).resolve().parents[2] / "core" / "jishi" / "translations"


def test_default_theme_stylesheets(client, shop):
    """K12: the default theme's base.html extends the kernel's and links its
    own stylesheets through the per-theme static URL, which serves them."""
    page = client.get("/").get_data(as_text=True)
    assert "/themes/default/static/css/site.css" in page and "/themes/default/static/css/theme.css" in page
    assert 'data-theme-home="default"' in page
    with client.get("/themes/default/static/css/site.css") as resp:
        assert resp.status_code == 200 and b"--accent" in resp.data


def test_switching_theme_in_console_changes_next_page(app, client, admin_client, shop):
    """K12: saving theme.active in the console settings switches the theme on
    the next request, with the same app (no restart)."""
    assert "/themes/default/static/css/theme.css" in admin_client.get("/").get_data(as_text=True)
    page = admin_client.get("/console/settings").get_data(as_text=True)
    assert '<option value="jade"' in page and '<option value="default"' in page
    resp = admin_client.post("/console/settings", data={"panel": "theme", "theme.active": "jade"})
    assert resp.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "/themes/jade/static/css/theme.css" in page and "/themes/default/static/css/theme.css" not in page
    resp = admin_client.post("/console/settings", data={"panel": "theme", "theme.active": "no-such-theme"})
    assert resp.status_code == 422
    resp = admin_client.post("/console/settings", data={"panel": "theme", "theme.active": "default"})
    assert "/themes/default/static/css/theme.css" in client.get("/").get_data(as_text=True)


def test_jade_inherits_from_default(app, client, shop):
    """K12: under jade, jade's own header and product card are used, the home
    page only the default theme has still renders (inherited), and static
    files jade lacks come from default."""
    settings.set_many({"theme.active": "jade"})
    db.session.commit()
    page = client.get("/").get_data(as_text=True)
    assert "jade-header" in page  # jade's templates/shop/_header.html
    assert "product-card jade" in page  # jade's product card
    assert 'data-theme-home="default"' in page  # default's shop/index.html, inherited
    assert "/themes/jade/static/css/site.css" in page  # default's base.html, inherited
    with client.get("/themes/jade/static/css/site.css") as resp:
        assert resp.status_code == 200 and b".banner" in resp.data  # served from default
    with client.get("/themes/jade/static/css/theme.css") as resp:
        assert b"#1f8a5b" in resp.data  # jade's own colours
    assert client.get(f"/product/{shop['tea'].id}").status_code == 200  # kernel template under jade


def test_prices_display_as_yuan(client, shop):
    """Money displays as ¥12.34 on listing cards and the product page."""
    assert "¥12.34" in client.get("/").get_data(as_text=True)
    assert "¥39.90" in client.get("/search").get_data(as_text=True)


def test_default_language_is_chinese_and_accept_language_picks_english(client, shop):
    """The storefront speaks zh_CN by default and follows Accept-Language."""
    page = client.get("/").get_data(as_text=True)
    assert "新品上架" in page and 'lang="zh-CN"' in page
    page = client.get("/", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(as_text=True)
    assert "New arrivals" in page and 'lang="en"' in page


def test_locale_switch_renders_english_and_is_kept_on_the_account(app, client, buyer, login):
    """The locale switch stores the choice (session, and the account when
    signed in); the next page renders in English."""
    resp = client.post("/locale", data={"locale": "en"})
    assert resp.status_code == 302
    assert "New arrivals" in client.get("/").get_data(as_text=True)
    login(buyer)
    client.post("/locale", data={"locale": "en", "next": "/account"})
    db.session.refresh(buyer)
    assert buyer.locale == "en"
    page = client.get("/account").get_data(as_text=True)
    assert "My account" in page and "Sign out" in page
    other = app.test_client()  # another browser of the same user: the account's choice
    other.post("/login", data={"phone": buyer.phone, "password": "secret123"})
    assert "My orders" in other.get("/orders").get_data(as_text=True)
    client.post("/locale", data={"locale": "zh_CN"})
    assert "我的账户" in client.get("/account").get_data(as_text=True)
    assert client.post("/locale", data={"locale": "fr"}).status_code == 400


def _catalog(locale):
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as fh:
        return read_po(fh, locale=locale)


def test_zh_cn_catalog_is_complete_and_compiled():
    """Every msgid of the zh_CN catalog is translated (none fuzzy), English
    says msgid as msgstr, and each .mo holds exactly what its .po says."""
    zh = _catalog("zh_CN")
    untranslated = [m.id for m in zh if m.id and (not m.string or m.fuzzy)]
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


def test_kernel_templates_work_with_no_theme(app, client, shop, buyer, login, monkeypatch):
    """K12: with no theme installed the kernel's own templates render every
    page (the fallback of every theme). The app is shared by the tests of its
    configuration: its themes are put back afterwards (a later test of the
    same worker found no jade theme)."""
    monkeypatch.setattr(app.extensions["jishi"], "themes", {})
    login(buyer)
    client.post("/cart/add", data={"sku_id": shop["tea"].skus[0].id, "quantity": 1})
    for url in (
        "/",
        f"/category/{shop['fruit'].id}",
        "/search",
        f"/product/{shop['tea'].id}",
        "/cart",
        "/checkout",
        "/orders",
        "/account",
    ):
        resp = client.get(url)
        page = resp.get_data(as_text=True)
        assert resp.status_code == 200, url
        assert "/static/jishi/kernel.css" in page and "/themes/" not in page, url
    assert 'data-theme-home="default"' not in client.get("/").get_data(as_text=True)
