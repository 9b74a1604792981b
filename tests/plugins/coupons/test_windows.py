"""Issue 20: the checkout reads 满减 activities only while one may run.

``coupons.activity_windows`` (a setting, read with the request's settings,
see ``jishi.promotions.publish_windows``) holds when active activities run;
the plan skips its activities query when no window covers now. A new
activity writes the windows, the ``coupons_windows`` job drops ended ones;
without the setting every checkout reads as before."""

from __future__ import annotations

from datetime import timedelta

from jishi.checkout.service import build_checkout
from jishi.db import commit, db, utcnow
from jishi.settings import Setting
from jishi_coupons import service
from jishi_coupons.models import ACTIVITY_WINDOWS, CouponActivity


def _plan(factory, queries, buyer, sku):
    with queries() as q:
        co = build_checkout(buyer, [(sku.id, 1)])
    reads = [s for s in q.statements if "FROM coupon_activities" in s.split("|")[0]]
    db.session.rollback()
    return co.discount_amount, len(reads)


def _activity(start, end):
    service.create_activity(None, {"name": "满减", "tiers": [[1000, 100]], "starts_at": start, "ends_at": end})


def test_windows_decide_whether_activities_are_read(app, factory, queries):
    buyer = factory.user()
    sku = factory.product(price=2000, stock=9).skus[0]
    assert _plan(factory, queries, buyer, sku) == (0, 1)  # not known yet: read as before
    assert service.publish_windows_job() == "0 windows"
    assert db.session.get(Setting, ACTIVITY_WINDOWS).value == []
    assert _plan(factory, queries, buyer, sku) == (0, 0)  # none runs: no query
    now = utcnow()
    _activity(now + timedelta(hours=1), now + timedelta(hours=2))  # scheduled
    assert _plan(factory, queries, buyer, sku) == (0, 0)
    _activity(now - timedelta(hours=1), now + timedelta(hours=1))  # running: written with it
    assert len(db.session.get(Setting, ACTIVITY_WINDOWS).value) == 1  # the two merged
    assert _plan(factory, queries, buyer, sku) == (100, 1)


def test_the_job_drops_ended_activities(app, factory):
    now = utcnow()
    _activity(now - timedelta(hours=2), now + timedelta(hours=1))
    _activity(now + timedelta(days=1), now + timedelta(days=2))
    assert len(db.session.get(Setting, ACTIVITY_WINDOWS).value) == 2
    db.session.execute(
        db.update(CouponActivity).where(CouponActivity.starts_at < now).values(ends_at=now - timedelta(seconds=1))
    )
    commit()
    assert service.publish_windows_job() == "1 windows"
    assert db.session.get(Setting, ACTIVITY_WINDOWS).value[0][0] == (now + timedelta(days=1)).isoformat()
    names = {j.name for r in app.extensions["jishi"].hook.periodic_jobs() for j in (r or [])}
    assert "coupons_windows" in names
