"""CP under real concurrency (threads, each with its own connection; truly
concurrent on PostgreSQL, serialised by BEGIN IMMEDIATE on SQLite): the total
quantity and the per-user limit are never exceeded, and a coupon used by two
placements at once is used once (the other placement fails cleanly)."""

from __future__ import annotations

import pytest
from jishi.checkout.errors import CheckoutError
from jishi.checkout.service import place_order
from jishi.db import db
from jishi.errors import DomainError
from jishi.models import Order, User
from jishi.testing import parallel_config, run_parallel
from sqlalchemy import func, select

from .helpers import give, template


@pytest.fixture
def app_config():
    return parallel_config()


def _run_parallel(app, n, fn):
    return run_parallel(app, n, fn)


def _claim(uid, tid):
    from jishi_coupons import service

    try:
        return service.claim(db.session.get(User, uid), tid).id
    except DomainError as exc:
        return exc.code


def test_total_quantity_never_exceeded(app, factory):
    """CP: 20 buyers race for 5 coupons: exactly 5 claimed, counter 5."""
    from jishi_coupons.models import CouponTemplate, UserCoupon

    tid = template(total_quantity=5).id
    uids = [factory.user().id for _ in range(20)]
    results, errors = _run_parallel(app, 20, lambda i: _claim(uids[i], tid))
    assert not errors, errors
    assert sum(isinstance(r, int) for r in results) == 5
    assert {r for r in results if not isinstance(r, int)} == {"sold_out"}
    db.session.expire_all()
    assert db.session.get(CouponTemplate, tid).claimed_count == 5
    assert db.session.scalar(select(func.count()).select_from(UserCoupon)) == 5


def test_per_user_limit_never_exceeded(app, factory):
    """CP: one buyer claims 10 times at once with a limit of 2: exactly 2;
    the template's counter counts only those (the refused ones rolled back)."""
    from jishi_coupons.models import CouponTemplate, UserCoupon

    tid = template(total_quantity=100, per_user_limit=2).id
    uid = factory.user().id
    results, errors = _run_parallel(app, 10, lambda i: _claim(uid, tid))
    assert not errors, errors
    assert sum(isinstance(r, int) for r in results) == 2
    assert {r for r in results if not isinstance(r, int)} == {"limit"}
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(UserCoupon).where(UserCoupon.user_id == uid)) == 2
    assert db.session.get(CouponTemplate, tid).claimed_count == 2


def test_coupon_used_twice_at_once_is_used_once(app, factory):
    """CP: 6 placements at once (different idempotency keys) all choosing the
    same coupon: one order is placed with it, the others fail with
    ``coupon_used`` (or see it used) and write nothing."""
    from jishi_coupons.models import UserCoupon

    buyer = factory.user()
    addr = factory.address(buyer).id
    sku_id = factory.product(price=15000, stock=50).skus[0].id
    c = give(buyer, template())
    uid, cid = buyer.id, c.id

    def place(i):
        user = db.session.get(User, uid)
        try:
            place_order(user, [(sku_id, 1)], addr, {"coupons": [cid]}, idempotency_key=f"k{i}")
            return "placed"
        except CheckoutError as exc:
            return exc.code

    results, errors = _run_parallel(app, 6, place)
    assert not errors, errors
    assert results.count("placed") == 1, results
    assert set(results) - {"placed"} <= {"coupon_used"}, results
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Order)) == 1
    assert db.session.get(UserCoupon, cid).status == "used"
