"""Issue 16 "Proof" (property): through the real pipeline, for random
goods, rates, points asked, and random sequences of partial refunds (before
or after completion): the account always equals the ledger's sums; after
each refund the points given back are ``floor(spent × reversed ÷ money)``
and the points clawed back ``floor(earned × refunded ÷ paid)`` (goods lines); once
everything is refunded both are exact (all spent points back, all earned
points taken). The settings are fixed per parametrized run (a setting
changed between examples of one app context would be read from the
request cache of the previous example)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from jishi import settings as shop_settings
from jishi.db import commit, db
from jishi.orders.models import OrderAllocation
from jishi.testing import flows
from jishi_points import service
from jishi_points.models import PointsOrder
from sqlalchemy import func, select

from .helpers import balance, give


@pytest.mark.parametrize(("rate", "earn"), [(100, 1), (150, 7), (7, 3)])
@settings(
    max_examples=15,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    lines=st.lists(st.tuples(st.integers(1, 20000), st.integers(1, 3)), min_size=1, max_size=3),
    asked=st.integers(1, 60000),
    complete_first=st.booleans(),
    picks=st.lists(st.integers(0, 100), min_size=1, max_size=8),
)
def test_ledger_and_refunds_exact(app, factory, lines, asked, rate, earn, complete_first, picks):
    """Issue 16/Proof: ledger sums and refund exactness (see module doc)."""
    shop_settings.set_many({service.RATE: rate, service.EARN_PER_YUAN: earn, service.CAP_BP: 9000})
    commit()
    buyer = factory.user()
    give(buyer, asked)
    skus = [factory.product(price=price, stock=10).skus[0] for price, _q in lines]
    [payment] = flows.place(
        buyer, [(s, q) for s, (_p, q) in zip(skus, lines)], factory.address(buyer), {"points": asked}
    )
    flows.pay(payment)
    order = flows.fetch(payment.orders[0])
    if complete_first:
        order = flows.complete(order)
    row = db.session.get(PointsOrder, order.id)
    spent, money, earned, base = row.spent, row.spent_money, row.earned, row.earn_base
    assert spent <= asked and earned == base * earn // 100
    balance(buyer)
    left = {line.id: line.quantity for line in order.lines}
    for pick in picks + [None]:
        if pick is None:  # finally everything left
            todo = [(lid, q) for lid, q in left.items() if q]
        else:
            lid = sorted(left)[pick % len(left)]
            if not left[lid]:
                continue
            todo = [(lid, 1 + pick % left[lid])]
        if not todo:
            break
        flows.refund(order, todo)
        for lid, q in todo:
            left[lid] -= q
        db.session.expire_all()
        row = db.session.get(PointsOrder, order.id)
        reversed_money = db.session.scalar(
            select(func.coalesce(func.sum(OrderAllocation.reversed_amount), 0)).where(
                OrderAllocation.order_id == order.id, OrderAllocation.source == "points"
            )
        )
        refunded = sum(line.refunded_amount for line in flows.fetch(order).lines)
        assert row.returned == (spent * reversed_money // money if money else 0)
        assert row.clawed == (earned * min(refunded, base) // base if base else 0)
        balance(buyer)  # the account equals the ledger's sums
    row = db.session.get(PointsOrder, order.id)
    assert (row.returned, row.clawed) == (spent, earned)
    usable, frozen = balance(buyer)
    assert (usable, frozen) == (asked, 0)
