"""C7 authorization for the points exchange (issue 16): every route of the
blueprints ``points_exchange`` (buyer pages), ``points_exchange_api`` and
``points_exchange_console`` × {anonymous, buyer, clerk of M1, admin of M1,
platform admin} × {a product item, a coupon item}. Denied calls answer
401/403/404 (a page may send an anonymous visitor to the login page), never
data; allowed ones never 5xx. :func:`test_every_route_has_a_row` fails for
a route without a row.

``access``: ``public``; ``signed_in``; ``platform`` (platform staff with
``marketing``: the platform admin here). Objects: ``item`` is a product
item ("product") and a coupon item ("coupon"); ``product_item`` two
product items (the checkout is for product items only).
"""

from __future__ import annotations

import pytest
from jishi.testing import authz, principals
from jishi.testing.authz import Row

from .helpers import coupon_template, exchange_item, give

pytestmark = pytest.mark.jishi_plugins("multistore", "coupons", "points")

PRINCIPALS = ("anonymous", "buyer", "clerk1", "admin1", "platform")
BLUEPRINTS = ("points_exchange", "points_exchange_api", "points_exchange_console")
OWNERS = ("product", "coupon")

A = "/api/v1"
C = "/console/points/exchange"
ROWS = [
    Row("GET", "/points/exchange", "public"),
    Row("GET", "/points/exchange/{obj}", "public", obj="item"),
    Row("POST", "/points/exchange/{obj}/redeem", "signed_in", obj="item"),
    Row("GET", "/points/exchange/{obj}/checkout", "signed_in", obj="product_item"),
    Row("POST", "/points/exchange/{obj}/checkout", "signed_in", obj="product_item", data={"action": "refresh"}),
    Row("GET", f"{A}/points/exchange", "public"),
    Row("GET", f"{A}/points/exchange/{{obj}}", "public", obj="item"),
    Row("POST", f"{A}/points/exchange/{{obj}}/redeem", "signed_in", obj="item"),
    Row("GET", f"{C}/", "platform"),
    Row("GET", f"{C}/new", "platform"),
    Row("POST", f"{C}/new", "platform", data={"title": ""}),
    Row("GET", f"{C}/{{obj}}", "platform", obj="item"),
    Row("POST", f"{C}/{{obj}}", "platform", obj="item", data={"title": ""}),
    Row("POST", f"{C}/{{obj}}/stop", "platform", obj="item"),
    Row("POST", f"{C}/{{obj}}/start", "platform", obj="item"),
]


def build_world(factory) -> authz.World:
    who = principals.standard(factory, multistore=True)
    sku = factory.product(price=5000, stock=100).skus[0]
    t = coupon_template(total_quantity=1000, per_user_limit=100)
    objects = {
        ("item", "product"): exchange_item(sku, points=10, stock=100, per_user_limit=0).id,
        ("item", "coupon"): exchange_item(
            kind="coupon", coupon_template_id=t.id, points=10, stock=100, per_user_limit=0
        ).id,
        ("product_item", "product"): exchange_item(sku, points=10, stock=100, per_user_limit=0).id,
        ("product_item", "coupon"): exchange_item(sku, points=20, stock=100, per_user_limit=0).id,
    }
    for name in ("buyer", "clerk1", "admin1", "platform"):
        give(who[name], 1000)
    return authz.World(who.users, objects)


@pytest.mark.parametrize("row", ROWS, ids=authz.label)
def test_matrix(app, client, api, factory, row):
    """C7 / issue 16: who may call each points-exchange route."""
    authz.assert_row(
        row,
        build_world(factory),
        client=client,
        api=api,
        principals=PRINCIPALS,
        allowed=authz.standard_access,
        owners=OWNERS,
        check=authz.no_data_leaked,
    )


def test_every_route_has_a_row(app):
    """C7: a points-exchange route without a row above fails here."""
    authz.assert_every_route_has_a_row(app, ROWS, blueprints=BLUEPRINTS)
