"""Issue 13 D: the storefront product page (HTML) costs at most six SQL
statements, none repeated, counted per real request (each request in a
fresh app context, ``jishi.testing.ServedClient``), with no plugin and with
every first-party plugin enabled and contributing (a running flash sale, a
group buy with an open group, claimable coupons, a merchant's product); each
plugin's rows come in the one statement of ``product_page_loaders``."""

from __future__ import annotations

from datetime import timedelta

import pytest
from jishi.catalog.models import ProductImage, ProductParam, ProductSpec, Tag
from jishi.db import db, utcnow
from jishi.testing.principals import sign_in_form

from .coupons import helpers as cp
from .flashsale import helpers as fs
from .groupbuy import helpers as gb

ALL = (
    "multistore",
    "delivery_express",
    "pickup",
    "delivery_local",
    "coupons",
    "groupbuy",
    "flashsale",
    "shopping_options",
    "favorites",
    "footprints",
)
BUDGET = 6


def _rich_product(factory, **kw):
    """Two variants, images, parameters, specs, tags and two reviews, the
    older with two pictures (K11 晒图)."""
    from jishi import media
    from jishi.reviews.models import Review

    p = factory.product(
        name="龙井",
        skus=[
            {"price": 1000, "stock": 5, "spec_values": {"规格": "小"}},
            {"price": 2000, "stock": 0, "spec_values": {"规格": "大"}},
        ],
        **kw,
    )
    db.session.add_all(
        [
            ProductImage(product_id=p.id, url="/static/a.jpg", sort=1),
            ProductImage(product_id=p.id, url="/static/b.jpg", sort=0),
            ProductParam(product_id=p.id, name="产地", value="杭州", sort=0),
            ProductSpec(product_id=p.id, name="规格", values=["小", "大"], sort=0),
        ]
    )
    p.tags.append(Tag(name="明前茶"))
    db.session.commit()
    buyer = factory.user(name="评价人")
    owner = media.buyer_owner(buyer.id)
    shots = [media.upload(factory.image_bytes("PNG", color=(c, 80, 80)), owner) for c in (10, 20)]
    images = [{"id": a.id, "files": a.files} for a in shots]
    for i, (rating, text) in enumerate(((5, "好茶"), (4, "不错"))):
        line = factory.received_line(buyer, p)
        pics = images if i == 0 else []
        db.session.add(
            Review(
                order_line_id=line.id,
                product_id=p.id,
                user_id=buyer.id,
                rating=rating,
                content=text,
                images=pics,
                image_count=len(pics),
            )
        )
    db.session.commit()
    return p


def _count(queries, client, url):
    browser = {"User-Agent": "Mozilla/5.0 (iPhone)"}  # a visitor the reports count (issue 19)
    client.get(url, headers=browser)  # a first request may read what a process caches
    with queries() as q:
        resp = client.get(url, headers=browser)
    assert resp.status_code == 200, resp.status_code
    return q, resp.get_data(as_text=True)


def _assert_budget(q):
    assert q.count <= BUDGET, "\n".join(s[:200] for s in q.statements)
    assert not q.duplicates(), q.duplicates()


def _kernel_parts(page):
    for text in ("龙井", "明前茶", "产地", "杭州", "/static/b.jpg", "好茶", "不错", "4.5", "有图 (1)"):
        assert text in page, text
    assert page.count("-200.webp") == 2  # the review's two thumbnails


def test_product_page_without_plugins(app, client, factory, queries):
    """D/K4/K11: no plugin: the product, its SKUs, images, params, specs,
    tags, reviews with their pictures and rating in three statements (the
    settings come from the process's copy, issue 20: four before); the same
    with the "with pictures" (有图) filter and for a product without any of
    it. The visit is buffered and written in batches off the request (issue
    19): no statement here."""
    p = _rich_product(factory)
    q, page = _count(queries, client, f"/product/{p.id}")
    _assert_budget(q)
    assert q.count == 3, q.statements
    _kernel_parts(page)
    q, page = _count(queries, client, f"/product/{p.id}?pictures=1")  # 有图: the filter costs nothing more
    assert q.count == 3 and not q.duplicates(), q.statements
    assert "好茶" in page and "不错" not in page and page.count("-200.webp") == 2
    plain = factory.product(name="白开水")
    q, _page = _count(queries, client, f"/product/{plain.id}")
    assert q.count == 3 and not q.duplicates(), q.statements
    sign_in_form(client, factory.user())
    q, _page = _count(queries, client, f"/product/{p.id}")
    _assert_budget(q)


def _every_plugin_product(factory, ms):
    """A merchant's rich product with something of every plugin: a running
    flash sale (500 fen, 7 units), a group buy with an open group, a
    claimable coupon template, a shopping options limit. Returns
    ``(product, coupon template)``."""
    merchant = ms.merchant("茶庄")
    p = _rich_product(factory, seller_id=merchant.id)
    from jishi_multistore.models import ProductState

    db.session.add(ProductState(product_id=p.id, merchant_id=merchant.id, review_status="approved"))
    db.session.commit()
    fs.activity(p, stock=7, price=500)
    act = gb.activity(p, size=3, price=800)
    from jishi_groupbuy.models import Group

    starter = factory.user()
    db.session.add(
        Group(
            activity_id=act.id,
            seller_id=merchant.id,
            token="opengroup1",
            leader_id=starter.id,
            state="forming",
            size=3,
            seats=1,
            paid=1,
            opened_at=utcnow(),
            expires_at=utcnow() + timedelta(minutes=30),
        )
    )
    db.session.commit()
    template = cp.template(name="满10减1", threshold=1000, amount=100)
    from jishi_shopping_options import service as shopping_options

    shopping_options.save(p, {"max_per_buyer": 2})  # 限购 2 件 (issue 18)
    db.session.commit()
    return p, template


@pytest.mark.jishi_plugins(*ALL)
def test_product_page_with_every_plugin(app, client, factory, queries, ms):
    """D: every first-party plugin enabled, each with something to show on a
    merchant's product (a running flash sale, a group buy with an open
    group, a claimable coupon): still at most six statements, none repeated,
    for a visitor and for a signed-in buyer holding the coupon; each plugin's
    rows come in the one loaders statement (no statement of its own)."""
    p, template = _every_plugin_product(factory, ms)
    url = f"/product/{p.id}"

    q, page = _count(queries, client, url)
    _assert_budget(q)
    assert q.count == 3, q.statements  # as with no plugin
    _kernel_parts(page)
    assert "flashsale-box" in page and "groupbuy-box" in page and "满10减1" in page and "茶庄" in page
    assert "groupbuy/groups/opengroup1" in page  # the open group
    assert "data-shopping-options" in page
    loaders = [s for s in q.statements if "json_" in s]
    assert len(loaders) == 1
    for table in ("flashsale_", "groupbuy_", "coupon_templates", "shopping_options_"):
        assert not [s for s in q.statements if table in s and s not in loaders], (table, q.statements)

    buyer = factory.user()
    cp.give(buyer, template)
    sign_in_form(client, buyer)
    q, page = _count(queries, client, url)
    _assert_budget(q)
    assert "flashsale-box" in page and "groupbuy-box" in page and "满10减1" in page


@pytest.mark.jishi_plugins(*ALL)
def test_product_page_with_every_plugin_and_nothing_to_show(app, client, factory, queries):
    """D: every plugin enabled, none with anything for this product of the shop's own."""
    p = _rich_product(factory)
    q, page = _count(queries, client, f"/product/{p.id}")
    _assert_budget(q)
    _kernel_parts(page)
    assert "flashsale-box" not in page and "groupbuy-box" not in page


@pytest.mark.jishi_plugins(*ALL)
def test_product_detail_api_with_every_plugin(app, client, factory, queries, ms):
    """Issue 20: the API's product detail with every first-party plugin
    enabled and contributing costs three statements for a signed-in buyer
    (the token, the product with its category and SKUs, ONE statement for
    its lists and every plugin's ``product_page_loaders`` rows; the
    settings come from the process's copy: four before), two for a
    visitor, none repeated: the flash price, the
    merchant's profile, its review state and the shopping options come
    from the loaders' rows (``jishi.catalog.service.product_loaded``)."""
    from jishi.testing import factories

    p, _template = _every_plugin_product(factory, ms)
    buyer = factory.user()
    auth = {"Authorization": f"Bearer {factories.token(buyer)}"}
    url = f"/api/v1/products/{p.id}"
    for headers, budget in ((auth, 3), ({}, 2)):
        client.get(url, headers=headers)
        with queries() as q:
            resp = client.get(url, headers=headers)
        assert resp.status_code == 200, resp.get_json()
        assert q.count == budget, q.statements
        assert not q.duplicates(), q.duplicates()
        for table in ("flashsale_", "multistore_", "shopping_options_"):  # no read of a plugin's own
            assert not [s for s in q.statements if s.lstrip().startswith(f"SELECT {table}")], (table, q.statements)
        data = resp.get_json()
        small, big = data["skus"]  # the sold-out variant is still listed
        assert (small["your_price"], small["price_source"]) == (500, "flashsale")
        assert data["seller"]["name"] == "茶庄" and data["purchasable"] is True
        assert [t["name"] for t in data["tags"]] == ["明前茶"] and len(data["images"]) == 2
