"""A refund number another refund drew is drawn again, not answered as a
500: refund numbers have the order numbers' shape ("R", the second plus 8
random digits; see tests/test_order_numbers.py), so two refunds drawing
the same one in the same second is rare but real. The refused row leaves
nothing (its savepoint rolled back) and is written again with a new
number, by the buyer's request and by the platform's close. K10."""

from __future__ import annotations

import pytest
from jishi.aftersales import service as aftersales
from jishi.aftersales.models import Refund
from jishi.db import db
from jishi.models import Order
from jishi.orders import service as orders
from jishi.testing import factories, flows
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError


def _drawing(monkeypatch, first: list[str]):
    """``aftersales._number`` answering ``first`` first, then real numbers."""
    real = aftersales._number
    queue = list(first)

    def number() -> str:
        return queue.pop(0) if queue else real()

    monkeypatch.setattr(aftersales, "_number", number)


def _paid_orders(n: int):
    buyer = factories.user()
    address = factories.address(buyer)
    sku = factories.product(price=1000, stock=10).skus[0]
    out = []
    for _ in range(n):
        (payment,) = flows.place(buyer, [(sku, 1)], address)
        flows.pay(payment)
        out.append(payment.orders[0].id)
    return buyer, [db.session.get(Order, i) for i in out]


def test_a_refund_number_taken_is_drawn_again(app, monkeypatch):
    buyer, (first, second) = _paid_orders(2)
    with app.test_request_context("/"):
        earlier = aftersales.request_refund(buyer, first, "refund_only", [(first.lines[0].id, 1)])
        taken, amount = earlier.number, earlier.amount
        _drawing(monkeypatch, [taken])
        refund = aftersales.request_refund(buyer, second, "refund_only", [(second.lines[0].id, 1)], "重复号")
    db.session.expire_all()
    assert refund.number != taken
    numbers = db.session.scalars(select(Refund.number)).all()
    assert len(set(numbers)) == len(numbers) == 2
    refund = db.session.get(Refund, refund.id)
    assert (refund.order_id, refund.reason, refund.amount) == (second.id, "重复号", amount)
    assert [(rl.order_line_id, rl.quantity) for rl in refund.lines] == [(second.lines[0].id, 1)]


def test_the_platforms_close_draws_a_taken_number_again(app, monkeypatch):
    buyer, (first, second) = _paid_orders(2)
    with app.test_request_context("/"):
        taken = aftersales.request_refund(buyer, first, "refund_only", [(first.lines[0].id, 1)]).number
        _drawing(monkeypatch, [taken])
        orders.close_paid(second, actor=factories.admin())
    db.session.expire_all()
    numbers = db.session.scalars(select(Refund.number)).all()
    assert len(set(numbers)) == len(numbers) == 2
    assert db.session.get(Order, second.id).status == "closed"


def test_three_taken_numbers_are_refused_and_leave_nothing(app, monkeypatch):
    """The retry is bounded: a number taken on every draw is answered as the
    database's refusal, with nothing of the refund written."""
    buyer, (first, second) = _paid_orders(2)
    with app.test_request_context("/"):
        taken = aftersales.request_refund(buyer, first, "refund_only", [(first.lines[0].id, 1)]).number
        _drawing(monkeypatch, [taken] * aftersales.NUMBER_ATTEMPTS)
        with pytest.raises(IntegrityError):
            aftersales.request_refund(buyer, second, "refund_only", [(second.lines[0].id, 1)])
        db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Refund)) == 1
