"""PR-DZ demo (issue 18): ``jishi demo`` designs and publishes the home page:
a banner of pictures from the demo's media library, the navigation icons,
each top category's navigation icon a picture of one of its products, an
ad-slot block with two entries whose pictures are in the demo media
library, the other plugins' blocks (the flash-sale strip) and product lists."""

from __future__ import annotations

import pytest
from jishi_designer import service


@pytest.mark.jishi_plugins("designer", "flashsale", "coupons", "messages")
def test_demo_home_page_is_designed(app, client, api):
    """PR-DZ: the demo's home page is published with its blocks, images from
    the platform's media library, and renders."""
    from jishi.demo import load_demo

    with app.test_request_context("/"):
        summary = load_demo({})
    assert "a designed home page" in summary
    doc = api.get("/pages/home").json
    types = [b["type"] for b in doc["blocks"]]
    assert types[:3] == ["designer.search", "designer.banner", "designer.nav"]
    assert {"flashsale.strip", "coupons.coupons", "designer.products"} <= set(types)
    icons = doc["blocks"][2]["settings"]["icons"]
    # each top category's icon is a picture of one of its products; an
    # entrance without a picture shows its plugin entrance's icon
    by_kind = {kind: [i for i in icons if i["link"]["kind"] == kind] for kind in ("category", "activity")}
    assert by_kind["category"] and all(i["image"].startswith("/media/") for i in by_kind["category"])
    assert by_kind["activity"] and not any(i["image"] for i in by_kind["activity"])
    # the storefront's home entrances, in their order (not a header-only link)
    assert [i["link"]["value"] for i in by_kind["activity"]] == ["flashsale.listing", "coupons.centre"]
    banner = doc["blocks"][1]["settings"]["slides"]
    assert len(banner) == 2 and all(s["image"].startswith("/media/") for s in banner)
    strip = next(b for b in doc["blocks"] if b["type"] == "flashsale.strip")
    assert strip["data"]["items"], "the demo's running flash sale shows in the strip"
    products = [b for b in doc["blocks"] if b["type"] == "designer.products"]
    assert all(b["data"]["items"] for b in products)
    ads = next(b for b in doc["blocks"] if b["type"] == "designer.ad_slot")
    assert ads["settings"]["slot"] == "home-ads"
    items = ads["data"]["items"]
    assert [i["title"] for i in items] == ["今日爆款", "好茶专区"]
    assert all(i["image"].startswith("/media/") and i["url"].startswith("/p/ad/") for i in items)
    html = client.get("/").get_data(as_text=True)
    assert "designed-page" in html and "搜索商品" in html and "今日爆款" in html
    marks = doc["blocks"][2]["data"]["marks"]
    flash = next(i for i, icon in enumerate(icons) if icon["link"]["value"] == "flashsale.listing")
    assert marks[flash] == "⚡"
    label = icons[flash]["label"]
    assert f'<span class="dz-nav-mark dz-nav-icon" aria-hidden="true">⚡</span><span>{label}</span>' in html
    click = client.get(items[0]["url"])
    assert click.status_code == 302 and "/product/" in click.headers["Location"]
    assert service.live("home")[1] == 1
