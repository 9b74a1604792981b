"""Issue 16 "Earning" (daily sign-in, 签到) and "Surfaces" (sign-in
calendar): one sign-in per buyer per SHOP day, a streak bonus that grows
per consecutive day up to a cap with an extra on every 7th day, reset by a
missed day; the award is an ``earned`` entry whose source is the sign-in
row. The API (``/api/v1/points/signin``) and the buyer's page
(``/account/points/signin``), in zh_CN and en."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest
from jishi import settings
from jishi.db import commit, db
from jishi_points import earning, signin
from jishi_points.models import PointsEntry, PointsSignin
from sqlalchemy import func, select

from .helpers import balance


@pytest.fixture
def clock(monkeypatch):
    """``clock.at(shop wall time)``: the moment the sign-in code reads as now
    (the shop is in Asia/Shanghai, UTC+8)."""

    class Clock:
        now = datetime(2026, 1, 30, 2, 0)  # 10:00 in Shanghai

        def at(self, year, month, day, hour=10, minute=0):
            self.now = datetime(year, month, day, hour, minute) - timedelta(hours=8)

    c = Clock()
    monkeypatch.setattr(signin, "utcnow", lambda: c.now)
    return c


def rule(**values):
    settings.set_many({getattr(earning, k.upper()): v for k, v in values.items()})
    commit()


def test_points_for_the_streak_rule(app):
    """Issue 16/Earning: base + (streak-1) × step capped, + the 7th-day bonus (defaults 5, 1, 5, 10)."""
    assert [signin.points_for(n) for n in range(1, 16)] == [5, 6, 7, 8, 9, 10, 20, 10, 10, 10, 10, 10, 10, 20, 10]
    rule(signin_points=2, signin_step=3, signin_step_cap=7, signin_week_bonus=0)
    assert [signin.points_for(n) for n in range(1, 9)] == [2, 5, 8, 9, 9, 9, 9, 9]
    rule(signin_points=0)
    assert signin.points_for(1) == 0 and not signin.enabled()


def test_streak_across_a_month_boundary_and_a_missed_day(app, factory, clock):
    """Issue 16/Earning: Jan 30, 31, Feb 1 make a streak of 3 across the
    month; Feb 3 after missing Feb 2 starts again at 1. Each sign-in is an
    ``earned`` entry whose source is its row."""
    buyer = factory.user()
    got = []
    for day in ((2026, 1, 30), (2026, 1, 31), (2026, 2, 1), (2026, 2, 3), (2026, 2, 4)):
        clock.at(*day)
        row, created = signin.sign_in(buyer.id)
        commit()
        assert created
        got.append((row.day, row.streak, row.points))
    assert got == [
        (date(2026, 1, 30), 1, 5),
        (date(2026, 1, 31), 2, 6),
        (date(2026, 2, 1), 3, 7),
        (date(2026, 2, 3), 1, 5),
        (date(2026, 2, 4), 2, 6),
    ]
    assert balance(buyer) == (29, 0)
    entries = db.session.execute(
        select(PointsEntry.kind, PointsEntry.source_kind, PointsEntry.source_id, PointsEntry.delta).order_by(
            PointsEntry.id
        )
    ).all()
    ids = db.session.scalars(select(PointsSignin.id).order_by(PointsSignin.id)).all()
    assert entries == [("earned", "signin", i, p) for i, (_d, _s, p) in zip(ids, got, strict=True)]


def test_a_seven_day_streak_gets_the_week_bonus(app, factory, clock):
    """Issue 16/Earning: day 7 of a streak gives the weekly extra."""
    buyer = factory.user()
    for d in range(1, 8):
        clock.at(2026, 3, d)
        row, _created = signin.sign_in(buyer.id)
        commit()
    assert (row.streak, row.points) == (7, 5 + 5 + 10)
    assert balance(buyer) == (sum(signin.points_for(n) for n in range(1, 8)), 0)


def test_shop_day_boundary(app, factory, clock):
    """Issue 16/Earning: 23:59 and 00:01 shop time (UTC+8) are two shop days
    (though the same UTC day: 15:59 and 16:01 UTC): two sign-ins, a streak of 2;
    00:01 and 23:59 of one shop day are one (the second gives nothing)."""
    buyer = factory.user()
    clock.at(2026, 5, 1, 23, 59)
    first, created = signin.sign_in(buyer.id)
    commit()
    assert created and first.day == date(2026, 5, 1)
    clock.at(2026, 5, 2, 0, 1)
    assert clock.now.date() == date(2026, 5, 1)  # still May 1 in UTC
    second, created = signin.sign_in(buyer.id)
    commit()
    assert created and (second.day, second.streak) == (date(2026, 5, 2), 2)
    clock.at(2026, 5, 2, 23, 59)
    again, created = signin.sign_in(buyer.id)
    commit()
    assert not created and again.id == second.id
    assert balance(buyer) == (5 + 6, 0)


def test_api_sign_in_then_again_then_calendar(api, factory, clock):
    """Issue 16/Surfaces: POST 201 with the points and the streak; again the
    same day 200 ``created: false`` giving nothing; GET the calendar of the
    month with today's state and what tomorrow gives; another month; bad month 422."""
    buyer, other = factory.user(), factory.user()
    clock.at(2026, 6, 29)
    assert api.post("/points/signin", user=buyer).status_code == 201
    clock.at(2026, 6, 30)
    first = api.post("/points/signin", user=buyer)
    assert first.status_code == 201 and first.headers["Cache-Control"] == "private, no-store"
    assert first.json == {"created": True, "day": "2026-06-30", "points": 6, "streak": 2, "tomorrow_points": 7}
    again = api.post("/points/signin", user=buyer)
    assert again.status_code == 200
    assert again.json == {"created": False, "day": "2026-06-30", "points": 6, "streak": 2, "tomorrow_points": 7}
    assert balance(buyer) == (11, 0)
    cal = api.get("/points/signin", user=buyer).json
    assert cal["month"] == "2026-06" and cal["today"] == "2026-06-30"
    assert (cal["signed_today"], cal["streak"], cal["today_points"], cal["tomorrow_points"]) == (True, 2, 6, 7)
    assert [d["day"] for d in cal["days"]] == ["2026-06-29", "2026-06-30"]
    assert cal["enabled"] is True
    assert api.get("/points/signin?month=2026-07", user=buyer).json["days"] == []
    mine = api.get("/points/signin?month=2026-06", user=other).json
    assert mine["days"] == [] and (mine["signed_today"], mine["streak"], mine["today_points"]) == (False, 0, 5)
    clock.at(2026, 7, 1)  # not signed yet today: the streak is still alive, today gives day 3's points
    cal = api.get("/points/signin", user=buyer).json
    assert (cal["month"], cal["signed_today"], cal["streak"], cal["today_points"], cal["tomorrow_points"]) == (
        "2026-07",
        False,
        2,
        7,
        8,
    )
    clock.at(2026, 7, 2)  # a missed day: the streak is gone
    cal = api.get("/points/signin", user=buyer).json
    assert (cal["streak"], cal["today_points"]) == (0, 5)
    for bad in ("2026-13", "26-01", "x", "2026-00"):
        resp = api.get(f"/points/signin?month={bad}", user=buyer)
        assert resp.status_code == 422 and resp.json["field"] == "month", (bad, resp.json)
    assert api.post("/points/signin").status_code == 401
    assert api.get("/points/signin").status_code == 401


def test_sign_in_turned_off(api, factory, clock):
    """Issue 16/Earning, C7/i18n: ``points.signin_points`` 0 turns sign-in off:
    409 ``signin_off`` (in Chinese, or English on request), nothing written."""
    rule(signin_points=0)
    buyer = factory.user()
    resp = api.post("/points/signin", user=buyer)
    assert resp.status_code == 409 and resp.json["code"] == "signin_off" and resp.json["message"] == "签到已关闭。"
    en = api.post("/points/signin", user=buyer, headers={"Accept-Language": "en"})
    assert en.json["message"] == "Sign-in is turned off."
    bad = api.get("/points/signin?month=2026-13", user=buyer, headers={"Accept-Language": "en"})
    assert bad.json["message"] == "Give the month as YYYY-MM."
    assert api.get("/points/signin", user=buyer).json["enabled"] is False
    assert db.session.scalar(select(func.count()).select_from(PointsSignin)) == 0
    assert balance(buyer) == (0, 0)


def test_web_page_signs_in_once(client, factory, login, clock):
    """Issue 16/Surfaces: the buyer's page shows the month grid and the
    button; POST signs in (message, then the page shows the day signed and the
    streak); a second POST says already signed in and gives nothing; in
    Chinese by default."""
    buyer = factory.user()
    login(buyer)
    clock.at(2026, 2, 27)
    signin.sign_in(buyer.id)
    commit()
    clock.at(2026, 2, 28)
    page = client.get("/account/points/signin")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "每日签到" in html and 'data-month="2026-02"' in html
    assert "签到 +6 积分" in html and 'name="csrf_token"' in html and "2026年2月" in html
    # the header row and 5 weeks from Monday Jan 26 (Feb 1 2026 is a Sunday) to Sunday Mar 1
    assert len(re.findall(r"<tr>", html)) == 6 and len(re.findall(r'class="pt-out', html)) == 7
    done = client.post("/account/points/signin", data={})
    assert done.status_code == 302 and done.headers["Location"].endswith("/account/points/signin")
    html = client.get("/account/points/signin").get_data(as_text=True)
    assert "签到成功:+6 积分,已连续签到 2 天。" in html
    assert 'data-signed="2026-02-28"' in html and 'data-signed="2026-02-27"' in html and "data-signed-today" in html
    assert "明天签到可得 7 积分" in html
    client.post("/account/points/signin", data={})
    html = client.get("/account/points/signin").get_data(as_text=True)
    assert "今天已经签到过了" in html
    assert balance(buyer) == (11, 0)
    bad = client.get("/account/points/signin?month=2026-2")
    assert bad.status_code == 422 and "YYYY-MM" in bad.get_data(as_text=True)


def test_web_page_in_english(client, factory, login, clock):
    """C7/i18n: the page in English on request."""
    buyer = factory.user()
    login(buyer)
    clock.at(2026, 2, 28)
    html = client.get("/account/points/signin", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Daily sign-in" in html and "Sign in: +5 points" in html and "2026-02" in html
    client.post("/account/points/signin", data={}, headers={"Accept-Language": "en"})
    html = client.get("/account/points/signin", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Signed in: +5 points, day 1 in a row." in html


def test_web_page_needs_a_signed_in_buyer(client):
    """C7: anonymous visitors are sent to sign in."""
    for resp in (client.get("/account/points/signin"), client.post("/account/points/signin")):
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]
