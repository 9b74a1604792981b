"""Issue 16 "Points exchange": per-buyer limits and stock never exceeded
under concurrency. Each worker has its own thread, app context, session
and connection (``jishi.testing.run_parallel``): on PostgreSQL the
transactions are truly concurrent and only the conditional statements
(``sold + n <= stock``, ``bought + n <= limit``, ``balance >= n``) decide —
without them these tests fail there; SQLite serialises the writers, which
must stay correct too."""

from __future__ import annotations

import pytest
from jishi.checkout.errors import CheckoutError
from jishi.db import db
from jishi.errors import DomainError
from jishi.testing import flows, parallel_config, run_parallel
from jishi_points import exchange
from jishi_points.models import PointsExchangeItem, PointsExchangeRedemption
from sqlalchemy import func, select

from .helpers import balance, coupon_template, exchange_item, give


@pytest.fixture
def app_config():
    return parallel_config()


def _redemptions() -> int:
    return db.session.scalar(select(func.count()).select_from(PointsExchangeRedemption))


def _sold(item_id) -> int:
    db.session.expire_all()
    return db.session.get(PointsExchangeItem, item_id).sold


def test_twelve_buyers_racing_for_three_units_get_three(app, factory):
    """Issue 16/Points exchange: 12 buyers at once on an item of stock 3
    (SKU stock 100): exactly 3 orders, ``sold`` 3, the others refused with
    their points untouched."""
    sku = factory.product(price=5000, stock=100).skus[0]
    item = exchange_item(sku, points=100, stock=3, per_user_limit=1)
    buyers = []
    for _ in range(12):
        b = factory.user()
        factory.address(b)
        give(b, 100)
        buyers.append(b.id)
    iid, sid = item.id, sku.id

    def redeem(i):
        from jishi.accounts.models import User

        try:
            flows.place(
                db.session.get(User, buyers[i]),
                [(sid, 1)],
                flows.address_id(db.session.get(User, buyers[i])),
                {"points_exchange": {"item_id": iid}},
                key=f"x{i}",
            )
            return "ok"
        except CheckoutError:
            db.session.rollback()
            return "refused"

    results, errors = run_parallel(app, 12, redeem, request={"method": "POST"})
    assert not errors, errors
    assert results.count("ok") == 3, results
    assert _sold(iid) == 3 and _redemptions() == 3
    from jishi.accounts.models import User

    spent = sorted(balance(db.session.get(User, b))[0] for b in buyers)
    assert spent == [0] * 3 + [100] * 9


def test_one_buyer_racing_five_times_keeps_the_limit(app, factory):
    """Issue 16/Points exchange: one buyer places 5 exchange orders at once
    on an item limited to 2 per buyer (stock and points plenty): exactly 2
    are placed, the buyer's units are 2, 2 x 50 points spent."""
    buyer = factory.user()
    factory.address(buyer)
    give(buyer, 10000)
    sku = factory.product(price=5000, stock=100).skus[0]
    item = exchange_item(sku, points=50, stock=50, per_user_limit=2)
    bid, iid, sid = buyer.id, item.id, sku.id

    def redeem(i):
        from jishi.accounts.models import User

        user = db.session.get(User, bid)
        try:
            flows.place(user, [(sid, 1)], flows.address_id(user), {"points_exchange": {"item_id": iid}}, key=f"k{i}")
            return "ok"
        except CheckoutError:
            db.session.rollback()
            return "refused"

    results, errors = run_parallel(app, 5, redeem, request={"method": "POST"})
    assert not errors, errors
    assert results.count("ok") == 2, results
    assert exchange.used_units(iid, bid) == 2 and _sold(iid) == 2
    assert balance(buyer) == (10000 - 100, 0)


def test_two_exchanges_at_once_never_spend_the_same_points(app, factory):
    """Issue 16/Ledger + exchange: 150 points, two 100-point redemptions
    of two different items at once: one is placed, the other refused with
    nothing written (its stock and units given back by the rollback)."""
    buyer = factory.user()
    factory.address(buyer)
    give(buyer, 150)
    sku = factory.product(price=5000, stock=100).skus[0]
    items = [exchange_item(sku, points=100, stock=5, per_user_limit=0).id for _ in range(2)]
    bid, sid = buyer.id, sku.id

    def redeem(i):
        from jishi.accounts.models import User

        user = db.session.get(User, bid)
        try:
            flows.place(
                user, [(sid, 1)], flows.address_id(user), {"points_exchange": {"item_id": items[i]}}, key=f"p{i}"
            )
            return "ok"
        except CheckoutError as exc:
            db.session.rollback()
            return exc.problems[0].code

    results, errors = run_parallel(app, 2, redeem, request={"method": "POST"})
    assert not errors, errors
    assert sorted(results) == ["ok", "points_short"], results
    assert balance(buyer) == (50, 0)
    assert _sold(items[0]) + _sold(items[1]) == 1 and _redemptions() == 1


@pytest.mark.jishi_plugins("coupons", "points")
def test_coupon_redemptions_at_once_keep_stock_and_limit(app, factory):
    """Issue 16/Points exchange with coupons: 6 buyers x 2 redemptions at
    once of a coupon item with stock 5 and 1 per buyer: exactly 5 coupons
    issued to 5 different buyers, 5 x 20 points spent."""
    from jishi_coupons.models import UserCoupon

    t = coupon_template(total_quantity=100, per_user_limit=5)
    item = exchange_item(kind="coupon", coupon_template_id=t.id, points=20, stock=5, per_user_limit=1)
    buyers = []
    for _ in range(6):
        b = factory.user()
        give(b, 100)
        buyers.append(b.id)
    iid = item.id

    def redeem(i):
        from jishi.accounts.models import User
        from jishi.db import commit

        try:
            exchange.redeem_coupon(db.session.get(User, buyers[i % 6]), iid)
            commit()
            return "ok"
        except DomainError:
            db.session.rollback()
            return "refused"

    results, errors = run_parallel(app, 12, redeem, request={"method": "POST"})
    assert not errors, errors
    assert results.count("ok") == 5, results
    owners = db.session.scalars(select(UserCoupon.user_id)).all()
    assert len(owners) == 5 and len(set(owners)) == 5
    assert _sold(iid) == 5
    from jishi.accounts.models import User

    assert sum(balance(db.session.get(User, b))[0] for b in buyers) == 600 - 100
