"""FS: never oversells, never passes the per-buyer limit, gives stock back
exactly once — under concurrency, on SQLite and PostgreSQL.

Each worker runs in its own thread with its own app context, session and
connection (the pattern of tests/test_concurrency.py). On PostgreSQL the
transactions are truly concurrent and the conditional UPDATEs decide; on
SQLite writers are serialised, which must stay correct too.
"""

from __future__ import annotations

import pytest
from jishi.checkout.errors import CheckoutError
from jishi.db import db
from jishi.models import Order, Sku, User
from jishi.orders.models import OrderLine
from jishi.testing import parallel_config, run_parallel
from jishi_flashsale import service
from jishi_flashsale.models import Reservation, Usage

from . import helpers as fs


@pytest.fixture
def app_config():
    return parallel_config()


def _run_parallel(app, n, fn):
    return run_parallel(app, n, fn)


def _count(model, *where):
    return db.session.scalar(db.select(db.func.count()).select_from(model).where(*where))


def test_twenty_buyers_racing_for_five_units_get_exactly_five(app, factory):
    """FS: 20 buyers at once on 5 flash units -> exactly 5 orders, sold 5, the rest refused; normal stock untouched."""
    product = factory.product(price=1000, stock=100)
    a = fs.activity(product, stock=5, per_user=1)
    sku_id = product.skus[0].id
    ids = [fs.buyer(factory).id for _ in range(20)]

    def buy(i):
        try:
            fs.place(db.session.get(User, ids[i]), sku_id)
            return "ok"
        except CheckoutError:
            return "refused"

    results, errors = _run_parallel(app, 20, buy)
    assert not errors, errors
    assert results.count("ok") == 5
    db.session.expire_all()
    f = fs.flash_sku(a.id)
    assert (f.sold, f.stock) == (5, 5)
    assert _count(Order) == 5 and _count(Reservation) == 5
    assert db.session.get(Sku, sku_id).stock == 100


def test_one_buyer_racing_ten_orders_under_limit_two(app, factory):
    """FS: one buyer placing 10 orders at once with a per-buyer limit of 2 gets exactly 2 (race-free counter row creation)."""
    product = factory.product(price=1000, stock=100)
    a = fs.activity(product, stock=50, per_user=2)
    sku_id = product.skus[0].id
    uid = fs.buyer(factory).id

    def buy(i):
        try:
            fs.place(db.session.get(User, uid), sku_id)
            return "ok"
        except CheckoutError:
            return "refused"

    results, errors = _run_parallel(app, 10, buy)
    assert not errors, errors
    assert results.count("ok") == 2
    db.session.expire_all()
    f = fs.flash_sku(a.id)
    assert f.sold == 2 and service.used_units(f.id, uid) == 2
    assert _count(Usage) == 1


def test_several_buyers_each_racing_under_the_limit(app, factory):
    """FS: 4 buyers x 5 parallel attempts, limit 1, 10 units -> each buyer exactly 1 order, sold 4."""
    product = factory.product(price=1000, stock=100)
    a = fs.activity(product, stock=10, per_user=1)
    sku_id = product.skus[0].id
    uids = [fs.buyer(factory).id for _ in range(4)]

    def buy(i):
        try:
            fs.place(db.session.get(User, uids[i % 4]), sku_id)
            return "ok"
        except CheckoutError:
            return "refused"

    results, errors = _run_parallel(app, 20, buy)
    assert not errors, errors
    db.session.expire_all()
    assert results.count("ok") == 4
    per_user = dict(db.session.execute(db.select(Order.user_id, db.func.count()).group_by(Order.user_id)).all())
    assert per_user == dict.fromkeys(uids, 1)
    assert fs.flash_sku(a.id).sold == 4


def test_concurrent_releases_give_back_exactly_once(app, factory):
    """FS: 8 threads releasing the same flash line at once (and the close job twice) give the unit back exactly once."""
    product = factory.product(price=1000, stock=100)
    a = fs.activity(product, stock=3, per_user=1)
    sku_id = product.skus[0].id
    user = fs.buyer(factory)
    order = fs.place(user, sku_id)
    line_id = db.session.execute(db.select(OrderLine.id).where(OrderLine.order_id == order.id)).scalar()

    def release(i):
        line = db.session.get(OrderLine, line_id)
        service.release(line, 1, "closed")
        db.session.commit()
        return "done"

    _results, errors = _run_parallel(app, 8, release)
    assert not errors, errors
    db.session.expire_all()
    f = fs.flash_sku(a.id)
    assert f.sold == 0 and service.used_units(f.id, user.id) == 0
    assert db.session.execute(db.select(Reservation.released)).scalar() == 1
    assert db.session.get(Sku, sku_id).stock == 100


def test_timeout_job_racing_with_itself_and_a_cancel(app, factory):
    """FS: two close jobs and the buyer's cancel racing on the same unpaid flash order: closed once, the unit back once."""
    from jishi.orders import service as orders_service
    from jishi.orders.state import TransitionError
    from sqlalchemy.exc import OperationalError

    product = factory.product(price=1000, stock=100)
    a = fs.activity(product, stock=2, per_user=1)
    user = fs.buyer(factory)
    order = fs.place(user, product.skus[0].id)
    oid, uid = order.id, user.id
    fs.age_reservations(6)

    def act(i):
        if i < 2:
            return service.close_unpaid()
        try:
            o = db.session.get(Order, oid)
            if o.status == "pending_payment":
                orders_service.cancel(o, actor=db.session.get(User, uid))
            return "cancel"
        except TransitionError:
            db.session.rollback()
            return "lost"
        except OperationalError:
            # PostgreSQL broke a deadlock: the kernel's cancel locks the order
            # then the payment, the close (kernel's and ours, like the payment
            # notification) the payment then the order. Nothing was kept.
            db.session.rollback()
            return "deadlock"

    _results, errors = _run_parallel(app, 3, act)
    assert not errors, errors
    db.session.expire_all()
    assert db.session.get(Order, oid).status == "closed"
    f = fs.flash_sku(a.id)
    assert f.sold == 0 and db.session.execute(db.select(Reservation.released)).scalar() == 1


def test_late_payment_racing_with_the_timeout_is_never_kept(app, factory):
    """FS: a payment notification racing with the unpaid close: either the order is paid (and keeps its unit), or it is closed and the money refunded, or the gateway closed the trade first and took no money."""
    from flask import current_app
    from jishi.payments import sandbox
    from jishi.payments.models import SandboxTrade
    from jishi.payments.service import PaymentError, handle_notification

    product = factory.product(price=1000, stock=100)
    a = fs.activity(product, stock=2, per_user=1)
    user = fs.buyer(factory)
    order = fs.place(user, product.skus[0].id)
    oid = order.id
    with current_app.test_request_context("/", method="POST"):
        trade = sandbox.trade_for(db.session.get(Order, oid).payment)
        db.session.commit()
        trade_id = trade.id
    fs.age_reservations(6)

    def act(i):
        if i == 0:
            return service.close_unpaid()
        with current_app.test_request_context("/", method="POST"):
            try:
                return handle_notification("sandbox", sandbox.notification_for(db.session.get(SandboxTrade, trade_id)))
            except PaymentError as exc:  # the close reached the gateway first
                db.session.rollback()
                assert "closed" in exc.problem.message, exc
                return "refused"

    results, errors = _run_parallel(app, 2, act)
    assert not errors, errors
    db.session.expire_all()
    o = db.session.get(Order, oid)
    trade = db.session.get(SandboxTrade, trade_id)
    f = fs.flash_sku(a.id)
    if o.status == "paid":
        assert f.sold == 1 and trade.status == "paid"
    elif "refused" in results:  # refused: the gateway took no money
        assert o.status == "closed" and trade.status == "closed" and f.sold == 0
    else:
        assert o.status == "closed" and trade.status == "refunded" and f.sold == 0
