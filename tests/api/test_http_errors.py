"""K15, A4: the API's answer to an HTTP error no view worded (an address
that does not exist, a method an address does not take, too many
requests): the kernel's JSON error in the request's language, not
werkzeug's English, keeping what the status obliges the answer to say
(RFC 9110: a 405 lists the methods the address takes in ``Allow``)."""

from __future__ import annotations

import pytest
from jishi.cli.docs import FIRST_PARTY_PLUGINS


def test_a_method_the_address_does_not_take_lists_those_it_does(client):
    resp = client.open("/api/v1/ping", method="TRACE")
    assert resp.status_code == 405
    assert set(resp.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    assert resp.get_json() == {"code": "method_not_allowed", "field": None, "message": "此地址不支持该请求方法。"}


def test_an_unknown_address_answers_in_the_requests_language(client):
    resp = client.get("/api/v1/no-such-thing")
    assert resp.status_code == 404 and resp.get_json()["message"] == "您要找的内容不存在或已下架。"
    assert "Allow" not in resp.headers
    resp = client.get("/api/v1/no-such-thing", headers={"Accept-Language": "en"})
    assert resp.get_json()["message"] == "What you are looking for does not exist or is no longer available."


def test_a_view_s_own_words_are_kept(api, factory):
    """A view that worded its 404 keeps its words (the default is only for
    werkzeug's own)."""
    buyer = factory.user()
    body = api.get("/orders/2147483000", user=buyer).get_json()
    assert body["code"] == "not_found" and body["message"] not in ("您要找的内容不存在或已下架。", "")


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True, "JISHI_LOGIN_RATE_LIMIT": "1 per minute"}])
def test_too_many_requests_in_the_requests_language(api, factory, app_config):
    factory.user(phone="13900000005")
    for _ in range(2):
        resp = api.post("/auth/login", json={"phone": "13900000005", "password": "wrong-password"})
    assert resp.status_code == 429
    assert resp.json == {"code": "rate_limited", "field": None, "message": "请求过于频繁，请稍候再试。"}
    assert int(resp.headers["Retry-After"]) > 0


@pytest.mark.jishi_plugins(*FIRST_PARTY_PLUGINS)
def test_a_body_with_required_fields_is_documented_as_required(client):
    """K14: an operation whose body has required fields says the body is
    required (a client generated from the document, or schemathesis, sent
    ``POST /flashsale/buy`` with no body and got a 422 it was not told of);
    a field the service accepts only as ``true`` says so (``enum``)."""
    doc = client.get("/api/v1/openapi.json").get_json()
    schemas = doc["components"]["schemas"]

    def resolve(s):
        while isinstance(s, dict) and "$ref" in s:
            s = schemas[s["$ref"].rsplit("/", 1)[1]]
        return s

    optional = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            body = op.get("requestBody") if isinstance(op, dict) else None
            if not body:
                continue
            for content in body.get("content", {}).values():
                if resolve(content.get("schema", {})).get("required") and not body.get("required"):
                    optional.append(f"{method.upper()} {path}")
    assert optional == []
    apply = resolve(
        doc["paths"]["/api/v1/shops/application"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    )
    assert apply["properties"]["agree"]["enum"] == [True]


@pytest.mark.jishi_plugins("multistore")
@pytest.mark.parametrize("value", [0, 1, 1.0, "true"])
def test_a_boolean_is_json_true_or_false(api, factory, value):
    """K14: a field documented as boolean refuses 0, 1, 1.0 and "true" with
    a 422 naming it (schemathesis: ``POST /addresses`` took
    ``"is_default": 0``; marshmallow's ``truthy={True}`` holds 1 == True)."""
    buyer = factory.user()
    address = {"name": "张三", "phone": "13800000000", "province": "浙江省", "city": "杭州市", "detail": "文一路 1 号"}
    resp = api.post("/addresses", user=buyer, json={**address, "is_default": value})
    assert resp.status_code == 422 and resp.json["field"] == "is_default", resp.json
    resp = api.post("/cart/select", user=buyer, json={"ids": [], "selected": value})
    assert resp.status_code == 422 and resp.json["field"] == "selected", resp.json
    resp = api.post("/shops/application", user=buyer, json={"name": "茶铺", "agree": value})
    assert resp.status_code == 422 and resp.json["field"] == "agree", resp.json
    assert api.post("/addresses", user=buyer, json={**address, "is_default": True}).status_code == 201


@pytest.mark.jishi_plugins(*FIRST_PARTY_PLUGINS)
def test_every_boolean_and_integer_a_body_takes_is_strict(app):
    """K14: every boolean of every JSON body (nested too) is a
    :class:`jishi.api.common.StrictBool`: marshmallow's own Boolean takes
    "yes", "on", 1 and "1" where the document says boolean. Every integer
    is strict: marshmallow's own takes "7" and 2.5 (as 2: schemathesis sent
    shopping options' max_per_buyer 2.6e-42, stored as 0). (A query
    string's values are text and stay lenient.)"""
    from jishi.api.common import StrictBool
    from marshmallow import fields

    lenient: set[str] = set()

    def walk(schema, where):
        for name, field in schema.fields.items():
            inner = field.inner if isinstance(field, fields.List) else field
            if isinstance(inner, fields.Nested):
                walk(inner.schema, f"{where}.{name}")
            elif isinstance(inner, fields.Boolean) and not isinstance(inner, StrictBool):
                lenient.add(f"{where}.{name}")
            elif isinstance(inner, fields.Integer) and not inner.strict:
                lenient.add(f"{where}.{name}")

    bodies = 0
    for rule in app.url_map.iter_rules():
        doc = getattr(app.view_functions[rule.endpoint], "_apidoc", {})
        for arg in doc.get("arguments", {}).get("parameters", []):
            if arg.get("in", "json") == "json":
                schema = arg["schema"]() if isinstance(arg["schema"], type) else arg["schema"]
                walk(schema, f"{rule.rule} {type(schema).__name__}")
                bodies += 1
    assert bodies > 80 and lenient == set()


@pytest.mark.jishi_plugins(*FIRST_PARTY_PLUGINS)
def test_every_raw_field_of_a_request_says_its_type(app):
    """K14: a ``fields.Raw`` argument (the service checks its value itself)
    still tells a client its type in the document (``metadata={"type": ...}``):
    pickup points' name, address, lat, lng... were documented as any JSON,
    so a client could not tell a number from a text. A field the view
    ignores says so instead."""
    from marshmallow import fields

    untyped: set[str] = set()
    raws = 0

    def walk(schema, where):
        nonlocal raws
        for name, field in schema.fields.items():
            inner = field.inner if isinstance(field, fields.List) else field
            if isinstance(inner, fields.Nested):
                walk(inner.schema, f"{where}.{name}")
            elif type(inner) is fields.Raw:
                raws += 1
                if "type" not in inner.metadata and "ignored" not in inner.metadata.get("description", ""):
                    untyped.add(f"{where}.{name}")

    for rule in app.url_map.iter_rules():
        doc = getattr(app.view_functions[rule.endpoint], "_apidoc", {})
        for arg in doc.get("arguments", {}).get("parameters", []):
            schema = arg["schema"]() if isinstance(arg["schema"], type) else arg["schema"]
            walk(schema, f"{rule.rule} {type(schema).__name__}")
    assert raws >= 8 and untyped == set()


@pytest.mark.jishi_plugins(*FIRST_PARTY_PLUGINS)
def test_no_query_string_argument_is_strict(app):
    """K14: a query string's values are text, so a strict integer (or
    :class:`~jishi.api.common.StrictBool`) there refuses every value:
    ``GET /seller/express/products?after=1`` answered 422 "不是有效的整数"."""
    from jishi.api.common import StrictBool
    from marshmallow import fields

    strict: set[str] = set()
    for rule in app.url_map.iter_rules():
        doc = getattr(app.view_functions[rule.endpoint], "_apidoc", {})
        for arg in doc.get("arguments", {}).get("parameters", []):
            if arg.get("in") not in ("query", "headers", "cookies", "path", "form", "files"):
                continue
            schema = arg["schema"]() if isinstance(arg["schema"], type) else arg["schema"]
            for name, field in schema.fields.items():
                inner = field.inner if isinstance(field, fields.List) else field
                if isinstance(inner, StrictBool) or (isinstance(inner, fields.Integer) and inner.strict):
                    strict.add(f"{rule.rule} {type(schema).__name__}.{name}")
    assert strict == set()


@pytest.mark.jishi_plugins(*FIRST_PARTY_PLUGINS)
def test_a_body_without_required_fields_may_be_left_out(api, client, factory):
    """K14: the document calls a body optional exactly when its schema has
    no required field, as the server treats it (a missing body loads as
    ``{}``); schemathesis sent ``PATCH /me`` with none and was answered."""
    doc = client.get("/api/v1/openapi.json").get_json()
    body = doc["paths"]["/api/v1/me"]["patch"]["requestBody"]
    assert body.get("required", False) is False
    assert doc["paths"]["/api/v1/cart/items"]["post"]["requestBody"]["required"] is True
    buyer = factory.user()
    assert api.patch("/me", user=buyer).status_code == 200
