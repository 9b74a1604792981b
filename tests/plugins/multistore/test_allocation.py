"""MS9: platform-funded discounts split across merchant orders in
proportion to each merchant's payable amount (largest remainder, to the fen,
stored per line); merchant-funded discounts stay in that merchant's order;
refunds reverse exactly the stored shares. End to end through the API."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jishi.db import db
from jishi.hookspecs import Discount, hookimpl
from jishi.models import Order, OrderAllocation, OrderLine
from sqlalchemy import select

from .test_checkout_split import body, pay_number, place, with_plugins


class FullReduction:
    """A throwaway platform-funded activity: 满100减10 (1000 fen off ≥ 10000)."""

    @hookimpl
    def order_discounts(self, checkout):
        if checkout.goods_amount >= 10000:
            return [Discount("full_reduction", "满100减10", 1000, funded_by="platform")]
        return None


class ShopCoupon:
    """A merchant-funded 5 yuan coupon of the merchant named in options."""

    @hookimpl
    def order_discounts(self, checkout):
        sid = (checkout.options or {}).get("shop_coupon")
        if not sid:
            return None
        keys = tuple(line.key for line in checkout.lines if line.seller_id == sid)
        return [Discount("shop_coupon", "店铺券5元", 500, line_keys=keys, funded_by="seller", seller_id=sid)]


class BadShopCoupon:
    """A merchant-funded discount that wrongly names another merchant's lines."""

    @hookimpl
    def order_discounts(self, checkout):
        sid = (checkout.options or {}).get("shop_coupon")
        if not sid:
            return None
        return [Discount("shop_coupon", "店铺券", 500, funded_by="seller", seller_id=sid)]  # every line


def abc(factory, ms, prices=(2000, 3000, 5000)):
    buyer = factory.user()
    addr = factory.address(buyer)
    merchants, skus = [], []
    for name, price in zip("ABC", prices):
        m = ms.merchant(f"{name}店")
        merchants.append(m)
        skus.append(ms.product(m, name=f"{name}货", price=price, stock=20).skus[0])
    return buyer, addr, merchants, skus


def _orders(data):
    return {o["seller_id"]: o for o in data["orders"]}


@with_plugins(FullReduction())
def test_seed_example_100_minus_10_over_three_merchants(api, factory, ms):
    """MS9: 100−10 on A 20 + B 30 + C 50 yuan pays A 18, B 27,
    C 45: three orders, one payment of 90 yuan; the shares are stored per line."""
    buyer, addr, (a, b, c), skus = abc(factory, ms)
    items = [(s, 1) for s in skus]
    preview = api.post("/checkout/preview", user=buyer, json=body(items, addr)).json
    assert {g["seller_id"]: g["discount_amount"] for g in preview["groups"]} == {a.id: 200, b.id: 300, c.id: 500}
    data = place(api, buyer, items, addr, "seed")
    orders = _orders(data)
    assert len(data["orders"]) == 3 and len(data["payments"]) == 1
    # Goods only (free delivery is the kernel's default above 99 yuan per order;
    # here each store's order pays the flat fee on top of its goods).
    assert {sid: o["goods_amount"] - o["discount_amount"] for sid, o in orders.items()} == {
        a.id: 1800,
        b.id: 2700,
        c.id: 4500,
    }
    assert data["payments"][0]["amount"] == sum(o["pay_amount"] for o in data["orders"])
    assert sum(o["goods_amount"] - o["discount_amount"] for o in data["orders"]) == 9000
    allocs = db.session.execute(
        select(OrderAllocation.order_id, OrderAllocation.amount, OrderAllocation.funded_by)
    ).all()
    assert sorted((r.order_id, r.amount) for r in allocs) == sorted(
        [(orders[a.id]["id"], 200), (orders[b.id]["id"], 300), (orders[c.id]["id"], 500)]
    )
    assert {r.funded_by for r in allocs} == {"platform"}
    # The merchant sees its own order's share in its API.
    r = api.get(f"/merchant/orders/{orders[b.id]['id']}", user=ms.admin_of(b))
    assert r.status_code == 200
    assert r.json["discount_amount"] == 300 and r.json["lines"][0]["allocations"][0]["amount"] == 300
    assert r.json["lines"][0]["pay_amount"] == 2700


@with_plugins(FullReduction())
def test_remainders_go_to_the_largest_fractions(api, factory, ms):
    """MS9: shares are exact to the fen (largest remainder), summing to the discount."""
    buyer, addr, (a, b, c), skus = abc(factory, ms, prices=(3333, 3333, 3334))
    data = place(api, buyer, [(s, 1) for s in skus], addr, "rem")
    shares = {sid: o["discount_amount"] for sid, o in _orders(data).items()}
    assert sum(shares.values()) == 1000
    assert sorted(shares.values()) == [333, 333, 334]
    assert shares[c.id] == 334


@with_plugins(FullReduction(), ShopCoupon())
def test_merchant_funded_discount_stays_in_its_order(api, factory, ms):
    """MS9: a merchant-funded coupon is taken only from that merchant's order;
    the platform's discount is spread over what is left payable."""
    buyer, addr, (a, b, c), skus = abc(factory, ms)
    data = place(api, buyer, [(s, 1) for s in skus], addr, "shopcoupon", options={"shop_coupon": b.id})
    orders = _orders(data)
    by_source = {}
    for row in db.session.execute(select(OrderAllocation)).scalars():
        by_source.setdefault(row.source, {})[row.order_id] = (row.amount, row.funded_by)
    assert by_source["shop_coupon"] == {orders[b.id]["id"]: (500, "seller")}
    platform = by_source["full_reduction"]
    assert sum(v[0] for v in platform.values()) == 1000 and {v[1] for v in platform.values()} == {"platform"}
    # B has 30 − 5 = 25 payable when the platform's 10 is spread over 20 : 25 : 50.
    assert (
        platform[orders[a.id]["id"]][0] == 211
        and platform[orders[b.id]["id"]][0] == 263
        and platform[orders[c.id]["id"]][0] == 526
    )
    assert orders[a.id]["discount_amount"] == 211 and orders[b.id]["discount_amount"] == 763


@with_plugins(BadShopCoupon())
def test_merchant_funded_discount_naming_other_lines_is_refused(api, factory, ms, app):
    """MS9: the kernel refuses a seller-funded discount that names another
    merchant's lines (nothing is placed)."""
    buyer, addr, (a, b, c), skus = abc(factory, ms)
    with pytest.raises(RuntimeError, match="another seller"):
        from flask import current_app
        from jishi.checkout.service import build_checkout

        with current_app.test_request_context("/"):
            build_checkout(buyer, [(s.id, 1) for s in skus], addr.id, {"shop_coupon": b.id})
    db.session.rollback()
    assert db.session.execute(select(Order)).first() is None


def _refund(api, buyer, platform, order_id, lines):
    r = api.post(
        "/refunds",
        user=buyer,
        json={
            "order_id": order_id,
            "kind": "refund_only",
            "reason": "不要了",
            "lines": [{"order_line_id": lid, "quantity": q} for lid, q in lines],
        },
    )
    assert r.status_code == 201, r.json
    r2 = api.post(f"/admin/refunds/{r.json['id']}/approve", user=platform, json={})
    assert r2.status_code == 200, r2.json
    return r2.json


@with_plugins(FullReduction())
def test_partial_and_full_refunds_reverse_the_stored_shares(api, factory, ms):
    """MS9: a partial refund reverses its part of the line's stored share,
    the last units the rest: exactly the stored share in total."""
    buyer, addr, (a, b, c), skus = abc(factory, ms)
    platform = factory.admin()
    # B's line: 3 units of 30 yuan -> B 90 of 160 yuan goods.
    data = place(api, buyer, [(skus[0], 1), (skus[1], 3), (skus[2], 1)], addr, "refunds")
    pay_number(data["payments"][0]["number"])
    ob = _orders(data)[b.id]
    line = db.session.execute(select(OrderLine).where(OrderLine.order_id == ob["id"])).scalar_one()
    alloc = db.session.execute(select(OrderAllocation).where(OrderAllocation.order_line_id == line.id)).scalar_one()
    assert alloc.amount == 563  # 1000 × 90/160 = 562.5 -> largest remainder
    assert line.pay_amount == 9000 - 563
    first = _refund(api, buyer, platform, ob["id"], [(line.id, 1)])
    db.session.expire_all()
    alloc = db.session.get(OrderAllocation, alloc.id)
    assert alloc.reversed_amount == 563 * 1 // 3 == 187
    assert first["amount"] == line.pay_amount * 1 // 3
    second = _refund(api, buyer, platform, ob["id"], [(line.id, 2)])
    db.session.expire_all()
    alloc = db.session.get(OrderAllocation, alloc.id)
    line = db.session.get(OrderLine, line.id)
    assert alloc.reversed_amount == alloc.amount == 563  # exactly the stored share
    order = db.session.get(Order, ob["id"])
    assert line.refunded_amount == line.pay_amount
    assert first["amount"] + second["amount"] == line.pay_amount + order.delivery_fee
    assert order.status == "closed"  # fully refunded before shipping (delivery fee back too)
    assert order.refunded_amount == order.pay_amount
    # The other merchants' orders and shares are untouched.
    others = db.session.execute(select(OrderAllocation).where(OrderAllocation.order_id != ob["id"])).scalars().all()
    assert all(x.reversed_amount == 0 for x in others)


# --- property tests -----------------------------------------------------------------


@st.composite
def carts(draw):
    n_merchants = draw(st.integers(1, 5))
    lines = []
    for m in range(n_merchants):
        for _ in range(draw(st.integers(1, 3))):
            lines.append((m, draw(st.integers(1, 50000)), draw(st.integers(1, 4))))
    discounts = draw(st.lists(st.integers(1, 200000), min_size=1, max_size=3))
    return lines, discounts


class Many:
    """Platform discounts of the current example (set by the property test)."""

    amounts: list[int] = []

    @hookimpl
    def order_discounts(self, checkout):
        return [Discount(f"d{i}", "", amount) for i, amount in enumerate(self.amounts)]


MANY = Many()


@with_plugins(MANY)
@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(case=carts())
def test_property_shares_sum_exactly_and_stay_within_bases(app, case):
    """MS9 (property): for random carts across merchants and random platform
    discounts, each discount's shares sum exactly to its (capped) amount and
    are proportional to the lines' payable to within one fen; every share is
    between 0 and what its line had payable; each merchant's discount is the
    sum of its lines' shares."""
    from jishi.checkout.service import Checkout, CheckoutGroup, CheckoutLine, _apply_discounts

    lines_spec, amounts = case
    lines = []
    for i, (m, price, qty) in enumerate(lines_spec):
        lines.append(
            CheckoutLine(
                key=f"sku:{i}",
                sku_id=i,
                product_id=i,
                seller_id=m + 1,
                category_id=None,
                name=f"p{i}",
                spec_text="",
                image="",
                quantity=qty,
                base_price=price,
                stock=99,
                on_shelf=True,
                is_virtual=False,
                weight_grams=0,
                unit_price=price,
            )
        )
    groups = [
        CheckoutGroup(f"seller:{m + 1}", "", m + 1, [line for line in lines if line.seller_id == m + 1])
        for m in sorted({s[0] for s in lines_spec})
    ]
    MANY.amounts = amounts
    with app.test_request_context("/"):
        co = Checkout(None, lines, groups, None, {})
        _apply_discounts(co)
    base = {line.key: line.goods_amount for line in lines}
    total = sum(base.values())
    for index, applied in enumerate(co.discounts):
        shares = {line.key: sum(s.amount for s in line.shares if s.discount_index == index) for line in lines}
        assert sum(shares.values()) == applied.amount
        if index == 0:  # over the full payable amounts: proportional within a fen
            assert applied.amount == min(amounts[0], total)
            for key, share in shares.items():
                assert abs(share * total - applied.amount * base[key]) < total
    for line in lines:
        assert 0 <= line.discount <= base[line.key]
        assert all(s.amount > 0 for s in line.shares)
    assert co.discount_amount == min(sum(amounts), total) == sum(g.discount_amount for g in groups)
    for g in groups:
        assert g.discount_amount == sum(line.discount for line in g.lines)
        assert 0 <= g.goods_amount - g.discount_amount
