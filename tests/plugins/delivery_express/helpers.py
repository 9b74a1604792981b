"""Shared helpers: templates, placing and paying express orders."""

from __future__ import annotations

from flask import current_app
from jishi.db import db

PIECE = {"name": "按件", "charge_by": "piece", "first_units": 1, "first_fee": 1000, "additional_units": 1, "additional_fee": 500}
WEIGHT = {"name": "按重", "charge_by": "weight", "first_units": 1000, "first_fee": 1200, "additional_units": 500, "additional_fee": 400}


def template(**kw):
    from jishi_delivery_express import service

    data = dict(PIECE)
    data.update(kw)
    return service.save_template(data)


def pay(payment):
    from jishi.payments import sandbox
    from jishi.payments.service import handle_notification

    with current_app.test_request_context("/"):
        trade = sandbox.create_trade(payment)
        trade.status = "paid"
        db.session.commit()
        assert handle_notification("sandbox", sandbox.notification_for(trade)) == "success"


def place(user, items, address=None, key=None, options=None, paid=True):
    """Place (and pay) a checkout of (sku, quantity); returns the orders."""
    from jishi.checkout.service import place_order

    with current_app.test_request_context("/"):
        payments = place_order(user, [(s.id, q) for s, q in items], address.id if address else None, options or {},
                               idempotency_key=key or f"k{next(_seq)}")
    orders = [o for p in payments for o in p.orders]
    if paid:
        for p in payments:
            pay(p)
    for o in orders:
        db.session.refresh(o)
    return orders


def _counter():
    n = 0
    while True:
        n += 1
        yield n


_seq = _counter()
