"""K4, K14: the catalog API — listing filters, search, keyset pagination,
product detail with member price, categories and tags."""

from __future__ import annotations

import base64
import json

import pytest
from jishi.accounts.models import MemberLevel
from jishi.catalog.models import Tag
from jishi.db import db


@pytest.fixture
def shop(factory):
    drinks = factory.category("饮品")
    tea = factory.category("茶", parent=drinks)
    green = factory.category("绿茶", parent=tea)
    other = factory.category("文具")
    t_new = Tag(name="新品")
    t_hot = Tag(name="热卖")
    db.session.add_all([t_new, t_hot])
    db.session.commit()
    p = {}
    p["longjing"] = factory.product("西湖龙井", price=8800, category=green, sales=30, subtitle="明前 特级")
    p["tieguanyin"] = factory.product("安溪铁观音", price=5600, category=tea, sales=30, subtitle="乌龙茶")
    p["coffee"] = factory.product("云南咖啡豆", price=5600, category=drinks, sales=5, seller_id=7)
    p["pen"] = factory.product("Pilot Pen", price=1200, category=other, sales=100)
    p["hidden"] = factory.product("下架的茶", price=100, category=tea, on_shelf=False)
    p["longjing"].tags = [t_new, t_hot]
    p["pen"].tags = [t_hot]
    from jishi.catalog.service import refresh_product

    refresh_product(p["longjing"])
    refresh_product(p["pen"])
    db.session.commit()
    return {
        "cat": {"drinks": drinks, "tea": tea, "green": green, "other": other},
        "tag": {"new": t_new, "hot": t_hot},
        "p": p,
    }


def names(resp):
    assert resp.status_code == 200, resp.json
    return [item["name"] for item in resp.json["items"]]


def test_listing_default_newest_hides_off_shelf(api, shop):
    """K4: newest first; off-shelf products are not listed."""
    resp = api.get("/products")
    assert names(resp) == ["Pilot Pen", "云南咖啡豆", "安溪铁观音", "西湖龙井"]
    assert resp.json["next_cursor"] is None
    item = resp.json["items"][0]
    assert item["price"] == 1200 and isinstance(item["price"], int)


def test_search_one_and_two_character_chinese(api, shop):
    """K4: keyword search finds 1- and 2-character Chinese terms (LIKE, not trigram)."""
    assert names(api.get("/products?q=茶")) == ["安溪铁观音"]  # subtitle 乌龙茶; off-shelf 下架的茶 hidden
    assert names(api.get("/products?q=龙井")) == ["西湖龙井"]
    assert names(api.get("/products?q=咖")) == ["云南咖啡豆"]
    assert names(api.get("/products?q=新品")) == ["西湖龙井"]
    assert names(api.get("/products?q=特级")) == ["西湖龙井"]
    assert names(api.get("/products?q=PILOT")) == ["Pilot Pen"]  # case-insensitive
    assert names(api.get("/products?q=西湖 龙")) == ["西湖龙井"]  # every term must match
    assert names(api.get("/products?q=%25")) == []  # LIKE wildcards are literal


def test_filters_category_subtree_tag_price_seller(api, shop):
    """K4: category filter includes descendants; tag, price range, merchant filters."""
    cat, tag = shop["cat"], shop["tag"]
    assert names(api.get(f"/products?category_id={cat['drinks'].id}")) == ["云南咖啡豆", "安溪铁观音", "西湖龙井"]
    assert names(api.get(f"/products?category_id={cat['tea'].id}")) == ["安溪铁观音", "西湖龙井"]
    assert names(api.get(f"/products?category_id={cat['green'].id}")) == ["西湖龙井"]
    assert names(api.get("/products?category_id=9999")) == []
    assert names(api.get(f"/products?tag_id={tag['hot'].id}")) == ["Pilot Pen", "西湖龙井"]
    assert names(api.get("/products?min_price=5600&max_price=6000")) == ["云南咖啡豆", "安溪铁观音"]
    assert names(api.get("/products?seller_id=7")) == ["云南咖啡豆"]


def test_sorting(api, shop):
    """K4: sort by price (both ways), sales, newest; ties broken by id."""
    assert names(api.get("/products?sort=price_asc")) == ["Pilot Pen", "安溪铁观音", "云南咖啡豆", "西湖龙井"]
    assert names(api.get("/products?sort=price_desc")) == ["西湖龙井", "云南咖啡豆", "安溪铁观音", "Pilot Pen"]
    assert names(api.get("/products?sort=sales")) == ["Pilot Pen", "安溪铁观音", "西湖龙井", "云南咖啡豆"]


@pytest.mark.parametrize("sort", ["newest", "price_asc", "price_desc", "sales"])
def test_keyset_pagination_walks_every_product_once(api, factory, sort):
    """K4, K14: following next_cursor visits every product exactly once, in
    order, with many ties on price and sales."""
    made = [factory.product(f"P{i}", price=100 * (i % 4), sales=i % 3) for i in range(23)]
    seen, cursor, pages = [], None, 0
    while True:
        path = f"/products?sort={sort}&limit=5" + (f"&cursor={cursor}" if cursor else "")
        resp = api.get(path)
        assert resp.status_code == 200, resp.json
        assert len(resp.json["items"]) <= 5
        seen += resp.json["items"]
        cursor = resp.json["next_cursor"]
        pages += 1
        if cursor is None:
            break
    assert pages == 5
    ids = [item["id"] for item in seen]
    assert sorted(ids) == sorted(p.id for p in made) and len(set(ids)) == len(ids)
    key = {
        "newest": lambda it: -it["id"],
        "price_asc": lambda it: (it["price"], it["id"]),
        "price_desc": lambda it: (-it["price"], -it["id"]),
        "sales": lambda it: (-it["sales"], -it["id"]),
    }[sort]
    assert seen == sorted(seen, key=key)


def test_bad_listing_input_names_the_field(api, shop, app):
    """K14: bad query input is a 422 naming the field."""
    for path, field in [
        ("/products?cursor=garbage!", "cursor"),
        ("/products?sort=cheapest", "sort"),
        (f"/products?limit={app.config['JISHI_MAX_PAGE_SIZE'] + 1}", "limit"),
        ("/products?limit=0", "limit"),
        ("/products?min_price=-1", "min_price"),
        ("/products?min_price=1.5", "min_price"),
        ("/products?category_id=abc", "category_id"),
    ]:
        resp = api.get(path)
        assert resp.status_code == 422, (path, resp.json)
        assert resp.json["field"] == field, (path, resp.json)
    # A cursor made for another sort order is refused too.
    cursor = api.get("/products?limit=1").json["next_cursor"]
    resp = api.get(f"/products?sort=price_asc&cursor={cursor}")
    assert resp.status_code == 422 and resp.json["field"] == "cursor"


def test_product_detail_and_member_price(api, factory, shop):
    """K4, K5: detail shows SKUs, specs, params, images, tags; buyers with a
    member level see the member price as their price."""
    admin = factory.admin()
    created = api.post(
        "/admin/products",
        user=admin,
        json={
            "name": "碧螺春",
            "category_id": shop["cat"]["green"].id,
            "tags": ["新品"],
            "images": ["/a.jpg", "/b.jpg"],
            "params": [{"name": "产地", "value": "苏州"}],
            "specs": [{"name": "规格", "values": ["50g", "100g"]}],
            "skus": [
                {"spec_values": {"规格": "50g"}, "price": 3000, "member_price": 2700, "stock": 5},
                {"spec_values": {"规格": "100g"}, "price": 5500, "stock": 2},
            ],
            "on_shelf": True,
        },
    )
    assert created.status_code == 201, created.json
    pid = created.json["id"]
    buyer = factory.user()
    member = factory.user()
    level = MemberLevel(name="金卡", rank=2)
    db.session.add(level)
    db.session.commit()
    member.member_level_id = level.id
    db.session.commit()

    body = api.get(f"/products/{pid}", user=buyer).json
    assert body["name"] == "碧螺春" and body["price"] == 3000 and body["stock"] == 7
    assert [i["url"] for i in body["images"]] == ["/a.jpg", "/b.jpg"]
    assert body["image"] == "/a.jpg"
    assert body["params"] == [{"name": "产地", "value": "苏州"}]
    assert body["specs"] == [{"name": "规格", "values": ["50g", "100g"]}]
    assert [t["name"] for t in body["tags"]] == ["新品"]
    assert body["category"]["name"] == "绿茶"
    by_spec = {s["spec_values"]["规格"]: s for s in body["skus"]}
    assert by_spec["50g"]["member_price"] == 2700
    assert by_spec["50g"]["your_price"] == 3000 and by_spec["50g"]["price_source"] == "base"

    body = api.get(f"/products/{pid}", user=member).json
    by_spec = {s["spec_values"]["规格"]: s for s in body["skus"]}
    assert by_spec["50g"]["your_price"] == 2700 and by_spec["50g"]["price_source"] == "member"
    assert by_spec["100g"]["your_price"] == 5500  # no member price set

    anon = api.get(f"/products/{pid}").json
    assert {s["your_price"] for s in anon["skus"]} == {3000, 5500}


def test_detail_404_for_missing_or_off_shelf(api, shop):
    """K4: an off-shelf product is not shown to buyers."""
    assert api.get(f"/products/{shop['p']['hidden'].id}").status_code == 404
    resp = api.get("/products/999999")
    assert resp.status_code == 404 and resp.json["code"] == "not_found"


def test_categories_tree_and_tags(api, shop):
    """K4: multi-level categories as a tree; tags listed."""
    tree = api.get("/categories").json["items"]
    drinks = next(c for c in tree if c["name"] == "饮品")
    assert drinks["children"][0]["name"] == "茶"
    assert drinks["children"][0]["children"][0]["name"] == "绿茶"
    assert {c["name"] for c in tree} == {"饮品", "文具"}
    assert [t["name"] for t in api.get("/tags").json["items"]] == ["新品", "热卖"]


def test_openapi_documents_catalog_schemas(client):
    """K14: the OpenAPI document describes the catalog endpoints and their schemas."""
    spec = client.get("/api/v1/openapi.json").json
    assert "/api/v1/products" in spec["paths"]
    params = {p["name"] for p in spec["paths"]["/api/v1/products"]["get"]["parameters"]}
    assert {"q", "category_id", "tag_id", "min_price", "max_price", "sort", "cursor", "limit"} <= params
    schemas = spec["components"]["schemas"]
    assert "CatalogProductDetail" in schemas and "CartView" in schemas and "AdminProductArgs" in schemas
    assert schemas["AdminSkuArgs"]["properties"]["price"]["type"] == "integer"


def test_huge_numbers_are_4xx_not_500(api, factory):
    """K14: ids and prices beyond the 32-bit columns answer 404/422, never a 500."""
    buyer = factory.user()
    big = 10**25
    assert api.get(f"/products/{big}").status_code == 404
    assert api.get(f"/addresses/{big}", user=buyer).status_code == 404
    assert api.patch(f"/cart/items/{big}", user=buyer, json={"quantity": 1}).status_code == 404
    for path, field in [(f"/products?category_id={big}", "category_id"), (f"/products?min_price={big}", "min_price")]:
        resp = api.get(path)
        assert resp.status_code == 422 and resp.json["field"] == field
    resp = api.post("/cart/items", user=buyer, json={"sku_id": big, "quantity": 1})
    assert resp.status_code == 422 and resp.json["field"] == "sku_id"
    cursor = base64.urlsafe_b64encode(json.dumps(["newest", big]).encode()).decode()
    assert api.get(f"/products?cursor={cursor}").json["field"] == "cursor"


def test_price_bounds_beyond_the_column_are_clamped(app, factory):
    """K4: the listing service never sends an out-of-range price to the database."""
    from jishi.catalog import service

    factory.product(name="茶", price=500)
    assert [r.name for r in service.list_products(max_price=10**11)[0]] == ["茶"]
    assert service.list_products(min_price=10**11) == ([], None)


def test_json_is_utf8_not_escaped(app, factory, api):
    """K14: Chinese text travels as UTF-8, not \\uXXXX escapes."""
    factory.product(name="龙井")
    resp = api.get("/products")
    assert "龙井".encode() in resp.data and b"\\u" not in resp.data
    assert resp.json["items"][0]["name"] == "龙井"
