"""LD: slot capacity is never exceeded under concurrent checkouts.

Each buyer runs in its own thread with its own app context, session and
database connection (tests/test_concurrency.py's pattern). On PostgreSQL
these are truly concurrent transactions racing on the INSERT ... ON
CONFLICT DO NOTHING of the counter row and its conditional UPDATE; on
SQLite BEGIN IMMEDIATE serialises writers, which must also stay correct.
"""

from __future__ import annotations

import pytest
from jishi.checkout.errors import CheckoutError
from jishi.checkout.service import place_order
from jishi.db import db
from jishi.models import Order, Sku, User
from jishi.testing import parallel_config, run_parallel
from jishi_delivery_local.models import LocalDelivery, SlotUsage


def _run_parallel(app, n, fn):
    return run_parallel(app, n, fn)


def _pg() -> bool:
    from jishi.testing import is_postgres

    return is_postgres()


@pytest.fixture
def app_config():
    return parallel_config()


def _race(app, factory, ld, n: int, capacity: int):
    ld.setup(slots=[{"start": "10:00", "end": "12:00", "capacity": capacity}])
    product = factory.product(price=3000, stock=100)
    sku_id = product.skus[0].id
    buyers = [factory.user() for _ in range(n)]
    addresses = [factory.address(b, lat=ld.NEAR[0], lng=ld.NEAR[1]).id for b in buyers]
    ids = [b.id for b in buyers]
    slot = ld.tomorrow()

    def buy(i):
        from flask import current_app

        user = db.session.get(User, ids[i])
        with current_app.test_request_context("/"):
            try:
                place_order(
                    user,
                    [(sku_id, 1)],
                    addresses[i],
                    {"delivery": {"shop": "local"}, "local_slot": {"shop": slot}},
                    idempotency_key=f"k{i}",
                )
                return "placed"
            except CheckoutError as exc:
                assert exc.field == "options.local_slot", exc.field
                return exc.code

    results, errors = _run_parallel(app, n, buy)
    assert not errors, errors
    return results, sku_id


def _check(results, sku_id, capacity, n):
    assert results.count("placed") == capacity, results
    assert set(results) <= {"placed", "slot_full"}
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count()).select_from(Order)) == capacity
    assert db.session.scalar(db.select(db.func.count()).select_from(LocalDelivery)) == capacity
    rows = db.session.execute(db.select(SlotUsage)).scalars().all()
    assert [r.used for r in rows] == [capacity]  # one counter row, never above capacity
    assert db.session.get(Sku, sku_id).stock == 100 - capacity  # the losers' stock rolled back


def test_capacity_three_ten_buyers(app, factory, ld):
    """LD: capacity 3, 10 concurrent checkouts -> exactly 3 orders, counter 3."""
    results, sku_id = _race(app, factory, ld, 10, 3)
    _check(results, sku_id, 3, 10)


@pytest.mark.skipif(not _pg(), reason="the wide race needs PostgreSQL's concurrency")
def test_capacity_five_twenty_buyers_postgres(app, factory, ld):
    """LD: capacity 5, 20 concurrent checkouts on PostgreSQL -> exactly 5."""
    results, sku_id = _race(app, factory, ld, 20, 5)
    _check(results, sku_id, 5, 20)
