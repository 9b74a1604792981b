"""No overselling and idempotency under real concurrency (K4, K7, K9).

Each buyer runs in its own thread with its own app context, session and
database connection. On PostgreSQL these are truly concurrent transactions;
on SQLite BEGIN IMMEDIATE serialises writers, which must also stay correct.
"""

from __future__ import annotations

import pytest
from jishi.checkout.errors import CheckoutError
from jishi.checkout.service import place_order
from jishi.db import db
from jishi.models import Order, PaymentNotification, PaymentOrder, Sku, User
from jishi.payments import sandbox
from jishi.payments.service import handle_notification
from jishi.testing import parallel_config, run_parallel


def _run_parallel(app, n, fn):
    return run_parallel(app, n, fn)


@pytest.fixture
def app_config():
    return parallel_config()


def test_last_units_sell_exactly_once(app, factory):
    """K4/K7: 24 buyers race for 5 units: exactly 5 orders, stock 0, never below."""
    product = factory.product(price=990, stock=5)
    sku_id = product.skus[0].id
    buyers = [factory.user() for _ in range(24)]
    addresses = [factory.address(b).id for b in buyers]
    buyer_ids = [b.id for b in buyers]

    def buy(i):
        user = db.session.get(User, buyer_ids[i])
        try:
            return place_order(user, [(sku_id, 1)], addresses[i], idempotency_key=f"k{i}")
        except CheckoutError:
            return "sold out"

    results, errors = _run_parallel(app, len(buyers), buy)
    assert not errors, errors
    assert sum(1 for r in results if r != "sold out") == 5
    db.session.expire_all()
    assert db.session.get(Sku, sku_id).stock == 0
    assert db.session.scalar(db.select(db.func.count()).select_from(Order)) == 5


def test_retried_placement_writes_once(app, factory):
    """K7: the same Idempotency-Key sent 8 times at once places one checkout."""
    product = factory.product(price=500, stock=50)
    sku_id = product.skus[0].id
    buyer = factory.user()
    addr = factory.address(buyer).id
    uid = buyer.id

    def place(i):
        user = db.session.get(User, uid)
        return [p.id for p in place_order(user, [(sku_id, 2)], addr, idempotency_key="same-key")]

    results, errors = _run_parallel(app, 8, place)
    assert not errors, errors
    assert len({tuple(r) for r in results}) == 1
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count()).select_from(PaymentOrder)) == 1
    assert db.session.get(Sku, sku_id).stock == 48


def test_duplicate_notifications_change_state_once(app, factory):
    """K9: one notification delivered 6 times at once, plus a replay: paid once."""
    product = factory.product(price=1200, stock=5)
    buyer = factory.user()
    addr = factory.address(buyer)
    with app.test_request_context():
        [payment] = place_order(buyer, [(product.skus[0].id, 1)], addr.id, idempotency_key="x")
        trade = sandbox.trade_for(payment)
        trade.status = "paid"
        db.session.commit()
        params = sandbox.notification_for(trade)
    pid = payment.id

    results, errors = _run_parallel(app, 6, lambda i: handle_notification("sandbox", dict(params)))
    assert not errors, errors
    assert results == ["success"] * 6
    with app.test_request_context():
        assert handle_notification("sandbox", dict(params)) == "success"
    db.session.expire_all()
    payment = db.session.get(PaymentOrder, pid)
    assert payment.status == "paid"
    assert db.session.scalar(db.select(db.func.count()).select_from(PaymentNotification)) == 1
    order = payment.orders[0]
    assert order.status == "paid"
    assert [e.to_status for e in order.events] == ["pending_payment", "paid"]


def test_concurrent_placements_with_one_key_answer_one_placement(app, factory):
    """K7: the same placement sent 8 times at once with one Idempotency-Key:
    exactly one answer is the placement (201, ``replayed`` false), every
    other a replay of it (200, ``replayed`` true, the same ids)."""
    from jishi.testing.principals import bearer

    sku_id = factory.product(price=700, stock=50).skus[0].id
    buyer = factory.user()
    body = {"items": [{"sku_id": sku_id, "quantity": 1}], "address_id": factory.address(buyer).id}
    headers = dict(bearer(buyer), **{"Idempotency-Key": "same-key"})

    def place(i):
        resp = app.test_client().post("/api/v1/checkout/place", json=body, headers=headers)
        return resp.status_code, resp.get_json()

    results, errors = run_parallel(app, 8, place)
    assert not errors, errors
    answers = sorted((status, r["replayed"], tuple(p["id"] for p in r["payments"])) for status, r in results)
    assert [(status, replayed) for status, replayed, _ids in answers] == [(200, True)] * 7 + [(201, False)]
    assert len({ids for _s, _r, ids in answers}) == 1
    db.session.expire_all()
    assert db.session.get(Sku, sku_id).stock == 49


def test_concurrent_payments_count_every_unit_once(app, factory):
    """A2/K9: 8 payments of the same two products (in either line order)
    notified at once, each notification delivered twice: ``sales`` ends at
    exactly the units paid (no lost update, no double count, no deadlock)."""
    a = factory.product(price=100, stock=100)
    b = factory.product(price=200, stock=100)
    buyers = [factory.user() for _ in range(8)]
    notes = []
    with app.test_request_context():
        for i, buyer in enumerate(buyers):
            lines = [(a.skus[0].id, 1), (b.skus[0].id, 2)]
            addr = factory.address(buyer).id
            [payment] = place_order(buyer, lines if i % 2 else lines[::-1], addr, idempotency_key=f"s{i}")
            trade = sandbox.trade_for(payment)
            trade.status = "paid"
            db.session.commit()
            notes.append(sandbox.notification_for(trade))
    a_id, b_id = a.id, b.id

    results, errors = _run_parallel(app, 16, lambda i: handle_notification("sandbox", dict(notes[i % 8])))
    assert not errors, errors
    assert results == ["success"] * 16
    db.session.expire_all()
    from jishi.models import Product

    assert (db.session.get(Product, a_id).sales, db.session.get(Product, b_id).sales) == (8, 16)
