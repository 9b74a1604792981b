"""K14: a whole number too large for the database is a 4xx naming the
field, never a 500 (SQLite cannot bind a number beyond 64 bits, PostgreSQL's
integer columns refuse one beyond 2**31-1). Found by schemathesis against
the demo with 60 cases an operation (CI's conformance test samples 5): a
category's sort, a product's member levels and a seller's delivery
templates answered 500."""

from __future__ import annotations

import json

import pytest
from jishi.cli.docs import FIRST_PARTY_PLUGINS

HUGE = 2**70  # beyond SQLite's 64 bits
BIG = 2**40  # beyond PostgreSQL's integer


@pytest.mark.jishi_plugins(*FIRST_PARTY_PLUGINS)
def test_every_whole_number_an_operation_takes_has_documented_bounds(client):
    """K14: every integer a request carries (query, path, body, nested,
    list items) has a minimum and a maximum in the OpenAPI document: the
    schema refuses the rest, or the service does naming the field in its
    plugin's words (documented by the field's metadata)."""
    doc = client.get("/api/v1/openapi.json").get_json()
    schemas = doc.get("components", {}).get("schemas", {})
    unbounded: list[str] = []

    def resolve(s):
        while isinstance(s, dict) and "$ref" in s:
            s = schemas[s["$ref"].rsplit("/", 1)[1]]
        return s

    def walk(s, where):
        s = resolve(s)
        if not isinstance(s, dict) or s.get("readOnly"):
            return
        types = s.get("type") if isinstance(s.get("type"), list) else [s.get("type")]
        if "integer" in types and "enum" not in s and not ("minimum" in s and "maximum" in s):
            unbounded.append(where)
        for name, prop in (s.get("properties") or {}).items():
            walk(prop, f"{where}.{name}")
        if "items" in s:
            walk(s["items"], f"{where}[]")
        for key in ("allOf", "anyOf", "oneOf"):
            for sub in s.get(key, []):
                walk(sub, where)
        if isinstance(s.get("additionalProperties"), dict):
            walk(s["additionalProperties"], f"{where}.*")

    operations = 0
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method == "parameters" or not isinstance(op, dict):
                continue
            operations += 1
            for p in [*item.get("parameters", []), *op.get("parameters", [])]:
                p = resolve(p)
                walk(p.get("schema", {}), f"{method.upper()} {path} {p['in']}:{p['name']}")
            for content in (op.get("requestBody") or {}).get("content", {}).values():
                walk(content.get("schema", {}), f"{method.upper()} {path} body")
    assert operations > 200
    assert unbounded == [], json.dumps(unbounded, indent=1)


def test_category_sort_beyond_the_database_is_a_422(api, client, factory, login):
    """K14: the platform's category sort over the API (POST and PATCH) and
    in the console's form; the console's other numbers alike ("--5", "²")."""
    admin = factory.admin()
    for value in (HUGE, -HUGE, BIG):
        resp = api.post("/admin/categories", user=admin, json={"name": "茶", "sort": value})
        assert resp.status_code == 422 and resp.get_json()["field"] == "sort", resp.get_json()
    cat = factory.category(name="茶")
    resp = api.patch(f"/admin/categories/{cat.id}", user=admin, json={"sort": HUGE})
    assert resp.status_code == 422 and resp.get_json()["field"] == "sort"
    assert api.patch(f"/admin/categories/{cat.id}", user=admin, json={"sort": 2**31 - 1}).status_code == 200
    from jishi.catalog import service

    with pytest.raises(service.CatalogError) as exc:
        service.save_category({"name": "茶", "sort": BIG}, cat)
    assert exc.value.field == "sort"
    login(admin)
    for sort in (str(HUGE), "--5", "²", "9" * 5000):
        resp = client.post("/console/categories", data={"id": str(cat.id), "name": "绿茶", "sort": sort})
        assert resp.status_code < 500, sort
    resp = client.post("/console/categories", data={"id": str(HUGE), "name": "红茶", "sort": "1"})
    assert resp.status_code < 500


@pytest.mark.jishi_plugins("delivery_express", "shopping_options")
def test_ids_beyond_the_database_are_unknown_not_a_500(api, factory):
    """K14: a product's member levels (shopping options) and a seller's
    delivery templates: a number beyond the database's integer is an
    unknown id, a 422 naming the field; the service refuses it alike (the
    consoles' forms call it)."""
    from jishi.errors import DomainError
    from jishi_delivery_express import service as express
    from jishi_shopping_options import service as options

    admin = factory.admin()
    product = factory.product(price=1000, stock=5)
    for value in (HUGE, BIG):
        resp = api.put(f"/shopping-options/seller/products/{product.id}", user=admin, json={"member_levels": [value]})
        assert resp.status_code == 422 and resp.get_json()["field"] == "member_levels", resp.get_json()
        resp = api.put("/seller/express/templates", user=admin, json={"template_ids": [value]})
        assert resp.status_code == 422 and resp.get_json()["field"].startswith("template_ids"), resp.get_json()
        resp = api.put("/seller/express/templates", user=admin, json={"template_ids": [], "default_id": value})
        assert resp.status_code == 422 and resp.get_json()["field"] == "default_id", resp.get_json()
        resp = api.put(f"/seller/express/products/{product.id}", user=admin, json={"template_id": value})
        assert resp.status_code == 422 and resp.get_json()["field"] == "template_id", resp.get_json()
    with pytest.raises(DomainError) as exc:
        express.choose_templates(None, [HUGE])
    assert exc.value.field == "template_ids"
    with pytest.raises(DomainError) as exc:
        options.save(product, {"member_levels": [HUGE]})
    assert exc.value.field == "member_levels"


def test_expected_total_beyond_a_payment_is_a_422(api, factory):
    """K14: the total the buyer saw holds no more than a payment's amount."""
    buyer = factory.user()
    sku = factory.product(price=1000, stock=5).skus[0]
    address = factory.address(buyer)
    for value in (HUGE, 2**31):
        resp = api.post(
            "/checkout/place",
            user=buyer,
            json={"items": [{"sku_id": sku.id, "quantity": 1}], "address_id": address.id, "expected_total": value},
            headers={"Idempotency-Key": f"k{value}"},
        )
        assert resp.status_code == 422 and resp.get_json()["field"] == "expected_total", resp.get_json()


@pytest.mark.jishi_plugins("multistore")
def test_a_path_id_beyond_the_database_is_not_found(api, client, factory, login):
    """K14: a route's <int:...> (an id: 1..2**31-1 in the OpenAPI document)
    beyond the database's integer is a 404, as the API answers it (JSON)
    and a page does (HTML); a view that read it with db.session.get
    answered 500 (the platform's merchant ledger, found by schemathesis)."""
    admin = factory.admin()
    for value in (HUGE, 2**31):
        resp = api.get(f"/admin/multistore/merchants/{value}/ledger", user=admin)
        assert resp.status_code == 404 and resp.get_json()["code"] == "not_found", resp.get_json()
        assert api.get(f"/products/{value}").status_code == 404
        page = client.get(f"/product/{value}")
        assert page.status_code == 404 and page.mimetype == "text/html"
    product = factory.product(price=1000, stock=5)
    assert api.get(f"/products/{product.id}").status_code == 200


def test_exports_at_the_calendars_ends_are_not_a_500(api, factory):
    """K14/K16: the order export's default start (29 days before the end)
    of an end in the calendar's first days was before the calendar
    (OverflowError, found by schemathesis); the last day works too."""
    admin = factory.admin()
    for query in ("end=0001-01-01", "end=0001-01-30", "start=0001-01-01&end=9999-12-31", "end=9999-12-31"):
        for fmt in ("csv", "xlsx"):
            resp = api.get(f"/admin/orders/export?format={fmt}&{query}", user=admin)
            assert resp.status_code == 200, (query, fmt, resp.status_code)


@pytest.mark.jishi_plugins("points")
def test_pages_take_odd_digits_as_no_number(client, factory, login):
    """K14: a form or query number written with a superscript digit ("²"),
    two minus signs or thousands of digits is no number (str.isdigit took
    "²", which int() refuses: a 500), on the buyer's cart and points pages
    and the console's settings."""
    buyer = factory.user()
    sku = factory.product(price=1000, stock=5).skus[0]
    login(buyer)
    client.post("/cart/add", data={"sku_id": sku.id, "quantity": 1})
    odd = ("²", "①", "--5", "9" * 5000, str(2**70))
    for value in odd:
        assert client.post("/cart", data={"selected": value}).status_code < 500, value
        assert client.get(f"/account/points?before={value}").status_code < 500, value
    login(factory.admin())
    for value in odd:
        resp = client.post("/console/settings", data={"panel": "reviews", "reviews.days": value})
        assert resp.status_code < 500, value


@pytest.mark.jishi_plugins("groupbuy", "points", "multistore")
def test_plugins_number_parsers_take_odd_digits_as_malformed(app):
    """K14: the plugins' parsers of a number typed as text (a checkout
    option, a console form) take "²" (isdigit, not int()), 4,301 digits
    (int() raises) and 2**70 (no column holds it) as malformed, never a
    500: the group-buy option, the points exchange's form numbers and
    multistore's order ids of a batch."""
    from jishi.errors import DomainError
    from jishi_groupbuy import service as groupbuy
    from jishi_multistore import orders_views
    from jishi_points import exchange

    for odd in ("²", "①", "9" * 5000, str(2**70)):
        assert groupbuy.choice({groupbuy.OPTION: {"activity_id": odd}})["activity_id"] is None
        with pytest.raises(DomainError):
            exchange._whole({"points": odd}, "points", 1, 10**7, "bad")
        with app.test_request_context("/", query_string={"ids": f"{odd},7"}):
            assert orders_views._ids() == [7]
    assert groupbuy.choice({groupbuy.OPTION: {"activity_id": " 12 "}})["activity_id"] == 12
