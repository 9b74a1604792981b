"""Issue 16 "Proof" (property). First, through the real pipeline, for random
goods, rates, points asked, and random sequences of partial refunds (before
or after completion): the account always equals the ledger's sums; after
each refund the points given back are ``floor(spent × reversed ÷ money)``
and the points clawed back ``floor(earned × refunded ÷ paid)`` (goods lines); once
everything is refunded both are exact (all spent points back, all earned
points taken). The settings are fixed per parametrized run (a setting
changed between examples of one app context would be read from the
request cache of the previous example). Second, at the ledger: the
per-award lots against a model, over random sequences of every kind of
change and expiry runs."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from jishi import settings as shop_settings
from jishi.db import commit, db, utcnow
from jishi.orders.models import OrderAllocation
from jishi.testing import flows
from jishi_points import expiry, ledger, service
from jishi_points.ledger import Post
from jishi_points.models import ADJUSTED, CLAWED_BACK, EARNED, REFUNDED, SPENT, PointsLot, PointsOrder
from sqlalchemy import func, select

from .helpers import balance, give, lots


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
        lots(buyer)  # and the lots add up to the usable balance
    row = db.session.get(PointsOrder, order.id)
    assert (row.returned, row.clawed) == (spent, earned)
    usable, frozen = balance(buyer)
    assert (usable, frozen) == (asked, 0)


_SOURCES = itertools.count(1)
_OPS = st.lists(
    st.tuples(
        st.sampled_from(["earn", "refund", "adjust_up", "spend", "adjust_down", "claw", "expire"]),
        st.integers(1, 400),
        st.integers(0, 60),
    ),
    min_size=1,
    max_size=25,
)


@settings(
    max_examples=40,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=_OPS)
def test_lots_follow_the_balance(app, factory, ops):
    """Issue 16/Proof + Expiry (property): after any random sequence of
    earnings, refunds of spent points, adjustments either way, spends,
    claw-backs (which may leave a debt) and expiry runs at random times,
    the lots are exactly what a model gives (an award pays the debt first,
    the rest is a lot; every usable decrease draws the soonest-expiring lots
    first, then the oldest, never-expiring last; the job zeroes due lots),
    so ``sum(remaining) == max(0, balance)``, and the account equals the
    ledger's sums. Lots get random expiry times (as several rules over time
    would give them; 0 = never)."""
    buyer = factory.user()
    uid = buyer.id
    start = utcnow()
    model: dict[int, list] = {}  # lot id -> [remaining, expires_at]
    bal = 0

    def draw(points: int) -> None:
        for lot_id in sorted(
            (i for i in model if model[i][0] > 0),
            key=lambda i: (model[i][1] is None, model[i][1] or start, i),
        ):
            take = min(points, model[lot_id][0])
            model[lot_id][0] -= take
            points -= take
        assert points == 0

    for op, n, days in ops:
        if op in ("earn", "refund", "adjust_up"):
            kind = {"earn": EARNED, "refund": REFUNDED, "adjust_up": ADJUSTED}[op]
            ledger.post(uid, Post(kind, "test", next(_SOURCES), delta=n))
            award = n - max(0, -bal)
            bal += n
            if award > 0:
                lot = db.session.scalars(
                    select(PointsLot).where(PointsLot.user_id == uid).order_by(PointsLot.id.desc()).limit(1)
                ).one()
                assert (lot.amount, lot.remaining) == (award, award)
                lot.expires_at = start + timedelta(days=days) if days else None
                model[lot.id] = [award, lot.expires_at]
        elif op in ("spend", "adjust_down"):
            kind = SPENT if op == "spend" else ADJUSTED
            ok = ledger.spend(uid, [Post(kind, "test", next(_SOURCES), delta=-n)])
            assert ok == (bal >= n)
            if ok:
                draw(n)
                bal -= n
        elif op == "claw":
            ledger.post(uid, Post(CLAWED_BACK, "test", next(_SOURCES), delta=-n))
            draw(min(n, max(0, bal)))
            bal -= n
        else:
            commit()
            at = start + timedelta(days=days)
            expiry.expire_due(now=at)
            for lot in model.values():
                if lot[1] is not None and lot[1] <= at and lot[0]:
                    bal -= lot[0]
                    lot[0] = 0
        commit()
        db.session.expire_all()
        got = dict(db.session.execute(select(PointsLot.id, PointsLot.remaining).where(PointsLot.user_id == uid)).all())
        assert got == {i: lot[0] for i, lot in model.items()}
        assert balance(buyer) == (bal, 0)  # the account equals the ledger's sums
        assert sum(got.values()) == max(0, bal)
