"""footprints under real concurrency (threads with their own connections;
truly concurrent on PostgreSQL, serialised on SQLite): the batches of
several web processes' writer threads, for the same buyers and products
at once, neither fail (no duplicate key, no deadlock: rows are written in
one order) nor move a footprint back: each ends at its latest view."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from jishi.db import db
from jishi.hookspecs import ProductView
from jishi.testing import parallel_config, run_parallel
from sqlalchemy import select


@pytest.fixture
def app_config():
    return parallel_config()


def test_simultaneous_batches_keep_each_latest_view(app, factory):
    from jishi_footprints import service
    from jishi_footprints.models import Footprint

    buyers = [factory.user().id for _ in range(3)]
    products = [factory.product().id for _ in range(12)]
    t0 = datetime(2026, 12, 1, 8, 0, 0)

    def batch(i: int) -> int:
        views = [
            ProductView(u, p, t0 + timedelta(seconds=(i * 7 + j * 3 + k) % 50))
            for j, u in enumerate(buyers)
            for k, p in enumerate(reversed(products) if i % 2 else products)
        ]
        return service.record(views)

    results, errors = run_parallel(app, 6, batch)
    assert not errors, errors
    assert results == [len(buyers) * len(products)] * 6
    expected: dict = {}  # (batch i lists the products reversed when i is odd: k is the place in that order)
    for i in range(6):
        order = list(reversed(products)) if i % 2 else products
        for j, u in enumerate(buyers):
            for k, p in enumerate(order):
                at = t0 + timedelta(seconds=(i * 7 + j * 3 + k) % 50)
                expected[(u, p)] = max(expected.get((u, p), at), at)
    db.session.rollback()
    rows = {(r.user_id, r.product_id): r.viewed_at for r in db.session.execute(select(Footprint)).scalars()}
    assert rows == expected
