"""DE/PU/LD with MS8: one checkout across three merchants, each order with
its own delivery method, then each order's own way to the buyer — shipped
with tracking, picked up with a code, delivered in a booked slot."""

from __future__ import annotations

from jishi.db import db
from jishi.models import Order, PaymentOrder
from jishi.testing import factories

SHOP_C = (30.2741, 120.1551)
BUYER_AT = (30.2650, 120.1500)  # about 1.1 km from C


def _world(api, ms, factory):
    a, b, c = ms.merchant("快递店A"), ms.merchant("自提店B"), ms.merchant("同城店C")
    pa = ms.product(a, price=2000, name="A的货")
    pb = ms.product(b, price=3000, name="B的货")
    pc = ms.product(c, price=5000, name="C的货")
    platform = factory.user(role="platform_admin")
    buyer = factory.user()
    address = factory.address(buyer, lat=BUYER_AT[0], lng=BUYER_AT[1])
    db.session.commit()
    admin_a, admin_b, admin_c = ms.admin_of(a), ms.admin_of(b), ms.admin_of(c)
    # Express: the platform makes a template; A chooses it. The platform's
    # default template serves sellers that chose none (B and C here).
    resp = api.post(
        "/admin/express/templates",
        user=platform,
        json={
            "name": "全国按件",
            "charge_by": "piece",
            "first_units": 1,
            "first_fee": 800,
            "additional_units": 1,
            "additional_fee": 300,
            "regions": [{"province": "西藏", "served": False}],
        },
    )
    assert resp.status_code in (200, 201), resp.get_json()
    template_id = resp.get_json()["id"]
    assert api.post(f"/admin/express/templates/{template_id}/default", user=platform).status_code == 200
    resp = api.put(
        "/seller/express/templates", user=admin_a, json={"template_ids": [template_id], "default_id": template_id}
    )
    assert resp.status_code == 200, resp.get_json()
    # Pickup: B has a counter.
    resp = api.post(
        "/seller/pickup/points",
        user=admin_b,
        json={
            "name": "B店柜台",
            "address": "杭州市西湖区文三路1号",
            "lat": 30.28,
            "lng": 120.13,
            "hours": "09:00-21:00",
            "phone": "0571-8888",
        },
    )
    assert resp.status_code in (200, 201), resp.get_json()
    point_id = resp.get_json()["id"]
    # Local delivery: C serves 5 km around its shop.
    resp = api.put(
        "/seller/local/settings",
        user=admin_c,
        json={
            "enabled": True,
            "lat": SHOP_C[0],
            "lng": SHOP_C[1],
            "radius_m": 5000,
            "tiers": [{"max_distance_m": 3000, "fee": 500}, {"max_distance_m": 5000, "fee": 800}],
            "min_amount": 2000,
            "slots": [{"start": "10:00", "end": "12:00", "capacity": 2}],
            "days_ahead": 3,
            "lead_minutes": 30,
        },
    )
    assert resp.status_code == 200, resp.get_json()
    return {
        "a": a,
        "b": b,
        "c": c,
        "pa": pa,
        "pb": pb,
        "pc": pc,
        "buyer": buyer,
        "address": address,
        "point_id": point_id,
        "admin_a": admin_a,
        "admin_b": admin_b,
        "admin_c": admin_c,
        "platform": platform,
    }


def three_way_body(api, w) -> dict:
    """The checkout of one of each product: express for A, pickup at B's
    counter, local delivery by C in its first free slot."""
    items = [{"sku_id": w[p].skus[0].id, "quantity": 1} for p in ("pa", "pb", "pc")]
    preview = api.post("/checkout/preview", user=w["buyer"], json={"items": items, "address_id": w["address"].id})
    key = {g["seller_id"]: g["key"] for g in preview.get_json()["groups"]}
    slots = api.get(f"/local/slots?seller_id={w['c'].id}").get_json()["slots"]
    slot = next(s["id"] for s in slots if s["available"])
    return {
        "items": items,
        "address_id": w["address"].id,
        "delivery": {key[w["a"].id]: "express", key[w["b"].id]: "pickup", key[w["c"].id]: "local"},
        "options": {"pickup": {key[w["b"].id]: w["point_id"]}, "local_slot": {key[w["c"].id]: slot}},
    }


def place_three_ways(api, w) -> tuple:
    """Place and pay :func:`three_way_body`; returns A's, B's and C's orders."""
    resp = api.post("/checkout/place", user=w["buyer"], json=three_way_body(api, w), headers={"Idempotency-Key": "3w"})
    assert resp.status_code == 201, resp.get_json()
    placed = resp.get_json()
    factories.pay(db.session.get(PaymentOrder, placed["payments"][0]["id"]))
    by_seller = {
        o.seller_id: o
        for o in db.session.execute(db.select(Order).where(Order.id.in_([o["id"] for o in placed["orders"]]))).scalars()
    }
    return by_seller[w["a"].id], by_seller[w["b"].id], by_seller[w["c"].id]


def test_cross_store_checkout_with_three_methods(app, api, ms, factory):
    w = _world(api, ms, factory)
    buyer = w["buyer"]
    items = [{"sku_id": w[p].skus[0].id, "quantity": 1} for p in ("pa", "pb", "pc")]
    preview = api.post("/checkout/preview", user=buyer, json={"items": items, "address_id": w["address"].id}).get_json()
    groups = {g["seller_id"]: g for g in preview["groups"]}
    offered = {sid: {o["code"] for o in g["delivery_options"] if o["available"]} for sid, g in groups.items()}
    # Exactly the enabled and available methods per order group; no kernel flat rate.
    assert offered == {
        w["a"].id: {"express"},
        w["b"].id: {"express", "pickup"},
        w["c"].id: {"express", "local"},
    }
    body = three_way_body(api, w)
    preview = api.post("/checkout/preview", user=buyer, json=body).get_json()
    assert preview["problems"] == []
    fees = {g["seller_id"]: g["delivery_fee"] for g in preview["groups"]}
    assert fees == {w["a"].id: 800, w["b"].id: 0, w["c"].id: 500}
    assert preview["totals"]["pay_amount"] == 2000 + 3000 + 5000 + 800 + 500

    resp = api.post("/checkout/place", user=buyer, json=body, headers={"Idempotency-Key": "three-ways"})
    assert resp.status_code == 201, resp.get_json()
    placed = resp.get_json()
    assert len(placed["payments"]) == 1 and len(placed["orders"]) == 3
    factories.pay(db.session.get(PaymentOrder, placed["payments"][0]["id"]))
    orders = {
        o.seller_id: o
        for o in db.session.execute(db.select(Order).where(Order.id.in_([o["id"] for o in placed["orders"]]))).scalars()
    }
    oa, ob, oc = orders[w["a"].id], orders[w["b"].id], orders[w["c"].id]
    assert (oa.delivery_method, ob.delivery_method, oc.delivery_method) == ("express", "pickup", "local")
    assert oa.address and ob.address is None and oc.address  # pickup needs no address
    assert ob.delivery_data["name"] == "B店柜台"
    assert all(o.status == "paid" for o in orders.values())

    # A ships with a tracking number and adds an event; the buyer sees both.
    resp = api.post(
        f"/seller/express/orders/{oa.id}/ship", user=w["admin_a"], json={"carrier": "sf", "tracking_no": "SF123456789"}
    )
    assert resp.status_code == 200, resp.get_json()
    assert (
        api.post(
            f"/seller/express/orders/{ob.id}/ship", user=w["admin_a"], json={"carrier": "sf", "tracking_no": "X1"}
        ).status_code
        == 404
    )
    resp = api.post(
        f"/seller/express/orders/{oa.id}/tracking",
        user=w["admin_a"],
        json={"text": "已揽收", "time": "2026-11-20 10:00"},
    )
    assert resp.status_code in (200, 201), resp.get_json()
    tracking = api.get(f"/orders/{oa.id}/tracking", user=buyer).get_json()
    assert tracking["carrier"] == "顺丰速运" and tracking["tracking_no"] == "SF123456789"
    assert [e["text"] for e in tracking["events"]] == ["已揽收"]

    # B's clerk verifies the buyer's pickup code; A's admin cannot.
    code = api.get(f"/orders/{ob.id}/pickup", user=buyer).get_json()["code"]
    assert code and len(code.replace(" ", "").replace("-", "")) >= 12
    assert api.post("/seller/pickup/verify", user=w["admin_a"], json={"code": code}).status_code == 404
    clerk_b = ms.clerk(w["b"])
    resp = api.post("/seller/pickup/verify", user=clerk_b, json={"code": code})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["order_id"] == ob.id
    assert api.post("/seller/pickup/verify", user=clerk_b, json={"code": code}).status_code == 409  # used

    # C dispatches and delivers in the booked slot.
    resp = api.post(
        f"/seller/local/orders/{oc.id}/dispatch",
        user=w["admin_c"],
        json={"courier_name": "王师傅", "courier_phone": "13900001111"},
    )
    assert resp.status_code == 200, resp.get_json()
    assert api.post(f"/seller/local/orders/{oc.id}/deliver", user=w["admin_c"]).status_code == 200

    db.session.expire_all()
    final = {
        o.seller_id: o.status
        for o in db.session.execute(db.select(Order).where(Order.id.in_([oa.id, ob.id, oc.id]))).scalars()
    }
    assert final == {w["a"].id: "shipped", w["b"].id: "completed", w["c"].id: "received"}
    # The buyer's order API shows each delivery.
    detail = api.get(f"/orders/{ob.id}", user=buyer).get_json()
    assert detail["delivery"]["method"] == "pickup" and detail["delivery"]["data"]["name"] == "B店柜台"


def test_outside_radius_keeps_local_visible_but_unavailable(app, api, ms, factory):
    """LD: an address outside C's radius sees local delivery unavailable with
    the reason; express still serves it."""
    w = _world(api, ms, factory)
    far = factory.address(w["buyer"], lat=SHOP_C[0] + 0.2, lng=SHOP_C[1])
    db.session.commit()
    items = [{"sku_id": w["pc"].skus[0].id, "quantity": 1}]
    preview = api.post("/checkout/preview", user=w["buyer"], json={"items": items, "address_id": far.id}).get_json()
    [group] = preview["groups"]
    options = {o["code"]: o for o in group["delivery_options"]}
    assert options["express"]["available"] and not options["local"]["available"]
    assert options["local"]["reason"]
    assert group["delivery"] == "express"
