"""LD: the plugin's own catalogs (English msgids, zh_CN translations),
compiled, and the pages and reasons in Chinese by default."""

from __future__ import annotations

import jishi_delivery_local
from jishi.testing.i18n import check_catalogs


def test_catalogs_complete_and_compiled():
    """LD: every msgid translated in zh_CN, English is the msgid, .mo up to
    date, the sources' strings are all in the catalog."""
    zh = check_catalogs(jishi_delivery_local, min_messages=81)["zh_CN"]
    assert zh.get("Local delivery").string == "同城配送"


def test_chinese_by_default(app, factory, ld):
    """LD: the option, its reason and the settings page are Chinese by default."""
    ld.setup()
    buyer = factory.user()
    bare = factory.address(buyer)
    sku = factory.product(price=3000, stock=5).skus[0].id
    client = app.test_client()
    token = factory.token(buyer)
    resp = client.post(
        "/api/v1/checkout/preview",
        json={"items": [{"sku_id": sku, "quantity": 1}], "address_id": bare.id},
        headers={"Authorization": f"Bearer {token}"},
    )
    local = next(o for o in resp.json["groups"][0]["delivery_options"] if o["code"] == "local")
    assert local["label"] == "同城配送" and local["reason"] == "该地址没有定位，请在地图上选点或补充坐标。"
    admin = factory.admin()
    with client.session_transaction() as sess:
        sess["_user_id"] = admin.get_id()
        sess["_fresh"] = True
    page = client.get("/seller/local/settings").get_data(as_text=True)
    assert "开启同城配送" in page and "预约配送时段" in page
