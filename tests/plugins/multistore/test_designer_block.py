"""MS/PR-DZ (issue 18, seed 001 §2.6): the page designer's merchant list
block: chosen merchants or every open one, the fields shown, sorted by
join time, name or distance from the visitor (with the distance shown);
without a location a distance list falls back to join time and says so."""

from __future__ import annotations

from datetime import timedelta

import pytest
from jishi.db import commit, utcnow
from jishi_designer import service as designer

pytestmark = pytest.mark.jishi_plugins("multistore", "designer")


def _home(settings_list):
    page = designer.home_page()
    for settings in settings_list:
        block = designer.add_block(page, "multistore.merchants")
        designer.update_block(page, block["id"], {**block["settings"], **settings})
    designer.publish(page, None)
    return page


def test_merchant_list_sorts_by_distance_name_and_join_time(client, api, ms):
    """MS/PR-DZ: distance order with the distance when the client sends its
    location; name and join-time orders; chosen merchants only."""
    far = ms.merchant("乙店", lat=31.30, lng=121.50, avg_spend=5000, hours="09:00-21:00", category="餐饮")
    near = ms.merchant("甲店", lat=31.231, lng=121.474)
    other = ms.merchant("丙店", lat=31.232, lng=121.475)
    far.approved_at = utcnow() - timedelta(days=3)
    near.approved_at = utcnow() - timedelta(days=2)
    other.approved_at = utcnow() - timedelta(days=1)
    commit()
    _home(
        [
            {"sort": "distance", "merchants": [far.id, near.id]},
            {"sort": "name", "show_hours": False},
            {"sort": "newest", "count": 2},
        ]
    )
    blocks = api.get("/pages/home?lat=31.23&lng=121.47").json["blocks"]
    dist = blocks[0]["data"]
    assert [m["id"] for m in dist["items"]] == [near.id, far.id]
    assert dist["items"][0]["distance_m"] < dist["items"][1]["distance_m"] and dist["items"][1]["distance_text"]
    assert [m["name"] for m in blocks[1]["data"]["items"]] == ["丙店", "乙店", "甲店"]
    assert "hours" not in blocks[1]["data"]["shown"] and "avg_spend" in blocks[1]["data"]["shown"]
    assert [m["id"] for m in blocks[2]["data"]["items"]] == [other.id, near.id]
    # no location: join time, flagged
    plain = api.get("/pages/home").json["blocks"][0]["data"]
    assert plain["distance_unavailable"] is True and [m["id"] for m in plain["items"]] == [near.id, far.id]
    html = client.get("/?lat=31.23&lng=121.47").get_data(as_text=True)
    assert "甲店" in html and "50.00" in html and dist["items"][1]["distance_text"] in html


def test_merchant_list_is_for_platform_pages(ms):
    """MS/PR-DZ: a merchant's shop page cannot hold the mall's merchant list."""
    from jishi_designer.schema import DesignError

    page = designer.shop_page(ms.merchant().id)
    with pytest.raises(DesignError) as err:
        designer.add_block(page, "multistore.merchants")
    assert err.value.field == "type"


def test_merchant_decorates_its_shop_page(client, factory, ms, login):
    """MS/PR-DZ: a merchant's admin edits its own shop page only (from the
    console), and once published it replaces the product grid of
    ``/shops/<id>`` below the shop's head."""
    m = ms.merchant("装修店")
    factory.product(name="店内商品", seller_id=m.id)
    login(ms.admin_of(m))
    listing = client.get("/seller/designer/").get_data(as_text=True)
    page = designer.shop_page(m.id)
    assert f"/seller/designer/{page.id}" in listing and "/seller/designer/new" not in listing
    r = client.post(f"/seller/designer/{page.id}/blocks", data={"type": "designer.notice"})
    client.post(r.headers["Location"], data={"text": "本店上新", "color": "#fff7e6"})
    client.post(f"/seller/designer/{page.id}/blocks", data={"type": "designer.products"})
    before = client.get(f"/shops/{m.id}").get_data(as_text=True)
    assert "本店上新" not in before and "店内商品" in before
    assert client.post(f"/seller/designer/{page.id}/publish").status_code == 302
    html = client.get(f"/shops/{m.id}").get_data(as_text=True)
    assert "装修店" in html and "本店上新" in html and "店内商品" in html
    assert client.get(f"/seller/designer/{designer.home_page().id}").status_code == 404


def test_product_list_filters_by_merchant_and_names_it(api, factory, ms):
    """MS/PR-DZ (seed 001 §2.6 (2)): a platform product list by rule filters by
    merchant, and shows whose product each one is."""
    a, b = ms.merchant("甲商户"), ms.merchant("乙商户")
    pa = factory.product(name="甲的", seller_id=a.id)
    factory.product(name="乙的", seller_id=b.id)
    pb = factory.product(name="自营", seller_id=None)
    page = designer.home_page()
    for settings in (
        {"mode": "rule", "seller": a.id, "show_seller": True},
        {"mode": "hand", "products": [pb.id, pa.id], "show_seller": True},
    ):
        block = designer.add_block(page, "designer.products")
        designer.update_block(page, block["id"], {**block["settings"], **settings})
    designer.publish(page, None)
    blocks = api.get("/pages/home").json["blocks"]
    assert [(i["name"], i["seller_name"]) for i in blocks[0]["data"]["items"]] == [("甲的", "甲商户")]
    assert [(i["name"], i["seller_name"]) for i in blocks[1]["data"]["items"]] == [("自营", ""), ("甲的", "甲商户")]


def test_shop_page_follows_its_merchant(client, api, factory, ms):
    """MS/PR-DZ: a published shop page is the shop's (``/p/shop-<id>`` leads to
    ``/shops/<id>``; the API names the merchant); once the merchant is shut
    its designed page is gone (404), the shop page shows its notice."""
    m = ms.merchant("关店")
    page = designer.shop_page(m.id)
    block = designer.add_block(page, "designer.notice")
    designer.update_block(page, block["id"], {"text": "本店公告"})
    designer.publish(page, None)
    r = client.get(f"/p/shop-{m.id}")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/shops/{m.id}")
    doc = api.get(f"/pages/shop-{m.id}").json
    assert doc["seller"]["name"] == "关店" and doc["seller"]["can_sell"] is True
    m.status = "shut"
    commit()
    assert api.get(f"/pages/shop-{m.id}").status_code == 404
    assert client.get(f"/p/shop-{m.id}").status_code == 404
    assert "本店公告" not in client.get(f"/shops/{m.id}").get_data(as_text=True)
