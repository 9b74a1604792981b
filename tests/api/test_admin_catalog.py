"""K4, K5, K15: the platform's catalog and user administration API —
permissions, product editor validation, shelf and stock, categories, tags,
roles and member levels."""

from __future__ import annotations

import pytest
from jishi.catalog.models import Category, Product, Sku
from jishi.db import db

PRODUCT = {
    "name": "龙井礼盒",
    "subtitle": "明前",
    "tags": ["礼盒"],
    "images": ["/x.jpg"],
    "params": [{"name": "产地", "value": "杭州"}],
    "specs": [{"name": "重量", "values": ["100g", "250g"]}],
    "skus": [
        {"spec_values": {"重量": "100g"}, "price": 9900, "original_price": 12900, "stock": 10, "code": "LJ100"},
        {"spec_values": {"重量": "250g"}, "price": 19900, "member_price": 18900, "stock": 4},
    ],
    "on_shelf": True,
}


@pytest.fixture
def admin(factory):
    return factory.admin()


@pytest.fixture
def staff(factory):
    return factory.user(role="platform_staff")


def test_permissions(api, factory, admin, staff):
    """K15: anonymous 401, buyers 403; staff run the catalog; only admins manage users."""
    buyer = factory.user()
    for method, path in [
        ("get", "/admin/products"),
        ("post", "/admin/categories"),
        ("get", "/admin/users"),
        ("get", "/admin/member-levels"),
    ]:
        anon = getattr(api, method)(path, json={} if method == "post" else None)
        assert anon.status_code == 401, (path, anon.json)
        assert getattr(api, method)(path, user=buyer, json={} if method == "post" else None).status_code == 403, path
    assert api.get("/admin/products", user=staff).status_code == 200
    assert api.post("/admin/products", user=staff, json=PRODUCT).status_code == 201
    assert api.get("/admin/users", user=staff).status_code == 403
    assert api.get("/admin/users", user=admin).status_code == 200
    assert db.session.execute(db.select(Product)).scalars().all()[0].name == "龙井礼盒"


def test_create_product(api, admin):
    """K4: a product with specs, SKUs, params, images and tags; listing price is
    the lowest SKU price; search text includes tags."""
    resp = api.post("/admin/products", user=admin, json=PRODUCT)
    assert resp.status_code == 201, resp.json
    body = resp.json
    assert body["price"] == 9900 and body["original_price"] == 12900 and body["stock"] == 14
    assert [s["spec_values"] for s in body["skus"]] == [{"重量": "100g"}, {"重量": "250g"}]
    assert body["skus"][1]["member_price"] == 18900
    assert body["specs"] == [{"name": "重量", "values": ["100g", "250g"]}]
    assert api.get("/products?q=礼盒").json["items"][0]["id"] == body["id"]
    assert api.get("/products?q=礼").json["items"][0]["id"] == body["id"]


@pytest.mark.parametrize(
    "change, field",
    [
        ({"skus": [{"spec_values": {"重量": "100g"}, "price": -1}]}, "skus.0.price"),
        ({"skus": [{"spec_values": {"重量": "100g"}, "price": 12.5}]}, "skus.0.price"),
        ({"skus": [{"spec_values": {"重量": "100g"}, "price": "100"}]}, "skus.0.price"),
        ({"skus": [{"spec_values": {"重量": "100g"}, "price": 100, "member_price": -5}]}, "skus.0.member_price"),
        ({"skus": [{"spec_values": {"重量": "100g"}, "price": 100, "stock": -1}]}, "skus.0.stock"),
        ({"skus": []}, "skus"),
        ({"skus": [{"spec_values": {"重量": "1kg"}, "price": 100}]}, "skus.0.spec_values"),
        ({"skus": [{"spec_values": {}, "price": 100}]}, "skus.0.spec_values"),
        (
            {"skus": [{"spec_values": {"重量": "100g"}, "price": 1}, {"spec_values": {"重量": "100g"}, "price": 2}]},
            "skus.1.spec_values",
        ),
        (
            {"specs": [{"name": "重量", "values": ["a", "a"]}], "skus": [{"spec_values": {"重量": "a"}, "price": 1}]},
            "specs.0.values",
        ),
        ({"name": ""}, "name"),
        ({"category_id": 999}, "category_id"),
        ({"on_shelf": "yes"}, "on_shelf"),
    ],
)
def test_product_validation_names_the_field(api, admin, change, field):
    """K4, K14: bad product input is a 422 naming the field; nothing is written."""
    resp = api.post("/admin/products", user=admin, json={**PRODUCT, **change})
    assert resp.status_code == 422, resp.json
    assert resp.json["field"] == field, resp.json
    assert db.session.execute(db.select(Product)).first() is None
    assert db.session.execute(db.select(Sku)).first() is None


def test_update_product_skus_and_shelf(api, admin):
    """K4: editing keeps SKU ids, adds new SKUs, deactivates dropped ones;
    shelf on/off hides the product from buyers."""
    body = api.post("/admin/products", user=admin, json=PRODUCT).json
    pid, (s1, s2) = body["id"], body["skus"]
    resp = api.patch(
        f"/admin/products/{pid}",
        user=admin,
        json={
            "specs": [{"name": "重量", "values": ["100g", "500g"]}],
            "skus": [
                {"id": s1["id"], "spec_values": {"重量": "100g"}, "price": 8800, "stock": 3},
                {"spec_values": {"重量": "500g"}, "price": 30000, "stock": 1},
            ],
            "tags": ["特价"],
        },
    )
    assert resp.status_code == 200, resp.json
    skus = {s["id"]: s for s in resp.json["skus"]}
    assert skus[s1["id"]]["price"] == 8800 and skus[s1["id"]]["is_active"] is True
    assert skus[s2["id"]]["is_active"] is False
    assert resp.json["price"] == 8800 and resp.json["name"] == "龙井礼盒"
    buyer_view = api.get(f"/products/{pid}").json
    assert len(buyer_view["skus"]) == 2 and s2["id"] not in {s["id"] for s in buyer_view["skus"]}
    assert api.get("/products?q=特价").json["items"][0]["id"] == pid
    assert api.get("/products?q=礼盒").json["items"][0]["id"] == pid  # name still matches
    assert api.get("/products?q=龙井礼盒 礼").json["items"]

    # A SKU id of another product is refused.
    other = api.post("/admin/products", user=admin, json=PRODUCT).json
    bad = api.patch(
        f"/admin/products/{pid}",
        user=admin,
        json={"skus": [{"id": other["skus"][0]["id"], "spec_values": {"重量": "100g"}, "price": 1}]},
    )
    assert bad.status_code == 422 and bad.json["field"] == "skus.0.id"

    off = api.post(f"/admin/products/{pid}/shelf", user=admin, json={"on_shelf": False})
    assert off.status_code == 200 and off.json["on_shelf"] is False
    assert api.get(f"/products/{pid}").status_code == 404
    assert api.get(f"/admin/products/{pid}", user=admin).status_code == 200
    listed = api.get("/admin/products?on_shelf=false", user=admin).json["items"]
    assert [p["id"] for p in listed] == [pid]
    assert len(api.get("/admin/products", user=admin).json["items"]) == 2


def test_set_stock(api, admin, factory):
    """K4: platform sets a SKU's stock; negative or fractional stock is a 422."""
    p = factory.product(stock=5)
    sku_id = p.skus[0].id
    resp = api.put(f"/admin/skus/{sku_id}/stock", user=admin, json={"stock": 42})
    assert resp.status_code == 200 and resp.json["stock"] == 42
    db.session.expire_all()
    assert db.session.get(Sku, sku_id).stock == 42
    for bad in (-1, 1.5, "3"):
        r = api.put(f"/admin/skus/{sku_id}/stock", user=admin, json={"stock": bad})
        assert r.status_code == 422 and r.json["field"] == "stock"
    assert api.put("/admin/skus/9999/stock", user=admin, json={"stock": 1}).status_code == 404


def test_delete_product(api, admin, factory):
    """K4: a product without orders can be deleted."""
    pid = factory.product().id
    assert api.delete(f"/admin/products/{pid}", user=admin).status_code == 204
    assert api.get(f"/admin/products/{pid}", user=admin).status_code == 404


def test_categories_crud_and_move(api, admin, factory):
    """K4: multi-level categories; moving one moves its subtree; a category
    with children or products cannot be deleted."""
    food = api.post("/admin/categories", user=admin, json={"name": "食品"}).json
    tea = api.post("/admin/categories", user=admin, json={"name": "茶", "parent_id": food["id"]}).json
    green = api.post("/admin/categories", user=admin, json={"name": "绿茶", "parent_id": tea["id"]}).json
    drinks = api.post("/admin/categories", user=admin, json={"name": "饮品"}).json
    p = factory.product("龙井", category=db.session.get(Category, green["id"]))

    resp = api.patch(f"/admin/categories/{tea['id']}", user=admin, json={"parent_id": drinks["id"]})
    assert resp.status_code == 200 and resp.json["parent_id"] == drinks["id"]
    db.session.expire_all()
    assert db.session.get(Category, green["id"]).path == f"/{drinks['id']}/{tea['id']}/{green['id']}/"
    assert [i["id"] for i in api.get(f"/products?category_id={drinks['id']}").json["items"]] == [p.id]
    assert api.get(f"/products?category_id={food['id']}").json["items"] == []

    loop = api.patch(f"/admin/categories/{tea['id']}", user=admin, json={"parent_id": green["id"]})
    assert loop.status_code == 422 and loop.json["field"] == "parent_id"
    assert api.delete(f"/admin/categories/{tea['id']}", user=admin).status_code == 409
    assert api.delete(f"/admin/categories/{green['id']}", user=admin).status_code == 409
    assert api.delete(f"/admin/categories/{food['id']}", user=admin).status_code == 204
    tree = api.get("/admin/categories", user=admin).json["items"]
    assert [c["name"] for c in tree] == ["饮品"]
    bad = api.post("/admin/categories", user=admin, json={"name": "x", "parent_id": 999})
    assert bad.status_code == 422 and bad.json["field"] == "parent_id"


def test_tags_crud(api, admin):
    """K4: tags; names are unique."""
    t = api.post("/admin/tags", user=admin, json={"name": "新品"}).json
    dup = api.post("/admin/tags", user=admin, json={"name": "新品"})
    assert dup.status_code == 409 and dup.json["field"] == "name"
    assert api.patch(f"/admin/tags/{t['id']}", user=admin, json={"name": "上新"}).json["name"] == "上新"
    assert [x["name"] for x in api.get("/tags").json["items"]] == ["上新"]
    assert api.delete(f"/admin/tags/{t['id']}", user=admin).status_code == 204
    assert api.get("/admin/tags", user=admin).json["items"] == []


def test_users_roles_and_member_levels(api, admin, factory):
    """K5, K15: platform admins list users, set roles and member levels."""
    buyer = factory.user(phone="13911112222")
    lvl = api.post("/admin/member-levels", user=admin, json={"name": "金卡", "rank": 3})
    assert lvl.status_code == 201, lvl.json
    level_id = lvl.json["id"]
    assert api.post("/admin/member-levels", user=admin, json={"name": "x", "rank": 1.5}).json["field"] == "rank"

    resp = api.patch(f"/admin/users/{buyer.id}", user=admin, json={"member_level_id": level_id})
    assert resp.status_code == 200 and resp.json["member_level"]["name"] == "金卡"
    assert api.get("/me", user=buyer).json["member_level"]["id"] == level_id
    assert api.delete(f"/admin/member-levels/{level_id}", user=admin).status_code == 409
    bad = api.patch(f"/admin/users/{buyer.id}", user=admin, json={"member_level_id": 999})
    assert bad.status_code == 422 and bad.json["field"] == "member_level_id"
    bad = api.patch(f"/admin/users/{buyer.id}", user=admin, json={"role": "king"})
    assert bad.status_code == 422 and bad.json["field"] == "role"
    self_demote = api.patch(f"/admin/users/{admin.id}", user=admin, json={"role": "buyer"})
    assert self_demote.status_code == 422

    found = api.get("/admin/users?q=1111222", user=admin).json["items"]
    assert [u["id"] for u in found] == [buyer.id]
    page = api.get("/admin/users?limit=1", user=admin).json
    assert len(page["items"]) == 1 and page["next_after_id"]
    rest = api.get(f"/admin/users?after_id={page['next_after_id']}", user=admin).json["items"]
    assert {u["id"] for u in rest} | {page["items"][0]["id"]} == {admin.id, buyer.id}

    resp = api.patch(f"/admin/users/{buyer.id}", user=admin, json={"role": "platform_staff", "member_level_id": None})
    assert resp.json["role"] == "platform_staff" and resp.json["member_level"] is None
    assert api.get("/admin/member-levels", user=admin).json["items"][0]["name"] == "金卡"
    assert api.patch(f"/admin/member-levels/{level_id}", user=admin, json={"name": "白金"}).json["name"] == "白金"
    assert api.delete(f"/admin/member-levels/{level_id}", user=admin).status_code == 204
