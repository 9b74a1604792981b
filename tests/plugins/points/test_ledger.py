"""Issue 16 "Ledger": points are an append-only ledger of entries; the
account row moves only with an entry; a spend is one conditional statement
plus its entries, so two spends at once can never spend the same points
(PostgreSQL: truly concurrent transactions)."""

from __future__ import annotations

import pytest
from jishi.db import commit, db, rollback
from jishi.testing import run_parallel
from jishi_points import ledger
from jishi_points.ledger import Post
from jishi_points.models import ADJUSTED, SOURCE_ORDER, SPENT, PointsEntry
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .helpers import balance, give


def test_balance_is_the_ledgers_sums(app, factory):
    """Issue 16/Ledger: every change is an entry; the balance equals the sums."""
    buyer = factory.user()
    give(buyer, 500)
    give(buyer, -120)
    ledger.post(buyer.id, Post("frozen", SOURCE_ORDER, 7, frozen_delta=30))
    commit()
    assert balance(buyer) == (380, 30)
    kinds = [e.kind for e in ledger.history(buyer.id)]
    assert kinds == ["frozen", ADJUSTED, ADJUSTED]


def test_spend_refused_when_short_writes_nothing(app, factory):
    """Issue 16/Ledger: a spend beyond the balance is refused, nothing written."""
    buyer = factory.user()
    give(buyer, 100)
    assert not ledger.spend(buyer.id, [Post(SPENT, SOURCE_ORDER, 1, delta=-101)])
    assert ledger.spend(buyer.id, [Post(SPENT, SOURCE_ORDER, 1, delta=-100)])
    commit()
    assert balance(buyer) == (0, 0)


def test_an_entry_posts_once_per_source(app, factory):
    """Issue 16/Ledger: (kind, source) is unique: a redelivered event cannot post twice."""
    buyer = factory.user()
    ledger.post(buyer.id, Post("frozen", SOURCE_ORDER, 9, frozen_delta=10))
    commit()
    with pytest.raises(IntegrityError):
        ledger.post(buyer.id, Post("frozen", SOURCE_ORDER, 9, frozen_delta=10))
    rollback()
    assert balance(buyer) == (0, 10)


def test_two_spends_at_once_never_spend_the_same_points(app, factory):
    """Issue 16/Ledger (concurrency): 1,000 points, two spends of 800 at
    once: exactly one wins, the balance is 200 and equals the ledger's sum.
    Without the ``balance >= n`` condition both would win (-600)."""
    buyer = factory.user()
    give(buyer, 1000)
    uid = buyer.id

    def spend(i):
        ok = ledger.spend(uid, [Post(SPENT, SOURCE_ORDER, 100 + i, delta=-800)])
        commit()
        return ok

    results, errors = run_parallel(app, 2, spend, request={"method": "POST"})
    assert not errors, errors
    assert sorted(results) == [False, True]
    assert balance(buyer) == (200, 0)
    spent = db.session.scalars(select(PointsEntry).where(PointsEntry.kind == SPENT)).all()
    assert [e.delta for e in spent] == [-800]
