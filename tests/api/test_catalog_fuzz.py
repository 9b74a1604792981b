"""K14: random JSON bodies and query strings against the catalog, cart,
account and platform catalog endpoints never produce a 500 (hypothesis)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

json_val = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "name",
                    "values",
                    "spec_values",
                    "price",
                    "id",
                    "stock",
                    "value",
                    "规格",
                    "quantity",
                    "sku_id",
                    "ids",
                    "selected",
                ]
            )
            | st.text(max_size=4),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)
KEYS = [
    "name",
    "subtitle",
    "description",
    "category_id",
    "tags",
    "images",
    "params",
    "specs",
    "skus",
    "on_shelf",
    "is_virtual",
    "phone",
    "password",
    "locale",
    "province",
    "city",
    "detail",
    "district",
    "lat",
    "lng",
    "is_default",
    "quantity",
    "sku_id",
    "selected",
    "ids",
    "stock",
    "parent_id",
    "sort",
    "role",
    "member_level_id",
    "rank",
    "x",
]
body = st.dictionaries(st.sampled_from(KEYS), json_val, max_size=6) | json_val

ENDPOINTS = [
    ("post", "/admin/products"),
    ("patch", "/admin/products/{pid}"),
    ("put", "/admin/skus/{sid}/stock"),
    ("post", "/admin/categories"),
    ("patch", "/admin/categories/{cid}"),
    ("post", "/admin/tags"),
    ("patch", "/admin/users/{uid}"),
    ("post", "/admin/member-levels"),
    ("post", "/admin/products/{pid}/shelf"),
    ("post", "/cart/items"),
    ("patch", "/cart/items/{lid}"),
    ("post", "/cart/select"),
    ("post", "/addresses"),
    ("patch", "/addresses/{aid}"),
    ("patch", "/me"),
    ("post", "/auth/register"),
    ("post", "/auth/login"),
]


@pytest.fixture
def world(factory, api):
    admin = factory.admin()
    cat = factory.category("c")
    p = factory.product("p", category=cat, stock=5)
    from jishi.cart import service

    line = service.add(admin, p.skus[0].id, 1)
    a = factory.address(admin)
    return {
        "admin": admin,
        "pid": p.id,
        "sid": p.skus[0].id,
        "cid": cat.id,
        "uid": admin.id,
        "lid": line.id,
        "aid": a.id,
    }


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(ep=st.sampled_from(ENDPOINTS), data=body)
def test_fuzz_bodies(api, world, ep, data):
    """K14: any JSON body is answered with a JSON 2xx/4xx."""
    method, path = ep
    path = path.format(**world)
    r = getattr(api, method)(path, user=world["admin"], json=data)
    assert r.status_code < 500, (method, path, data, r.status_code)
    assert r.is_json


qs = st.dictionaries(
    st.sampled_from(
        ["q", "category_id", "tag_id", "min_price", "max_price", "sort", "cursor", "limit", "seller_id", "on_shelf"]
    ),
    st.text(max_size=10) | st.integers(-(2**66), 2**66).map(str),
    max_size=4,
)


@settings(max_examples=100, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(args=qs, admin_path=st.booleans())
def test_fuzz_listing_queries(api, world, args, admin_path):
    """K4, K14: any listing query string is answered with a 2xx/4xx."""
    r = api.get(("/admin/products?" if admin_path else "/products?") + urlencode(args), user=world["admin"])
    assert r.status_code < 500, (args, r.status_code)
