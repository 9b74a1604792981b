"""Issue 20: the checkout's and add to cart's bodies loaded without
marshmallow's walk when plainly valid (``jishi.api.fastload``): the answer is
exactly ``Schema.load``'s, and anything not plainly valid is left to
marshmallow (whose 422 names the field, as before)."""

from __future__ import annotations

import pytest
from jishi.api.cart import CartAddSchema
from jishi.api.checkout import CheckoutArgsSchema, CheckoutPlaceArgsSchema
from marshmallow import Schema, ValidationError

BIG = 2**31 - 1

CHECKOUT_BODIES = [
    {},
    {"items": [{"sku_id": 1, "quantity": 1}]},
    {"items": [{"sku_id": BIG, "quantity": 9999}, {"quantity": 2, "sku_id": 7}], "address_id": 3},
    {"items": [{"sku_id": 1, "quantity": 1}] * 100},
    {"items": [{"sku_id": 1, "quantity": 1}] * 101},
    {"items": []},
    {"items": None},
    {"items": {"sku_id": 1, "quantity": 1}},
    {"items": [{"sku_id": 1}]},
    {"items": [{"sku_id": 1, "quantity": 1, "x": 1}]},
    {"items": [{"sku_id": 0, "quantity": 1}]},
    {"items": [{"sku_id": BIG + 1, "quantity": 1}]},
    {"items": [{"sku_id": 1, "quantity": 0}]},
    {"items": [{"sku_id": 1, "quantity": 10000}]},
    {"items": [{"sku_id": 1, "quantity": 2.0}]},
    {"items": [{"sku_id": True, "quantity": 1}]},
    {"items": [{"sku_id": "1", "quantity": 1}]},
    {"items": [{"sku_id": None, "quantity": 1}]},
    {"items": ["x"]},
    {"address_id": None},
    {"address_id": 0},
    {"address_id": "3"},
    {"address_id": False},
    {"delivery": {"g": "express"}, "messages": {"g": "快点"}, "options": {"coupons": [1, 2], "x": None}},
    {"delivery": {}, "messages": {}, "options": {}},
    {"delivery": {"g": None}},
    {"delivery": {"g": 1}},
    {"delivery": []},
    {"delivery": None},
    {"messages": {"g": "x" * 200}},
    {"messages": {"g": "x" * 201}},
    {"messages": {"g": 5}},
    {"options": None},
    {"options": []},
    {"unknown": 1},
    {"items": [{"sku_id": 1, "quantity": 1}], "expected_total": 0},
    {"items": [{"sku_id": 1, "quantity": 1}], "expected_total": 12345},
    {"expected_total": -1},
    {"expected_total": None},
    {"expected_total": 1.5},
    {"expected_total": True},
]

CART_BODIES = [
    {"sku_id": 1},
    {"sku_id": 1, "quantity": 5},
    {"quantity": 5, "sku_id": BIG},
    {"sku_id": 1, "quantity": 9999},
    {"sku_id": 1, "quantity": 10000},
    {"sku_id": 1, "quantity": 0},
    {"sku_id": 1, "quantity": None},
    {"sku_id": 1, "quantity": 1.0},
    {"sku_id": 0},
    {"sku_id": BIG + 1},
    {"sku_id": "1"},
    {"sku_id": False},
    {"sku_id": None},
    {},
    {"quantity": 2},
    {"sku_id": 1, "x": 2},
    {"sku_id": 1, "quantity": 2, "x": 2},
]


def _marshmallow(schema, data):
    try:
        return ("ok", Schema.load(schema, data))
    except ValidationError as exc:
        return ("error", exc.messages)


@pytest.mark.parametrize(
    ("schema", "body"),
    [(CheckoutArgsSchema(), b) for b in CHECKOUT_BODIES]
    + [(CheckoutPlaceArgsSchema(), b) for b in CHECKOUT_BODIES]
    + [(CartAddSchema(), b) for b in CART_BODIES],
)
def test_fast_load_is_marshmallows_load(schema, body):
    want = _marshmallow(schema, body)
    fast = schema.fast_load(body)
    if fast is not None:
        assert want == ("ok", fast)
        assert list(fast) == list(want[1])  # the same keys in the same order
    # whatever the path, load answers (or refuses) as marshmallow does
    try:
        got = ("ok", schema.load(body))
    except ValidationError as exc:
        got = ("error", exc.messages)
    assert got == want


def test_fast_load_takes_the_plainly_valid_bodies():
    """The hot bodies do not reach marshmallow (else the fast path bought nothing)."""
    body = {
        "items": [{"sku_id": 5, "quantity": 2}],
        "address_id": 1,
        "delivery": {"seller:1": "express"},
        "messages": {"seller:1": "hi"},
        "options": {"coupons": [3]},
    }
    assert CheckoutArgsSchema().fast_load(body) is not None
    assert CheckoutPlaceArgsSchema().fast_load({**body, "expected_total": 100}) is not None
    assert CartAddSchema().fast_load({"sku_id": 5, "quantity": 1}) == {"sku_id": 5, "quantity": 1}
    assert CartAddSchema().fast_load({"sku_id": 5}) == {"sku_id": 5, "quantity": 1}


def test_the_errors_stay_marshmallows(api, factory):
    """A refused body answers the 422 marshmallow's error gives, naming the field."""
    buyer = factory.user()
    r = api.post("/checkout/preview", user=buyer, json={"items": [{"sku_id": 1, "quantity": 0}]})
    assert r.status_code == 422 and r.json["code"] == "invalid"
    assert r.json["field"] == "items.0.quantity"
    r = api.post("/cart/items", user=buyer, json={"sku_id": "1"})
    assert r.status_code == 422 and r.json["field"] == "sku_id"
    r = api.post("/checkout/place", user=buyer, json={"expected_total": -1}, headers={"Idempotency-Key": "k"})
    assert r.status_code == 422 and r.json["field"] == "expected_total"
