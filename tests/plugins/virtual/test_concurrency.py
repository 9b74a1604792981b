"""C7 (concurrency): many buyers at once for the same SKU of card codes.
Each code goes to exactly one order line and no line gets more codes than
units. Each buyer runs in its own thread with its own app context, session
and connection: truly concurrent transactions on PostgreSQL (codes picked
``FOR UPDATE SKIP LOCKED``); serialised writers on SQLite, which must also
stay correct."""

from __future__ import annotations

from collections import Counter

import pytest
from jishi.db import db
from jishi.testing import flows, parallel_config, run_parallel


@pytest.fixture
def app_config():
    return parallel_config()


def _assert_each_code_once(product):
    """Every given code holds one line; no line holds more codes than units."""
    from jishi.orders.models import OrderLine
    from jishi_virtual.models import VirtualCode

    db.session.expire_all()
    rows = db.session.execute(
        db.select(VirtualCode.code, VirtualCode.order_line_id).where(VirtualCode.product_id == product.id)
    ).all()
    codes = Counter(code for code, _line in rows)
    assert all(n == 1 for n in codes.values()), codes
    per_line = Counter(line for _code, line in rows if line is not None)
    quantity = dict(db.session.execute(db.select(OrderLine.id, OrderLine.quantity)).all())
    assert all(per_line[line] <= quantity[line] for line in per_line), (per_line, quantity)
    return per_line


@pytest.mark.parametrize("buyers", [8])
def test_concurrent_placements_never_oversell(app, factory, vg, buyers):
    """C7: 8 buyers order 1 unit each of a SKU with 5 codes (stock 100) at
    once: 5 orders, each holding one code, no code twice; the others are
    refused as sold out; no code left."""
    from jishi.checkout.errors import CheckoutError
    from jishi.models import User

    product = vg.card(codes=[f"P-{i}" for i in range(5)], stock=100)
    sku_id = product.skus[0].id
    user_ids = [factory.user().id for _ in range(buyers)]

    def place(i):
        from jishi.checkout.service import place_order

        try:
            place_order(db.session.get(User, user_ids[i]), [(sku_id, 1)], None, {}, idempotency_key=f"c{i}")
            return "ok"
        except CheckoutError:
            db.session.rollback()
            return "sold_out"

    results, errors = run_parallel(app, buyers, place, request={"method": "POST"})
    assert not errors, errors
    assert results.count("ok") == 5 and results.count("sold_out") == buyers - 5, results
    per_line = _assert_each_code_once(product)
    assert len(per_line) == 5 and set(per_line.values()) == {1}
    assert vg.free_codes(product) == []


@pytest.mark.parametrize(("orders", "codes", "quantity"), [(8, 5, 1), (6, 7, 2)])
def test_concurrent_payments_each_code_to_one_line(app, factory, vg, orders, codes, quantity):
    """C7: orders placed before the SKU had codes are paid at the same
    moment, so every payment claims its codes then: each code to exactly one
    line, no line gets two of the same code nor more than its units; with one
    unit per order, exactly as many orders complete as there were codes and
    the rest are flagged short (still paid)."""
    from jishi.orders.models import Order
    from jishi_virtual import service
    from jishi_virtual.models import KIND_CODES

    product = factory.product(name="点卡", price=3000, stock=100, is_virtual=True)
    numbers = []
    for _i in range(orders):
        [payment] = flows.place(factory.user(), [(product.skus[0], quantity)])
        numbers.append(payment.number)
    service.save_good(product, KIND_CODES, "")
    service.add_codes(product, product.skus[0].id, "\n".join(f"Q-{i}" for i in range(codes)))
    db.session.commit()

    def pay(i):
        flows.pay(numbers[i])
        return "ok"

    results, errors = run_parallel(app, orders, pay, request={"method": "POST"})
    assert not errors, errors
    per_line = _assert_each_code_once(product)
    statuses = Counter(db.session.execute(db.select(Order.status)).scalars())
    assert statuses["paid"] + statuses["completed"] == orders, statuses
    assert sum(per_line.values()) == min(codes, orders * quantity)
    full = [line for line, n in per_line.items() if n == quantity]
    assert statuses["completed"] == len(full)
    if quantity == 1:
        assert statuses["completed"] == min(codes, orders) and vg.free_codes(product) == []
    for order in db.session.execute(db.select(Order)).scalars():
        row = service.delivery_of(order.id)
        assert row is not None and row.status == ("delivered" if order.status == "completed" else "short")
