"""Issue 18 (points and distribution entrances when enabled): the
promoter-centre entrance, a block of the page designer linking to 推广中心;
offered only while distribution is enabled, on platform pages only."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.jishi_plugins("distribution", "designer")


def test_entrance_links_to_the_promoter_centre(client, api):
    """Issue 18: the entrance shows its text and links to /distribution."""
    from jishi_designer import service as designer

    page = designer.home_page()
    block = designer.add_block(page, "distribution.entrance")
    designer.update_block(page, block["id"], {"title": "赚佣金", "text": "分享即得"})
    designer.publish(page, None)
    html = client.get("/").get_data(as_text=True)
    assert "赚佣金" in html and "分享即得" in html and 'href="/distribution"' in html
    [doc] = api.get("/pages/home").json["blocks"]
    assert doc["type"] == "distribution.entrance" and doc["settings"]["title"] == "赚佣金"


def test_entrance_is_platform_only_and_needs_the_plugin(app):
    """Issue 18: not on a merchant's shop page."""
    from jishi_designer import service as designer
    from jishi_designer.schema import DesignError

    with pytest.raises(DesignError):
        designer.add_block(designer.shop_page(7), "distribution.entrance")


@pytest.mark.jishi_plugins("designer")
def test_not_offered_without_distribution(app):
    """Issue 18: without the distribution plugin there is no such block."""
    from jishi_designer import service as designer

    assert "distribution.entrance" not in designer.block_types()
