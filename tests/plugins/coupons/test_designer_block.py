"""CP/PR-DZ (issue 18): the coupon block of the page designer: claimable
coupons with their rule, claimed in place (the claim returns to the page),
marked claimed for the buyer; a picked coupon no longer claimable is
skipped with a reason."""

from __future__ import annotations

import pytest
from jishi.db import commit
from jishi_designer import service as designer

from .helpers import template

pytestmark = pytest.mark.jishi_plugins("coupons", "designer")


def test_coupon_block_claims_in_place(client, api, factory, login):
    """CP/PR-DZ: the block lists claimable coupons; claiming returns to the
    designed page, which then shows the coupon as claimed."""
    t = template(name="首页券")
    stopped = template(name="停用券")
    page = designer.home_page()
    for settings in ({"title": "领券"}, {"coupons": [stopped.id, t.id]}):
        block = designer.add_block(page, "coupons.coupons")
        designer.update_block(page, block["id"], {**block["settings"], **settings})
    designer.publish(page, None)
    stopped.status = "stopped"
    commit()
    html = client.get("/").get_data(as_text=True)
    assert "首页券" in html and "停用券" not in html and 'name="next" value="/"' in html
    blocks = api.get("/pages/home").json["blocks"]
    assert blocks[1]["data"]["skipped"] == [{"id": stopped.id, "reason": "ended"}]
    assert blocks[0]["data"]["items"][0]["rule"]
    buyer = factory.user()
    login(buyer)
    r = client.post(f"/coupons/{t.id}/claim", data={"next": "/"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/")
    assert [i["claimed"] for i in api.get("/pages/home", user=buyer).json["blocks"][1]["data"]["items"]] == [1]
