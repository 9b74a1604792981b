"""Issue 16 "Spending (积分抵扣)": the option ``points`` at checkout, the
rate (100 points = ¥1), minimum and cap; a platform-funded ``Discount``
spread over the merchant orders by the kernel (seed 001 §4.3 / SPEC MS9:
A ¥20, B ¥30, C ¥50 with 1,000 points -> 18 / 27 / 45); cancelling and
refunding give the spent points back in proportion, exact over several
partial refunds."""

from __future__ import annotations

import pytest
from jishi import settings
from jishi.db import commit, db
from jishi.orders.models import OrderAllocation
from jishi.testing import flows, run_parallel
from jishi_points import service
from jishi_points.models import PointsEntry, PointsOrder
from sqlalchemy import select

from .helpers import balance, give, goods_paid


def abc(factory, ms, prices=(2000, 3000, 5000)):
    buyer = factory.user()
    addr = factory.address(buyer)
    skus = []
    merchants = []
    for name, price in zip("ABC", prices):
        m = ms.merchant(f"{name}店")
        merchants.append(m)
        skus.append(ms.product(m, name=f"{name}货", price=price, stock=20).skus[0])
    return buyer, addr, merchants, skus


@pytest.mark.jishi_plugins("multistore", "points")
def test_seed_example_1000_points_pay_18_27_45(api, factory, ms):
    """Issue 16/Spending, MS9: 1,000 points at 100 = ¥1 over A 20 / B 30 /
    C 50: the preview shows available, used and money; the orders pay 18,
    27, 45 for goods; the shares are platform-funded allocations; 1,000
    points are spent, split 200 / 300 / 500 over the orders."""
    buyer, addr, (a, b, c), skus = abc(factory, ms)
    give(buyer, 1500)
    items = [(s, 1) for s in skus]
    body = flows.checkout_body(items, addr, {"points": 1000})
    preview = api.post("/checkout/preview", user=buyer, json=body).json
    assert preview["plugins"]["points"] == {
        "available": 1500,
        "frozen": 0,
        "rate": 100,
        "minimum": 0,
        "cap_bp": 5000,
        "requested": True,
        "used": 1000,
        "money": 1000,
    }
    assert [(d["source"], d["amount"]) for d in preview["discounts"]] == [("points", 1000)]
    data = flows.place_api(api, buyer, items, addr, {"points": 1000})
    orders = {o["seller_id"]: o for o in data["orders"]}
    assert {sid: o["goods_amount"] - o["discount_amount"] for sid, o in orders.items()} == {
        a.id: 1800,
        b.id: 2700,
        c.id: 4500,
    }
    allocs = db.session.scalars(select(OrderAllocation)).all()
    assert {x.source for x in allocs} == {"points"} and {x.funded_by for x in allocs} == {"platform"}
    assert balance(buyer) == (500, 0)
    rows = {r.order_id: (r.spent, r.spent_money) for r in db.session.scalars(select(PointsOrder))}
    assert sorted(rows.values()) == [(200, 200), (300, 300), (500, 500)]
    # multistore books the points' money as the platform's subsidy, like a platform coupon's
    from jishi_multistore import ledger as ms_ledger

    flows.pay(data["payments"][0]["number"])
    assert ms_ledger.platform_balances()["subsidy"] == -1000


def test_two_checkouts_at_once_never_spend_the_same_points(app, factory):
    """Issue 16/Ledger (concurrency) through placement: 1,000 points, two
    checkouts of 800 points at once: one is placed, the other refused
    (``points_short``) with nothing written."""
    from jishi.checkout.errors import CheckoutError

    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product(price=3000, stock=5).skus[0]
    give(buyer, 1000)
    bid, sid, aid = buyer.id, sku.id, addr.id

    def place(i):
        from jishi.accounts.models import User

        return flows.place(db.session.get(User, bid), [(sid, 1)], aid, {"points": 800}, key=f"k{i}")

    results, errors = run_parallel(app, 2, place, request={"method": "POST"})
    assert len(errors) == 1 and isinstance(errors[0], CheckoutError), errors
    assert errors[0].problems[0].code == "points_short"
    assert balance(buyer) == (200, 0)
    assert len(db.session.scalars(select(PointsOrder)).all()) == 1


def test_true_uses_as_many_as_the_cap_allows(api, factory):
    """Issue 16/Spending: ``points: true`` uses what the cap (50% of the
    goods by default) allows; nothing asked uses none."""
    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product(price=3000, stock=5).skus[0]
    give(buyer, 5000)
    p = api.post("/checkout/preview", user=buyer, json=flows.checkout_body([(sku, 1)], addr, {"points": True})).json
    assert (p["plugins"]["points"]["used"], p["plugins"]["points"]["money"]) == (1500, 1500)
    p = api.post("/checkout/preview", user=buyer, json=flows.checkout_body([(sku, 1)], addr)).json
    assert (p["plugins"]["points"]["used"], p["plugins"]["points"]["available"]) == (0, 5000)
    assert p["discounts"] == []


def test_balance_read_only_when_asked_or_shown(api, factory, queries):
    """Issue 20: a placement without points does not read the balance; a
    preview still shows it (and a bad ``points`` value too); asking for
    points reads it once."""
    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product(price=3000, stock=5).skus[0]
    give(buyer, 5000)
    api.headers(buyer)

    def reads(q):  # its own statement, or its part of the checkout's loaders statement
        return sum(1 for s in q.statements if "FROM points_accounts" in s.split("|")[0])

    with queries() as q:
        r = api.post(
            "/checkout/place", user=buyer, json=flows.checkout_body([(sku, 1)], addr), headers={"Idempotency-Key": "n"}
        )
    assert r.status_code == 201 and reads(q) == 0
    with queries() as q:
        p = api.post("/checkout/preview", user=buyer, json=flows.checkout_body([(sku, 1)], addr)).json
    assert p["plugins"]["points"]["available"] == 5000 and reads(q) == 1
    body = flows.checkout_body([(sku, 1)], addr, {"points": "x"})
    assert api.post("/checkout/preview", user=buyer, json=body).json["plugins"]["points"]["available"] == 5000
    with queries() as q:
        body = flows.checkout_body([(sku, 1)], addr, {"points": True})
        r = api.post("/checkout/place", user=buyer, json=body, headers={"Idempotency-Key": "p"})
    assert r.status_code == 201 and reads(q) == 1
    assert balance(buyer) == (3500, 0)


def test_rate_minimum_and_bad_input(api, factory):
    """Issue 16/Spending: 10 points = ¥1 -> 35 points take ¥3.50; a
    minimum refuses fewer (422 naming ``points``), and ``true`` under it
    uses none; more than the balance and a non-number are refused naming
    ``points``; nothing is written."""
    settings.set_many({service.RATE: 10, service.MIN_USE: 50})
    commit()
    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product(price=3000, stock=5).skus[0]
    give(buyer, 100)

    def place(points, expect):
        return flows.place_api(api, buyer, [(sku, 1)], addr, {"points": points}, expect=expect)

    for bad in (35, 101, "lots", -1, [1]):
        resp = place(bad, 422)
        assert "points" in str(resp), resp
    assert balance(buyer) == (100, 0)
    give(buyer, -60)  # 40 left, under the minimum: "as many as allowed" uses none
    preview = api.post(
        "/checkout/preview", user=buyer, json=flows.checkout_body([(sku, 1)], addr, {"points": True})
    ).json
    assert preview["plugins"]["points"]["used"] == 0 and not preview["problems"]
    give(buyer, 60)
    data = place(60, 201)
    assert data["orders"][0]["discount_amount"] == 600
    assert balance(buyer) == (40, 0)


def test_cancel_returns_every_spent_point(api, factory, app):
    """Issue 16/Spending: an unpaid order cancelled gives its points back."""
    from jishi.orders import service as orders

    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product(price=3000, stock=5).skus[0]
    give(buyer, 700)
    data = flows.place_api(api, buyer, [(sku, 1)], addr, {"points": 700})
    assert balance(buyer) == (0, 0)
    order = flows.fetch(data["orders"][0]["id"])
    orders.cancel(order, actor_kind="buyer")
    commit()
    assert balance(buyer) == (700, 0)


@pytest.mark.jishi_plugins("multistore", "points")
@pytest.mark.parametrize("rate", [100, 150])
def test_partial_refunds_return_spent_points_exactly(api, factory, ms, rate):
    """Issue 16/Spending: 999 points over A (3 units of ¥10) and B (¥50);
    refunding A's units one by one returns points in proportion to the
    points' money reversed, the sum exactly A's points; B's stay spent;
    the points earned are clawed back alongside. At 150 points = ¥1 the
    points and their money differ (999 points take ¥6.66)."""
    settings.set_many({service.RATE: rate})
    commit()
    buyer, addr, (a, b), skus = abc(factory, ms, prices=(1000, 5000))
    give(buyer, 999)
    data = flows.place_api(api, buyer, [(skus[0], 3), (skus[1], 1)], addr, {"points": 999})
    flows.pay(data["payments"][0]["number"])
    oa = flows.fetch(next(o["id"] for o in data["orders"] if o["seller_id"] == a.id))
    row = db.session.get(PointsOrder, oa.id)
    spent, money = row.spent, row.spent_money
    assert (spent, money) == ((375, 375) if rate == 100 else (375, 250))  # 999 points over 3000 / 5000
    line = oa.lines[0]
    for _i in range(3):
        flows.refund(oa, [(line.id, 1)])
        db.session.expire_all()
        reversed_money = sum(
            db.session.scalars(select(OrderAllocation.reversed_amount).where(OrderAllocation.order_id == oa.id))
        )
        assert db.session.get(PointsOrder, oa.id).returned == spent * reversed_money // money
    refunded = db.session.scalars(select(PointsEntry.delta).where(PointsEntry.kind == "refunded")).all()
    assert sum(refunded) == spent and len(refunded) == 3
    ob = flows.fetch(next(o["id"] for o in data["orders"] if o["seller_id"] == b.id))
    assert balance(buyer) == (spent, goods_paid(ob) // 100)  # A's earned points clawed back, B's frozen
