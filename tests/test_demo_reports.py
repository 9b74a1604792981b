"""Issue 19 (K16, seed 004 §6): ``jishi demo``'s 60 days of history give
every report section shape — the buyer analysis (new and returning buyers,
repeat purchases, RFM segments, member levels), the finance (refunds on
several days, the platform's income and the merchant statements) and each
marketing plugin's campaigns — on the platform's reports and a merchant's,
built through the real checkout, payment and after-sales
(:func:`jishi.demo.backdated`), and the same every time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from jishi.db import db
from sqlalchemy import select

PLUGINS = ("multistore", "coupons", "flashsale", "groupbuy", "points", "distribution")
pytestmark = pytest.mark.jishi_plugins(*PLUGINS)


@pytest.fixture
def demo(app):
    from jishi.demo import load_demo

    with app.test_request_context("/"):
        return load_demo({})


def _report(scope: int, days: int):
    from jishi.i18n import shop_today
    from jishi.reports import service

    today = shop_today()
    return service.report_data(today - timedelta(days=days - 1), today, scope)


def _sections(report) -> dict:
    out = {}
    for section in report["sections"]:
        key = section["key"] if isinstance(section, dict) else section.key
        rows = section["rows"] if isinstance(section, dict) else section.rows
        out[key] = rows
    return out


def _nonzero(rows) -> bool:
    """A row with a nonzero figure (ids, names and days aside)."""
    skip = ("_id", "name", "title", "day", "merchant")
    return any(
        isinstance(v, int) and not isinstance(v, bool) and v and not any(k.endswith(s) for s in skip)
        for row in rows
        for k, v in row.items()
    )


def _merchant():
    from jishi_multistore.models import Merchant

    return db.session.execute(select(Merchant).where(Merchant.name == "鲜果多多")).scalar_one()


def test_demo_reports_have_shape(app, demo):
    """Issue 19: over the demo's 60 days, on the platform's reports and on
    鲜果多多's: buyers spread over ≥ 2 RFM segments, repeat buyers, ≥ 2
    member levels, refunds paid back on ≥ 3 days, and every plugin section
    with a nonzero row; over the last 30 days, returning buyers. The
    backdated history stays consistent (one demo build: it is slow)."""
    merchant = _merchant()
    expected = {
        0: {"coupons", "activities", "flashsale", "groupbuy", "points", "distribution", "promoters", "income"},
        merchant.id: {"coupons", "activities", "flashsale", "groupbuy", "distribution", "statements"},
    }
    for scope, keys in expected.items():
        report = _report(scope, 60)
        buyers = report["buyers"]
        assert buyers["buyers"] >= 8, scope
        assert sum(1 for s in buyers["segments"] if s["buyers"]) >= 2, (scope, buyers["segments"])
        assert buyers["repeat_buyers"] > 0 and buyers["repeat_rate_permille"] > 0, scope
        assert sum(1 for level in buyers["levels"] if level["buyers"]) >= 2, scope
        assert sum(1 for d in report["finance"]["days"] if d["refund_amount"] > 0) >= 3, scope
        sections = _sections(report)
        for key in keys:
            assert _nonzero(sections.get(key) or []), (scope, key, sections.get(key))
        recent = _report(scope, 30)["buyers"]
        assert recent["returning_buyers"] > 0 and recent["new_buyers"] >= 0, (scope, recent)

    # Refunds really paid back through the after-sales service, on ≥ 3 days.
    from jishi.i18n import to_shop_time
    from jishi.models import Refund

    refunded = db.session.execute(select(Refund.refunded_at).where(Refund.status == "refunded")).scalars().all()
    assert len({to_shop_time(r).date() for r in refunded}) >= 3
    # A finished flash sale and failed groups: in the past, not running.
    flash = {r["title"]: r for r in _sections(_report(0, 60))["flashsale"]}
    assert any(t.startswith("周末秒杀") and r["orders"] > 0 for t, r in flash.items())
    group = _sections(_report(0, 60))["groupbuy"]
    assert sum(r["succeeded"] for r in group) >= 1 and sum(r["failed"] for r in group) >= 1
    _consistent()


def _consistent():
    """The backdated history keeps each order's moments in order (placed ≤
    paid ≤ completed, a refund after its payment), within the past 60 days."""
    from jishi.db import utcnow
    from jishi.models import Order, Refund

    now = utcnow()
    orders = db.session.execute(select(Order)).scalars().all()
    past = [o for o in orders if o.created_at < now - timedelta(days=2)]
    assert len(past) >= 60
    for o in orders:
        assert now - timedelta(days=62) < o.created_at <= now
        assert o.paid_at is None or o.created_at <= o.paid_at
        assert o.completed_at is None or (o.paid_at or o.created_at) <= o.completed_at
    paid = {o.id: o.paid_at for o in orders}
    for r in db.session.execute(select(Refund).where(Refund.status == "refunded")).scalars():
        assert paid[r.order_id] is not None and r.refunded_at >= paid[r.order_id]
