"""Issue 13 C3: shipping respects each order's delivery method.

The delivery method tells how its orders are fulfilled (the kernel's
``order_fulfilment`` hook): express orders are parcels (carrier and tracking
number), local orders go out with a rider (delivery_local's dispatch action),
pickup orders are never shipped. The merchant console's and the platform's
batch shipping show each order's method and offer only what fits it; the
ship endpoints and forms refuse the rest (409 naming ``status``).
"""

from __future__ import annotations

from jishi.db import db
from jishi.models import Order
from jishi.orders import service as orders_service
from jishi.testing import principals

from .test_cross_store import _world, place_three_ways


def test_hook_order_fulfilment(app, api, ms, factory):
    """C3: each delivery plugin answers for its own orders; the kernel's
    default answers the rest (a parcel with an address, plain otherwise)."""
    w = _world(api, ms, factory)
    oa, ob, oc = place_three_ways(api, w)
    a, b, c = (orders_service.fulfilment(o) for o in (oa, ob, oc))
    assert (a.mode, b.mode, c.mode) == ("parcel", "handover", "dispatch")
    assert c.action == "delivery_local.dispatch" and [n for n, _label in c.fields] == ["courier_name", "courier_phone"]
    assert b.note and a.label and b.label and c.label
    oa.delivery_method = "standard"  # not any plugin's: the kernel's default
    assert orders_service.fulfilment(oa).mode == "parcel"
    db.session.rollback()


def test_merchant_ship_refuses_what_the_method_does_not_ship(app, api, ms, factory):
    """C3: the merchant API ships an express order only with carrier and
    tracking number; a pickup order and a local one are refused (409, field
    ``status``, code ``not_shippable``), one by one in the batch too."""
    w = _world(api, ms, factory)
    oa, ob, oc = place_three_ways(api, w)
    resp = api.post(f"/merchant/orders/{ob.id}/ship", user=w["admin_b"], json={"carrier": "顺丰", "tracking_no": "1"})
    assert resp.status_code == 409 and resp.json["field"] == "status" and ob.number in resp.json["message"]
    resp = api.post(f"/merchant/orders/{oc.id}/ship", user=w["admin_c"], json={"carrier": "顺丰", "tracking_no": "1"})
    assert resp.status_code == 409 and resp.json["code"] == "not_shippable"
    resp = api.post(f"/merchant/orders/{oa.id}/ship", user=w["admin_a"], json={"carrier": "顺丰"})
    assert resp.status_code == 422 and resp.json["field"] == "tracking_no"
    resp = api.post(
        "/merchant/orders/ship-batch", user=w["admin_b"], json={"items": [{"order_id": ob.id, "carrier": "顺丰"}]}
    )
    assert resp.status_code == 200 and resp.json["items"][0]["code"] == "not_shippable"
    db.session.expire_all()
    assert {o.status for o in db.session.execute(db.select(Order)).scalars()} == {"paid"}
    resp = api.post(f"/merchant/orders/{oa.id}/ship", user=w["admin_a"], json={"carrier": "顺丰", "tracking_no": "SF1"})
    assert resp.status_code == 200 and resp.json["status"] == "shipped"


def test_merchant_batch_page_offers_what_fits_each_method(app, client, api, ms, factory):
    """C3: the merchant's order list shows each order's delivery method;
    carrier and tracking fields only for express; a local order gets
    "dispatch to rider" (delivery_local's action, back to the list); a
    pickup order nothing to ship."""
    w = _world(api, ms, factory)
    oa, ob, oc = place_three_ways(api, w)
    principals.sign_in(client, w["admin_a"])
    page = client.get("/merchant/orders").get_data(as_text=True)
    assert f'name="tracking-{oa.id}"' in page and 'data-mode="parcel"' in page
    principals.sign_in(client, w["admin_b"])
    page = client.get("/merchant/orders").get_data(as_text=True)
    assert 'data-mode="handover"' in page and f'name="tracking-{ob.id}"' not in page
    resp = client.post("/merchant/orders/ship-batch", data={"order_id": str(ob.id), "carrier": "顺丰"})
    assert resp.status_code == 302
    assert db.session.get(Order, ob.id).status == "paid"
    principals.sign_in(client, w["admin_c"])
    page = client.get("/merchant/orders").get_data(as_text=True)
    assert 'data-mode="dispatch"' in page and f'name="tracking-{oc.id}"' not in page
    assert f'action="/seller/local/orders/{oc.id}/dispatch"' in page and 'form="dispatch-' in page
    resp = client.post(
        f"/seller/local/orders/{oc.id}/dispatch",
        data={"courier_name": "王师傅", "courier_phone": "13900001111", "next": "/merchant/orders?"},
    )
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/merchant/orders")
    db.session.expire_all()
    assert db.session.get(Order, oc.id).status == "shipped"


def test_platform_console_lists_methods_and_refuses_pickup(app, client, api, ms, factory):
    """C3: the platform's order list shows each order's delivery method and
    its batch shipping leaves a pickup order unshipped, saying why."""
    w = _world(api, ms, factory)
    oa, ob, oc = place_three_ways(api, w)
    principals.sign_in(client, w["platform"])
    page = client.get("/console/orders?status=paid").get_data(as_text=True)
    assert all(f'data-mode="{m}"' in page for m in ("parcel", "handover", "dispatch"))
    resp = client.post(
        "/console/orders/batch-ship",
        data={
            "order_id": [str(oa.id), str(ob.id)],
            "carrier": "顺丰",
            f"tracking-{oa.id}": "SF9",
            f"tracking-{ob.id}": "X",
        },
        follow_redirects=True,
    )
    assert ob.number in resp.get_data(as_text=True)
    db.session.expire_all()
    assert (db.session.get(Order, oa.id).status, db.session.get(Order, ob.id).status) == ("shipped", "paid")
    resp = client.post(f"/console/orders/{oc.id}/ship", data={"carrier": "顺丰", "tracking_no": "1"})
    assert resp.status_code == 302 and db.session.get(Order, oc.id).status == "paid"
