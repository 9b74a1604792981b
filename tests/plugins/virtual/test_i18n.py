"""C7/i18n: the plugin's catalogs (English msgids, zh_CN translated, both
compiled) and its pages in Chinese by default, English on request."""

import jishi_virtual
from jishi.testing.i18n import check_catalogs


def test_catalogs_complete_and_compiled():
    """C7/i18n: every msgid has a zh_CN translation; en says the msgid; the
    .mo match the .po; every string the plugin marks is in the catalog."""
    zh = check_catalogs(jishi_virtual, min_messages=40)["zh_CN"]
    assert zh["Virtual goods"].string == "虚拟商品"


def test_pages_in_chinese_and_english(app, client, factory, vg, login):
    """C7/i18n: the product page and a refusal in Chinese by default, English on request."""
    product = vg.card(codes=())
    login(factory.admin())
    html = client.get(f"/seller/virtual/products/{product.id}").get_data(as_text=True)
    assert "卡密" in html and "剩余卡密" in html
    bad = client.post(f"/seller/virtual/products/{product.id}/codes", data={"codes": "  \n "})
    assert bad.status_code == 422 and "请至少输入一个卡密" in bad.get_data(as_text=True)
    en = client.get(f"/seller/virtual/products/{product.id}", headers={"Accept-Language": "en"})
    assert "Codes left" in en.get_data(as_text=True)
