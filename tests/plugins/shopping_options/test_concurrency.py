"""Issue 18: the per-buyer limit under concurrency: one buyer's parallel
checkout requests never pass it (the conditional upsert in the placing
transaction decides), on PostgreSQL with truly concurrent transactions (and
on SQLite, whose writers are serialised)."""

from __future__ import annotations

import pytest
from jishi.db import db
from jishi.testing import factories, flows, parallel_config, run_parallel
from jishi_shopping_options.models import ShoppingOptionsTake

from . import helpers as so


@pytest.fixture
def app_config():
    return parallel_config()


def test_parallel_checkouts_of_one_buyer_never_pass_the_limit(app, factory):
    """Issue 18: 8 parallel /checkout/place requests of one buyer, 1 unit
    each, limit 3 -> exactly 3 placed, the rest 422 max_per_buyer; the
    counter says 3."""
    p = factory.product(price=1000, stock=100)
    so.options(p, max_per_buyer=3)
    u = so.buyer(factory)
    token = factories.token(u)
    body = flows.checkout_body([(p.skus[0].id, 1)], flows.address_id(u))
    sku_id, uid = p.skus[0].id, u.id

    def buy(i):
        resp = app.test_client().post(
            "/api/v1/checkout/place",
            json=body,
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": f"par-{i}"},
        )
        if resp.status_code == 201:
            return "ok"
        assert resp.get_json()["code"] == "max_per_buyer", resp.get_json()
        return "refused"

    results, errors = run_parallel(app, 8, buy)
    assert not errors, errors
    assert results.count("ok") == 3, results
    assert so.held(p.id, uid) == 3
    assert db.session.scalar(db.select(db.func.sum(ShoppingOptionsTake.quantity))) == 3
    assert sku_id
