"""GB/PR-DZ (issue 18): the group-buy strip, a block of the page designer:
running group buys with group price and size; picked ones that ended are
skipped with a reason."""

from __future__ import annotations

from datetime import timedelta

import pytest
from jishi.db import commit, utcnow
from jishi_designer import service as designer

from .helpers import activity

pytestmark = pytest.mark.jishi_plugins("groupbuy", "designer")


def test_strip_shows_running_group_buys(client, api, factory):
    """GB/PR-DZ: the strip lists running group buys with their group price and
    size on the page and in the API document; an ended pick is skipped."""
    a = activity(factory.product(name="三人团商品", price=3000), size=3)
    over = activity(factory.product(name="过期团"))
    page = designer.home_page()
    for settings in ({}, {"activities": [over.id, a.id]}):
        block = designer.add_block(page, "groupbuy.strip")
        designer.update_block(page, block["id"], {**block["settings"], **settings})
    designer.publish(page, None)
    over.ends_at = utcnow() - timedelta(minutes=1)
    commit()
    html = client.get("/").get_data(as_text=True)
    assert "三人团商品" in html and "过期团" not in html
    blocks = api.get("/pages/home").json["blocks"]
    assert [i["id"] for i in blocks[0]["data"]["items"]] == [a.id]
    item = blocks[0]["data"]["items"][0]
    assert (item["group_size"], item["price"], item["group_price"]) == (3, 3000, a.skus[0].group_price)
    assert blocks[1]["data"]["skipped"] == [{"id": over.id, "reason": "ended"}]
