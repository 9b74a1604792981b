"""Issue 16 "Earning": the registration bonus (``points.register_bonus``,
0 = off), usable at once, once per buyer. The kernel sends
``user_registered`` after the registration committed, so the award is its
own transaction, idempotent by the entry's unique key (source: the user);
the ``points_earn_catch_up`` job gives a bonus a lost signal left owed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from jishi import settings, signals
from jishi.accounts.models import User
from jishi.db import commit, db, utcnow
from jishi.testing import parallel_config, run_parallel
from jishi_points import earning
from jishi_points.models import PointsEntry
from sqlalchemy import func, select

from .helpers import balance, panel_form


@pytest.fixture
def app_config():
    return parallel_config()


def bonus(points: int) -> None:
    settings.set_many({earning.REGISTER_BONUS: points})
    commit()


def entries(user) -> list[tuple]:
    return db.session.execute(
        select(PointsEntry.kind, PointsEntry.source_kind, PointsEntry.source_id, PointsEntry.delta).where(
            PointsEntry.user_id == user.id
        )
    ).all()


def test_api_registration_gets_the_bonus_once(api, app):
    """Issue 16/Earning: registering through the API gives the bonus, usable
    at once (source: the user); a redelivered signal gives nothing more."""
    bonus(88)
    resp = api.post("/auth/register", json={"phone": "13900000001", "password": "secret123"})
    assert resp.status_code == 201
    user = db.session.get(User, resp.json["user"]["id"])
    assert balance(user) == (88, 0)
    assert entries(user) == [("earned", "register", user.id, 88)]
    signals.send(signals.user_registered, user)  # redelivered
    assert earning.award_registration(user) == 0
    commit()
    assert balance(user) == (88, 0)
    assert api.get("/points", user=user).json["entries"][0]["source_kind"] == "register"


def test_web_registration_gets_the_bonus(client, app):
    """Issue 16/Earning: the storefront's register form too."""
    bonus(20)
    resp = client.post(
        "/register", data={"phone": "13900000002", "password": "secret123", "password2": "secret123", "name": "新"}
    )
    assert resp.status_code == 302
    user = db.session.scalars(select(User).where(User.phone == "13900000002")).one()
    assert balance(user) == (20, 0)


def test_bonus_off_by_default_and_at_zero(api, app):
    """Issue 16/Earning: 0 (the default) gives nothing and writes nothing."""
    resp = api.post("/auth/register", json={"phone": "13900000003", "password": "secret123"})
    user = db.session.get(User, resp.json["user"]["id"])
    assert balance(user) == (0, 0) and entries(user) == []


def test_catch_up_gives_what_a_lost_signal_owed(app, factory):
    """Issue 16/Earning: buyers registered in the last day (older than the
    2-minute grace left to the receiver) with no bonus get it from the job,
    once however often it runs; platform staff, older accounts and those
    within the grace get none."""
    bonus(50)
    now = utcnow()
    lost = factory.user()
    old = factory.user()
    fresh = factory.user()
    staff = factory.admin()
    lost.created_at = now - timedelta(minutes=10)
    old.created_at = now - timedelta(days=2)
    staff.created_at = now - timedelta(minutes=10)
    commit()
    assert earning.catch_up().startswith("1 registration bonuses")
    assert earning.catch_up().startswith("0 registration bonuses")
    assert [balance(u)[0] for u in (lost, old, fresh, staff)] == [50, 0, 0, 0]


def test_concurrent_awards_give_once(app, factory):
    """Issue 16/Earning (PostgreSQL): the receiver and the catch-up job (4
    awards at once for one buyer) post one entry; the losers' SAVEPOINT
    keeps their transactions usable."""
    bonus(30)
    uid = factory.user().id

    def award(_i):
        got = earning.award_registration(db.session.get(User, uid))
        commit()
        return got

    results, errors = run_parallel(app, 4, award, request={"method": "POST"})
    assert not errors, errors
    assert sorted(results) == [0, 0, 0, 30]
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(PointsEntry)) == 1
    assert balance(db.session.get(User, uid)) == (30, 0)


def test_panel_saves_the_earning_rules(client, factory, login):
    """Issue 16: the registration, sign-in and review rules are in Settings → Points, in Chinese."""
    login(factory.admin())
    page = client.get("/console/settings").get_data(as_text=True)
    for label in ("新用户注册赠送积分", "每日签到积分", "签到:连续每满 7 天额外积分", "带图评价额外奖励积分"):
        assert label in page
    form = panel_form()
    form.update({earning.REGISTER_BONUS: "100", earning.SIGNIN_POINTS: "3", earning.REVIEW_MIN_CHARS: "15"})
    assert client.post("/console/settings", data=form).status_code == 302
    assert [earning.setting(k) for k in (earning.REGISTER_BONUS, earning.SIGNIN_POINTS, earning.REVIEW_MIN_CHARS)] == [
        100,
        3,
        15,
    ]
    settings.set_many({earning.SIGNIN_STEP: -4, earning.REVIEW_TEXT: "x", earning.REGISTER_BONUS: 10**9})
    commit()
    assert earning.setting(earning.SIGNIN_STEP) == 0
    assert earning.setting(earning.REVIEW_TEXT) == earning.DEFAULTS[earning.REVIEW_TEXT]
    assert earning.setting(earning.REGISTER_BONUS) == earning.MAX_POINTS
