"""Issue 16 "The bar to beat": one sign-in per buyer per shop day by a
unique key. Eight ``POST /api/v1/points/signin`` requests of one buyer at
once (each its own thread, app context, session and connection: truly
concurrent transactions on PostgreSQL; SQLite's BEGIN IMMEDIATE
serialises them) make one sign-in row and one ``earned`` entry: one answer
is 201, the others 200 ``created: false``. Without the UNIQUE
``(user_id, day)`` every request would find no row for today and each
would sign in and be paid."""

from __future__ import annotations

import pytest
from jishi.db import db
from jishi.testing import parallel_config, run_parallel
from jishi_points.models import PointsEntry, PointsSignin
from sqlalchemy import func, select

from .helpers import balance


@pytest.fixture
def app_config():
    return parallel_config()


def test_parallel_sign_ins_sign_in_once(app, factory):
    """Issue 16/Earning (签到, PostgreSQL): 8 parallel requests, one sign-in, its points once."""
    buyer = factory.user()
    other = factory.user()
    tokens = [factory.token(buyer), factory.token(other)]

    def tap(i):
        resp = app.test_client().post(
            "/api/v1/points/signin", headers={"Authorization": f"Bearer {tokens[0 if i < 8 else 1]}"}
        )
        return resp.status_code, (resp.get_json() or {}).get("created")

    results, errors = run_parallel(app, 9, tap)
    assert not errors, errors
    mine = results[:8]
    assert sorted(mine) == [(200, False)] * 7 + [(201, True)], mine
    assert results[8] == (201, True)  # another buyer at the same moment signs in too
    db.session.expire_all()
    rows = db.session.scalars(select(PointsSignin).where(PointsSignin.user_id == buyer.id)).all()
    assert len(rows) == 1 and rows[0].streak == 1
    earned = db.session.scalar(select(func.count()).select_from(PointsEntry).where(PointsEntry.user_id == buyer.id))
    assert earned == 1
    assert balance(buyer) == (rows[0].points, 0)
