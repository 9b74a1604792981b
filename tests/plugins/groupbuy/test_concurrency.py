"""GB: a group never holds more members than its size under concurrent joins.

Each joiner runs in its own thread with its own app context, session and
connection (the pattern of tests/test_concurrency.py). On PostgreSQL the
transactions are truly concurrent and the conditional UPDATE
``seats = seats + 1 WHERE seats < size AND state = 'forming'`` decides; on
SQLite BEGIN IMMEDIATE serialises writers, which must stay correct too.
"""

from __future__ import annotations

import pytest
from jishi.checkout.errors import CheckoutError
from jishi.db import db
from jishi.models import Order, Sku, User
from jishi.testing import parallel_config, run_parallel
from jishi_groupbuy import service
from jishi_groupbuy.models import Group, Member

from . import helpers as gb


@pytest.fixture
def app_config():
    return parallel_config()


def _run_parallel(app, n, fn):
    return run_parallel(app, n, fn)


def test_ten_concurrent_joins_of_a_group_of_three_seat_exactly_three(app, factory):
    """GB: size 3, leader + 10 concurrent joiners -> exactly 2 more seats taken (3 members), the rest refused."""
    product = factory.product(price=1000, stock=100)
    activity = gb.activity(product, size=3)
    sku_id = product.skus[0].id
    leader = gb.buyer(factory)
    first = gb.place(leader, sku_id, activity.id)
    gb.pay(first)
    token = gb.group_of(first).token
    joiners = [gb.buyer(factory) for _ in range(10)]
    ids = [u.id for u in joiners]
    aid = activity.id

    def join(i):
        user = db.session.get(User, ids[i])
        try:
            gb.place(user, sku_id, aid, token)
            return "joined"
        except CheckoutError:
            return "full"

    results, errors = _run_parallel(app, 10, join)
    assert not errors, errors
    assert results.count("joined") == 2
    db.session.expire_all()
    group = db.session.get(Group, gb.group_of(first).id)
    assert group.seats == 3
    assert db.session.scalar(db.select(db.func.count()).select_from(Member).where(Member.group_id == group.id)) == 3
    assert db.session.scalar(db.select(db.func.count()).select_from(Order)) == 3
    assert db.session.get(Sku, sku_id).stock == 97  # refused joiners left no stock taken


def test_concurrent_payments_succeed_the_group_once(app, factory):
    """GB: the members of a full group pay at once; paid reaches the size exactly, the group succeeds once."""
    product = factory.product(price=1000, stock=100)
    activity = gb.activity(product, size=4)
    sku_id = product.skus[0].id
    leader = gb.buyer(factory)
    first = gb.place(leader, sku_id, activity.id)
    gb.pay(first)
    token = gb.group_of(first).token
    orders = [gb.place(gb.buyer(factory), sku_id, activity.id, token) for _ in range(3)]
    order_ids = [o.id for o in orders]

    def pay(i):
        gb.pay(db.session.get(Order, order_ids[i]))
        return "paid"

    _results, errors = _run_parallel(app, 3, pay)
    assert not errors, errors
    db.session.expire_all()
    group = gb.group_of(first)
    assert (group.state, group.paid, group.seats) == (service.SUCCEEDED, 4, 4)


def test_ten_concurrent_group_openings_under_a_per_user_limit(app, factory):
    """GB: one buyer opening 10 groups at once with a per-buyer limit of 3 units gets exactly 3."""
    product = factory.product(price=1000, stock=100)
    activity = gb.activity(product, size=2, per_user=3)
    sku_id = product.skus[0].id
    u = gb.buyer(factory)
    uid, aid = u.id, activity.id

    def open_group(i):
        try:
            gb.place(db.session.get(User, uid), sku_id, aid)
            return "ok"
        except CheckoutError:
            return "limit"

    results, errors = _run_parallel(app, 10, open_group)
    assert not errors, errors
    assert results.count("ok") == 3
    db.session.expire_all()
    assert service.used_units(aid, uid) == 3
