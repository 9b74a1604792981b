"""Issue 18: the shopping options in the JSON API: a product's options for
mini-programs (and the buyer's remaining units), the seller's per-product
overrides with validation (422 naming the field)."""

from __future__ import annotations

import pytest
from jishi.testing import flows

from . import helpers as so


def test_product_options_for_a_visitor_and_a_buyer(app, api, factory):
    """Issue 18: ``GET /shopping-options/products/<id>``: what applies; a buyer's remaining units."""
    p = factory.product(price=1000, stock=20)
    so.options(p, max_per_buyer=2, min_per_order=1, buy_now_only=True)
    body = api.get(f"/shopping-options/products/{p.id}").get_json()
    assert body["options"]["max_per_buyer"] == 2 and body["options"]["buy_now_only"] is True
    assert body["remaining"] is None and body["level_allowed"] is True
    u = so.buyer(factory)
    so.place(u, p.skus[0].id, 1)
    assert api.get(f"/shopping-options/products/{p.id}", user=u).get_json()["remaining"] == 1
    assert api.get("/shopping-options/products/999999").status_code == 404


def test_platform_sets_overrides_and_bad_input_names_the_field(app, api, factory):
    """Issue 18: the platform sets a product's overrides over the API; min above max is 422 naming ``min_per_order``."""
    admin = factory.admin()
    p = factory.product(price=1000, stock=20)
    resp = api.put(f"/shopping-options/seller/products/{p.id}", user=admin, json={"max_per_order": 3})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["overrides"]["max_per_order"] == 3 and body["options"]["max_per_order"] == 3
    resp = api.put(
        f"/shopping-options/seller/products/{p.id}", user=admin, json={"min_per_order": 5, "max_per_order": 2}
    )
    assert resp.status_code == 422 and resp.get_json()["field"] == "min_per_order"
    resp = api.put(f"/shopping-options/seller/products/{p.id}", user=admin, json={"max_per_buyer": "x"})
    assert resp.status_code == 422 and "max_per_buyer" in str(resp.get_json())
    got = api.get(f"/shopping-options/seller/products/{p.id}", user=admin).get_json()
    assert got["overrides"]["max_per_order"] == 3 and got["overrides"]["min_per_order"] is None


@pytest.mark.jishi_plugins("multistore", "shopping_options")
def test_merchant_sets_its_own_products_only_under_the_platform_cap(app, api, factory):
    """Issue 18 / MS7: a merchant sets options on its own products (another's is 404); the platform's cap applies on top."""
    from jishi.testing import principals
    from jishi_multistore import testing as ms

    who = principals.standard(factory, multistore=True, addresses=True)
    p1 = ms.product(who.merchants["m1"], price=1000, stock=50)
    p2 = ms.product(who.merchants["m2"], price=1000, stock=50)
    admin1 = who.users["admin1"]
    so.defaults(cap_per_order=4)
    ok = api.put(f"/shopping-options/seller/products/{p1.id}", user=admin1, json={"max_per_order": 2})
    assert ok.status_code == 200, ok.get_json()
    assert (
        api.put(f"/shopping-options/seller/products/{p2.id}", user=admin1, json={"max_per_order": 2}).status_code == 404
    )
    above = api.put(f"/shopping-options/seller/products/{p1.id}", user=admin1, json={"max_per_order": 9})
    assert above.status_code == 422 and above.get_json()["field"] == "max_per_order"
    buyer = who.users["buyer"]
    with pytest.raises(Exception) as exc:
        so.place(buyer, p1.skus[0].id, 3)
    assert getattr(exc.value, "code", "") == "max_per_order"
    assert flows.place(buyer, [(p1.skus[0].id, 2)], flows.address_id(buyer))


def test_platform_defaults_api_validates(app, api, factory):
    """Issue 18: the platform's defaults and caps over the admin API: saved
    values apply to products without overrides; min above max, a default
    above its cap and bad numbers are 422 naming the field, nothing written."""
    admin = factory.admin()
    p = factory.product(price=1000, stock=20)
    resp = api.put("/shopping-options/admin/defaults", user=admin, json={"max_per_buyer": 3, "cap_per_order": 10})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["max_per_buyer"] == 3 and resp.get_json()["cap_per_order"] == 10
    assert api.get(f"/shopping-options/products/{p.id}").get_json()["options"]["max_per_buyer"] == 3
    for body, field in (
        ({"min_per_order": 5}, "min_per_order"),  # above the default maximum per buyer (3)
        ({"max_per_order": 11}, "max_per_order"),  # above the cap (10)
        ({"cap_per_buyer": -1}, "cap_per_buyer"),
        ({"max_per_order": 10000}, "max_per_order"),
    ):
        resp = api.put("/shopping-options/admin/defaults", user=admin, json=body)
        assert resp.status_code == 422 and resp.get_json()["field"] == field, (body, resp.get_json())
    got = api.get("/shopping-options/admin/defaults", user=admin).get_json()
    assert (got["min_per_order"], got["max_per_order"], got["max_per_buyer"]) == (0, 0, 3)
    assert api.put("/shopping-options/admin/defaults", user=so.buyer(factory), json={}).status_code == 403
