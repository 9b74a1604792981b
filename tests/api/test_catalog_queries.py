"""K4, K6, K14: query budgets, counting every SQL statement of the request,
the bearer-token lookup (ApiToken joined to User) included.

- GET /products: at most 4 statements whatever the page size, none repeated
  (in fact 2: the category subtree's ids and the page; a listing does not
  even look the user up).
- GET /products/<id>: at most 4 (token; product + category + tags joined;
  SKUs; one UNION ALL for images, params and specs).
- POST /cart/items: at most 5 whatever the cart size; exactly 3 without
  plugins (token; SKU + product with the buyer's existing line of it;
  INSERT or UPDATE; 4 before issue 20 read the line apart).
"""

from __future__ import annotations

import pytest
from jishi.catalog.models import (
    Product,
    ProductImage,
    ProductParam,
    ProductSpec,
    Sku,
    Tag,
)
from jishi.catalog.service import refresh_product
from jishi.db import db


def _rich_product(i: int, category, tags) -> Product:
    p = Product(name=f"好茶{i}", category_id=category.id, on_shelf=True, sales=i % 7)
    p.skus = [
        Sku(price=1000 + i, stock=50, spec_values={"规格": "50g"}),
        Sku(price=1800 + i, stock=50, spec_values={"规格": "100g"}),
    ]
    p.images = [ProductImage(url=f"/img/{i}/{k}.jpg", sort=k) for k in range(3)]
    p.params = [ProductParam(name=f"参数{k}", value=str(k), sort=k) for k in range(4)]
    p.specs = [ProductSpec(name="规格", values=["50g", "100g"], sort=0)]
    p.tags = list(tags)
    refresh_product(p)
    return p


@pytest.fixture
def many_products(factory):
    cat = factory.category("茶")
    tags = [Tag(name="新品"), Tag(name="热卖")]
    products = [_rich_product(i, cat, tags) for i in range(55)]
    db.session.add_all(products)
    db.session.commit()
    db.session.expire_all()
    return cat, products


@pytest.mark.parametrize("limit", [5, 50])
@pytest.mark.parametrize("sort", ["newest", "price_asc", "sales"])
def test_product_listing_budget(api, factory, queries, many_products, limit, sort):
    """K4/K14: a listing page costs the same few statements for 5 or 50 items."""
    cat, _products = many_products
    buyer = factory.user()
    auth = api.headers(buyer)  # issue the token outside the measured block
    base = f"/products?limit={limit}&sort={sort}&q=好茶&category_id={cat.id}"
    cursor = None
    for page in range(2):  # the first page (full), then a cursor page
        path = base + (f"&cursor={cursor}" if cursor else "")
        db.session.expire_all()
        with queries() as q:
            resp = api.get(path, headers=auth)
        assert resp.status_code == 200, resp.json
        if page == 0:
            assert len(resp.json["items"]) == limit
            cursor = resp.json["next_cursor"]
            assert cursor
        assert q.count <= 4, q.statements
        # The page, and the categories when this process does not keep them
        # yet (the subtree's ids come from them); a listing never needs the user.
        # (the fixture's category writes started the kept values over: the
        # first page may read the settings and the categories once)
        page_reads = [s for s in q.statements if "FROM categories" not in s and "FROM settings" not in s]
        assert len(page_reads) == 1, q.statements
        if page == 1:
            assert q.count == 1, q.statements  # the categories kept: the page alone
        assert not q.duplicates(), q.duplicates()
        assert not any("count(" in s.lower() for s in q.statements)


def test_product_detail_budget(api, factory, queries, many_products):
    """K4/K14: product detail (SKUs, images, params, specs, tags, category,
    member price) in at most 4 statements, token lookup included."""
    _cat, products = many_products
    buyer = factory.user()
    auth = api.headers(buyer)
    path = f"/products/{products[3].id}"
    db.session.expire_all()
    with queries() as q:
        resp = api.get(path, headers=auth)
    assert resp.status_code == 200, resp.json
    body = resp.json
    assert len(body["skus"]) == 2 and len(body["images"]) == 3 and len(body["params"]) == 4
    assert body["specs"] == [{"name": "规格", "values": ["50g", "100g"]}]
    assert [t["name"] for t in body["tags"]] == ["新品", "热卖"]
    assert body["category"]["name"] == "茶"
    assert q.count <= 4, "\n".join(x[:150] for x in q.statements)
    assert not q.duplicates(), q.duplicates()


def test_detail_collections_stay_editable(app, many_products):
    """The UNION-loaded images/params/specs are ordinary persistent objects:
    changing them through the ORM after get_product flushes correctly."""
    from jishi.catalog.service import get_product

    _cat, products = many_products
    db.session.expire_all()
    p = get_product(products[0].id)
    p.images = p.images[:1]
    p.params.append(ProductParam(name="新", value="x", sort=9))
    db.session.commit()
    db.session.expire_all()
    p = get_product(products[0].id)
    assert [i.url for i in p.images] == ["/img/0/0.jpg"]
    assert [x.name for x in p.params][-1] == "新" and len(p.params) == 5
    assert p.specs[0].values == ["50g", "100g"]


@pytest.mark.parametrize("lines_in_cart", [1, 30])
def test_cart_add_budget(api, factory, queries, many_products, lines_in_cart):
    """K6: adding to the cart costs at most 5 statements however full the cart is,
    both for a new line and for an existing one (exactly 3, issue 20)."""
    _cat, products = many_products
    buyer = factory.user()
    for p in products[:lines_in_cart]:
        assert api.post("/cart/items", user=buyer, json={"sku_id": p.skus[0].id, "quantity": 1}).status_code == 201
    new_sku = products[40].skus[1].id
    old_sku = products[0].skus[0].id
    auth = api.headers(buyer)
    db.session.expire_all()
    with queries() as q:
        resp = api.post("/cart/items", headers=auth, json={"sku_id": new_sku, "quantity": 2})
    assert resp.status_code == 201, resp.json
    assert q.count == 3, q.statements
    db.session.expire_all()
    with queries() as q:
        resp = api.post("/cart/items", headers=auth, json={"sku_id": old_sku, "quantity": 2})
    assert resp.status_code == 201 and resp.json["quantity"] == 3, resp.json
    assert q.count == 3, q.statements


def test_listing_json_matches_its_documented_schema(app, factory, api):
    """K14: the list endpoint builds its JSON without a marshmallow dump; the
    output must still be exactly what CatalogProductPageSchema documents."""
    from jishi.api.catalog import CatalogProductItemSchema, CatalogProductPageSchema

    for i in range(3):
        factory.product(name=f"茶{i}", price=100 + i)
    body = api.get("/products?limit=2").json
    assert CatalogProductPageSchema().validate(body) == {}
    assert set(body["items"][0]) == set(CatalogProductItemSchema().fields)
    assert body["next_cursor"]
