"""LD: checkout with local delivery through the API: the option, its
reasons, the slot choice, placing (the slot claimed), the public slots."""

from __future__ import annotations

import pytest
from jishi.db import db
from jishi.models import Order
from jishi_delivery_local.models import LocalDelivery


@pytest.fixture
def world(factory, ld):
    buyer = factory.user(name="买家")
    address = factory.address(buyer, lat=ld.NEAR[0], lng=ld.NEAR[1])
    product = factory.product(name="草莓", price=3000, stock=50)
    return buyer, address, product.skus[0].id


def _preview(api, user, body):
    resp = api.post("/checkout/preview", json=body, user=user)
    assert resp.status_code == 200, resp.json
    return resp.json


def _local(preview, group="shop"):
    g = next(g for g in preview["groups"] if g["key"] == group)
    return next((o for o in g["delivery_options"] if o["code"] == "local"), None), g


def _place(api, user, body, key):
    return api.post("/checkout/place", json=body, user=user, headers={"Idempotency-Key": key})


def test_local_only_when_the_seller_enabled_it(api, world, ld):
    """LD: "local" is offered only for a seller that enabled it; the kernel's
    flat rate stays (local delivery is the only delivery plugin)."""
    buyer, address, sku = world
    body = {"items": [{"sku_id": sku, "quantity": 1}], "address_id": address.id}
    codes = [o["code"] for o in _preview(api, buyer, body)["groups"][0]["delivery_options"]]
    assert codes == ["standard"]
    ld.setup(enabled=False)
    codes = [o["code"] for o in _preview(api, buyer, body)["groups"][0]["delivery_options"]]
    assert codes == ["standard"]
    ld.setup()
    preview = _preview(api, buyer, body)
    codes = [o["code"] for o in preview["groups"][0]["delivery_options"]]
    assert codes == ["standard", "local"]
    assert preview["groups"][0]["delivery"] == "standard"  # local is never preselected


def test_preview_fee_and_slot(api, world, ld):
    """LD: tier fee for the address's distance, the chosen slot shown, no problems."""
    buyer, address, sku = world
    ld.setup()
    preview = _preview(api, buyer, ld.body(sku, 1, address.id, slot=ld.tomorrow()))
    option, group = _local(preview)
    assert option == {
        "code": "local",
        "label": "Local delivery",
        "fee": 500,
        "available": True,
        "reason": "",
        "needs_address": True,
    }
    assert group["delivery"] == "local" and group["delivery_fee"] == 500 and group["pay_amount"] == 3500
    assert preview["problems"] == []


def test_reasons_no_coordinates_radius_minimum(api, factory, world, ld):
    """LD: unavailable with a clear reason: no coordinates (field address),
    outside the radius (distance and radius), below the minimum (how much more)."""
    buyer, address, sku = world
    ld.setup()
    bare = factory.address(buyer, is_default=False)
    preview = _preview(api, buyer, ld.body(sku, 1, bare.id, slot=ld.tomorrow()))
    option, _g = _local(preview)
    assert not option["available"] and "no location" in option["reason"] and "coordinates" in option["reason"]
    resp = _place(api, buyer, ld.body(sku, 1, bare.id, slot=ld.tomorrow()), "k-bare")
    assert resp.status_code == 422 and resp.json["field"] == "address"

    far = factory.address(buyer, lat=ld.FAR[0], lng=ld.FAR[1], is_default=False)
    option, _g = _local(_preview(api, buyer, ld.body(sku, 1, far.id, slot=ld.tomorrow())))
    assert not option["available"] and "11.1 km" in option["reason"] and "5.0 km" in option["reason"]
    resp = _place(api, buyer, ld.body(sku, 1, far.id, slot=ld.tomorrow()), "k-far")
    assert resp.status_code == 422 and resp.json["field"] == "delivery"

    cheap = factory.product(name="小葱", price=1250, stock=10).skus[0].id
    option, _g = _local(_preview(api, buyer, ld.body(cheap, 1, address.id, slot=ld.tomorrow())))
    assert not option["available"] and "¥20.00" in option["reason"] and "¥7.50" in option["reason"]
    assert db.session.scalar(db.select(db.func.count()).select_from(Order)) == 0


def test_second_tier_and_free_threshold(api, factory, world, ld):
    """LD: 3-5 km pays the second tier; from the free threshold it is free."""
    buyer, _address, sku = world
    ld.setup()
    mid = factory.address(buyer, lat=ld.MID[0], lng=ld.MID[1], is_default=False)
    option, _g = _local(_preview(api, buyer, ld.body(sku, 1, mid.id, slot=ld.tomorrow())))
    assert option["available"] and option["fee"] == 800
    option, group = _local(_preview(api, buyer, ld.body(sku, 4, mid.id, slot=ld.tomorrow())))
    assert option["fee"] == 0 and group["delivery_fee"] == 0 and group["pay_amount"] == 12000


@pytest.mark.parametrize(
    "slot, code",
    [
        (None, "local_slot"),
        ("", "local_slot"),
        ("tomorrow", "local_slot"),
        (12, "local_slot"),
        ({"x": 1}, "local_slot"),
        ("WINDOW:10:00-11:00", "local_slot"),
        ("YESTERDAY", "local_slot"),
    ],
)
def test_bad_slots_name_the_field(api, world, ld, slot, code):
    """LD: a missing, malformed, unknown or past slot is a 422 naming options.local_slot."""
    buyer, address, sku = world
    ld.setup()
    if slot == "WINDOW:10:00-11:00":
        slot = ld.tomorrow("10:00-11:00")
    elif slot == "YESTERDAY":
        slot = ld.yesterday()
    body = ld.body(sku, 1, address.id)
    if slot is not None:
        body["options"] = {"local_slot": {"shop": slot}}
    preview = _preview(api, buyer, body)
    assert [p["field"] for p in preview["problems"]] == ["options.local_slot"]
    resp = _place(api, buyer, body, "k1")
    assert resp.status_code == 422, resp.json
    assert resp.json["field"] == "options.local_slot" and resp.json["code"] == code
    assert db.session.scalar(db.select(db.func.count()).select_from(Order)) == 0
    assert ld.used() == 0


def test_local_slot_option_of_the_wrong_shape(api, world, ld):
    """LD: options.local_slot that is not an object is treated as missing (422, never 500)."""
    buyer, address, sku = world
    ld.setup()
    body = ld.body(sku, 1, address.id)
    body["options"] = {"local_slot": ["2026-01-01 10:00-12:00"]}
    resp = _place(api, buyer, body, "k-shape")
    assert resp.status_code == 422 and resp.json["field"] == "options.local_slot"


def test_place_claims_the_slot_and_stores_the_delivery(api, world, ld):
    """LD: placing writes the order with slot and distance and takes one place of the slot."""
    buyer, address, sku = world
    ld.setup()
    slot = ld.tomorrow()
    resp = _place(api, buyer, ld.body(sku, 1, address.id, slot=slot), "k-place")
    assert resp.status_code == 201, resp.json
    order_id = resp.json["orders"][0]["id"]
    order = db.session.get(Order, order_id)
    assert order.delivery_method == "local" and order.delivery_fee == 500 and order.pay_amount == 3500
    assert order.delivery_data["slot"] == slot and 1000 < order.delivery_data["distance_m"] < 1300
    delivery = db.session.execute(db.select(LocalDelivery).where(LocalDelivery.order_id == order_id)).scalar_one()
    assert (
        f"{delivery.day.isoformat()} {delivery.slot_window}" == slot
        and delivery.distance_m == order.delivery_data["distance_m"]
    )
    assert ld.used() == 1
    # A retry with the same key claims nothing more.
    again = _place(api, buyer, ld.body(sku, 1, address.id, slot=slot), "k-place")
    assert again.status_code == 200 and ld.used() == 1
    # The buyer's order API shows the slot and distance.
    detail = api.get(f"/orders/{order_id}", user=buyer).json
    assert detail["delivery"]["method"] == "local" and detail["delivery"]["data"]["slot"] == slot


def test_full_slot_is_refused(api, factory, world, ld):
    """LD: a full slot cannot be booked (preview problem, 422), others still can."""
    buyer, address, sku = world
    ld.setup(
        slots=[{"start": "10:00", "end": "12:00", "capacity": 1}, {"start": "14:00", "end": "16:00", "capacity": 1}]
    )
    assert _place(api, buyer, ld.body(sku, 1, address.id, slot=ld.tomorrow()), "a").status_code == 201
    other = factory.user()
    addr2 = factory.address(other, lat=ld.NEAR[0], lng=ld.NEAR[1])
    resp = _place(api, other, ld.body(sku, 1, addr2.id, slot=ld.tomorrow()), "b")
    assert resp.status_code == 422 and resp.json["field"] == "options.local_slot" and resp.json["code"] == "slot_full"
    assert _place(api, other, ld.body(sku, 1, addr2.id, slot=ld.tomorrow("14:00-16:00")), "c").status_code == 201
    assert ld.used() == 2


def test_public_slots(api, client, world, ld):
    """LD: GET /local/slots lists each slot's remaining capacity (public);
    404 when the seller offers no local delivery; a bad date is a 422."""
    buyer, address, sku = world
    assert api.get("/local/slots").status_code == 404
    ld.setup()
    tomorrow = ld.tomorrow().split()[0]
    resp = api.get(f"/local/slots?date={tomorrow}")
    assert resp.status_code == 200
    assert [(s["id"], s["remaining"], s["available"]) for s in resp.json["slots"]] == [
        (f"{tomorrow} 10:00-12:00", 3, True),
        (f"{tomorrow} 14:00-16:00", 3, True),
    ]
    assert _place(api, buyer, ld.body(sku, 1, address.id, slot=ld.tomorrow()), "k").status_code == 201
    resp = client.get(f"/api/v1/local/slots?date={tomorrow}")  # anonymous, no token
    assert resp.json["slots"][0]["remaining"] == 2
    assert len(api.get("/local/slots").json["slots"]) == 6  # 3 days x 2 windows
    assert api.get("/local/slots?date=2026-02-30").status_code == 422
    assert api.get("/local/slots?seller_id=0").status_code == 422
    assert api.get("/local/slots?seller_id=99999").status_code == 404
