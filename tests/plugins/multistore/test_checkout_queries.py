"""MS8/MS9 (bench/checkout_merchants.py): placing a cross-store checkout costs the
same statements for 1 merchant or 3 (orders, lines, allocations and the
stock of every line are written in batches): exact counts."""

from __future__ import annotations

import pytest
from jishi.db import db
from jishi.hookspecs import Discount, hookimpl

from .test_checkout_split import body, with_plugins


class FullReduction:
    """Platform-funded 100−10 (1000 fen off when goods ≥ 10000 fen)."""

    @hookimpl
    def order_discounts(self, checkout):
        if checkout.goods_amount >= 10000:
            return [Discount("full_reduction", "满100减10", 1000, funded_by="platform")]
        return None


# Statements of POST /checkout/place with multistore enabled, whatever the
# number of merchants and lines, each request served in a fresh context as
# gunicorn serves it: token, lines, the checkout's loaders (the address
# and the merchants, ``checkout_loaders``: two statements until issue 20's
# third pass), settings, INSERT payment (ON CONFLICT DO NOTHING: the
# idempotency key needs no look-up first), INSERT orders, INSERT lines
# (RETURNING), INSERT history, the stock UPDATE = 9; + 1 INSERT of
# allocations when a discount applies; + finance's frozen commission rates
# (at most 2).
KERNEL_STATEMENTS = 9


def _world(factory, ms, merchants: int, lines_each: int):
    buyer = factory.user()
    addr = factory.address(buyer)
    skus = []
    for i in range(merchants):
        m = ms.merchant(f"店{i}")
        for j in range(lines_each):
            skus.append(ms.product(m, price=1500 + j, stock=50).skus[0])
    return buyer, addr, skus


@with_plugins(FullReduction())
@pytest.mark.parametrize("merchants,lines_each", [(1, 1), (1, 9), (3, 9), (5, 2)])
def test_place_statements_do_not_grow_with_merchants(api, factory, ms, queries, merchants, lines_each):
    """MS8/MS9: exact statement count; 3 merchants × 9 lines ≤ 21."""
    buyer, addr, skus = _world(factory, ms, merchants, lines_each)
    api.headers(buyer)  # the token is issued outside the measured block
    payload = body([(s, 1) for s in skus], addr)
    with queries() as q:
        r = api.post(
            "/checkout/place", user=buyer, json=payload, headers={"Idempotency-Key": f"q-{merchants}-{lines_each}"}
        )
    assert r.status_code == 201, r.json
    assert len(r.json["orders"]) == merchants
    discounted = merchants * lines_each * 1500 >= 10000
    commission = sum(
        1 for s in q.statements if "commission" in s.split("|")[0].lower() and "json_" not in s
    )  # (not the loaders statement, reading the merchants' commission_bp)
    assert commission <= 2
    assert q.count == KERNEL_STATEMENTS + discounted + commission, "\n".join(s[:160] for s in q.statements)
    assert q.count <= 21  # the budget: 3 merchants × 9 lines ≤ 21
    assert not q.duplicates(), q.duplicates()
    stocks = {s: 1 for s in q.statements if s.startswith("UPDATE skus")}
    assert len(stocks) == 1  # the stock of every line in one statement
    if discounted:
        from jishi.models import OrderAllocation

        assert db.session.query(OrderAllocation).count() == merchants * lines_each
