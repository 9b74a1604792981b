"""MS7, MS14 in the consoles: the merchant adds a product with the form,
the platform reviews, lists, pins and deletes merchant products and
comments; menus per principal."""

from __future__ import annotations

from jishi.catalog.models import Product
from jishi.db import db
from jishi_multistore.models import ProductState
from sqlalchemy import func, select

from tests.plugins.multistore.test_comments_api import make_review


def _world(ms, factory):
    from jishi.catalog.service import save_tag

    cat = factory.category("茶叶")
    save_tag("春茶")
    m1, m2 = ms.merchant("一号店"), ms.merchant("二号店")
    return cat, m1, m2


def form(cat, **kw):
    data = {
        "action": "save",
        "name": "龙井",
        "subtitle": "",
        "category_id": str(cat.id),
        "tags": ["春茶"],
        "params": "产地: 杭州",
        "specs": "",
        "description": "",
        "images": "",
        "listing": "on_approval",
        "list_at": "",
        "sku_count": "1",
        "sku-0-price": "12.50",
        "sku-0-stock": "8",
        "sku-0-is_active": "1",
    }
    data.update(kw)
    return data


def test_merchant_adds_product_with_the_form_and_platform_approves(app, client, ms, factory, login):
    """MS7: the merchant console's form creates a pending product in a
    platform category; the platform's review queue approves it."""
    cat, m1, m2 = _world(ms, factory)
    login(ms.admin_of(m1))
    page = client.get("/merchant/products/new")
    assert page.status_code == 200 and "茶叶" in page.get_data(as_text=True) and "春茶" in page.get_data(as_text=True)
    resp = client.post("/merchant/products/new", data=form(cat))
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    p = db.session.execute(select(Product).where(Product.name == "龙井")).scalar_one()
    assert p.seller_id == m1.id and p.on_shelf is False and p.price == 1250
    assert db.session.get(ProductState, p.id).review_status == "pending"
    listing = client.get("/merchant/products?status=pending").get_data(as_text=True)
    assert "龙井" in listing
    assert "龙井" not in client.get("/merchant/products?status=approved").get_data(as_text=True)

    before = db.session.execute(select(func.count(Product.id))).scalar_one()
    bad = client.post("/merchant/products/new", data=form(cat, name="乌龙", tags=["自创"]))
    assert bad.status_code == 422 and "tags" in bad.get_data(as_text=True)
    assert db.session.execute(select(func.count(Product.id))).scalar_one() == before

    login(factory.admin())
    queue = client.get("/console/multistore/products/review").get_data(as_text=True)
    assert "龙井" in queue and "一号店" in queue
    assert client.post(f"/console/multistore/products/{p.id}/approve").status_code == 302
    db.session.expire_all()
    assert p.on_shelf is True and db.session.get(ProductState, p.id).review_status == "approved"
    assert "龙井" not in client.get("/console/multistore/products/review").get_data(as_text=True)


def test_platform_rejects_pins_lists_and_deletes(app, client, ms, factory, login):
    """MS7: reject with a reason (shown to the merchant), pin (first in the
    list), unlist and delete from the platform console; owner shown by name."""
    cat, m1, m2 = _world(ms, factory)
    a = ms.product(m1, name="甲茶")
    b = ms.product(m2, name="乙茶")
    c = ms.product(m1, name="丙茶", review_status="pending", on_shelf=False)
    login(factory.admin())
    assert client.post(f"/console/multistore/products/{c.id}/reject", data={"reason": ""}).status_code == 302
    assert db.session.get(ProductState, c.id).review_status == "pending"
    client.post(f"/console/multistore/products/{c.id}/reject", data={"reason": "信息不全"})
    db.session.expire_all()
    assert db.session.get(ProductState, c.id).review_status == "rejected"

    client.post(f"/console/multistore/products/{a.id}/pin", data={"pinned": "1"})
    html = client.get("/console/multistore/products").get_data(as_text=True)
    assert html.index("甲茶") < html.index("乙茶") and "一号店" in html and "二号店" in html
    only = client.get(f"/console/multistore/products?merchant_id={m2.id}").get_data(as_text=True)
    assert "乙茶" in only and "甲茶" not in only
    detail = client.get(f"/console/multistore/products/{a.id}").get_data(as_text=True)
    assert "一号店" in detail and "merchant-link" in detail

    client.post(f"/console/multistore/products/{b.id}/shelf", data={"on_shelf": "0"})
    db.session.expire_all()
    assert db.session.get(Product, b.id).on_shelf is False
    b_id = b.id  # the request deletes the row: the test's object is gone with it
    client.post(f"/console/multistore/products/{b_id}/delete")
    db.session.expire_all()
    assert db.session.get(Product, b_id) is None
    own = factory.product(name="自营茶")
    assert client.get(f"/console/multistore/products/{own.id}").status_code == 404
    assert client.post(f"/console/multistore/products/{own.id}/delete").status_code == 404

    login(ms.admin_of(m1))
    mine = client.get("/merchant/products?status=rejected").get_data(as_text=True)
    assert "丙茶" in mine and "信息不全" in mine
    assert client.get(f"/merchant/products/{b_id}").status_code == 404
    assert client.get(f"/merchant/products/{c.id}").status_code == 200
    client.post(f"/merchant/products/{a.id}/shelf", data={"on_shelf": "0"})
    db.session.expire_all()
    assert db.session.get(Product, a.id).on_shelf is False


def test_comments_pages(app, client, ms, factory, login):
    """MS14: the merchant's comments page shows its reviews only, with reply
    and delete; the platform's page filters by merchant and deletes."""
    cat, m1, m2 = _world(ms, factory)
    buyer = factory.user()
    r1 = make_review(buyer, ms.product(m1, name="甲茶"), "甲店不错")
    r2 = make_review(buyer, ms.product(m2, name="乙茶"), "乙店不错")
    clerk = ms.clerk(m1)
    login(clerk)
    html = client.get("/merchant/comments").get_data(as_text=True)
    assert "甲店不错" in html and "乙店不错" not in html
    client.post(f"/merchant/comments/{r1.id}/reply", data={"reply": "欢迎再来"})
    db.session.expire_all()
    assert r1.reply == "欢迎再来"
    assert client.post(f"/merchant/comments/{r2.id}/reply", data={"reply": "x"}).status_code == 404
    assert client.post(f"/merchant/comments/{r2.id}/delete").status_code == 404
    client.post(f"/merchant/comments/{r1.id}/delete")
    db.session.expire_all()
    assert r1.deleted_at is not None and r1.deleted_by == "seller"

    login(factory.admin())
    html = client.get(f"/console/multistore/comments?merchant_id={m2.id}").get_data(as_text=True)
    assert "乙店不错" in html and "甲店不错" not in html and "二号店" in html
    client.post(f"/console/multistore/comments/{r2.id}/delete")
    db.session.expire_all()
    assert r2.deleted_by == "platform"


def test_menus_per_principal(app, ms, factory, login, client):
    """MS7, MS14, MS17: menu entries shown per principal permissions."""
    from flask_login import login_user
    from jishi.web_helpers import console_menu

    m1 = ms.merchant("一号店")
    clerk = ms.clerk(m1)

    def endpoints(user, console):
        with app.test_request_context("/"):
            login_user(user)
            return {i.endpoint for i in console_menu(console)}

    admin_menu = endpoints(ms.admin_of(m1), "merchant")
    assert {"merchant.products", "merchant.comments"} <= admin_menu
    clerk_menu = endpoints(clerk, "merchant")
    assert "merchant.comments" in clerk_menu and "merchant.products" not in clerk_menu
    platform = endpoints(factory.admin(), "platform")
    assert {"multistore_admin.products", "multistore_admin.product_queue", "multistore_admin.comments"} <= platform
    login(clerk)
    assert client.get("/merchant/products").status_code == 403
    assert client.get("/merchant/comments").status_code == 200


def test_shop_page_shows_pinned_products_first(app, client, ms, factory):
    """MS7: the merchant's shop page shows its pinned on-sale products at the top."""
    from jishi_multistore import products

    m1 = ms.merchant("一号店")
    top = ms.product(m1, name="招牌茶")
    ms.product(m1, name="普通茶")
    products.set_pinned(top, True)
    html = client.get(f"/shops/{m1.id}").get_data(as_text=True)
    assert "shop-pinned" in html
    pinned = html[html.index("shop-pinned") :]
    pinned = pinned[: pinned.index("</section>")]
    assert "招牌茶" in pinned and "普通茶" not in pinned
