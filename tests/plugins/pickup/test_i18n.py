"""PU/i18n: the plugin's catalogs (English msgids, zh_CN translated, both
compiled) and its pages in Chinese by default, English on request."""

from pathlib import Path

import jishi_pickup
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

TRANSLATIONS = Path(jishi_pickup.__file__).resolve().parent / "translations"


def _catalog(locale):
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as fh:
        return read_po(fh, locale=locale)


def test_catalogs_complete_and_compiled():
    """PU/i18n: every msgid has a zh_CN translation; en says the msgid; the .mo match the .po."""
    zh = _catalog("zh_CN")
    untranslated = [m.id for m in zh if m.id and (m.fuzzy or not m.string)]
    assert not untranslated, untranslated
    assert len([m for m in zh if m.id]) >= 60
    en = _catalog("en")
    assert all(m.string == m.id for m in en if m.id)
    for locale, catalog in (("zh_CN", zh), ("en", en)):
        with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.mo", "rb") as fh:
            compiled = read_mo(fh)
        assert {m.id: m.string for m in compiled if m.id} == {m.id: m.string for m in catalog if m.id}, locale


def test_catalog_covers_the_sources():
    """PU/i18n: every string the plugin marks for translation is in the catalog."""
    from babel.messages.extract import extract_from_dir

    root = Path(jishi_pickup.__file__).resolve().parent
    method_map = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    found = {msg[2] if isinstance(msg[2], str) else msg[2][0] for msg in extract_from_dir(str(root), method_map)}
    known = {m.id for m in _catalog("zh_CN") if m.id}
    assert len(found) > 50 and found <= known, sorted(found - known)


def test_pages_in_chinese_and_english(app, client, factory, pk, login):
    """PU/i18n: the verification page and a refusal in Chinese by default, English on request."""
    login(factory.admin())
    html = client.get("/seller/pickup/verify").get_data(as_text=True)
    assert "自提核销" in html and "提货码" in html
    bad = client.post("/seller/pickup/verify", data={"code": "000000000000"})
    assert "提货码错误" in bad.get_data(as_text=True)
    en = client.get("/seller/pickup/verify", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Pickup verification" in en
