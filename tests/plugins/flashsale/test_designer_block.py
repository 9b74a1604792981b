"""FS/PR-DZ (issue 18): the flash-sale strip, a block of the page designer:
running sales soonest to end first with their flash price, units left and
end time (a countdown on the web page, ``ends_at`` in the API document);
picked ones that ended are skipped with a reason."""

from __future__ import annotations

from datetime import timedelta

import pytest
from jishi.db import commit, utcnow
from jishi_designer import service as designer

from .helpers import activity

pytestmark = pytest.mark.jishi_plugins("flashsale", "designer")


def _home(blocks):
    page = designer.home_page()
    for code, settings in blocks:
        block = designer.add_block(page, code)
        designer.update_block(page, block["id"], {**block["settings"], **settings})
    designer.publish(page, None)
    return page


def test_strip_shows_running_sales_with_countdown(client, api, factory):
    """FS/PR-DZ: the strip lists running sales (not upcoming ones) with flash
    price and end; the API document carries the same with ``ends_at``."""
    soon = activity(factory.product(name="快结束", price=1000), ends_at=utcnow() + timedelta(hours=2))
    later = activity(factory.product(name="晚结束", price=2000))
    activity(factory.product(name="还没开始"), starts_at=utcnow() + timedelta(hours=1))
    _home([("flashsale.strip", {"title": "今日秒杀"})])
    html = client.get("/").get_data(as_text=True)
    assert "今日秒杀" in html and "快结束" in html and "晚结束" in html and "还没开始" not in html
    assert html.index("快结束") < html.index("晚结束") and "data-fs-countdown" in html
    data = api.get("/pages/home").json["blocks"][0]["data"]
    assert [i["id"] for i in data["items"]] == [soon.id, later.id]
    assert data["items"][0]["flash_price"] == 500 and data["items"][0]["remaining"] == 10
    assert data["items"][0]["ends_at"].endswith("Z") and 0 < data["items"][0]["seconds_left"] <= 7200


def test_picked_sale_that_ended_is_skipped(api, factory):
    """FS/PR-DZ: a picked activity that ended is left out and listed as ``ended``."""
    running = activity(factory.product())
    over = activity(factory.product())
    _home([("flashsale.strip", {"activities": [over.id, running.id]})])
    over.ends_at = utcnow() - timedelta(minutes=1)
    commit()
    data = api.get("/pages/home").json["blocks"][0]["data"]
    assert [i["id"] for i in data["items"]] == [running.id]
    assert data["skipped"] == [{"id": over.id, "reason": "ended"}]
