"""PR-DZ (issue 18) authorization: every route of the designer × {anonymous,
buyer, clerk of M1, admin of M1, admin of M2, platform admin} × {M1's shop
page, M2's shop page, the platform's home page}. Denied calls answer
401/403/404 (a page may redirect an anonymous visitor to the login page),
never data; allowed ones never 5xx. :func:`test_every_route_has_a_row`
fails for a route without a row.

``access``: ``public``; ``seller`` (staff holding ``settings``: merchant
admins on their own shop page, the platform admin on platform pages; clerks
hold no ``settings``); ``platform`` (platform staff only: custom pages,
templates, promotion slots); ``merchant`` (a merchant admin on its own shop
page: starting from a template).
Objects: ``page`` (a page id), ``block`` (``<page>/blocks/<block>``),
``revision`` (``<page>/rollback/<revision>``), ``slug`` (a published
page's address) of owners m1, m2 and ``shop`` (the platform); ``ad`` (a
promotion entry of a platform slot, linking to M1's product), ``slot``
(that slot), ``entry`` (``<slot>/entries/<entry>``) and ``template`` (a
platform template): the promotion and template consoles are the platform's.
"""

from __future__ import annotations

import pytest
from jishi.db import commit
from jishi.testing import authz, principals
from jishi.testing.authz import Row
from jishi_designer import service

from .helpers import published

pytestmark = pytest.mark.jishi_plugins("multistore", "designer")

PRINCIPALS = ("anonymous", "buyer", "clerk1", "admin1", "admin2", "platform")
OWNERS = ("m1", "m2", "shop")
BLUEPRINTS = ("designer", "designer_seller", "designer_api")
D = "/seller/designer"

ROWS = [
    Row("GET", "/p/{obj}", "public", obj="slug"),
    Row("GET", "/api/v1/pages/{obj}", "public", obj="slug"),
    Row("GET", "/p/ad/{obj}", "public", obj="ad", note="a promotion entry's counting redirect"),
    Row("GET", f"{D}/", "seller"),
    Row("POST", f"{D}/new", "platform", data={"slug": "", "title": ""}),
    Row("GET", f"{D}/{{obj}}", "seller", obj="page"),
    Row("POST", f"{D}/{{obj}}/blocks", "seller", obj="page", data={"type": "designer.spacer"}),
    Row("GET", f"{D}/{{obj}}", "seller", obj="block", note="block settings form"),
    Row("POST", f"{D}/{{obj}}", "seller", obj="block", data={"height": "20"}),
    Row("POST", f"{D}/{{obj}}/move", "seller", obj="block", data={"direction": "down"}),
    Row("POST", f"{D}/{{obj}}/delete", "seller", obj="block"),
    Row("GET", f"{D}/{{obj}}/preview", "seller", obj="page"),
    Row("POST", f"{D}/{{obj}}/publish", "seller", obj="page"),
    Row("POST", f"{D}/{{obj}}/schedule", "seller", obj="page", data={"at": "2099-01-01 10:00"}),
    Row("POST", f"{D}/{{obj}}/schedule/cancel", "seller", obj="page"),
    Row("GET", f"{D}/{{obj}}/history", "seller", obj="page"),
    Row("POST", f"{D}/{{obj}}", "seller", obj="revision", note="rollback"),
    Row("POST", f"{D}/{{obj}}/delete", "seller", obj="page"),
    Row("POST", f"{D}/{{obj}}/template", "platform", obj="page", data={"name": "T"}, note="platform pages only"),
    Row("POST", f"{D}/{{obj}}/from-template", "merchant", obj="page", data={"template": "0"}, note="shop pages"),
    Row("GET", f"{D}/promo", "platform"),
    Row("POST", f"{D}/promo", "platform", data={"code": "", "name": ""}),
    Row("GET", f"{D}/promo/{{obj}}", "platform", obj="slot"),
    Row("POST", f"{D}/promo/{{obj}}/entries", "platform", obj="slot", data={"image": ""}),
    Row("POST", f"{D}/promo/{{obj}}/toggle", "platform", obj="slot"),
    Row("POST", f"{D}/promo/{{obj}}/toggle", "platform", obj="entry", note="an entry: <slot>/entries/<entry>"),
    Row("GET", f"{D}/promo/{{obj}}", "platform", obj="entry", note="an entry's edit form"),
    Row("POST", f"{D}/promo/{{obj}}", "platform", obj="entry", data={"image": "/y.png"}, note="edit an entry"),
    Row("POST", f"{D}/promo/{{obj}}/delete", "platform", obj="entry", note="delete an entry (soft)"),
    Row("GET", f"{D}/templates", "platform"),
    Row("POST", f"{D}/templates/{{obj}}", "platform", obj="template", data={"name": "T2"}),
    Row("POST", f"{D}/templates/{{obj}}/delete", "platform", obj="template"),
]
# the block and rollback rows' real routes, for the every-route check
ROUTES = [
    *(r for r in ROWS if r.obj not in ("block", "revision", "entry")),
    Row("POST", f"{D}/promo/{{slot}}/entries/{{entry}}/toggle", "platform"),
    Row("GET", f"{D}/promo/{{slot}}/entries/{{entry}}", "platform"),
    Row("POST", f"{D}/promo/{{slot}}/entries/{{entry}}", "platform"),
    Row("POST", f"{D}/promo/{{slot}}/entries/{{entry}}/delete", "platform"),
    Row("GET", f"{D}/{{page}}/blocks/{{block}}", "seller"),
    Row("POST", f"{D}/{{page}}/blocks/{{block}}", "seller"),
    Row("POST", f"{D}/{{page}}/blocks/{{block}}/move", "seller"),
    Row("POST", f"{D}/{{page}}/blocks/{{block}}/delete", "seller"),
    Row("POST", f"{D}/{{page}}/rollback/{{revision}}", "seller"),
]


def expected_allowed(row: Row, who: str, owner: str | None) -> bool:
    if row.access == "public":
        return True
    if row.access == "platform":
        return who == "platform" and owner in (None, "shop")
    if row.access == "merchant":
        return (who, owner) in (("admin1", "m1"), ("admin2", "m2"))
    if row.access == "seller":
        if owner is None:
            return who in ("admin1", "admin2", "platform")
        return (who, owner) in (("admin1", "m1"), ("admin2", "m2"), ("platform", "shop"))
    raise AssertionError(row.access)


def build_world(factory) -> authz.World:
    """Each owner's published page with one spacer block (M1 and M2: their
    shop pages; the platform: its home page)."""
    who = principals.standard(factory, multistore=True)
    objects = {}
    for key in OWNERS:
        seller_id = who.merchant_id(key)
        page = published([("designer.spacer", {})], seller_id=seller_id)
        block = page.draft[0]["id"]
        rev = service.history(page)[0]
        objects[("page", key)] = page.id
        objects[("block", key)] = f"{page.id}/blocks/{block}"
        objects[("revision", key)] = f"{page.id}/rollback/{rev.id}"
        objects[("slug", key)] = page.slug if key != "shop" else "home"
    from jishi_designer import promo

    slot = promo.create_slot("authz", "Authz")
    product = factory.product(seller_id=who.merchant_id("m1"))
    ad = promo.add_entry(slot, {"image": "/x.png", "link": {"kind": "product", "value": str(product.id)}})
    objects[("ad", "shop")] = ad.id
    objects[("slot", "shop")] = slot.id
    objects[("entry", "shop")] = f"{slot.id}/entries/{ad.id}"
    home = service.owned_page(objects[("page", "shop")], None)
    objects[("template", "shop")] = service.save_template(home, "Authz", None).id
    commit()
    return authz.World(who.users, objects)


@pytest.mark.parametrize("row", ROWS, ids=authz.label)
def test_matrix(app, client, api, factory, row):
    """PR-DZ: who may call what, on their own and other sellers' pages."""
    world = build_world(factory)
    if row.obj in ("ad", "slot", "entry", "template"):
        owners = ("shop",)
    elif row.obj == "slug":
        # the home page's address is /, not /p/home
        owners = ("m1", "m2") if not row.is_api else OWNERS
    else:
        owners = OWNERS if row.obj else ("m1",)
    authz.assert_row(
        row,
        world,
        client=client,
        api=api,
        principals=PRINCIPALS,
        allowed=expected_allowed,
        owners=owners,
        check=authz.no_data_leaked,
    )


def test_every_route_has_a_row(app):
    """PR-DZ: a route of the plugin without a row above fails here."""
    authz.assert_every_route_has_a_row(app, ROUTES, blueprints=BLUEPRINTS)


def test_merchant_uses_only_its_own_products_and_shop_blocks(client, factory, ms, login):
    """PR-DZ: a merchant's shop page takes only the merchant's products (a hand
    pick or link to another's is refused naming the field; a rule list shows
    only its own); platform-only block types are not in its palette."""
    m1, m2 = ms.merchant(), ms.merchant()
    mine = factory.product(name="本店商品", seller_id=m1.id)
    theirs = factory.product(name="别家商品", seller_id=m2.id)
    page = service.shop_page(m1.id)
    block = service.add_block(page, "designer.products")
    from jishi_designer.schema import DesignError

    with pytest.raises(DesignError) as err:
        service.add_block(page, "designer.categories")  # platform pages only
    assert err.value.field == "type"
    link = {"kind": "product", "value": str(theirs.id)}
    nav = service.add_block(page, "designer.notice")
    with pytest.raises(DesignError) as err:
        service.update_block(page, nav["id"], {"text": "x", "link": link})
    assert err.value.field == "settings.link.value"
    service.update_block(page, block["id"], {"mode": "rule", "count": 10})
    service.remove_block(page, nav["id"])
    service.publish(page, None)
    html = client.get(f"/shops/{m1.id}").get_data(as_text=True)
    assert "本店商品" in html and "别家商品" not in html
    service.update_block(page, block["id"], {"mode": "hand", "products": [mine.id, theirs.id]})
    service.publish(page, None)
    html = client.get(f"/shops/{m1.id}").get_data(as_text=True)
    assert "本店商品" in html and "别家商品" not in html
