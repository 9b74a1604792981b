"""favorites under real concurrency (threads with their own connections;
truly concurrent on PostgreSQL, serialised by BEGIN IMMEDIATE on SQLite):
eight taps on one heart at once keep the product once, and exactly one of
them says it added it."""

from __future__ import annotations

import pytest
from jishi.accounts.models import User
from jishi.db import commit, db
from jishi.testing import parallel_config, run_parallel
from sqlalchemy import func, select


@pytest.fixture
def app_config():
    return parallel_config()


def _keep(uid: int, pid: int) -> bool:
    from jishi_favorites import service

    added = service.keep(db.session.get(User, uid), pid)
    commit()
    return added


def test_simultaneous_keeps_make_one_row(app, factory):
    from jishi_favorites.models import FavoriteProduct

    uid, pid = factory.user().id, factory.product().id
    results, errors = run_parallel(app, 8, lambda i: _keep(uid, pid), request={"method": "POST"})
    assert not errors, errors
    assert sorted(results) == [False] * 7 + [True]
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(FavoriteProduct)) == 1
