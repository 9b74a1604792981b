"""An order or payment number another placement drew is drawn again, not
answered as a 500 (issue 20: the numbers are the second plus 8 random
digits; at a sale's 1,000 orders/s two placements draw the same one about
every 200 s; a hotpaths run hit it as a UNIQUE failure on orders.number).
The refused write leaves nothing and is made again with new numbers, by
the API's placement (with and without an idempotency key) and by
``place_orders`` (a queue consumer's batch). K-checkout, FS (drain)."""

from __future__ import annotations

import pytest
from jishi.checkout import service as checkout_service
from jishi.checkout.entry import PlaceRequest, place_orders
from jishi.db import db
from jishi.models import Order, PaymentOrder
from jishi.testing import factories, flows
from sqlalchemy import func, select


def _drawing(monkeypatch, first: list[str]):
    """``_number`` answering ``first`` (digits after the prefix asked)
    first, then real numbers."""
    real = checkout_service._number
    queue = list(first)

    def number(prefix: str = "") -> str:
        return prefix + queue.pop(0) if queue else real(prefix)

    monkeypatch.setattr(checkout_service, "_number", number)


def _counts():
    return (
        db.session.scalar(select(func.count()).select_from(Order)),
        db.session.scalar(select(func.count()).select_from(PaymentOrder)),
    )


@pytest.mark.parametrize("taken", ["payment", "order"])
@pytest.mark.parametrize("key", [None, "numbers-1"])
def test_a_number_taken_is_drawn_again(app, monkeypatch, taken, key):
    buyer = factories.user()
    address = factories.address(buyer)
    sku = factories.product(price=1000, stock=10).skus[0]
    (first,) = flows.place(buyer, [(sku, 1)], address)
    order_number = first.orders[0].number
    # the payment draws first, then the order
    if taken == "payment":
        _drawing(monkeypatch, [first.number[1:]])
    else:
        _drawing(monkeypatch, ["26010100000099999999", order_number])
    (second,) = flows.place(buyer, [(sku, 1)], address, key=key)
    db.session.expire_all()
    assert second.id != first.id and second.orders[0].id != first.orders[0].id
    numbers = db.session.scalars(select(Order.number)).all()
    assert len(set(numbers)) == len(numbers) == 2
    assert _counts() == (2, 2)
    assert db.session.get(type(sku), sku.id).stock == 8  # the refused write took nothing


def test_a_batch_places_each_purchase_whose_number_was_taken(app, monkeypatch):
    buyers = [factories.user(phone=f"1390000{i:04d}") for i in range(3)]
    address_ids = [factories.address(b).id for b in buyers]
    sku = factories.product(price=1000, stock=10).skus[0]
    (first,) = flows.place(buyers[0], [(sku, 1)], address_ids[0])
    # the batch's three payments and three orders draw their numbers, its
    # first order the taken one (the batch is refused); written alone, the
    # first purchase's order draws it again
    taken = first.orders[0].number
    drawn = [f"2601010000009000000{i}" for i in range(1, 7)]
    _drawing(monkeypatch, [*drawn[:3], taken, *drawn[3:5], drawn[5], taken])
    with app.test_request_context("/", method="POST"):
        results = place_orders(
            [
                PlaceRequest(b, [(sku.id, 1)], a, {}, idempotency_key=f"batch-{b.id}")
                for b, a in zip(buyers, address_ids, strict=True)
            ]
        )
    assert all(isinstance(r, checkout_service.Placed) and not r.replayed for r in results)
    db.session.expire_all()
    numbers = db.session.scalars(select(Order.number)).all()
    assert len(set(numbers)) == len(numbers) == 4
    assert _counts() == (4, 4)
    assert db.session.get(type(sku), sku.id).stock == 6
