"""Issue 20: the ``checkout_loaders`` hook. A plugin's rows for its checkout
hooks are read in the statement that reads the buyer's address (one
statement per checkout for every plugin together), and found in
``checkout.loaded`` by the hooks that run after; a checkout built without
them (no lines) has no such key."""

from __future__ import annotations

import pytest
from jishi.catalog.models import Sku
from jishi.hookspecs import PageLoader, Problem, hookimpl
from sqlalchemy import select


class StockNote:
    """Reads every line's stock with the checkout; refuses a checkout when
    any line's SKU has fewer than ``minimum`` units (from the loaded rows)."""

    def __init__(self):
        self.minimum = 0
        self.seen: list = []

    @hookimpl
    def checkout_loaders(self, lines, user, options):
        ids = sorted(line.sku_id for line in lines)
        return [PageLoader("test.stock", select(Sku.id.label("id"), Sku.stock.label("stock")).where(Sku.id.in_(ids)))]

    @hookimpl
    def validate_checkout(self, checkout):
        rows = checkout.loaded.get("test.stock")
        self.seen.append(rows)
        if rows and any(r["stock"] < self.minimum for r in rows):
            return [Problem("low", "low stock", field="items")]
        return None


@pytest.fixture
def plugin():
    return StockNote()


@pytest.fixture
def extra_plugins(plugin):
    return [plugin]


def test_loaders_read_with_the_address_in_one_statement(api, factory, plugin, queries):
    """Issue 20 (K7): placing with a plugin's loader costs the 9 statements
    of a placement without plugins (tests/api/test_checkout.py): its rows
    come in the statement reading the address; validate_checkout sees them."""
    buyer = factory.user()
    addr = factory.address(buyer)
    a = factory.product(price=1000, stock=7).skus[0]
    b = factory.product(price=2000, stock=3).skus[0]
    body = {"items": [{"sku_id": a.id, "quantity": 1}, {"sku_id": b.id, "quantity": 2}], "address_id": addr.id}
    headers = {**api.headers(buyer), "Idempotency-Key": "loaders"}
    ids = (a.id, b.id)
    with queries() as q:
        r = api.post("/checkout/place", json=body, headers=headers)
    assert r.status_code == 201, r.json
    assert q.count == 9, "\n".join(s[:160] for s in q.statements)
    assert sorted((row["id"], row["stock"]) for row in plugin.seen[-1]) == [(ids[0], 7), (ids[1], 3)]


def test_a_hook_decides_from_the_loaded_rows(api, factory, plugin):
    """Issue 20: what the loaded rows say is what the checkout does (the
    preview answers the plugin's problem); an unknown address is still a
    422 naming address_id when loaders run."""
    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product(price=1000, stock=2).skus[0]
    plugin.minimum = 5
    r = api.post("/checkout/preview", user=buyer, json={"items": [{"sku_id": sku.id, "quantity": 1}]})
    assert r.status_code == 200, r.json
    assert "low" in [p["code"] for p in r.json["problems"]]
    other = factory.address(factory.user())
    r = api.post(
        "/checkout/place",
        user=buyer,
        json={"items": [{"sku_id": sku.id, "quantity": 1}], "address_id": other.id},
        headers={"Idempotency-Key": "other"},
    )
    assert r.status_code == 422, r.json
    assert r.json["field"] == "address_id"
    plugin.minimum = 0
    r = api.post(
        "/checkout/place",
        user=buyer,
        json={"items": [{"sku_id": sku.id, "quantity": 1}], "address_id": addr.id},
        headers={"Idempotency-Key": "ok"},
    )
    assert r.status_code == 201, r.json


def test_an_empty_checkout_runs_no_loader(api, factory, plugin):
    """Issue 20: with nothing to check out no loader runs (``lines`` is never
    empty for the hook): the hooks after find no key."""
    buyer = factory.user()
    r = api.post("/checkout/preview", user=buyer, json={})
    assert r.status_code == 200, r.json
    assert plugin.seen[-1] is None
