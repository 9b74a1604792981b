"""Issue 16 "Expiry" (SPEC PT): per-award lots (Odoo's model), spending
soonest-expiring first, an award paying off a claw-back's debt first, the
two expiry rules across a year end, the ``points_expire`` job (each lot
once), "expiring soon" in the API and its web fragment, and what a refund
of spent points gives back (a fresh lot)."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import render_template
from jishi import settings
from jishi.db import commit, db, utcnow
from jishi.i18n import to_shop_time
from jishi.orders import service as orders
from jishi.testing import flows
from jishi_points import expiry, ledger
from jishi_points.ledger import Post
from jishi_points.models import CLAWED_BACK, EXPIRED, SOURCE_ORDER, SOURCE_REFUND, SPENT, PointsEntry, PointsOrder
from sqlalchemy import select

from .helpers import balance, give, lots, panel_form


def _rule(rule: str, days: int | None = None) -> None:
    values: dict = {expiry.RULE: rule}
    if days is not None:
        values[expiry.DAYS] = days
    settings.set_many(values)
    commit()


def _left(user) -> list[int]:
    return [remaining for _amount, remaining, _expires in lots(user)]


def test_awards_are_lots_spent_soonest_expiring_first(app, factory):
    """Issue 16/Expiry: every award is a lot with its own expiry; a spend
    draws the soonest-expiring first, then the next; lots that never expire
    last; a claw-back of usable points draws the same way."""
    buyer = factory.user()
    _rule(expiry.AFTER_DAYS, 100)
    give(buyer, 100)  # expires in 100 days
    _rule(expiry.NONE)
    give(buyer, 50)  # never
    _rule(expiry.AFTER_DAYS, 10)
    give(buyer, 70)  # expires in 10 days: drawn first
    rows = lots(buyer)
    assert [(a, r) for a, r, _e in rows] == [(100, 100), (50, 50), (70, 70)]
    assert rows[1][2] is None and rows[2][2] < rows[0][2]
    assert (rows[0][2] - utcnow()).days in (99, 100)
    assert ledger.spend(buyer.id, [Post(SPENT, SOURCE_ORDER, 1, delta=-90)])
    commit()
    assert _left(buyer) == [80, 50, 0]
    ledger.post(buyer.id, Post(CLAWED_BACK, SOURCE_REFUND, 1, delta=-100))
    commit()
    assert _left(buyer) == [0, 30, 0] and balance(buyer) == (30, 0)


def test_an_award_pays_off_a_debt_first(app, factory):
    """Issue 16/Expiry + Earning: a claw-back of spent points leaves a debt
    (negative balance, no lots); the next award pays it off first and only
    the rest becomes a lot, so the lots always add up to the usable balance."""
    buyer = factory.user()
    give(buyer, 40)
    ledger.post(buyer.id, Post(CLAWED_BACK, SOURCE_REFUND, 7, delta=-100))
    commit()
    assert balance(buyer) == (-60, 0) and _left(buyer) == [0]
    give(buyer, 50)  # all of it pays the debt: no lot
    assert balance(buyer) == (-10, 0) and len(lots(buyer)) == 1
    give(buyer, 80)
    assert lots(buyer)[-1][:2] == (70, 70) and balance(buyer) == (70, 0)
    assert not ledger.spend(buyer.id, [Post(SPENT, SOURCE_ORDER, 2, delta=-71)])
    assert ledger.spend(buyer.id, [Post(SPENT, SOURCE_ORDER, 2, delta=-70)])
    commit()
    assert _left(buyer) == [0, 0] and balance(buyer) == (0, 0)


def test_both_rules_across_a_year_end(app):
    """Issue 16/Expiry: "end of the year after the year earned" is in shop
    time (Asia/Shanghai, UTC+8): 2026-12-31 23:59:59 there is 15:59:59 UTC,
    earned in 2026 -> 2027-12-31 23:59:59 shop time; one second later it is
    2027 in the shop (still 2026 in UTC) -> the end of 2028. "N days" counts
    days to the second, across the year end too."""
    _rule(expiry.YEAR_END)
    assert expiry.expires_at_for(datetime(2026, 1, 1, 0, 0)) == datetime(2027, 12, 31, 15, 59, 59)
    assert expiry.expires_at_for(datetime(2026, 12, 31, 15, 59, 59)) == datetime(2027, 12, 31, 15, 59, 59)
    assert expiry.expires_at_for(datetime(2026, 12, 31, 16, 0, 0)) == datetime(2028, 12, 31, 15, 59, 59)
    assert to_shop_time(datetime(2027, 12, 31, 15, 59, 59)).strftime("%Y-%m-%d %H:%M:%S") == "2027-12-31 23:59:59"
    _rule(expiry.AFTER_DAYS, 30)
    assert expiry.expires_at_for(datetime(2026, 12, 20, 8, 0)) == datetime(2027, 1, 19, 8, 0)
    _rule(expiry.NONE)
    assert expiry.expires_at_for(datetime(2026, 12, 20, 8, 0)) is None
    settings.set_many({expiry.RULE: "bogus", expiry.DAYS: "x"})
    commit()
    assert expiry.rule() == expiry.NONE and expiry.days() == expiry.DEFAULT_DAYS


def test_the_job_expires_each_lot_once_at_its_time(app, factory):
    """Issue 16/Expiry: the job expires what is left of every lot past its
    time, exactly once: one ``expired`` entry per lot (source ``expiry``,
    the lot's id), the account down by the same amount; not a second
    before; a second run finds nothing; other lots untouched."""
    buyer = factory.user()
    other = factory.user()
    _rule(expiry.YEAR_END)
    give(buyer, 300)
    give(other, 5)
    _rule(expiry.NONE)
    give(buyer, 20)
    assert ledger.spend(buyer.id, [Post(SPENT, SOURCE_ORDER, 3, delta=-100)])
    commit()
    (_a, _r, end), _never = lots(buyer)
    assert end == expiry.year_end(utcnow())
    assert expiry.expire_due(now=end - timedelta(seconds=1)).startswith("0 points")
    assert balance(buyer) == (220, 0)
    assert expiry.expire_due(now=end) == "205 points of 2 buyers expired"
    assert balance(buyer) == (20, 0) and _left(buyer) == [0, 20] and balance(other) == (0, 0)
    assert expiry.expire_due(now=end + timedelta(days=400)).startswith("0 points")
    rows = db.session.execute(
        select(PointsEntry.user_id, PointsEntry.delta, PointsEntry.source_kind).where(PointsEntry.kind == EXPIRED)
    ).all()
    assert sorted(rows) == sorted([(buyer.id, -200, "expiry"), (other.id, -5, "expiry")])


def test_points_given_back_come_back_as_a_fresh_lot(app, factory):
    """Issue 16/Expiry: points given back (an unpaid order cancelled, a
    refund) are never lost: they come back as a fresh lot expiring by the
    rule from the moment they come back, even when the lot they were drawn
    from has expired meanwhile."""
    _rule(expiry.AFTER_DAYS, 10)
    buyer = factory.user()
    give(buyer, 1000)
    sku = factory.product(price=1000, stock=5).skus[0]  # the cap: half of ¥10 = 500 points
    [payment] = flows.place(buyer, [(sku, 1)], factory.address(buyer), {"points": 1000})
    order = flows.fetch(payment.orders[0])
    spent = db.session.get(PointsOrder, order.id).spent
    assert 0 < spent < 1000 and _left(buyer) == [1000 - spent]
    expiry.expire_due(now=utcnow() + timedelta(days=11))  # the rest of the original lot expires
    assert balance(buyer) == (0, 0)
    _rule(expiry.AFTER_DAYS, 100)
    orders.cancel(order, actor_kind="buyer")
    commit()
    assert balance(buyer) == (spent, 0)
    (_a, _r, _e), (amount, remaining, expires_at) = lots(buyer)
    assert (amount, remaining) == (spent, spent) and (expires_at - utcnow()).days in (99, 100)


def test_api_shows_what_expires_when(api, factory):
    """Issue 16/Expiry + Surfaces: ``GET /api/v1/points`` carries
    ``expiring``: the rule, the next three shop days on which points expire
    with the points, and the total within 30 days."""
    buyer = factory.user()
    for days, points in ((10, 100), (50, 30), (5, 7), (200, 1), (300, 2)):
        _rule(expiry.AFTER_DAYS, days)
        give(buyer, points)
    _rule(expiry.NONE)
    give(buyer, 5)
    assert ledger.spend(buyer.id, [Post(SPENT, SOURCE_ORDER, 4, delta=-3)])  # from the 5-day lot
    commit()
    data = api.get("/points", user=buyer).json
    assert data["balance"] == 142
    got = data["expiring"]
    assert got["rule"] == "none" and got["soon"] == 104 and got["soon_days"] == 30
    assert [d["points"] for d in got["dates"]] == [4, 100, 30]
    expected = sorted(e for _a, r, e in lots(buyer) if e is not None and r)[:3]
    assert [d["date"] for d in got["dates"]] == [to_shop_time(e).date().isoformat() for e in expected]
    assert [d["expires_at"][:19] for d in got["dates"]] == [e.isoformat()[:19] for e in expected]
    assert api.get("/points", user=factory.user()).json["expiring"] == {
        "rule": "none",
        "dates": [],
        "soon": 0,
        "soon_days": 30,
    }


def test_expiring_fragment_renders_in_chinese(app, factory):
    """Issue 16/Surfaces: the "expiring soon" fragment the points centre
    includes, from :func:`expiry.expiring_for` (zh_CN by default)."""
    buyer = factory.user()
    _rule(expiry.AFTER_DAYS, 10)
    give(buyer, 120)
    with app.test_request_context("/"):
        html = render_template("points/expiring.html", expiring=expiry.expiring_for(buyer.id))
        empty = render_template("points/expiring.html", expiring=expiry.expiring_for(factory.user().id))
    day = to_shop_time(lots(buyer)[0][2]).date().isoformat()
    assert "即将过期" in html and "30 天内将有 120 积分过期" in html and day in html
    assert "您暂无即将过期的积分" in empty


def test_openapi_documents_expiring(client):
    """Issue 16/Surfaces: the OpenAPI document describes ``expiring`` of ``GET /api/v1/points``."""
    doc = client.get("/api/v1/openapi.json").get_json()
    schemas = doc["components"]["schemas"]
    assert "expiring" in schemas["Points"]["properties"]
    assert set(schemas["Expiring"]["properties"]) == {"rule", "dates", "soon", "soon_days"}
    assert set(schemas["ExpiryDate"]["properties"]) == {"date", "expires_at", "points"}
    assert schemas["ExpiryDate"]["properties"]["expires_at"]["format"] == "date-time"


def test_the_panel_saves_expiry_and_the_window(app, client, factory, login):
    """Issue 16/Expiry + Earning: Settings → Points shows the expiry rule,
    its days and the return window in Chinese and saves them; an unknown
    rule is refused (422) and nothing of the form is saved."""
    from jishi_points import service, window

    login(factory.admin())
    page = client.get("/console/settings").get_data(as_text=True)
    assert "积分过期规则" in page and "获得次年年底过期" in page and "订单完成后多少天积分才可用" in page
    form = {
        **panel_form(),
        service.EARN_PER_YUAN: "1",
        service.RATE: "100",
        service.MIN_USE: "0",
        service.CAP_BP: "50",
        expiry.RULE: "year_end",
        expiry.DAYS: "90",
        window.RETURN_DAYS: "7",
    }
    assert client.post("/console/settings", data=form).status_code == 302
    assert (expiry.rule(), expiry.days(), window.return_days()) == (expiry.YEAR_END, 90, 7)
    bad = client.post("/console/settings", data={**form, expiry.RULE: "forever", window.RETURN_DAYS: "1"})
    assert bad.status_code == 422
    assert (expiry.rule(), window.return_days()) == (expiry.YEAR_END, 7)
