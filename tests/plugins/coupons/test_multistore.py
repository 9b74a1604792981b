"""CP with multistore: platform coupons spread across merchants in
proportion (MS9: A 20 / B 30 / C 50 with 100−10 pay 18 / 27 / 45),
merchant coupons inside their own order, one merchant coupon per merchant
order, merchants defining their own coupons only, giving coupons back when
every order they touched is closed or refunded, partial refunds net of the
coupon's share."""

from __future__ import annotations

import pytest
from jishi.db import db
from jishi.models import Order, OrderAllocation
from jishi.testing import flows
from sqlalchemy import select

from .helpers import activity, body, coupon, give, pay_number, template

pytestmark = pytest.mark.jishi_plugins("multistore", "coupons")


def abc(factory, ms, prices=(2000, 3000, 5000)):
    buyer = factory.user()
    addr = factory.address(buyer)
    merchants, skus = [], []
    for name, price in zip("ABC", prices):
        m = ms.merchant(f"{name}店")
        merchants.append(m)
        skus.append(ms.product(m, name=f"{name}货", price=price, stock=20).skus[0])
    return buyer, addr, merchants, skus


def place(api, buyer, items, addr, key, coupons=None):
    return flows.place_api(api, buyer, items, addr, {"coupons": coupons} if coupons is not None else None, key=key)


def test_seed_example_platform_coupon_18_27_45(api, factory, ms):
    """CP/MS9: a platform 满100减10 coupon on A 20 + B 30 + C 50
    yuan: the orders pay 18, 27, 45 for goods; the shares are stored per line
    as platform-funded; the coupon is used once for the three orders."""
    buyer, addr, (a, b, c), skus = abc(factory, ms)
    cp = give(buyer, template())
    items = [(s, 1) for s in skus]
    opts = api.post("/coupons/checkout-options", user=buyer, json=body(items, addr)).json
    assert opts["platform"]["chosen"] == cp.id and opts["chosen"] == [cp.id]
    assert [g["seller_id"] for g in opts["groups"]] == [a.id, b.id, c.id]
    # The kernel's checkout preview carries the same (checkout_extras hook).
    preview = api.post("/checkout/preview", user=buyer, json=body(items, addr)).json
    assert preview["plugins"]["coupons"] == opts
    assert [d["amount"] for d in preview["discounts"]] == [1000]
    data = place(api, buyer, items, addr, "seed")
    orders = {o["seller_id"]: o for o in data["orders"]}
    assert {sid: o["goods_amount"] - o["discount_amount"] for sid, o in orders.items()} == {
        a.id: 1800,
        b.id: 2700,
        c.id: 4500,
    }
    allocs = db.session.scalars(select(OrderAllocation)).all()
    assert {x.source for x in allocs} == {f"coupon:{cp.id}"} and {x.funded_by for x in allocs} == {"platform"}
    assert sum(x.amount for x in allocs) == 1000
    row = coupon(cp.id)
    assert row.status == "used" and row.open_orders == 3


def test_merchant_coupon_stays_in_its_order_and_platform_on_the_rest(api, factory, ms):
    """CP: B's 满20减5 coupon (seller-funded) comes off B's order only; then the
    platform coupon is spread over what every order still pays (10 over 20/25/50)."""
    buyer, addr, (a, b, c), skus = abc(factory, ms)
    shop = give(buyer, template(b.id, name="B券", threshold=2000, amount=500))
    plat = give(buyer, template(name="满90减10", threshold=9000, amount=1000))
    items = [(s, 1) for s in skus]
    preview = api.post("/checkout/preview", user=buyer, json=body(items, addr)).json
    disc = {g["seller_id"]: g["discount_amount"] for g in preview["groups"]}
    assert disc == {
        a.id: 211,
        b.id: 500 + 263,
        c.id: 526,
    }  # 1000 over 2000/2500/5000: 210.5, 263.2, 526.3 by largest remainder
    assert sum(disc.values()) == 1500
    assert {d["source"]: d["funded_by"] for d in preview["discounts"]} == {
        f"coupon:{shop.id}": "seller",
        f"coupon:{plat.id}": "platform",
    }


def test_one_merchant_coupon_per_merchant_order(api, factory, ms):
    """CP: two of B's coupons at once is a stacking problem; one of A's and one
    of B's is fine."""
    buyer, addr, (a, b, c), skus = abc(factory, ms)
    b1 = give(buyer, template(b.id, name="B1", threshold=0, amount=100))
    b2 = give(buyer, template(b.id, name="B2", threshold=0, amount=200))
    a1 = give(buyer, template(a.id, name="A1", threshold=0, amount=100))
    items = [(s, 1) for s in skus]
    bad = api.post("/checkout/preview", user=buyer, json=body(items, addr, [b1.id, b2.id])).json
    assert [p["code"] for p in bad["problems"]] == ["coupon_stacking"]
    ok = api.post("/checkout/preview", user=buyer, json=body(items, addr, [b1.id, a1.id])).json
    assert ok["problems"] == [] and ok["totals"]["discount_amount"] == 200
    best = api.post("/coupons/checkout-options", user=buyer, json=body(items, addr)).json
    assert {g["seller_id"]: g["chosen"] for g in best["groups"]} == {a.id: a1.id, b.id: b2.id, c.id: None}


def test_merchant_activity_and_coupon_only_for_own_goods(api, factory, ms):
    """CP: a merchant's activity and coupon never touch another merchant's lines;
    a merchant's coupon is not offered when its goods are not in the cart."""
    buyer, addr, (a, b, c), skus = abc(factory, ms, prices=(12000, 3000, 5000))
    activity(a.id, name="A满100减10", tiers=[[10000, 1000]])
    cb = give(buyer, template(b.id, name="B券", threshold=0, amount=300))
    preview = api.post("/checkout/preview", user=buyer, json=body([(skus[0], 1), (skus[2], 1)], addr)).json
    assert {g["seller_id"]: g["discount_amount"] for g in preview["groups"]} == {a.id: 1000, c.id: 0}
    opts = api.post("/coupons/checkout-options", user=buyer, json=body([(skus[0], 1), (skus[2], 1)], addr)).json
    assert all(cb.id not in [o["user_coupon_id"] for o in g["coupons"]] for g in opts["groups"])
    r = api.post("/checkout/preview", user=buyer, json=body([(skus[0], 1)], addr, [cb.id])).json
    assert [p["code"] for p in r["problems"]] == ["coupon_not_applicable"]


def test_merchant_defines_coupons_for_its_own_shop_only(api, factory, ms):
    """CP: a merchant admin creates coupons for its shop (seller from the
    principal, not the body); another merchant's product in scope is 422;
    a clerk (no products/settings) is 403; the platform's list is separate."""
    m1, m2 = ms.merchant("一店"), ms.merchant("二店")
    p1, p2 = ms.product(m1), ms.product(m2)
    admin1 = ms.admin_of(m1)
    from jishi.db import utcnow

    now = utcnow()
    base = {
        "name": "店券",
        "amount": 500,
        "threshold": 5000,
        "starts_at": now.isoformat(),
        "ends_at": now.replace(year=now.year + 1).isoformat(),
        "total_quantity": 5,
    }
    r = api.post("/seller/coupons/templates", user=admin1, json={**base, "seller_id": m2.id})
    assert r.status_code == 422  # unknown field: the seller never comes from the body
    r = api.post("/seller/coupons/templates", user=admin1, json={**base, "scope": "products", "scope_ids": [p1.id]})
    assert r.status_code == 201 and r.json["seller_id"] == m1.id and r.json["funded_by"] == "seller"
    r = api.post("/seller/coupons/templates", user=admin1, json={**base, "scope": "products", "scope_ids": [p2.id]})
    assert r.status_code == 422 and r.json["field"] == "scope_ids"
    r = api.post("/seller/coupons/templates", user=admin1, json={**base, "scope": "merchant", "scope_ids": [m2.id]})
    assert r.status_code == 422 and r.json["field"] == "scope"
    assert api.post("/seller/coupons/templates", user=ms.clerk(m1), json=base).status_code == 403
    assert [t["seller_id"] for t in api.get("/seller/coupons/templates", user=admin1).json] == [m1.id]
    assert api.get("/seller/coupons/templates", user=ms.admin_of(m2)).json == []
    assert api.get("/seller/coupons/templates", user=factory.admin()).json == []
    # the shop page offers it; the claim centre too
    assert [t["seller_id"] for t in api.get(f"/coupons?shop_id={m1.id}").json] == [m1.id]


def test_coupon_comes_back_only_when_every_order_is_closed(api, factory, ms):
    """CP: one platform coupon over three unpaid orders: cancelling two keeps it
    used; cancelling the third gives it back, exactly once (a replayed close
    changes nothing)."""
    from jishi.orders import state

    buyer, addr, _merchants, skus = abc(factory, ms)
    cp = give(buyer, template())
    data = place(api, buyer, [(s, 1) for s in skus], addr, "k")
    ids = [o["id"] for o in data["orders"]]
    for i, oid in enumerate(ids):
        order = db.session.get(Order, oid)
        state.transition(order, "cancel", actor=buyer, actor_kind="buyer")
        db.session.commit()
        assert coupon(cp.id).status == ("unused" if i == 2 else "used"), i
    from jishi_coupons.checkout import release_order

    assert release_order(ids[0]) == [] and coupon(cp.id).returned_count == 1
    # usable again
    again = place(api, buyer, [(s, 1) for s in skus], addr, "k2")
    assert sum(o["discount_amount"] for o in again["orders"]) == 1000 and coupon(cp.id).status == "used"


def test_full_refund_returns_merchant_coupon_partial_refund_nets_the_share(api, factory, ms):
    """CP: a partial refund pays back the line's pay amount net of its coupon
    share (the kernel reverses recorded shares); the coupon stays used until
    the order is wholly refunded, then comes back."""
    from jishi.aftersales import service as aftersales

    buyer = factory.user()
    addr = factory.address(buyer)
    m = ms.merchant("退款店")
    sku = ms.product(m, price=5000, stock=20).skus[0]
    cp = give(buyer, template(m.id, name="满100减10"))
    data = place(api, buyer, [(sku, 4)], addr, "r")
    [order_data] = data["orders"]
    assert order_data["discount_amount"] == 1000
    pay_number(data["payments"][0]["number"])
    order = db.session.get(Order, order_data["id"])
    line = order.lines[0]
    assert line.pay_amount == 19000
    refund = aftersales.request_refund(buyer, order, "refund_only", [(line.id, 1)])
    aftersales.approve(refund)
    assert refund.amount == 4750  # 50 yuan less a quarter of the 10 yuan coupon
    assert coupon(cp.id).status == "used"
    refund = aftersales.request_refund(buyer, db.session.get(Order, order.id), "refund_only", [(line.id, 3)])
    aftersales.approve(refund)
    db.session.expire_all()
    order = db.session.get(Order, order.id)
    assert order.refunded_amount == 19000 + order.delivery_fee
    assert coupon(cp.id).status == "unused"
