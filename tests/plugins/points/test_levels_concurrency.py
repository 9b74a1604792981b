"""Issue 16 "Member growth levels" under real concurrency (threads, each
with its own connection; truly concurrent on PostgreSQL, serialised on
SQLite): one buyer's orders completing at once all add their growth (the
sum row moves by one atomic ``growth + delta`` each, never a value read and
written back), and the buyer ends at the level the total reaches."""

from __future__ import annotations

import pytest
from jishi import settings
from jishi.accounts.models import User
from jishi.db import commit, db
from jishi.testing import flows, parallel_config, run_parallel
from jishi_points import levels, service
from jishi_points.models import GrowthEntry
from sqlalchemy import func, select

from .helpers import make_ladder


@pytest.fixture
def app_config():
    return parallel_config()


def test_parallel_completions_add_all_growth(app, factory):
    """Issue 16/Levels: 6 orders of ¥300 complete at once: 1800 growth
    (silver), 6 entries; the sum row equals the ledger (a growth read and
    written back loses completions here on PostgreSQL)."""
    settings.set_many({service.EARN_PER_YUAN: 0})  # no points: their account row would serialise the completions
    commit()
    make_ladder()
    buyer = factory.user()
    addr = factory.address(buyer)
    ids = []
    for _i in range(6):
        sku = factory.product(price=30000, stock=5).skus[0]
        [payment] = flows.place(buyer, [(sku, 1)], addr)
        flows.pay(payment)
        order = flows.receive(flows.ship(payment.orders[0]))
        ids.append(order.id)

    def complete(i):
        from jishi.orders import service

        service.complete(flows.fetch(ids[i]), actor_kind="buyer")
        return ids[i]

    results, errors = run_parallel(app, 6, complete)
    assert not errors, errors
    db.session.expire_all()
    assert levels.growth_of(buyer.id) == levels.ledger_growth(buyer.id) == 1800
    assert db.session.scalar(select(func.count(GrowthEntry.id))) == 6
    assert db.session.get(User, buyer.id).member_level.name == "银卡"
    assert sorted(results) == sorted(ids)
