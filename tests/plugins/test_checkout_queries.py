"""Issue 20: the buyer's hot paths with EVERY first-party plugin enabled,
statements counted per real request (each request in a fresh app context,
``jishi.testing.ServedClient``), on SQLite and PostgreSQL alike.

Each plugin's checkout rows are read together (``checkout_loaders``, run
by the kernel with its read of the address in ONE statement), whatever the
number of lines and merchants: express's templates, pickup points, local
delivery settings, the buyer's coupons, the points balance (not on a
placement without points), shopping options' rules, distribution's
referral (on placement). Beside it the kernel's token, lines and settings
and multistore's merchant profiles (flash prices and coupon activities only
while one may run; pickup points and local delivery settings not on a
placement with another method chosen); on placement the kernel's five
writes and multistore's commission rates (one INSERT .. SELECT).
"""

from __future__ import annotations

import pytest
from jishi.cli.docs import FIRST_PARTY_PLUGINS
from jishi.db import db

pytestmark = pytest.mark.jishi_plugins(*FIRST_PARTY_PLUGINS)

#: token, SKU with product, the buyer's line of it and every plugin's
#: ``purchase_loaders`` rows (shopping options' row, the merchant, the
#: review state), the INSERT or UPDATE; the settings from the process's
#: copy (issue 20: 6 before, shopping options' row, the settings and the
#: merchant with the review state each a statement)
ADD_TO_CART = 3
#: token, lines, and ONE statement of every plugin's ``checkout_loaders``
#: with the address: merchant profiles, express (choices and links,
#: templates, region rules), pickup points, local delivery settings, the
#: buyer's coupons with their templates, the points balance, shopping
#: options' rules and counters; flash prices and coupon activities only
#: while one may run (``flashsale.windows``, ``coupons.activity_windows``,
#: read with the settings); the settings from the process's copy. 14 before
#: issue 20's second pass, 12 before its third (each of those reads a
#: statement of its own, the settings one per request)
PREVIEW = 3
#: the preview's 3 (the loaders statement without the points balance,
#: read only when points are asked for, nor pickup points and local
#: delivery settings, read only for a group that may take them) + payment,
#: orders, lines, history, stock (one UPDATE for every line), commission
#: rates (one INSERT .. SELECT resolving them); distribution's referral is
#: part of the loaders statement (16 before the third pass)
PLACE = 9


def _express_template():
    from jishi_delivery_express.testing import piece_template

    piece_template(name="默认")


def _cart(factory, ms, merchants: int, lines: int):
    """``lines`` products spread over ``merchants`` merchants, 1000 fen each."""
    shops = [ms.merchant(f"店{i}") for i in range(merchants)]
    return [ms.product(shops[i % merchants], price=1000 + i, stock=50).skus[0] for i in range(lines)]


def _body(skus, addr):
    return {"items": [{"sku_id": s.id, "quantity": 1} for s in skus], "address_id": addr.id}


def test_add_to_cart_statements_with_every_plugin(api, factory, ms, queries):
    """K6 / issue 20: adding a merchant's product to a cart holding other
    lines costs 6 statements with every plugin (9 before: multistore read
    the merchant and the review state apart, shopping options read its
    rules twice, the cart line was a statement of its own); adding to the
    same line again costs the same."""
    buyer = factory.user()
    ids = [s.id for s in _cart(factory, ms, 2, 3)]
    headers = api.headers(buyer)  # the token outside the measured block
    api.post("/cart/items", headers=headers, json={"sku_id": ids[0], "quantity": 1})
    for sku_id in (ids[1], ids[1]):  # a new line, then the same line again
        with queries() as q:
            r = api.post("/cart/items", headers=headers, json={"sku_id": sku_id, "quantity": 1})
        assert r.status_code == 201, r.json
        assert q.count == ADD_TO_CART, "\n".join(s[:160] for s in q.statements)
        assert not q.duplicates(), q.duplicates()
    assert r.json["quantity"] == 2


@pytest.mark.parametrize(("merchants", "lines"), [(1, 1), (1, 5), (3, 5)])
def test_preview_and_place_statements_with_every_plugin(api, factory, ms, queries, merchants, lines):
    """K7 / MS8 / issue 20: preview 5 and place 11 statements for 1 or 5
    lines from 1 or 3 merchants, every plugin enabled (before: preview
    17 / 17 / 29, place 26 / 26 / 38: express read five statements per
    merchant, pickup one per merchant, shopping options twice; then 14 and
    22: flash prices and coupon activities read with none running, the
    commission rates looked up before their INSERT .. SELECT, the points
    balance read on placement without points, pickup points and local
    delivery settings read with express chosen; then 12 and 16: each
    plugin's checkout rows a statement of its own, before
    ``checkout_loaders``). The
    express fee of each merchant's order is still its template's (first
    piece 1000, each further piece 500)."""
    from jishi_coupons import service as coupons
    from jishi_flashsale import service as flash

    _express_template()
    flash.publish_windows_job()  # as the flashsale_windows job does: no sale runs
    coupons.publish_windows_job()  # and coupons_windows: no 满减 activity runs
    buyer = factory.user()
    addr = factory.address(buyer)
    skus = _cart(factory, ms, merchants, lines)
    body = _body(skus, addr)
    headers = api.headers(buyer)
    per_merchant = [len(skus[i::merchants]) for i in range(merchants)]
    fees = sum(1000 + 500 * (n - 1) for n in per_merchant)
    goods = sum(s.price for s in skus)
    api.post("/checkout/preview", headers=headers, json=body)  # a first request may read what a process caches
    with queries() as q:
        r = api.post("/checkout/preview", headers=headers, json=body)
    assert r.status_code == 200, r.json
    assert q.count == PREVIEW, "\n".join(s[:160] for s in q.statements)
    assert not q.duplicates(), q.duplicates()
    assert r.json["totals"]["pay_amount"] == goods + fees

    assert {g["delivery"] for g in r.json["groups"]} == {"express"}
    chosen = {g["key"]: g["delivery"] for g in r.json["groups"]}  # what a client sends back

    with queries() as q:
        r = api.post(
            "/checkout/place",
            json={**body, "delivery": chosen},
            headers={**headers, "Idempotency-Key": f"q{merchants}-{lines}"},
        )
    assert r.status_code == 201, r.json
    assert q.count == PLACE, "\n".join(s[:160] for s in q.statements)
    assert not q.duplicates(), q.duplicates()
    assert len(r.json["orders"]) == merchants
    assert sum(o["pay_amount"] for o in r.json["orders"]) == goods + fees
    for sku in skus:
        db.session.refresh(sku)
        assert sku.stock == 49


def test_a_placement_reads_only_the_chosen_delivery(api, factory, ms, queries):
    """Issue 20: placing with express chosen reads neither the pickup
    points nor the local delivery settings (``Checkout.chose_other``); a
    preview, or a placement choosing nothing, reads both."""
    from jishi.checkout.service import build_checkout

    _express_template()
    buyer = factory.user()
    addr = factory.address(buyer)
    skus = _cart(factory, ms, 1, 1)
    key = build_checkout(buyer, [(skus[0].id, 1)], addr.id).groups[0].key
    db.session.rollback()

    def tables(options, placing):
        with queries() as q:
            co = build_checkout(buyer, [(skus[0].id, 1)], addr.id, options, placing=placing)
        db.session.rollback()
        read = {t for t in ("pickup_points", "local_settings") if any(f"FROM {t}" in s for s in q.statements)}
        return co, read

    both = {"pickup_points", "local_settings"}
    assert tables({"delivery": {key: "express"}}, False)[1] == both
    assert tables({}, True)[1] == both
    co, read = tables({"delivery": {key: "express"}}, True)
    assert read == set() and co.groups[0].delivery.code == "express" and not co.problems
    assert co.chose_other(co.groups[0], "pickup") and not co.chose_other(co.groups[0], "express")
