"""K4, K15: search suggestions (搜索联想) — ``GET /api/v1/search/suggestions``
— and the catalog API's authorization matrix (every route public: what a
shop shows to anyone).

Suggestions are product names a buyer can find, matching every word typed
as the search does, best sellers first, each name once; the storefront's
header offers them as the buyer types (tests/browser/test_search_page.py)."""

from __future__ import annotations

import pytest
from jishi.db import commit
from jishi.testing import authz, principals
from jishi.testing.authz import Row

ROWS = [
    Row("GET", "/api/v1/products", "public"),
    Row("GET", "/api/v1/products/{obj}", "public", obj="product"),
    Row("GET", "/api/v1/search/suggestions?q=茶", "public"),
    Row("GET", "/api/v1/categories", "public"),
    Row("GET", "/api/v1/tags", "public"),
]


@pytest.mark.parametrize("row", ROWS, ids=authz.label)
def test_matrix(client, factory, row: Row):
    """K15: the catalog answers every principal alike, signed in or not."""
    who = principals.standard(factory)
    path = row.path.replace("{obj}", str(factory.product(name="龙井茶").id))
    for name, user in who.users.items():
        principals.sign_in(client, user)
        assert client.get(path).status_code == 200, name


def test_every_route_has_a_row(app):
    assert len(authz.assert_every_route_has_a_row(app, ROWS, blueprints=("catalog",))) == len(ROWS)


def test_names_matching_every_word_best_sellers_first(api, factory):
    for name, sales in (("西湖龙井 明前", 5), ("龙井茶杯", 50), ("安溪铁观音", 99), ("龙井 礼盒", 0)):
        factory.product(name=name).sales = sales
    factory.product(name="下架的龙井", on_shelf=False).sales = 1000
    factory.product(name="龙井茶杯").sales = 1  # the same name twice: offered once
    commit()
    assert api.get("/search/suggestions?q=龙井").json == {
        "q": "龙井",
        "items": ["龙井茶杯", "西湖龙井 明前", "龙井 礼盒"],
    }
    assert api.get("/search/suggestions?q= 龙井  明前 ").json["items"] == ["西湖龙井 明前"]  # every word
    assert api.get("/search/suggestions?q=龙井&limit=1").json["items"] == ["龙井茶杯"]
    assert api.get("/search/suggestions?q=普洱").json["items"] == []
    assert api.get("/search/suggestions?q=%25").json["items"] == []  # % is a character, not "anything"
    assert api.get("/search/suggestions?q=%20").json == {"q": "", "items": []}


@pytest.mark.parametrize(
    "query, field", [("", "q"), ("?q=" + "茶" * 51, "q"), ("?q=茶&limit=11", "limit"), ("?q=茶&limit=0", "limit")]
)
def test_bad_input_names_the_field(api, query, field):
    r = api.get("/search/suggestions" + query)
    assert r.status_code == 422 and r.json["field"] == field, r.json


def test_one_statement(api, factory, queries):
    factory.product(name="龙井")
    api.get("/search/suggestions?q=龙井")  # (warm)
    with queries() as q:
        assert api.get("/search/suggestions?q=龙井").json["items"] == ["龙井"]
    assert len(q.statements) == 1, q.statements
