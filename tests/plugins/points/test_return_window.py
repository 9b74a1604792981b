"""Issue 16 "Earning" (SPEC PT): the return window. With
``points.return_days`` = N > 0 completing an order leaves its points
frozen; the ``points_unfreeze`` job makes them usable once N days have
passed since completion, exactly once; a refund inside the window claws
back frozen points. N = 0 (the default) unfreezes at completion."""

from __future__ import annotations

from datetime import timedelta

from jishi import settings
from jishi.db import commit, db, utcnow
from jishi.testing import flows
from jishi_points import window
from jishi_points.models import UNFROZEN, PointsEntry
from sqlalchemy import func, select

from .helpers import balance, goods_paid, lots


def _paid_order(factory, buyer, price):
    sku = factory.product(price=price, stock=10).skus[0]
    [payment] = flows.place(buyer, [(sku, 1)], factory.address(buyer))
    flows.pay(payment)
    return flows.fetch(payment.orders[0])


def test_points_unfreeze_after_the_window_once(app, factory):
    """Issue 16/Earning: 7 days' window: completed orders keep their points
    frozen; a refund in the window claws back frozen points; the job
    unfreezes each order 7 days after its completion, once."""
    settings.set_many({window.RETURN_DAYS: 7})
    commit()
    buyer = factory.user()
    kept = flows.complete(_paid_order(factory, buyer, 20000))
    returned = flows.complete(_paid_order(factory, buyer, 30000))
    earned = goods_paid(kept) // 100
    assert balance(buyer) == (0, earned + goods_paid(returned) // 100)
    assert window.release_due() == "0 orders' points unfrozen"
    flows.refund(returned)  # inside the window: the frozen points go
    assert balance(buyer) == (0, earned)
    done = max(flows.fetch(kept).completed_at, flows.fetch(returned).completed_at)
    assert window.release_due(now=flows.fetch(kept).completed_at + timedelta(days=7, seconds=-1)).startswith("0 ")
    assert window.release_due(now=done + timedelta(days=7)) == "2 orders' points unfrozen"
    assert balance(buyer) == (earned, 0) and lots(buyer) == [(earned, earned, None)]
    assert window.release_due(now=done + timedelta(days=30)).startswith("0 ")
    unfrozen = db.session.scalar(select(func.count()).select_from(PointsEntry).where(PointsEntry.kind == UNFROZEN))
    assert unfrozen == 1  # the refunded order had nothing left to unfreeze
    assert balance(buyer) == (earned, 0)


def test_no_window_unfreezes_at_completion_and_the_setting_is_clamped(app, factory):
    """Issue 16/Earning: 0 (the default) unfreezes at completion; a bad value reads as 0, a huge one as 365."""
    assert window.return_days() == 0
    buyer = factory.user()
    order = flows.complete(_paid_order(factory, buyer, 10000))
    assert balance(buyer) == (goods_paid(order) // 100, 0)
    for raw, days in (("x", 0), (-3, 0), (10**6, 365)):
        settings.set_many({window.RETURN_DAYS: raw})
        commit()
        assert window.return_days() == days


def test_both_jobs_run_in_the_kernel_worker(app, factory):
    """Issue 16/Expiry + Earning: ``points_expire`` and ``points_unfreeze``
    are ``periodic_jobs`` run by ``jishi worker``: a lot whose time has come
    expires, an order whose window has passed (the window lowered to 0
    after it completed) unfreezes; a second worker run does nothing more."""
    from jishi.cli.worker import collect_jobs, run_once
    from jishi_points import expiry
    from jishi_points.models import PointsLot
    from sqlalchemy import update

    from .helpers import give

    settings.set_many({window.RETURN_DAYS: 2, expiry.RULE: expiry.AFTER_DAYS, expiry.DAYS: 1})
    commit()
    buyer = factory.user()
    give(buyer, 40)
    # time passes: the lot's day is over
    db.session.execute(update(PointsLot).values(expires_at=utcnow() - timedelta(seconds=1)))
    order = flows.complete(_paid_order(factory, buyer, 10000))
    earned = goods_paid(order) // 100
    settings.set_many({window.RETURN_DAYS: 0, expiry.RULE: expiry.NONE})
    commit()
    db.session.commit()  # end the test's transaction: the jobs run in their own app context and session
    jobs = collect_jobs(app)
    mine = {name: jobs[name] for name in ("points_expire", "points_unfreeze")}
    first = run_once(app, mine)
    assert [(n, s, e) for n, s, e in first] == [
        ("points_expire", "40 points of 1 buyers expired", None),
        ("points_unfreeze", "1 orders' points unfrozen", None),
    ]
    db.session.expire_all()
    assert balance(buyer) == (earned, 0) and lots(buyer) == [(40, 0, lots(buyer)[0][2]), (earned, earned, None)]
    db.session.commit()
    again = run_once(app, mine)
    assert [s for _n, s, _e in again] == ["0 points of 0 buyers expired", "0 orders' points unfrozen"]
