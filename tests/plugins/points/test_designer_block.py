"""Issue 18 (points and distribution entrances when enabled): the points
entrance, a block of the page designer: links to 积分中心, 签到 and 积分商城
(each switchable), the signed-in buyer's balance; offered only while the
points plugin is enabled, and on platform pages only."""

from __future__ import annotations

import pytest
from jishi.db import commit

pytestmark = pytest.mark.jishi_plugins("points", "designer")


def _home(blocks):
    from jishi_designer import service as designer

    page = designer.home_page()
    for code, settings in blocks:
        block = designer.add_block(page, code)
        designer.update_block(page, block["id"], {**block["settings"], **settings})
    designer.publish(page, None)
    return page


def test_entrance_links_and_balance(client, api, factory, login):
    """Issue 18: the entrance links to the centre, sign-in and mall; the
    mall link can be switched off; a buyer sees their balance, a visitor none."""
    from jishi_points import service

    buyer = factory.user()
    service.adjust(buyer.id, 321, "补偿")
    commit()
    _home([("points.entrance", {"title": "积分乐园", "exchange": False})])
    html = client.get("/").get_data(as_text=True)
    assert "积分乐园" in html and "/account/points" in html and "/account/points/signin" in html
    # (the balance by its element: a block's random id may hold "321")
    assert "/points/exchange" not in html and 'class="points-balance"' not in html
    login(buyer)
    assert '<small class="points-balance">321 ' in client.get("/").get_data(as_text=True)
    block = api.get("/pages/home", user=buyer).json["blocks"][0]
    assert block["type"] == "points.entrance" and block["data"] == {"balance": 321}
    login(None)
    assert api.get("/pages/home").json["blocks"][0]["data"] == {"balance": None}


def test_entrance_is_platform_only(app):
    """Issue 18: a merchant's shop page cannot hold the points entrance."""
    from jishi_designer import service as designer
    from jishi_designer.schema import DesignError

    page = designer.shop_page(7)
    with pytest.raises(DesignError):
        designer.add_block(page, "points.entrance")


@pytest.mark.jishi_plugins("designer")
def test_not_offered_without_points(app):
    """Issue 18: without the points plugin there is no points entrance."""
    from jishi_designer import service as designer

    assert "points.entrance" not in designer.block_types()
