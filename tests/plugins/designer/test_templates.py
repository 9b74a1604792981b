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


def test_templates_scoped_to_merchant_categories(client, factory, ms, login):
    """PR-DZ (issue 18, CRMEB 多商户): a template scoped to merchant categories
    is offered (editor list, apply) only to merchants of those categories;
    an unscoped one to every merchant; applying an out-of-scope template is
    403 and leaves the draft alone. The category comes through the kernel's
    ``seller_profiles`` (``SellerProfile.category``)."""
    from jishi.catalog.service import seller_profiles

    tea = ms.merchant("茶庄", category="茶叶")
    fruit = ms.merchant("果园", category="水果")
    home = page_with([("designer.spacer", {})])
    for_tea = service.save_template(home, "茶叶模板", None, "茶叶, 茶具")
    for_all = service.save_template(home, "通用模板", None, "")
    assert for_tea.categories == ["茶叶", "茶具"] and for_all.categories == []
    assert seller_profiles([tea.id])[tea.id].category == "茶叶"
    assert [t.name for t in service.templates(tea.id)] == ["通用模板", "茶叶模板"]
    assert [t.name for t in service.templates(fruit.id)] == ["通用模板"]
    assert len(service.templates(every=True)) == 2
    fruit_page = service.shop_page(fruit.id)
    with pytest.raises(DesignError) as err:
        service.apply_template(fruit_page, for_tea.id)
    assert err.value.status == 403 and err.value.field == "template"
    from jishi.accounts.models import User

    login(db.session.get(User, fruit.owner_id))
    editor = client.get(f"/seller/designer/{fruit_page.id}").get_data(as_text=True)
    assert "通用模板" in editor and "茶叶模板" not in editor
    before = fruit_page.draft_version
    resp = client.post(f"/seller/designer/{fruit_page.id}/from-template", data={"template": str(for_tea.id)})
    assert resp.status_code == 403
    db.session.refresh(fruit_page)
    assert fruit_page.draft_version == before
    tea_page = service.shop_page(tea.id)
    assert service.apply_template(tea_page, for_tea.id) == []
    with pytest.raises(DesignError) as err:
        service.save_template(home, "x", None, ["a" * 41])
    assert err.value.field == "categories"


def test_platform_edits_and_deletes_templates(client, factory, ms, login):
    """PR-DZ (issue 18): platform staff rename a template, rescope it and
    replace its blocks from a platform page's draft (validated like a
    publish: a bad draft is 422, nothing changed), and delete it; a
    merchant's copy made before stays as it was. Merchants cannot reach the
    template console (404)."""
    from jishi.testing import principals

    who = principals.standard(factory, multistore=True)
    home = page_with([("designer.spacer", {})])
    other = page_with([("designer.notice", {"text": "新公告"})], slug="promo-page")
    tpl = service.save_template(home, "旧名", None)
    tid = tpl.id
    shop = service.shop_page(who.merchant_id("m1"))
    service.apply_template(shop, tpl.id)
    login(who.users["admin1"])
    assert client.get("/seller/designer/templates").status_code == 404
    assert client.post(f"/seller/designer/templates/{tpl.id}/delete").status_code == 404
    login(who.users["platform"])
    page = client.get("/seller/designer/templates").get_data(as_text=True)
    assert "旧名" in page and f'data-template="{tpl.id}"' in page
    url = f"/seller/designer/templates/{tpl.id}"
    assert client.post(url, data={"name": ""}).status_code == 422
    broken = page_with([("designer.notice", {"text": "ok"})], slug="broken")
    broken.draft[0]["settings"]["text"] = ""  # a required setting emptied behind the editor's back
    from sqlalchemy.orm.attributes import flag_modified

    flag_modified(broken, "draft")
    db.session.commit()
    assert client.post(url, data={"name": "新名", "page": str(broken.id)}).status_code == 422
    db.session.expire_all()
    same = db.session.get(DesignTemplate, tpl.id)
    assert same.name == "旧名" and [b["type"] for b in same.blocks] == ["designer.spacer"]
    resp = client.post(url, data={"name": "新名", "categories": "茶叶\n水果", "page": str(other.id)})
    assert resp.status_code == 302
    db.session.expire_all()
    changed = db.session.get(DesignTemplate, tpl.id)
    assert changed.name == "新名" and changed.categories == ["茶叶", "水果"] and changed.updated_at is not None
    assert [b["type"] for b in changed.blocks] == ["designer.notice"]
    assert client.post(url, data={"name": "x", "page": str(shop.id)}).status_code == 404  # not a platform page
    assert client.post(f"{url}/delete").status_code == 302
    db.session.expire_all()
    assert db.session.get(DesignTemplate, tid) is None
    assert client.post(f"{url}/delete").status_code == 404
    db.session.refresh(shop)
    assert [b["type"] for b in shop.draft] == ["designer.spacer"]
