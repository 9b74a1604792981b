"""Issue 16 "Surfaces" (platform console): find a buyer, see the points and
history, adjust with a reason (each bad input a 4xx page naming its field,
nothing written); the report's figures per shop day and the outstanding
liability in yuan against a hand-computed ledger; its CSV export."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta

import pytest
from jishi import settings
from jishi.db import commit, db
from jishi_points import ledger
from jishi_points.ledger import Post
from jishi_points.models import (
    ADJUSTED,
    CLAWED_BACK,
    EARNED,
    EXPIRED,
    FROZEN,
    REFUNDED,
    SPENT,
    UNFROZEN,
    PointsEntry,
)
from jishi_points.report import build, liability_fen
from sqlalchemy import func, select, update

from .helpers import balance, give

C = "/console/points"


def _entries(user) -> int:
    return db.session.scalar(select(func.count(PointsEntry.id)).where(PointsEntry.user_id == user.id))


def test_search_and_buyer_page(client, factory, login):
    """Issue 16/Surfaces: the platform finds a buyer by phone, name or id and sees the points and history."""
    buyer = factory.user(phone="13912345678", name="张三")
    factory.user(phone="13800000000", name="李四")
    give(buyer, 120)
    login(factory.admin())
    for q in ("1391234", "张三", str(buyer.id)):
        html = client.get(f"{C}/?q={q}").get_data(as_text=True)
        assert f'href="{C}/buyers/{buyer.id}"' in html and "李四" not in html, q
    assert "没有匹配的买家" in client.get(f"{C}/?q=nobody").get_data(as_text=True)
    page = client.get(f"{C}/buyers/{buyer.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-points-balance="120"' in html and "平台调整：test" in html
    assert client.get(f"{C}/buyers/999999").status_code == 404
    for _ in range(20):
        give(buyer, 1)
    html = client.get(f"{C}/buyers/{buyer.id}").get_data(as_text=True)
    assert html.count('data-kind="adjusted"') == 20 and "平台调整：test" in html
    older = re.search(r'href="(/console/points/buyers/\d+\?before=\d+)" rel="next"', html).group(1)
    rest = client.get(older).get_data(as_text=True)
    assert rest.count('data-kind="adjusted"') == 1 and 'rel="next"' not in rest


def test_adjust_happy_path(client, factory, login):
    """Issue 16/Surfaces: an adjustment with a reason adds (or takes) usable points; the buyer sees the reason."""
    buyer = factory.user()
    login(factory.admin())
    resp = client.post(f"{C}/buyers/{buyer.id}/adjust", data={"points": "+300", "reason": "客服补偿"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"{C}/buyers/{buyer.id}")
    assert balance(buyer) == (300, 0)
    resp = client.post(f"{C}/buyers/{buyer.id}/adjust", data={"points": "-100", "reason": "误发收回"})
    assert resp.status_code == 302 and balance(buyer) == (200, 0)
    html = client.get(f"{C}/buyers/{buyer.id}").get_data(as_text=True)
    assert "积分已调整：-100" in html and "平台调整：误发收回" in html and "平台调整：客服补偿" in html
    login(buyer)
    assert "平台调整：客服补偿" in client.get("/account/points").get_data(as_text=True)


@pytest.mark.parametrize(
    "points, reason, status, field",
    [
        ("", "x", 422, "points"),
        ("abc", "x", 422, "points"),
        ("1.5", "x", 422, "points"),
        ("0", "x", 422, "points"),
        ("+-5", "x", 422, "points"),
        ("10000001", "x", 422, "points"),
        ("9999999999", "x", 422, "points"),
        ("5", "", 422, "reason"),
        ("5", "   ", 422, "reason"),
        ("5", "长" * 201, 422, "reason"),
        ("-51", "收回", 409, "points"),  # more than the usable balance
    ],
)
def test_adjust_bad_input_names_the_field(client, factory, login, points, reason, status, field):
    """Issue 16/Surfaces: each bad input is a page with a 4xx naming the field; nothing is written."""
    buyer = factory.user()
    give(buyer, 50)
    login(factory.admin())
    before = _entries(buyer)
    resp = client.post(f"{C}/buyers/{buyer.id}/adjust", data={"points": points, "reason": reason})
    html = resp.get_data(as_text=True)
    assert resp.status_code == status, (resp.status_code, html[:300])
    assert f'data-field="{field}"' in html and 'role="alert"' in html
    assert f'value="{points}"' in html  # the form keeps what was typed
    db.session.expire_all()
    assert _entries(buyer) == before and balance(buyer) == (50, 0)


def test_adjust_unknown_buyer_is_404(client, factory, login):
    """Issue 16/Surfaces: adjusting a buyer who does not exist is a 404."""
    login(factory.admin())
    assert client.post(f"{C}/buyers/999999/adjust", data={"points": "5", "reason": "x"}).status_code == 404


def test_staff_need_the_points_permission(client, factory, login):
    """Issue 16/Surfaces: platform staff reach the pages only with a role holding ``points``;
    the menu links to them only then."""
    from jishi import roles

    plain = factory.user(role="platform_staff")
    role = roles.save_role(None, "积分运营", ["points"])
    commit()
    holder = factory.user(role="platform_staff", staff_role_id=role.id)
    login(plain)
    assert client.get(f"{C}/").status_code == 403 and client.get(f"{C}/report").status_code == 403
    assert f'href="{C}/"' not in client.get("/console/").get_data(as_text=True)
    login(holder)
    assert client.get(f"{C}/").status_code == 200 and client.get(f"{C}/report").status_code == 200
    assert f'href="{C}/"' in client.get("/console/").get_data(as_text=True)


# --- The report ---------------------------------------------------------------------------


def _at(user, when_local: datetime, *posts: Post) -> None:
    """Post entries as if written at ``when_local`` (Asia/Shanghai, UTC+8)."""
    ledger.post(user.id, *posts)
    last = db.session.scalar(select(func.max(PointsEntry.id)).where(PointsEntry.user_id == user.id))
    db.session.execute(
        update(PointsEntry).where(PointsEntry.id == last).values(created_at=when_local - timedelta(hours=8))
    )


def _ledger_fixture(factory) -> None:
    """The hand-computed ledger of :func:`test_report_figures` (shop days 2026-03-01 .. 03-03)."""
    a, b, c, d = (factory.user() for _ in range(4))
    rows = [
        (d, datetime(2026, 2, 28, 23, 59), Post(ADJUSTED, "adjustment", None, delta=500, reason="before")),
        (d, datetime(2026, 2, 28, 23, 59), Post(FROZEN, "order", 9003, frozen_delta=200)),
        (a, datetime(2026, 3, 1, 0, 0), Post(FROZEN, "order", 9001, frozen_delta=300)),
        (a, datetime(2026, 3, 1, 10, 0), Post(ADJUSTED, "adjustment", None, delta=1000, reason="a")),
        (b, datetime(2026, 3, 1, 12, 0), Post(ADJUSTED, "adjustment", None, delta=50, reason="b")),
        (a, datetime(2026, 3, 2, 9, 0), Post(UNFROZEN, "order", 9001, delta=300, frozen_delta=-300)),
        (a, datetime(2026, 3, 2, 9, 30), Post(SPENT, "order", 9002, delta=-400)),
        (b, datetime(2026, 3, 2, 10, 0), Post(EARNED, "signin", 1, delta=20)),
        (a, datetime(2026, 3, 2, 23, 59), Post(CLAWED_BACK, "refund", 1, delta=-100)),
        (b, datetime(2026, 3, 3, 0, 30), Post(EXPIRED, "expiry", 1, delta=-40)),  # UTC: still 03-02
        (a, datetime(2026, 3, 3, 8, 0), Post(REFUNDED, "refund", 2, delta=150)),
        (b, datetime(2026, 3, 3, 9, 0), Post(ADJUSTED, "adjustment", None, delta=-30, reason="b-")),
        (c, datetime(2026, 3, 3, 10, 0), Post(ADJUSTED, "adjustment", None, delta=10, reason="c")),
        (c, datetime(2026, 3, 3, 11, 0), Post(CLAWED_BACK, "refund", 3, delta=-60)),  # c below zero: -50
        (a, datetime(2026, 3, 4, 0, 0, 30), Post(ADJUSTED, "adjustment", None, delta=999, reason="after")),
    ]
    for user, when, post in rows:
        _at(user, when, post)
    commit()


EXPECTED_DAYS = [
    # day, issued, adjusted_in, adjusted_out, spent, returned, clawed_back, expired, net
    ("2026-03-01", 300, 1050, 0, 0, 0, 0, 0, 1350),
    ("2026-03-02", 20, 0, 0, 400, 0, 100, 0, -480),
    ("2026-03-03", 0, 10, 30, 0, 150, 60, 40, 30),
]
EXPECTED_TOTALS = (320, 1060, 30, 400, 150, 160, 40, 900)


def test_report_figures(app, factory):
    """Issue 16/Surfaces: per shop day (Asia/Shanghai) and in total: issued, adjusted in/out,
    spent, returned, clawed back, expired, net; the outstanding points at the end of the range
    (buyers below zero count as none) and the liability, ceil(points × 100 ÷ rate) fen."""
    _ledger_fixture(factory)
    r = build(date(2026, 3, 1), date(2026, 3, 3))
    columns = ("issued", "adjusted_in", "adjusted_out", "spent", "returned", "clawed_back", "expired", "net")
    assert [(d["day"], *(d[k] for k in columns)) for d in r.days] == EXPECTED_DAYS
    assert tuple(r.totals[k] for k in columns) == EXPECTED_TOTALS
    # a: 1000 + 300 - 400 - 100 + 150 = 950 usable; b: 0; c: -50; d: 500 usable, 200 frozen
    assert (r.usable, r.frozen, r.negative, r.outstanding) == (1450, 200, 50, 1650)
    assert (r.rate, r.liability) == (100, 1650)
    settings.set_many({"points.rate": 700})
    commit()
    assert build(date(2026, 3, 1), date(2026, 3, 3)).liability == 236  # 1650 × 100 ÷ 700 = 235.71… → 236
    one_day = build(date(2026, 3, 2), date(2026, 3, 2))
    assert [d["day"] for d in one_day.days] == ["2026-03-02"] and one_day.totals["net"] == -480
    assert build(date(2026, 3, 5), date(2026, 3, 6)).days == []


def test_liability_rounding():
    """Issue 16/Surfaces: the liability rounds up to the fen, once, on the total."""
    assert liability_fen(0, 100) == 0
    assert liability_fen(1, 100) == 1
    assert liability_fen(1, 300) == 1  # 0.33 fen
    assert liability_fen(299, 300) == 100  # 99.67 fen
    assert liability_fen(300, 300) == 100
    assert liability_fen(-5, 100) == 0


def test_report_page_and_csv(client, factory, login):
    """Issue 16/Surfaces: the report page shows the figures and liability; the CSV has a row per day,
    the totals and the liability; a bad date is a 400 naming its field."""
    _ledger_fixture(factory)
    login(factory.admin())
    html = client.get(f"{C}/report?start=2026-03-01&end=2026-03-03").get_data(as_text=True)
    assert 'data-liability="1650"' in html and "¥16.50" in html
    assert 'data-day="2026-03-02"' in html and '<th data-col="net">900</th>' in html
    resp = client.get(f"{C}/report.csv?start=2026-03-01&end=2026-03-03")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "points-2026-03-01-2026-03-03.csv" in resp.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True))))
    assert rows[0] == [
        "day",
        "issued",
        "adjusted_in",
        "adjusted_out",
        "spent",
        "returned",
        "clawed_back",
        "expired",
        "net",
    ]
    assert [tuple(int(v) if v.lstrip("-").isdigit() else v for v in row) for row in rows[1:4]] == EXPECTED_DAYS
    assert rows[4] == ["total", *(str(v) for v in EXPECTED_TOTALS)]
    assert rows[6][:6] == ["as_of", "usable_points", "frozen_points", "outstanding_points", "rate", "liability_fen"]
    assert rows[7] == ["2026-03-03", "1450", "200", "1650", "100", "1650", "50"]
    for query, field in (
        ("start=2026-13-01", "start"),
        ("end=garbage", "end"),
        ("start=2024-01-01&end=2026-01-01", "end"),
    ):
        page = client.get(f"{C}/report?{query}")
        assert page.status_code == 400 and f'data-field="{field}"' in page.get_data(as_text=True), query
        said = {"start": "从：日期格式如", "end": "至：日期格式如"}[field]  # the form's words, not the key
        assert said in page.get_data(as_text=True), query
        assert client.get(f"{C}/report.csv?{query}").status_code == 400
    default = client.get(f"{C}/report")
    assert default.status_code == 200 and "未兑付积分负债" in default.get_data(as_text=True)
