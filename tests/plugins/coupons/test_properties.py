"""CP property test through the real pipeline (multistore, the plugin's plan
and the kernel's allocation): for random prices, quantities, activities and
coupons, every discount's shares sum exactly to its applied amount, no line
is discounted beyond its goods amount, seller-funded shares stay in that
seller's lines, at most one platform coupon and one coupon per merchant is
chosen, and what the plan computed is exactly what the kernel applied."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jishi.db import db, utcnow
from sqlalchemy import delete

pytestmark = pytest.mark.jishi_plugins("multistore", "coupons")

coupon_st = st.tuples(
    st.sampled_from(["fixed", "percent"]),
    st.integers(0, 30000),  # threshold
    st.integers(1, 20000),  # amount
    st.integers(1, 9999),  # percent_off (bp)
    st.one_of(st.none(), st.integers(1, 5000)),  # cap
    st.one_of(st.none(), st.integers(0, 2)),  # owner: None platform, else merchant index
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    prices=st.lists(st.integers(1, 30000), min_size=3, max_size=3),
    quantities=st.lists(st.integers(0, 3), min_size=3, max_size=3),
    coupons=st.lists(coupon_st, max_size=5),
    tiers=st.one_of(st.none(), st.tuples(st.integers(1, 20000), st.integers(1, 20000))),
    choose_best=st.booleans(),
)
def test_allocation_invariants_through_the_pipeline(app, factory, ms, prices, quantities, coupons, tiers, choose_best):
    """CP/MS9: allocation invariants on random checkouts (see module doc)."""
    from jishi.checkout.service import build_checkout
    from jishi.models import Sku
    from jishi_coupons import service
    from jishi_coupons.checkout import PLAN_ATTR
    from jishi_coupons.models import CouponActivity, CouponTemplate, UserCoupon

    world = app.config.setdefault("_coupon_world", {})
    if not world:
        buyer = factory.user()
        merchants = [ms.merchant(f"店{i}") for i in range(3)]
        world.update(
            buyer=buyer.id,
            merchants=[m.id for m in merchants],
            skus=[ms.product(m, price=1000, stock=99).skus[0].id for m in merchants],
        )
    for model in (UserCoupon, CouponTemplate, CouponActivity):
        db.session.execute(delete(model))
    for sku_id, price in zip(world["skus"], prices):
        db.session.get(Sku, sku_id).price = price
    db.session.commit()
    now = utcnow()
    window = {"starts_at": now - timedelta(days=1), "ends_at": now + timedelta(days=1)}
    if tiers:
        t, a = tiers
        service.create_activity(None, {"name": "满减", "tiers": [[max(t, a), a]], **window})
    from jishi.models import User

    buyer = db.session.get(User, world["buyer"])
    held = []
    for kind, threshold, amount, bp, cap, owner in coupons:
        seller = None if owner is None else world["merchants"][owner]
        t = service.create_template(
            seller,
            {
                "name": "券",
                "kind": kind,
                "threshold": max(threshold, amount) if kind == "fixed" and threshold else threshold,
                "amount": amount if kind == "fixed" else None,
                "percent_off": bp if kind == "percent" else None,
                "max_discount": cap if kind == "percent" else None,
                "total_quantity": 5,
                **window,
            },
        )
        held.append(service.claim(buyer, t.id).id)
    items = [(s, q) for s, q in zip(world["skus"], quantities) if q]
    if not items:
        return
    options = {} if choose_best else {"coupons": held[:2]}
    with app.test_request_context("/"):
        co = build_checkout(buyer, items, None, options)
        plan = co.__dict__[PLAN_ATTR]
        for line in co.lines:
            assert 0 <= line.discount <= line.goods_amount
        for index, applied in enumerate(co.discounts):
            shares = [(s.amount, line) for line in co.lines for s in line.shares if s.discount_index == index]
            assert sum(a for a, _ in shares) == applied.amount
            if applied.discount.funded_by == "seller":
                assert all(line.seller_id == applied.discount.seller_id for _, line in shares)
            assert applied.amount == applied.discount.amount  # the plan never asks for more than is left
        assert co.discount_amount == sum(d.amount for d in co.discounts)
        slots = [o.slot for o in plan.chosen.values()]
        assert len(slots) == len(set(slots))
        db.session.rollback()
