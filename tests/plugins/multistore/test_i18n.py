"""The multistore plugin's own catalogs (translations/{zh_CN,en}) and the
pages rendered with them: Chinese by default, English on request."""

import jishi_multistore
from jishi.testing.i18n import check_catalogs, read_catalog


def test_zh_cn_catalog_is_complete_and_compiled():
    """Every msgid of the plugin's zh_CN catalog is translated (all plural
    forms, none fuzzy), English says msgid as msgstr, each .mo holds exactly
    what its .po says, and every string the sources mark is in the catalog."""
    check_catalogs(jishi_multistore, min_messages=301)


def test_seed_wording_of_the_buyer_notices():
    """MS5: the buyer-facing notices of a merchant's states say exactly the
    agreed Chinese words."""
    zh = read_catalog(jishi_multistore, "zh_CN")
    expected = {
        "The shop is resting": "商家休息中",
        "This shop has closed for today, have a look at others": "该商户已打烊，看看其他吧",
        "This shop is closed, have a look at others": "该商户已关闭，看看其他吧",
        "This merchant has closed. If you have paid, contact the mall.": "该商户已关闭，若已付款，请联系商家处理",
        "This merchant has closed. If the goods do not arrive, contact the mall.": "该商户已关闭，若之后未收到货，请联系商家处理",
    }
    assert {k: zh[k].string for k in expected} == expected


def test_pages_render_in_chinese_and_english(app, client, ms, login):
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
