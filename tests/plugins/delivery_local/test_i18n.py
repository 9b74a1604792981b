"""LD: the plugin's own catalogs (English msgids, zh_CN translations),
compiled, and the pages and reasons in Chinese by default."""

from __future__ import annotations

from pathlib import Path

import jishi_delivery_local
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

TRANSLATIONS = Path(jishi_delivery_local.__file__).resolve().parent / "translations"


def _catalog(locale):
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as fh:
        return read_po(fh, locale=locale)


def test_catalogs_complete_and_compiled():
    """LD: every msgid translated in zh_CN, English is the msgid, .mo up to date."""
    zh = _catalog("zh_CN")
    assert not [m.id for m in zh if m.id and (m.fuzzy or not m.string)]
    assert len([m for m in zh if m.id]) > 80
    assert zh.get("Local delivery").string == "同城配送"
    en = _catalog("en")
    assert all(m.string == m.id for m in en if m.id)
    for locale, catalog in (("zh_CN", zh), ("en", en)):
        with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.mo", "rb") as fh:
            compiled = read_mo(fh)
        assert {m.id: m.string for m in compiled if m.id} == {m.id: m.string for m in catalog if m.id}, locale


def test_chinese_by_default(app, factory, ld):
    """LD: the option, its reason and the settings page are Chinese by default."""
    ld.setup()
    buyer = factory.user()
    bare = factory.address(buyer)
    sku = factory.product(price=3000, stock=5).skus[0].id
    client = app.test_client()
    token = factory.token(buyer)
    resp = client.post("/api/v1/checkout/preview", json={"items": [{"sku_id": sku, "quantity": 1}], "address_id": bare.id},
                       headers={"Authorization": f"Bearer {token}"})
    local = next(o for o in resp.json["groups"][0]["delivery_options"] if o["code"] == "local")
    assert local["label"] == "同城配送" and local["reason"] == "该地址没有定位，请在地图上选点或补充坐标。"
    admin = factory.admin()
    with client.session_transaction() as sess:
        sess["_user_id"] = admin.get_id()
        sess["_fresh"] = True
    page = client.get("/seller/local/settings").get_data(as_text=True)
    assert "开启同城配送" in page and "预约配送时段" in page
