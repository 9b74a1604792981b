"""PR-DZ (issue 18, CRMEB 多商户 platform templates): the platform saves a
page as a template; a merchant starts its shop page from it and edits its
own copy: platform-only blocks left out, hand-picked products of others
turned into a rule list of the merchant's own, foreign links dropped; the
template and the platform page are untouched by the merchant's edits."""

from __future__ import annotations

import pytest
from jishi.db import db
from jishi_designer import service
from jishi_designer.models import DesignTemplate
from jishi_designer.schema import DesignError
from sqlalchemy import select

from .helpers import page_with

pytestmark = pytest.mark.jishi_plugins("multistore", "designer")


def test_merchant_starts_from_a_platform_template(client, factory, ms, login):
    """PR-DZ: template saved from the platform's draft; the merchant's copy keeps
    what fits, scopes product lists to its shop, and publishes as its own."""
    m1, m2 = ms.merchant(), ms.merchant()
    mine = ms.product(m1, name="本店好茶")
    theirs = ms.product(m2, name="别家好茶")
    home = page_with(
        [
            ("designer.notice", {"text": "欢迎光临", "link": {"kind": "product", "value": str(theirs.id)}}),
            ("designer.categories", {}),
            ("designer.products", {"mode": "hand", "products": [theirs.id], "title": "精选"}),
        ]
    )
    tpl = service.save_template(home, "茶店模板", None)
    assert [b["type"] for b in tpl.blocks] == ["designer.notice", "designer.categories", "designer.products"]
    with pytest.raises(DesignError) as err:
        service.save_template(service.shop_page(m1.id), "x", None)
    assert err.value.status == 403
    shop = service.shop_page(m1.id)
    left_out = service.apply_template(shop, tpl.id)
    assert len(left_out) == 1  # the category list: platform pages only
    notice, products = shop.draft
    assert notice["settings"]["text"] == "欢迎光临" and not notice["settings"].get("link")
    assert products["settings"]["mode"] == "rule" and products["settings"]["title"] == "精选"
    service.update_block(shop, notice["id"], {"text": "本店公告"})
    service.publish(shop, None)
    html = client.get(f"/shops/{m1.id}").get_data(as_text=True)
    assert "本店公告" in html and "本店好茶" in html and "别家好茶" not in html
    db.session.expire_all()
    assert db.session.scalars(select(DesignTemplate)).one().blocks[0]["settings"]["text"] == "欢迎光临"
    assert mine.id != theirs.id


def test_console_save_and_apply(client, factory, ms, login):
    """PR-DZ: the console's forms: platform staff save a template (a name is
    required, 422 naming it); a merchant admin applies it to its shop page."""
    from jishi.testing import principals

    who = principals.standard(factory, multistore=True)
    home = page_with([("designer.spacer", {})])
    login(who.users["platform"])
    resp = client.post(f"/seller/designer/{home.id}/template", data={"name": ""})
    assert resp.status_code == 422
    assert client.post(f"/seller/designer/{home.id}/template", data={"name": "简洁"}).status_code == 302
    tpl = db.session.scalars(select(DesignTemplate)).one()
    shop = service.shop_page(who.merchant_id("m1"))
    login(who.users["admin1"])
    assert "简洁" in client.get(f"/seller/designer/{shop.id}").get_data(as_text=True)
    resp = client.post(f"/seller/designer/{shop.id}/from-template", data={"template": str(tpl.id)})
    assert resp.status_code == 302
    db.session.refresh(shop)
    assert [b["type"] for b in shop.draft] == ["designer.spacer"]
    assert client.post(f"/seller/designer/{shop.id}/from-template", data={"template": "999"}).status_code == 422
