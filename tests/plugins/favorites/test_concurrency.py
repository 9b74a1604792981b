"""favorites under real concurrency (threads with their own connections;
truly concurrent on PostgreSQL, serialised by BEGIN IMMEDIATE on SQLite):
eight taps on one heart at once keep the product once, and exactly one of
them says it added it; taps on eight hearts at once, two below the cap,
keep exactly two (the cap is exact)."""

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


def test_simultaneous_keeps_never_pass_the_cap(app, factory, monkeypatch):
    from jishi_favorites import service
    from jishi_favorites.models import FavoriteProduct

    monkeypatch.setattr(service, "MAX_FAVORITES", 5)
    buyer = factory.user()
    uid = buyer.id
    for _ in range(3):
        service.keep(buyer, factory.product().id)
    commit()
    pids = [factory.product().id for _ in range(8)]

    def tap(i: int) -> bool:
        try:
            return _keep(uid, pids[i])
        except service.FavoriteError as exc:
            assert exc.code == "favorites_full"
            db.session.rollback()
            return False

    results, errors = run_parallel(app, 8, tap, request={"method": "POST"})
    assert not errors, errors
    assert sorted(results) == [False] * 6 + [True] * 2
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(FavoriteProduct)) == 5
