"""Who may call what: every route of the plugin, as every principal, on the
own and another merchant's object (``jishi.testing.authz``), and no route
without a row. Only Jishi's public test kit is used."""

from __future__ import annotations

import pytest
from jishi.db import commit
from jishi.testing import authz, principals
from jishi.testing.authz import Row
from jishi_buy_n_get_m import rules

ROWS = [
    Row("GET", "/api/v1/buy-n-get-m/products/{obj}", "public", obj="product"),
    Row("GET", "/api/v1/seller/buy-n-get-m/rules", "seller:products"),
    Row(
        "PUT",
        "/api/v1/seller/buy-n-get-m/rules/{obj}",
        "seller:products",
        obj="product",
        json={"buy_qty": 3, "pay_qty": 2},
    ),
    Row("DELETE", "/api/v1/seller/buy-n-get-m/rules/{obj}", "seller:products", obj="product"),
    Row("GET", "/seller/buy-n-get-m/", "seller:products"),
    Row("GET", "/seller/buy-n-get-m/products/{obj}", "seller:products", obj="product"),
    Row(
        "POST",
        "/seller/buy-n-get-m/",
        "seller:products",
        obj="product",
        data={"product_id": "{obj}", "buy_qty": "3", "pay_qty": "2", "active": "1"},
    ),
    Row("POST", "/seller/buy-n-get-m/{obj}/delete", "seller:products", obj="rule"),
]


def build_world(factory, ms) -> authz.World:
    who = principals.standard(factory, multistore=True)
    objects = {}
    for key, merchant in who.merchants.items():
        product = ms.product(merchant, price=1000)
        objects[("product", key)] = product.id
        objects[("rule", key)] = rules.save_rule(product, 3, 2).id
    commit()
    return authz.World(who.users, objects)


@pytest.mark.jishi_plugins("multistore", "buy_n_get_m")
@pytest.mark.parametrize("row", ROWS, ids=authz.label)
def test_matrix(client, api, factory, ms, row):
    """Sellers reach their own rules only; the public rule read is open to all."""
    authz.assert_row(
        row,
        build_world(factory, ms),
        client=client,
        api=api,
        principals=principals.STANDARD,
        allowed=authz.standard_access,
    )


@pytest.mark.jishi_plugins("multistore", "buy_n_get_m")
def test_every_route_has_a_row(app):
    authz.assert_every_route_has_a_row(app, ROWS, blueprints=("buy_n_get_m", "buy_n_get_m_api"))
