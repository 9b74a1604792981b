"""Issue 16 "Expiry" / "Earning" (SPEC PT, concurrency): the expiry and
unfreeze jobs are exactly-once under two workers running their bodies at
once (PostgreSQL: truly concurrent transactions; SQLite serialises the
writers, which must stay correct too).

Without their guards both workers post: for expiry, the account-row lock
taken before the lots are read and the conditional ``remaining = <read>``
UPDATE of the lot; for unfreezing, the conditional ``unfrozen_at IS NULL``
UPDATE. Each test then fails (a duplicate entry or a second decrement)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from jishi import settings
from jishi.db import commit, db, utcnow
from jishi.testing import flows, parallel_config, run_parallel
from jishi_points import expiry, window
from jishi_points.models import EXPIRED, UNFROZEN, PointsEntry
from sqlalchemy import func, select

from .helpers import balance, give, goods_paid, lots


@pytest.fixture
def app_config():
    return parallel_config()


def test_two_workers_expire_each_lot_once(app, factory):
    """Issue 16/Expiry: 6 buyers with 2 due lots each (one partly spent)
    and a lot that never expires; two expiry runs at once: every due lot
    expires exactly once, balances equal the ledger's sums."""
    settings.set_many({expiry.RULE: expiry.AFTER_DAYS, expiry.DAYS: 1})
    commit()
    buyers = [factory.user() for _ in range(6)]
    for b in buyers:
        give(b, 100)
        give(b, 50)
        give(b, -30)
    settings.set_many({expiry.RULE: expiry.NONE})
    commit()
    for b in buyers:
        give(b, 9)
    now = utcnow() + timedelta(days=2)

    def run(_i):
        return expiry.expire_due(now=now)

    results, errors = run_parallel(app, 2, run, request={"method": "POST"})
    assert not errors, errors
    db.session.expire_all()
    for b in buyers:
        assert balance(b) == (9, 0) and [r for _a, r, _e in lots(b)] == [0, 0, 9]
        deltas = db.session.scalars(
            select(PointsEntry.delta).where(PointsEntry.user_id == b.id, PointsEntry.kind == EXPIRED)
        ).all()
        assert sorted(deltas) == [-70, -50]


def test_two_workers_unfreeze_each_order_once(app, factory):
    """Issue 16/Earning: 4 orders completed past a 3 days' window; two
    unfreeze runs at once: each order's points become usable exactly once."""
    settings.set_many({window.RETURN_DAYS: 3})
    commit()
    buyers = [factory.user() for _ in range(4)]
    earned = {}
    for b in buyers:
        sku = factory.product(price=12345, stock=5).skus[0]
        [payment] = flows.place(b, [(sku, 1)], factory.address(b))
        flows.pay(payment)
        order = flows.complete(payment.orders[0])
        earned[b.id] = goods_paid(order) // 100
        assert balance(b) == (0, earned[b.id])
    now = utcnow() + timedelta(days=3, minutes=1)

    def run(_i):
        return window.release_due(now=now)

    results, errors = run_parallel(app, 2, run, request={"method": "POST"})
    assert not errors, errors
    db.session.expire_all()
    for b in buyers:
        assert balance(b) == (earned[b.id], 0) and lots(b) == [(earned[b.id], earned[b.id], None)]
    count = db.session.scalar(select(func.count()).select_from(PointsEntry).where(PointsEntry.kind == UNFROZEN))
    assert count == 4


def test_a_spend_and_the_expiry_at_once(app, factory):
    """Issue 16/Expiry + Ledger: a due lot of 100 and a lasting lot of 50;
    a spend of 120 and the expiry job at once. Either the spend goes first
    (it draws the due lot, the job finds nothing: 30 left) or the job does
    (50 left, the spend is refused); never both, never an error, the lots
    always add up to the balance. Without the job taking the account row's
    lock first (as every spend does) the two deadlock on PostgreSQL (the
    spend holds the account and waits for the lot the job is zeroing, the
    job the other way round), and the test fails."""
    from jishi_points import ledger
    from jishi_points.ledger import Post
    from jishi_points.models import SOURCE_ORDER, SPENT

    for attempt in range(3):
        settings.set_many({expiry.RULE: expiry.AFTER_DAYS, expiry.DAYS: 1})
        commit()
        buyer = factory.user()
        give(buyer, 100)
        settings.set_many({expiry.RULE: expiry.NONE})
        commit()
        give(buyer, 50)
        uid = buyer.id
        now = utcnow() + timedelta(days=2)

        def run(i, uid=uid, now=now, attempt=attempt):
            if i == 0:
                return expiry.expire_due(now=now)
            ok = ledger.spend(uid, [Post(SPENT, SOURCE_ORDER, 9000 + attempt, delta=-120)])
            commit()
            return ok

        results, errors = run_parallel(app, 2, run, request={"method": "POST"})
        assert not errors, errors
        db.session.expire_all()
        if results[1]:
            assert balance(buyer) == (30, 0) and [r for _a, r, _e in lots(buyer)] == [0, 30]
            assert results[0].startswith("0 points")
        else:
            assert balance(buyer) == (50, 0) and [r for _a, r, _e in lots(buyer)] == [0, 50]
