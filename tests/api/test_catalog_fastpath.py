"""K4, K14: what the product-list fast path (GET /api/v1/products) must keep.

The list endpoint checks its query arguments by hand (``parse_list_args``)
instead of through webargs, caches its SELECT per shape with bound values
(plugin ``product_filters`` conditions in the cache key), runs it as Core on
one connection, answers with orjson, skips Flask-Limiter's middleware pass
when no app/default/blueprint limit exists and does not open a cookie
session without a cookie. These tests pin the behaviour that must survive:

1. argument validation (good values work; bad ones are a 422
   ``{code, message, field}`` naming the field, in the schema's order);
2. the statement cache never freezes a value (filters, plugin conditions,
   rows);
3. one SQL statement per page, with or without a plugin filter;
4. rate limits still apply when configured (default limits, login's own);
5. no session cookie for anonymous API GETs; bearer and cookie users work;
6. UTF-8 JSON (no ``\\u`` escapes), ``application/json``.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import pytest
from jishi.accounts.models import MemberLevel
from jishi.api.catalog import CatalogListArgsSchema, CatalogProductDetailSchema
from jishi.api.messages import translate
from jishi.catalog.models import Product, Tag
from jishi.db import db
from jishi.extensions import limiter
from jishi.hookspecs import hookimpl
from sqlalchemy import bindparam


def plugin(*objs):
    """Register these throwaway plugin objects in the test's app."""
    return pytest.mark.parametrize("extra_plugins", [list(objs)], ids=["plugin"])


@pytest.fixture
def shop(factory):
    drinks = factory.category("饮品")
    tea = factory.category("茶", parent=drinks)
    green = factory.category("绿茶", parent=tea)
    hot = Tag(name="热卖")
    db.session.add(hot)
    db.session.commit()
    p = {
        "longjing": factory.product("西湖龙井", price=8800, category=green, sales=30),
        "tgy": factory.product("安溪铁观音", price=5600, category=tea, sales=20, seller_id=7),
        "coffee": factory.product("云南咖啡豆", price=3000, category=drinks, sales=5, seller_id=8),
        "pen": factory.product("Pilot Pen", price=1200, sales=100),
        "hidden": factory.product("下架的茶", price=100, category=tea, on_shelf=False),
    }
    p["longjing"].tags = [hot]
    p["pen"].tags = [hot]
    db.session.commit()
    return {"cat": {"drinks": drinks, "tea": tea, "green": green}, "tag": hot, "p": p}


def names(resp) -> list[str]:
    assert resp.status_code == 200, resp.get_json()
    return [item["name"] for item in resp.get_json()["items"]]


def q(value: str) -> str:
    return quote(value, safe="")


# --- 1. Query-argument validation --------------------------------------------


def test_good_arguments_work(api, shop):
    """K14: every documented argument with a good value filters as documented."""
    cat, tag, p = shop["cat"], shop["tag"], shop["p"]
    assert names(api.get("/products")) == ["Pilot Pen", "云南咖啡豆", "安溪铁观音", "西湖龙井"]
    assert names(api.get("/products?limit=2")) == ["Pilot Pen", "云南咖啡豆"]
    assert names(api.get("/products?limit=%2B2")) == ["Pilot Pen", "云南咖啡豆"]  # "+2", as int() reads it
    assert names(api.get("/products?min_price=3000")) == ["云南咖啡豆", "安溪铁观音", "西湖龙井"]
    assert names(api.get("/products?max_price=5600")) == ["Pilot Pen", "云南咖啡豆", "安溪铁观音"]
    assert names(api.get("/products?min_price=0&max_price=2147483647")) == [
        "Pilot Pen",
        "云南咖啡豆",
        "安溪铁观音",
        "西湖龙井",
    ]
    assert names(api.get(f"/products?category_id={cat['tea'].id}")) == ["安溪铁观音", "西湖龙井"]
    assert names(api.get(f"/products?category_id={cat['green'].id}")) == ["西湖龙井"]
    assert names(api.get(f"/products?tag_id={tag.id}")) == ["Pilot Pen", "西湖龙井"]
    assert names(api.get("/products?seller_id=7")) == ["安溪铁观音"]
    assert names(api.get("/products?seller_id=0")) == []
    assert names(api.get("/products?sort=price_asc")) == ["Pilot Pen", "云南咖啡豆", "安溪铁观音", "西湖龙井"]
    assert names(api.get("/products?sort=price_desc")) == ["西湖龙井", "安溪铁观音", "云南咖啡豆", "Pilot Pen"]
    assert names(api.get("/products?sort=sales")) == ["Pilot Pen", "西湖龙井", "安溪铁观音", "云南咖啡豆"]
    assert names(api.get("/products?sort=newest")) == ["Pilot Pen", "云南咖啡豆", "安溪铁观音", "西湖龙井"]
    assert names(api.get(f"/products?q={q('龙井')}")) == ["西湖龙井"]
    assert names(api.get("/products?q=")) == ["Pilot Pen", "云南咖啡豆", "安溪铁观音", "西湖龙井"]
    assert names(api.get(f"/products?q={'x' * 50}")) == []  # at the length limit
    first = api.get("/products?sort=price_asc&limit=2").get_json()
    assert first["next_cursor"]
    rest = api.get(f"/products?sort=price_asc&limit=2&cursor={first['next_cursor']}")
    assert names(rest) == ["安溪铁观音", "西湖龙井"] and rest.get_json()["next_cursor"] is None
    everything = (
        f"/products?q={q('茶')}&category_id={cat['drinks'].id}&min_price=1&max_price=9000"
        f"&seller_id=7&sort=sales&limit=5"
    )
    assert names(api.get(everything)) == []  # 铁观音's name and search text have no 茶
    assert names(api.get(everything.replace(q("茶"), q("观音")))) == ["安溪铁观音"]
    assert p["hidden"].id not in {i["id"] for i in api.get("/products?limit=100").get_json()["items"]}


INT_FIELDS = ["limit", "min_price", "max_price", "category_id", "tag_id", "seller_id"]
NOT_INTEGERS = [
    "abc",
    "1.5",
    "",
    "1e3",
    "0x10",
    "--1",
    "+",
    "5 ",
    " 5",
    "1_000",
    "\uff12",
    "\u00b2",
    "\u0663",
    "true",
    "false",
    "True",
    "null",
    "１０",
]


def _assert_invalid(resp, field):
    body = resp.get_json()
    assert resp.status_code == 422, (field, resp.status_code, body)
    assert set(body) >= {"code", "message", "field"}, body
    assert body["code"] == "invalid" and body["field"] == field, body
    assert isinstance(body["message"], str) and body["message"], body
    return body


@pytest.mark.parametrize("field", INT_FIELDS)
@pytest.mark.parametrize("raw", NOT_INTEGERS, ids=ascii)
def test_non_integers_are_422_naming_the_field(api, shop, field, raw):
    """K14: an integer argument takes ASCII digits with an optional sign only:
    words, decimals, spaces, underscores, full-width / superscript / Arabic
    digits and booleans-as-strings are a 422 naming the field."""
    body = _assert_invalid(api.get(f"/products?{field}={q(raw)}"), field)
    assert body["message"] == "不是有效的整数。"  # marshmallow's message in the default zh_CN (issue 13 A4)


@pytest.mark.parametrize(
    ("field", "raw"),
    [
        ("limit", "0"),
        ("limit", "-1"),
        ("limit", "101"),
        ("limit", "2147483648"),
        ("limit", "9" * 30),
        ("min_price", "-1"),
        ("min_price", "2147483648"),
        ("max_price", "-5"),
        ("max_price", "10" * 20),
        ("category_id", "0"),
        ("category_id", "-3"),
        ("category_id", "2147483648"),
        ("tag_id", "0"),
        ("tag_id", "2147483648"),
        ("seller_id", "-1"),
        ("seller_id", "2147483648"),
        ("sort", "cheapest"),
        ("sort", ""),
        ("sort", "PRICE_ASC"),
        ("sort", "newest "),
        ("cursor", "garbage!"),
        ("cursor", "x" * 201),
        ("cursor", "e30"),  # "{}"
        ("q", "茶" * 51),
    ],
)
def test_out_of_range_and_unknown_values_are_422(api, shop, field, raw):
    """K14: out-of-range limits and ids, unknown sorts, bad cursors and too
    long keywords are a 422 ``{code, message, field}`` naming the field."""
    _assert_invalid(api.get(f"/products?{field}={q(raw)}"), field)


def test_messages_match_the_documented_schema(api, shop, app):
    """K14: for values the documented schema refuses, the hand-written check
    answers marshmallow's own message, and with several bad fields names the
    same (first) field as loading CatalogListArgsSchema would."""
    schema = CatalogListArgsSchema()
    cases = [
        {"limit": "abc"},
        {"min_price": "-1"},
        {"max_price": "2147483648"},
        {"sort": "cheapest"},
        {"category_id": "0"},
        {"q": "x" * 51},
        {"cursor": "c" * 201},
        {"seller_id": "true"},
        {"limit": "abc", "category_id": "abc"},
        {"sort": "x", "tag_id": "0", "limit": "-1"},
        {"max_price": "x", "min_price": "y"},
        {"cursor": "c" * 201, "q": "x" * 51},
    ]
    for args in cases:
        errors = schema.validate(args)
        assert errors, args
        field = next(iter(errors))
        qs = "&".join(f"{k}={q(v)}" for k, v in args.items())
        body = _assert_invalid(api.get(f"/products?{qs}"), field)
        with app.test_request_context("/"):  # the same words in the reader's language (zh_CN)
            expected = "; ".join(translate(m) for m in errors[field])
        assert body["message"] == expected, (args, body, errors)
    # The page-size cap beyond the schema's range is the kernel's own check.
    maximum = app.config["JISHI_MAX_PAGE_SIZE"]
    _assert_invalid(api.get(f"/products?limit={maximum + 1}"), "limit")
    assert len(api.get(f"/products?limit={maximum}").get_json()["items"]) == 4


def test_cursor_made_for_another_sort_or_forged_is_422(api, shop):
    """K4/K14: a cursor of another sort order, or one holding non-integers or
    out-of-range keys, is a 422 naming ``cursor``."""
    cursor = api.get("/products?limit=1").get_json()["next_cursor"]
    assert cursor
    _assert_invalid(api.get(f"/products?sort=price_asc&cursor={cursor}"), "cursor")
    for forged in (["newest", "1"], ["newest", True], ["newest", 2**31], ["price_asc", 1], ["newest"], {"a": 1}):
        raw = base64.urlsafe_b64encode(json.dumps(forged).encode()).decode().rstrip("=")
        sort = forged[0] if isinstance(forged, list) and forged else "newest"
        _assert_invalid(api.get(f"/products?sort={sort}&cursor={raw}"), "cursor")


def test_unknown_and_repeated_arguments(api, shop):
    """K14: unknown query arguments are ignored (as webargs' EXCLUDE did) and
    a repeated name takes its first value."""
    every = ["Pilot Pen", "云南咖啡豆", "安溪铁观音", "西湖龙井"]
    assert names(api.get("/products?foo=bar&page=abc&limit_=x&LIMIT=abc&Sort=bad")) == every
    assert names(api.get("/products?limit=1&limit=abc")) == ["Pilot Pen"]
    _assert_invalid(api.get("/products?limit=abc&limit=1"), "limit")
    assert names(api.get("/products?seller_id=8&seller_id=7")) == ["云南咖啡豆"]


# --- 2. The statement cache --------------------------------------------------


def test_cached_statement_takes_each_requests_values(api, shop):
    """K4: requests of the same shape with different values get their own,
    correct results (bound values are not frozen in the cached statement)."""
    cat = shop["cat"]
    for _ in range(2):  # the second round runs entirely on cached statements
        assert names(api.get("/products?min_price=5000")) == ["安溪铁观音", "西湖龙井"]
        assert names(api.get("/products?min_price=1000")) == ["Pilot Pen", "云南咖啡豆", "安溪铁观音", "西湖龙井"]
        assert names(api.get("/products?min_price=9000")) == []
        assert names(api.get("/products?max_price=1200")) == ["Pilot Pen"]
        assert names(api.get("/products?max_price=3000")) == ["Pilot Pen", "云南咖啡豆"]
        assert names(api.get("/products?seller_id=7")) == ["安溪铁观音"]
        assert names(api.get("/products?seller_id=8")) == ["云南咖啡豆"]
        assert names(api.get(f"/products?q={q('龙井')}")) == ["西湖龙井"]
        assert names(api.get(f"/products?q={q('咖啡')}")) == ["云南咖啡豆"]
        assert names(api.get(f"/products?q={q('西湖')}+{q('龙')}")) == ["西湖龙井"]
        assert names(api.get(f"/products?q={q('云南')}+{q('龙')}")) == []
        assert names(api.get(f"/products?category_id={cat['tea'].id}")) == ["安溪铁观音", "西湖龙井"]
        assert names(api.get(f"/products?category_id={cat['drinks'].id}")) == ["云南咖啡豆", "安溪铁观音", "西湖龙井"]
        assert names(api.get(f"/products?category_id={cat['green'].id}")) == ["西湖龙井"]
        assert names(api.get("/products?limit=1")) == ["Pilot Pen"]
        assert names(api.get("/products?limit=3")) == ["Pilot Pen", "云南咖啡豆", "安溪铁观音"]
        c1 = api.get("/products?sort=sales&limit=1").get_json()["next_cursor"]
        c2 = api.get("/products?sort=sales&limit=2").get_json()["next_cursor"]
        assert names(api.get(f"/products?sort=sales&limit=1&cursor={c1}")) == ["西湖龙井"]
        assert names(api.get(f"/products?sort=sales&limit=1&cursor={c2}")) == ["安溪铁观音"]


def test_cached_statement_sees_row_changes(api, shop, factory):
    """K4: a cached statement reads the rows as they are now."""
    assert names(api.get("/products?max_price=2000")) == ["Pilot Pen"]
    new = factory.product("碧螺春", price=1500)
    assert names(api.get("/products?max_price=2000")) == ["碧螺春", "Pilot Pen"]
    new.on_shelf = False
    db.session.commit()
    assert names(api.get("/products?max_price=2000")) == ["Pilot Pen"]


PRICE_CAP = 10**9


class PriceCap:
    """product_filters: a condition built fresh on each call from a
    module-level variable."""

    @hookimpl
    def product_filters(self, context):
        return [Product.price < PRICE_CAP]


@plugin(PriceCap())
def test_plugin_condition_built_each_call_follows_its_variable(api, shop, monkeypatch):
    """K4: a plugin whose ``product_filters`` condition depends on a
    variable is followed when the variable changes (the condition's values
    are part of the statement cache's key)."""
    every = ["Pilot Pen", "云南咖啡豆", "安溪铁观音", "西湖龙井"]
    for _ in range(2):
        monkeypatch.setattr(__name__ + ".PRICE_CAP", 10**9)
        assert names(api.get("/products")) == every
        monkeypatch.setattr(__name__ + ".PRICE_CAP", 5000)
        assert names(api.get("/products")) == ["Pilot Pen", "云南咖啡豆"]
        assert names(api.get("/products?sort=price_desc")) == ["云南咖啡豆", "Pilot Pen"]
        monkeypatch.setattr(__name__ + ".PRICE_CAP", 1000)
        assert names(api.get("/products")) == []
        monkeypatch.setattr(__name__ + ".PRICE_CAP", 6000)
        assert names(api.get("/products")) == ["Pilot Pen", "云南咖啡豆", "安溪铁观音"]
        assert names(api.get("/products?min_price=2000")) == ["云南咖啡豆", "安溪铁观音"]


ALLOWED_SELLERS: list = [7]


class SellerAllowList:
    """product_filters: an IN list rebuilt on each call."""

    @hookimpl
    def product_filters(self, context):
        return [Product.seller_id.in_(list(ALLOWED_SELLERS))]


@plugin(SellerAllowList())
def test_plugin_in_list_condition_follows_its_values(api, shop, monkeypatch):
    """K4: an IN-list condition (cacheable too) follows its values."""
    for _ in range(2):
        monkeypatch.setattr(__name__ + ".ALLOWED_SELLERS", [7])
        assert names(api.get("/products")) == ["安溪铁观音"]
        monkeypatch.setattr(__name__ + ".ALLOWED_SELLERS", [7, 8])
        assert names(api.get("/products")) == ["云南咖啡豆", "安溪铁观音"]
        monkeypatch.setattr(__name__ + ".ALLOWED_SELLERS", [8])
        assert names(api.get("/products")) == ["云南咖啡豆"]
        monkeypatch.setattr(__name__ + ".ALLOWED_SELLERS", [])
        assert names(api.get("/products")) == []


CALLABLE_CAP = 10**9


class CallableCap:
    """product_filters: the same condition object, its value read by a
    callable bind parameter at execution."""

    def __init__(self):
        self.condition = Product.price < bindparam("cap", callable_=lambda: CALLABLE_CAP)

    @hookimpl
    def product_filters(self, context):
        return [self.condition]


@plugin(CallableCap())
def test_plugin_callable_bindparam_is_read_each_time(api, shop, monkeypatch):
    """K4: a condition whose value comes from a callable is evaluated on
    every request, not once when the statement was cached."""
    for _ in range(2):
        monkeypatch.setattr(__name__ + ".CALLABLE_CAP", 10**9)
        assert names(api.get("/products")) == ["Pilot Pen", "云南咖啡豆", "安溪铁观音", "西湖龙井"]
        monkeypatch.setattr(__name__ + ".CALLABLE_CAP", 2000)
        assert names(api.get("/products")) == ["Pilot Pen"]


class FixedCondition:
    """product_filters: the same expression object on every call."""

    def __init__(self):
        self.conditions = [Product.seller_id.is_distinct_from(7)]
        self.calls = 0

    @hookimpl
    def product_filters(self, context):
        self.calls += 1
        return self.conditions


@plugin(FixedCondition())
def test_plugin_fixed_condition_with_changing_rows(api, shop, factory, extra_plugins):
    """K4: a plugin returning the same expression object each call (the
    cache keeps hitting) still gets the rows as they are now; the hook is
    still called on every listing."""
    [fixed] = extra_plugins
    p = shop["p"]
    assert names(api.get("/products")) == ["Pilot Pen", "云南咖啡豆", "西湖龙井"]
    calls = fixed.calls
    p["pen"].seller_id = 7
    db.session.commit()
    assert names(api.get("/products")) == ["云南咖啡豆", "西湖龙井"]
    p["tgy"].seller_id = None
    new = factory.product("白毫银针", price=7000, seller_id=9)
    factory.product("七号店的茶", price=7000, seller_id=7)
    assert names(api.get("/products")) == ["白毫银针", "云南咖啡豆", "安溪铁观音", "西湖龙井"]
    assert names(api.get("/products?min_price=6000")) == ["白毫银针", "西湖龙井"]
    new.price = 100
    db.session.commit()
    assert names(api.get("/products?min_price=6000")) == ["西湖龙井"]
    assert fixed.calls >= calls + 3


# --- 3. One statement per page ----------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/products",
        "/products?limit=2",
        "/products?q=%E9%BE%99%E4%BA%95&min_price=1&max_price=9999&seller_id=7&sort=price_desc",
        "/products?sort=sales&limit=1&cursor={cursor}",
        "/products?tag_id={tag}",
    ],
)
def test_one_statement_per_list_request(api, shop, queries, path):
    """K4/K14: a product page is exactly one SQL statement (no session, user
    or settings lookups besides), the first time and from the cache."""
    cursor = api.get("/products?sort=sales&limit=1").get_json()["next_cursor"]
    path = path.format(cursor=cursor, tag=shop["tag"].id)
    for _ in range(2):
        with queries() as qc:
            resp = api.get(path)
        assert resp.status_code == 200, resp.get_json()
        assert qc.count == 1, qc.statements


@plugin(PriceCap())
def test_one_statement_with_a_plugin_filter(api, shop, queries, monkeypatch):
    """K4/K14: a plugin's ``product_filters`` condition lives in the same one
    statement, whether its values changed or not."""
    for cap in (10**9, 5000, 5000, 1000):
        monkeypatch.setattr(__name__ + ".PRICE_CAP", cap)
        with queries() as qc:
            resp = api.get("/products?sort=price_asc&limit=3")
        assert resp.status_code == 200
        assert qc.count == 1, qc.statements
    with queries() as qc:
        assert api.get("/products?min_price=1").status_code == 200
    assert qc.count == 1, qc.statements


@plugin(FixedCondition())
def test_one_statement_with_a_fixed_plugin_filter(api, shop, queries):
    """K4/K14: one statement with a plugin returning the same condition object."""
    for path in ("/products", "/products", "/products?seller_id=8"):
        with queries() as qc:
            assert api.get(path).status_code == 200
        assert qc.count == 1, qc.statements


# --- 4. Rate limiting ---------------------------------------------------------


@pytest.fixture
def restore_limiter():
    """The limiter is one module-level object shared by every app; Flask-
    Limiter keeps the default limits of the first app that set them, so
    put them back as they were after a test that configures some."""
    manager = limiter.limit_manager
    saved = list(manager._default_limits), list(manager._application_limits)
    yield
    manager.set_default_limits(saved[0])
    manager.set_application_limits(saved[1])


@pytest.mark.parametrize(
    "app_config",
    [{"RATELIMIT_ENABLED": True, "RATELIMIT_DEFAULT": "2 per minute", "RATELIMIT_STORAGE_URI": "memory://"}],
)
def test_default_limit_applies_to_the_product_list(restore_limiter, app, api, shop, app_config):
    """K14/K15: with a default limit configured the list endpoint is limited
    like any other (the middleware shortcut does not skip it): the third
    request in the minute is a 429 ``rate_limited``."""
    codes = [api.get("/products").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    resp = api.get("/products?limit=1")
    assert resp.status_code == 429 and resp.get_json()["code"] == "rate_limited"
    first = api.get("/categories")
    assert first.status_code == 200 and first.headers.get("X-RateLimit-Limit") == "2"


@pytest.mark.parametrize(
    "app_config",
    [{"RATELIMIT_ENABLED": True, "RATELIMIT_APPLICATION": "3 per minute", "RATELIMIT_STORAGE_URI": "memory://"}],
)
def test_application_limit_applies_to_the_product_list(restore_limiter, app, api, shop, app_config):
    """K14/K15: an application-wide limit counts list requests too."""
    codes = [api.get(path).status_code for path in ("/products", "/categories", "/products?limit=1", "/products")]
    assert codes == [200, 200, 200, 429]


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True, "JISHI_LOGIN_RATE_LIMIT": "2 per minute"}])
def test_login_limit_applies_without_default_limits(app, api, client, factory, shop, app_config):
    """K15: with no default limit, the list is not limited, while sign-in's
    own ``@limiter.limit`` still answers 429 (API and web form)."""
    assert not limiter.limit_manager._default_limits and not limiter.limit_manager._application_limits
    assert [api.get("/products").status_code for _ in range(5)] == [200] * 5
    factory.user(phone="13900000011")
    login = {"phone": "13900000011", "password": "wrong-password"}
    first = api.post("/auth/login", json=login)
    assert first.status_code == 401 and first.headers.get("X-RateLimit-Limit") == "2"
    assert [api.post("/auth/login", json=login).status_code for _ in range(2)] == [401, 429]
    resp = api.post("/auth/login", json={"phone": "13900000011", "password": "secret123"})
    assert resp.status_code == 429 and resp.get_json()["code"] == "rate_limited"
    assert [client.post("/login", data=login).status_code for _ in range(3)] == [401, 401, 429]
    assert client.get("/login").status_code == 200  # showing the form is not limited
    assert api.get("/products").status_code == 200


# --- 5. Sessions and signed-in users ----------------------------------------


def test_anonymous_api_get_sets_no_cookie(api, client, factory, shop):
    """K14: an anonymous API GET (nor a bearer one) opens and saves no
    cookie session."""
    pid = shop["p"]["pen"].id
    for path in (
        "/api/v1/products",
        "/api/v1/products?limit=1",
        f"/api/v1/products/{pid}",
        "/api/v1/categories",
        "/api/v1/products?limit=abc",
    ):
        resp = client.get(path)
        assert resp.status_code in (200, 422), path
        assert "Set-Cookie" not in resp.headers, (path, resp.headers.get("Set-Cookie"))
    buyer_resp = api.get("/products", user=factory.user())
    assert buyer_resp.status_code == 200 and "Set-Cookie" not in buyer_resp.headers


def test_bearer_user_gets_account_and_member_price(api, factory, shop):
    """K5/K14: a bearer-token request still signs the user in: /me answers
    for them and the product detail shows a member level's price."""
    level = MemberLevel(name="金卡", rank=2)
    db.session.add(level)
    db.session.commit()
    member = factory.user(name="会员", member_level_id=level.id)
    sku = shop["p"]["pen"].skus[0]
    sku.member_price = 1000
    db.session.commit()
    me = api.get("/me", user=member)
    assert me.status_code == 200 and me.get_json()["id"] == member.id
    assert me.get_json()["member_level"]["name"] == "金卡"
    assert "Set-Cookie" not in me.headers
    listing = api.get("/products", user=member)
    assert names(listing) == ["Pilot Pen", "云南咖啡豆", "安溪铁观音", "西湖龙井"]
    assert listing.get_json()["items"][0]["price"] == 1200  # the list shows the base price
    detail = api.get(f"/products/{shop['p']['pen'].id}", user=member).get_json()
    assert detail["skus"][0]["your_price"] == 1000 and detail["skus"][0]["price_source"] == "member"
    anon = api.get(f"/products/{shop['p']['pen'].id}").get_json()
    assert anon["skus"][0]["your_price"] == 1200
    assert api.get("/me").status_code == 401
    assert api.get("/me", headers={"Authorization": "Bearer not-a-token"}).status_code == 401


def test_cookie_sessions_still_work(client, factory, shop):
    """K5/K14: a browser's cookie session is still opened on API requests
    (signed-in user, chosen language), and a first visit that stores
    something in the session still gets its cookie."""
    from flask import g

    # (The test app keeps one app context for every request, and Flask-Babel
    # caches the locale on its ``g``: forget it before each request.)
    g.pop("_flask_babel", None)
    assert client.get("/api/v1/products?limit=1000").get_json()["message"] == "每页最多 100 条。"
    resp = client.post("/locale", data={"locale": "en"})
    assert resp.status_code in (302, 303) and "Set-Cookie" in resp.headers
    g.pop("_flask_babel", None)
    msg = client.get("/api/v1/products?limit=1000").get_json()
    assert msg["field"] == "limit" and msg["message"] == "At most 100 per page."
    user = factory.user(phone="13900000012")
    assert client.post("/login", data={"phone": user.phone, "password": "secret123"}).status_code in (302, 303)
    me = client.get("/api/v1/me")
    assert me.status_code == 200 and me.get_json()["id"] == user.id
    assert names(client.get("/api/v1/products?limit=1")) == ["Pilot Pen"]
    assert client.get("/api/v1/me").status_code == 200  # the list did not drop the session


# --- 6. UTF-8 JSON -------------------------------------------------------------


def test_chinese_json_is_utf8(api, factory):
    """K14: Chinese names travel as UTF-8, not \\u escapes, in an
    ``application/json`` answer, and decode back to the same text."""
    made = factory.product(name="明前西湖龙井茶", subtitle="杭州·狮峰 🍵", price=8800)
    for path in ("/products", f"/products?q={q('龙井')}", f"/products/{made.id}"):
        resp = api.get(path)
        assert resp.status_code == 200
        assert resp.headers["Content-Type"] == "application/json"
        assert resp.mimetype == "application/json"
        assert "明前西湖龙井茶".encode() in resp.data and "杭州·狮峰 🍵".encode() in resp.data
        assert b"\\u" not in resp.data
        body = json.loads(resp.data.decode("utf-8"))
        item = body["items"][0] if "items" in body else body
        assert item["name"] == "明前西湖龙井茶" and item["subtitle"] == "杭州·狮峰 🍵"
    err = api.get("/products?limit=1000")
    assert err.status_code == 422 and err.headers["Content-Type"] == "application/json"
    assert "每页最多".encode() in err.data and b"\\u" not in err.data


# --- 7. The product detail without marshmallow ----------------------------------


class _DetailExtras:
    """A plugin giving the detail a seller profile and a blocker (a lazy
    message), so that every field of the response has a value."""

    @hookimpl
    def seller_profiles(self, seller_ids):
        from jishi.hookspecs import SellerProfile

        return {
            i: SellerProfile(i, f"店{i}", url=f"/shops/{i}", status="resting", status_label="休息中")
            for i in seller_ids
        }

    @hookimpl
    def purchase_blockers(self, product, user):
        from jishi.hookspecs import Problem
        from jishi.i18n import lazy_gettext

        if product.seller_id == 7:
            return [Problem("resting", lazy_gettext("product"))]
        return None


def _schema_dumps(monkeypatch):
    """The schema's own dump of every detail the API answers, made in the
    request (its locale) and kept as JSON text decodes it."""
    from jishi.api import catalog as api_catalog
    from jishi.api.catalog import CatalogProductDetailSchema

    seen = []
    real = api_catalog.detail_response

    def checked(detail):
        seen.append(json.loads(json.dumps(CatalogProductDetailSchema().dump(detail), ensure_ascii=False)))
        return real(detail)

    monkeypatch.setattr(api_catalog, "detail_response", checked)
    return seen


@plugin(_DetailExtras())
def test_product_detail_equals_the_schema_dump(api, factory, shop, monkeypatch, extra_plugins):
    """Issue 20: the product detail is written without a marshmallow dump
    (``jishi.api.catalog.dumper``); its JSON is exactly the
    CatalogProductDetailSchema dump of the same detail, for products with
    every field filled (SKUs with specs and member prices, images,
    parameters, specs, tags, a category, a seller profile, a blocker) and
    for a bare one (no category, no seller, no lists), signed in and not."""
    from jishi.catalog.models import ProductImage, ProductParam, ProductSpec

    level = MemberLevel(name="金卡", rank=2)
    db.session.add(level)
    db.session.commit()
    member = factory.user(name="会员", member_level_id=level.id)
    rich = factory.product(
        name="铁观音",
        seller_id=7,
        category=shop["cat"]["tea"],
        original_price=9900,
        skus=[
            {"price": 1000, "stock": 5, "spec_values": {"规格": "小", "包装": "罐"}, "member_price": 900},
            {"price": 2000, "stock": 0, "spec_values": {"规格": "大", "包装": "袋"}, "code": "B-1"},
        ],
    )
    db.session.add_all(
        [
            ProductImage(product_id=rich.id, url="/static/a.jpg", sort=1),
            ProductImage(product_id=rich.id, url="/static/b.jpg", sort=0),
            ProductParam(product_id=rich.id, name="产地", value="安溪", sort=0),
            ProductSpec(product_id=rich.id, name="规格", values=["小", "大"], sort=0),
            ProductSpec(product_id=rich.id, name="包装", values=["罐", "袋"], sort=1),
        ]
    )
    rich.tags.append(shop["tag"])
    db.session.commit()
    seen = _schema_dumps(monkeypatch)
    for product, user in ((rich, member), (rich, None), (shop["p"]["pen"], member), (shop["p"]["coffee"], None)):
        resp = api.get(f"/products/{product.id}", user=user)
        assert resp.status_code == 200 and resp.headers["Content-Type"] == "application/json"
        assert resp.get_json() == seen[-1]
    full = api.get(f"/products/{rich.id}", user=member).get_json()
    assert full == seen[-1]
    assert set(full) == set(CatalogProductDetailSchema().fields)  # every field answered
    assert full["blockers"] == [{"code": "resting", "message": "商品"}] and full["purchasable"] is False
    assert full["seller"]["status_label"] == "休息中" and full["category"]["name"] == "茶"
    assert [s["your_price"] for s in full["skus"]] == [900, 2000] and full["skus"][0]["spec_values"]["包装"] == "罐"
    assert [i["url"] for i in full["images"]] == ["/static/b.jpg", "/static/a.jpg"] and len(full["specs"]) == 2
    assert full["tags"] == [{"id": shop["tag"].id, "name": "热卖"}] and full["params"][0]["value"] == "安溪"


def test_dumper_follows_marshmallow_for_other_values():
    """``dumper`` gives the schema's dump for None values, a missing key
    (left out), numbers and text given as other types, and objects."""
    from types import SimpleNamespace

    from jishi.api.catalog import CatalogProductDetailSchema, dumper

    schema = CatalogProductDetailSchema()
    fast = dumper(CatalogProductDetailSchema)
    cases = [
        {},
        {"id": 3, "name": None, "category": None, "seller": None, "skus": None, "images": []},
        {"id": True, "price": 12.0, "name": b"\xe8\x8c\xb6", "subtitle": 5, "tags": [SimpleNamespace(id=1, name="热")]},
        {"category": SimpleNamespace(id=1, name="茶"), "skus": [{"spec_values": {1: 2}, "is_active": 0}]},
        SimpleNamespace(id=4, name="对象", on_shelf=True),
    ]
    for case in cases:
        assert fast(case) == schema.dump(case), case


def test_dumper_is_the_schemas_dump_to_the_json_text():
    """One ``dumper`` serves the detail, the checkout's preview and its
    placement: the same JSON text as the schema's dump (a Boolean given
    ``1`` or ``"yes"`` answers as marshmallow's own Boolean does), for the
    field types it converts itself and for those it leaves to the field
    (date-times, methods, functions), from dicts and objects."""
    import json
    from datetime import datetime
    from types import SimpleNamespace

    from jishi.api.catalog import dumper
    from marshmallow import Schema, fields

    class Line(Schema):
        n = fields.Integer()
        ok = fields.Boolean()

    class Thing(Schema):
        ok = fields.Boolean()
        at = fields.DateTime()
        label = fields.Method("make_label")
        size = fields.Function(lambda obj: 7)
        lines = fields.List(fields.Nested(Line))
        one = fields.Nested(Line, allow_none=True)
        named = fields.String(data_key="name")

        def make_label(self, obj):
            return "标签"

    at = datetime(2026, 12, 5, 6, 0, 0)
    cases = [
        {"ok": 1, "at": at, "lines": [{"n": "3", "ok": "yes"}, {"ok": 0}], "one": None, "named": 5},
        {"ok": "false", "lines": []},
        SimpleNamespace(ok=0, at=at, lines=[SimpleNamespace(n=2, ok="on")], one=SimpleNamespace(n=1, ok=1), named="名"),
        SimpleNamespace(),
    ]
    fast = dumper(Thing)
    for case in cases:
        assert json.dumps(fast(case), sort_keys=True) == json.dumps(Thing().dump(case), sort_keys=True), case


def _snapshot(product):
    from sqlalchemy import inspect

    def cols(obj):
        return {a.key: getattr(obj, a.key) for a in inspect(obj).mapper.column_attrs}

    return (
        cols(product),
        cols(product.category) if product.category is not None else None,
        [cols(s) for s in product.skus],
    )


def test_product_page_read_is_the_orm_load(app, factory):
    """Issue 20: ``product_page`` reads the product, its category and SKUs
    as Core rows made clean persistent instances (``jishi.loaders.persistent``):
    the same values, identities and loaded relationships as the ORM's
    joined load, changes flush normally; a product the session already
    holds is read through the ORM and kept (the same object)."""
    from jishi.catalog import service
    from jishi.catalog.models import Sku
    from sqlalchemy import inspect, select
    from sqlalchemy.orm import joinedload

    tea = factory.category("茶")
    made = factory.product(
        "龙井",
        category=tea,
        original_price=3000,
        skus=[
            {"price": 2000, "stock": 0, "spec_values": {"规格": "大"}, "member_price": 1800},
            {"price": 1000, "stock": 5, "spec_values": {"规格": "小"}, "code": "S"},
        ],
    )
    bare = factory.product("无分类")
    pid, bare_id = made.id, bare.id
    db.session.expunge_all()
    product, loaded = service.product_page(pid)
    assert loaded is not None and {"images", "params", "specs", "tags"}.isdisjoint(loaded)
    state = inspect(product)
    assert state.persistent and not state.modified and {"category", "skus"}.isdisjoint(state.unloaded)
    assert all(inspect(s).persistent and s.product is product for s in product.skus)
    assert db.session.get(Sku, product.skus[0].id) is product.skus[0]
    fast = _snapshot(product)
    assert [s["price"] for s in fast[2]] == [2000, 1000] and fast[1]["name"] == "茶"
    db.session.expunge_all()
    orm = db.session.execute(
        select(Product).options(joinedload(Product.category), joinedload(Product.skus)).where(Product.id == pid)
    )
    assert _snapshot(orm.unique().scalar_one()) == fast
    db.session.expunge_all()
    none, _ = service.product_page(bare_id)
    assert none.category is None and len(none.skus) == 1 and not db.session.dirty
    # changes to the instances read this way flush as usual
    product, _ = service.product_page(pid)
    product.name = "明前龙井"
    product.skus[1].stock = 4
    db.session.commit()
    db.session.expunge_all()
    again = db.session.get(Product, pid)
    assert again.name == "明前龙井" and again.skus[1].stock == 4
    # held by the session: the ORM's read, the held object kept as it is
    again.subtitle = "未保存"
    held, _ = service.product_page(pid)
    assert held is again and held.subtitle == "未保存"
    db.session.rollback()
    assert service.product_page(10**9) == (None, None)


def test_product_detail_sees_a_write_of_another_connection_at_once(api, factory, shop):
    """Issue 20 (detail2): nothing of a product is kept between requests:
    a change committed on another connection (another worker's, an admin's)
    is in the very next detail answer: the product's own columns, a SKU's
    price and stock, an image, a parameter, a tag, and the product going off
    the shelf (then a 404)."""
    from jishi.catalog.models import ProductImage, ProductParam, Sku, product_tags
    from sqlalchemy import delete, insert, update

    member = factory.user(name="买家")
    product = shop["p"]["pen"]
    pid, sku_id, tag_id = product.id, product.skus[0].id, shop["tag"].id
    first = api.get(f"/products/{pid}", user=member).get_json()
    assert first["name"] == "Pilot Pen" and first["images"] == [] and first["tags"] == [{"id": tag_id, "name": "热卖"}]
    with db.engine.begin() as other:  # not the request's session: another connection, committed
        other.execute(update(Product).where(Product.id == pid).values(name="新笔", subtitle="改了", sales=7))
        other.execute(update(Sku).where(Sku.id == sku_id).values(price=999, stock=3))
        other.execute(insert(ProductImage).values(product_id=pid, url="/static/new.jpg", sort=0))
        other.execute(insert(ProductParam).values(product_id=pid, name="颜色", value="黑", sort=0))
        other.execute(delete(product_tags).where(product_tags.c.product_id == pid))
    second = api.get(f"/products/{pid}", user=member).get_json()
    assert (second["name"], second["subtitle"], second["sales"]) == ("新笔", "改了", 7)
    assert [(s["price"], s["your_price"], s["stock"]) for s in second["skus"]] == [(999, 999, 3)] and second[
        "stock"
    ] == 3
    assert second["images"] == [{"url": "/static/new.jpg"}] and second["params"] == [{"name": "颜色", "value": "黑"}]
    assert second["tags"] == []
    with db.engine.begin() as other:
        other.execute(update(Product).where(Product.id == pid).values(on_shelf=False))
    assert api.get(f"/products/{pid}", user=member).status_code == 404
