"""Issue 18: the authorization matrix for every route the shopping options
plugin adds (the promotion plugins' kit, ``tests/plugins/promotion_authz.py``):
the product's options are public, the buy-now checkout is a buyer's, the
overrides are the product's seller's (the ``products`` permission) and the
platform's; another merchant's product is 404 and its name never shown. A
route without a row fails :func:`test_every_route_has_a_row`."""

from __future__ import annotations

import pytest
from jishi.db import commit
from jishi.testing import authz

from .. import promotion_authz
from ..promotion_authz import rows
from . import helpers as so

BLUEPRINTS = ("shopping_options", "shopping_options_api")


def _body(kind: str, w: dict, who: str) -> dict | None:
    if kind == "defaults":
        return {"min_per_order": 0}
    if kind == "overrides":
        return {"max_per_buyer": 3}
    if kind == "web_overrides":
        return {"max_per_buyer": "3", "levels_set": "1"}
    if kind == "web_place":
        return {"sku_id": str(w["sku1"]), "quantity": "1", "action": "refresh"}
    return None


R = rows(_body)
ROWS = [
    # JSON API
    R("GET", "/api/v1/shopping-options/products/{p1}", "public"),
    R("GET", "/api/v1/shopping-options/admin/defaults", "platform"),
    R("PUT", "/api/v1/shopping-options/admin/defaults", "platform", body="defaults"),
    R("GET", "/api/v1/shopping-options/seller/products/{p1}", "seller", obj="product"),
    R("PUT", "/api/v1/shopping-options/seller/products/{p1}", "seller", body="overrides", obj="product"),
    # web pages
    R("GET", "/shopping-options/checkout?sku_id={sku1}&quantity=1", "signed_in"),
    R("POST", "/shopping-options/checkout", "signed_in", body="web_place"),
    R("GET", "/seller/shopping-options", "seller", lists=True),
    R("GET", "/seller/shopping-options/products/{p1}", "seller", obj="product"),
    R("POST", "/seller/shopping-options/products/{p1}", "seller", body="web_overrides", obj="product"),
]


def _named(product, title):
    """The product itself is the secret: named ``M1-ACT-SECRET``, limited to 5 per buyer."""
    product.name = title
    commit()
    so.options(product, max_per_buyer=5)
    return product


def _allowed(row, who, owner):
    """The platform's defaults: platform staff only; the rest as the promotion plugins' rows."""
    if row.access == "platform":
        return authz.standard_access(row, who, owner)
    return promotion_authz.allowed(row, who, owner)


@pytest.fixture
def world(app, factory):
    return promotion_authz.world(factory, _named)


@pytest.mark.jishi_plugins("multistore", "shopping_options")
@pytest.mark.parametrize("row", ROWS, ids=authz.label)
def test_authz_matrix(client, api, world, row):
    """Issue 18 / K15: each principal gets exactly its rights on every plugin route; other merchants' ids never give data."""
    objects = {("product", "m1"): world["p1"]}
    authz.assert_row(
        row,
        authz.World(world["users"], objects, world),
        client=client,
        api=api,
        principals=promotion_authz.PRINCIPALS,
        owners=("m1",),
        allowed=_allowed,
        check=promotion_authz.no_secrets,
        strict=True,
    )


@pytest.mark.jishi_plugins("multistore", "shopping_options")
def test_every_route_has_a_row(app):
    """Issue 18: a route of the plugin without an authorization row fails here."""
    authz.assert_every_route_has_a_row(app, ROWS, blueprints=BLUEPRINTS)


@pytest.mark.jishi_plugins("multistore", "shopping_options")
def test_merchant_cannot_change_another_merchants_product(api, world):
    """Issue 18 / MS7: admin of M2 with M1's product id gets 404 and nothing changes."""
    from jishi_shopping_options import service

    resp = api.put(
        f"/shopping-options/seller/products/{world['p1']}", json={"max_per_buyer": 99}, user=world["users"]["admin2"]
    )
    assert resp.status_code == 404
    assert service.overrides([world["p1"]])[world["p1"]].max_per_buyer == 5
