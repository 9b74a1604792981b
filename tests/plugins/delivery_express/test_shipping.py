"""DE-SHIP: shipping express orders with a carrier and tracking number, one
by one, in batches (JSON and the console's ticked orders), from a CSV with
a per-row report; DE-TRACK: tracking events and the buyer's timeline."""

from __future__ import annotations

import io

import pytest
from jishi.db import db
from jishi.orders.models import Order

from .helpers import login, place, template


@pytest.fixture
def shop(factory, svc):
    """A single-store shop with a default template, a buyer with an address
    and three paid express orders."""
    template()
    admin = factory.admin()
    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product(price=2000, stock=50).skus[0]
    orders = [place(buyer, [(sku, 1)], addr)[0] for _ in range(3)]
    assert all(o.status == "paid" and o.delivery_method == "express" for o in orders)
    return {"admin": admin, "buyer": buyer, "addr": addr, "sku": sku, "orders": orders}


def test_ship_one_via_kernel_fields(api, shop):
    """DE-SHIP: ship writes order.carrier (the carrier's name) and
    order.tracking_no through the kernel's orders.service.ship."""
    o = shop["orders"][0]
    r = api.post(
        f"/seller/express/orders/{o.id}/ship", user=shop["admin"], json={"carrier": "sf", "tracking_no": " SF100 "}
    )
    assert r.status_code == 200, r.json
    assert r.json["carrier"] == "顺丰速运" and r.json["tracking_no"] == "SF100" and r.json["status"] == "shipped"
    db.session.expire_all()
    o = db.session.get(Order, o.id)
    assert (o.status, o.carrier, o.tracking_no) == ("shipped", "顺丰速运", "SF100")
    assert o.events[-1].actor_role == "platform"
    # again: not awaiting shipment
    r = api.post(
        f"/seller/express/orders/{o.id}/ship", user=shop["admin"], json={"carrier": "sf", "tracking_no": "SF101"}
    )
    assert r.status_code == 409 and r.json["field"] == "order"


def test_ship_bad_input_names_field(api, shop):
    """DE-SHIP: unknown carrier, blank tracking number, other without a
    name: 4xx naming the field, nothing written."""
    o = shop["orders"][0]
    cases = [
        ({"carrier": "DHL-ish", "tracking_no": "1"}, "carrier"),
        ({"carrier": "zto", "tracking_no": "  "}, "tracking_no"),
        ({"carrier": "other", "tracking_no": "1"}, "carrier_name"),
        ({"carrier": "zto"}, "tracking_no"),
        ({"carrier": "zto", "tracking_no": "x" * 61}, "tracking_no"),
    ]
    for body, field in cases:
        r = api.post(f"/seller/express/orders/{o.id}/ship", user=shop["admin"], json=body)
        assert r.status_code == 422 and r.json["field"] == field, (body, r.json)
    db.session.expire_all()
    assert db.session.get(Order, o.id).status == "paid"
    r = api.post(
        f"/seller/express/orders/{o.id}/ship",
        user=shop["admin"],
        json={"carrier": "other", "carrier_name": "德邦快递", "tracking_no": "DB1"},
    )
    assert r.status_code == 200 and r.json["carrier"] == "德邦快递"


def test_ship_batch_per_item_results(api, shop, factory):
    """DE-SHIP: the batch endpoint ships the good items and reports each bad
    one (unknown order, not awaiting shipment, blank tracking, unknown
    carrier); a bad item writes nothing."""
    a, b, c = shop["orders"]
    api.post(f"/seller/express/orders/{c.id}/ship", user=shop["admin"], json={"carrier": "ems", "tracking_no": "E1"})
    items = [
        {"order_id": a.id, "carrier": "中通快递", "tracking_no": "Z1"},
        {"order_id": b.id, "carrier": "zto", "tracking_no": " "},
        {"order_id": c.id, "carrier": "zto", "tracking_no": "Z3"},
        {"order_id": 999999, "carrier": "zto", "tracking_no": "Z4"},
        {"order_id": b.id, "carrier": "fedex", "tracking_no": "Z5"},
    ]
    r = api.post("/seller/express/orders/ship-batch", user=shop["admin"], json={"items": items})
    assert r.status_code == 200, r.json
    res = r.json["items"]
    assert r.json["shipped"] == 1 and r.json["failed"] == 4
    assert res[0]["ok"] and res[0]["carrier"] == "中通快递"
    assert (res[1]["ok"], res[1]["field"]) == (False, "tracking_no")
    assert (res[2]["ok"], res[2]["code"]) == (False, "conflict")
    assert (res[3]["ok"], res[3]["code"]) == (False, "not_found")
    assert (res[4]["ok"], res[4]["field"]) == (False, "carrier")
    db.session.expire_all()
    assert db.session.get(Order, b.id).status == "paid" and db.session.get(Order, b.id).tracking_no == ""
    assert db.session.get(Order, a.id).tracking_no == "Z1"


def test_ship_batch_bad_body(api, shop):
    r = api.post("/seller/express/orders/ship-batch", user=shop["admin"], json={"items": []})
    assert r.status_code == 422 and r.json["field"] == "items"
    r = api.post(
        "/seller/express/orders/ship-batch",
        user=shop["admin"],
        json={"items": [{"order_id": "1", "carrier": "sf", "tracking_no": "1"}]},
    )
    assert r.status_code == 422 and r.json["field"].startswith("items")


def test_console_ship_ticked_orders(client, shop):
    """DE-SHIP: the seller console ships the ticked orders with each row's
    carrier and tracking number, and reports the rows it could not ship."""
    a, b, c = shop["orders"]
    login(client, shop["admin"])
    r = client.get("/seller/express/orders")
    assert r.status_code == 200 and a.number in r.get_data(as_text=True)
    r = client.post(
        "/seller/express/orders/ship",
        data={
            "order_id": [str(a.id), str(b.id)],
            f"carrier-{a.id}": "yto",
            f"tracking-{a.id}": "YT1",
            f"carrier-{b.id}": "yto",
            f"tracking-{b.id}": "",
            f"carrier-{c.id}": "yto",
            f"tracking-{c.id}": "YT3",
        },
    )
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "1 shipped, 1 not shipped." in html and "Enter the tracking number." in html
    db.session.expire_all()
    assert [db.session.get(Order, o.id).status for o in (a, b, c)] == ["shipped", "paid", "paid"]
    assert db.session.get(Order, a.id).carrier == "圆通速递"


def test_csv_upload_per_row_errors(client, shop, factory):
    """DE-SHIP: CSV of order number, carrier, tracking number: good rows ship,
    each bad row is reported (unknown order, other seller's order, not
    awaiting shipment, blank tracking, unknown carrier) and writes nothing."""
    a, b, c = shop["orders"]
    # an order of another seller (multistore would make it; see test_multistore.py for the real one)
    [foreign] = place(shop["buyer"], [(shop["sku"], 1)], shop["addr"])
    foreign.seller_id = 77
    db.session.commit()
    from jishi.orders import service as orders_service

    orders_service.ship(c, carrier="EMS", tracking_no="E0")
    csv_text = "\n".join(
        [
            "订单号,快递公司,快递单号",
            f"{a.number},顺丰速运,SF1",
            f"{b.number},韵达快递,",
            "NOPE123,sf,SF3",
            f"{foreign.number},sf,SF4",
            f"{c.number},sf,SF5",
            f"{b.number},闪电快递,SF6",
        ]
    )
    login(client, shop["admin"])
    r = client.post(
        "/seller/express/orders/import",
        data={"file": (io.BytesIO(csv_text.encode("utf-8-sig")), "ship.csv")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "1 shipped, 5 not shipped." in html
    for message in (
        "Enter the tracking number.",
        "Unknown order.",
        "is not awaiting shipment",
        "Unknown carrier 闪电快递.",
    ):
        assert message in html, message
    assert html.count("Unknown order.") == 2  # NOPE123 and the other seller's order: not told apart
    db.session.expire_all()
    assert db.session.get(Order, a.id).tracking_no == "SF1"
    assert db.session.get(Order, b.id).status == "paid"
    assert db.session.get(Order, foreign.id).status == "paid"


def test_csv_service_rows_and_gbk(app, shop, svc):
    """DE-SHIP: a GBK file (as Excel saves it) works; the report names rows."""
    a = shop["orders"][0]
    raw = f"{a.number},申通快递,ST1\n".encode("gb18030")
    [result] = svc.ship_csv(None, raw, actor=shop["admin"])
    assert result["ok"] and result["row"] == 1 and result["number"] == a.number
    from jishi.errors import DomainError

    with pytest.raises(DomainError) as exc:
        svc.ship_csv(None, b"", actor=shop["admin"])
    assert exc.value.field == "file"


def test_tracking_events_and_buyer_timeline(api, client, shop, factory):
    """DE-TRACK: the seller adds events (time, text) to a shipped order; the
    buyer sees carrier, tracking number and the timeline (newest first) in
    the API and on the order page; another buyer gets 404."""
    o = shop["orders"][0]
    admin, buyer = shop["admin"], shop["buyer"]
    r = api.post(
        f"/seller/express/orders/{o.id}/tracking", user=admin, json={"time": "2026-05-01T10:00", "text": "已揽收"}
    )
    assert r.status_code == 409  # not shipped yet
    api.post(f"/seller/express/orders/{o.id}/ship", user=admin, json={"carrier": "jd", "tracking_no": "JD9"})
    for t, text in (("2026-05-01T10:00", "已揽收"), ("2026-05-02 08:30", "派送中")):
        r = api.post(f"/seller/express/orders/{o.id}/tracking", user=admin, json={"time": t, "text": text})
        assert r.status_code == 201, r.json
    from datetime import datetime

    from jishi_delivery_express.models import ExpressTrackingEvent

    # a time without an offset is the shop's (Asia/Shanghai): stored as UTC
    assert db.session.query(ExpressTrackingEvent).filter_by(text="已揽收").one().happened_at == datetime(
        2026, 5, 1, 2, 0
    )
    r = api.post(f"/seller/express/orders/{o.id}/tracking", user=admin, json={"time": "yesterday", "text": "x"})
    assert r.status_code == 422 and r.json["field"] == "time"
    r = api.post(f"/seller/express/orders/{o.id}/tracking", user=admin, json={"time": "2026-05-02", "text": " "})
    assert r.status_code == 422 and r.json["field"] == "text"
    r = api.get(f"/orders/{o.id}/tracking", user=buyer)
    assert r.status_code == 200
    assert (r.json["carrier"], r.json["tracking_no"]) == ("京东物流", "JD9")
    assert [e["text"] for e in r.json["events"]] == ["派送中", "已揽收"]
    assert api.get(f"/orders/{o.id}/tracking", user=factory.user()).status_code == 404
    assert api.get(f"/orders/{o.id}/tracking").status_code == 401
    assert api.get("/orders/99999999999/tracking", user=buyer).status_code == 404
    login(client, buyer)
    html = client.get(f"/orders/{o.id}").get_data(as_text=True)
    assert "京东物流" in html and "JD9" in html and "派送中" in html and html.index("派送中") < html.index("已揽收")
    login(client, admin)
    html = client.get(f"/seller/express/orders/{o.id}").get_data(as_text=True)
    assert "派送中" in html
    r = client.post(
        f"/seller/express/orders/{o.id}/events",
        data={"time": "2026-05-03T09:00", "text": "已签收"},
        follow_redirects=True,
    )
    assert "已签收" in r.get_data(as_text=True)


def test_refund_of_unshipped_express_order_returns_delivery_fee(api, shop):
    """DE-SHIP / K10: a full refund of an unshipped express order gives the
    express fee back too (kernel behaviour)."""
    o = shop["orders"][0]
    assert o.delivery_fee == 1000 and o.pay_amount == 3000
    [line] = o.lines
    r = api.post(
        "/refunds",
        user=shop["buyer"],
        json={"order_id": o.id, "kind": "refund_only", "lines": [{"order_line_id": line.id, "quantity": 1}]},
    )
    assert r.status_code == 201, r.json
    assert r.json["amount"] == 3000
    r = api.post(f"/admin/refunds/{r.json['id']}/approve", user=shop["admin"], json={})
    assert r.status_code == 200 and r.json["amount"] == 3000
    db.session.expire_all()
    assert db.session.get(Order, o.id).refunded_amount == 3000


def test_refund_after_shipping_keeps_delivery_fee(api, shop):
    """DE-SHIP / K10: once shipped, the refund is the goods only."""
    o = shop["orders"][1]
    api.post(f"/seller/express/orders/{o.id}/ship", user=shop["admin"], json={"carrier": "sto", "tracking_no": "S1"})
    [line] = o.lines
    r = api.post(
        "/refunds",
        user=shop["buyer"],
        json={"order_id": o.id, "kind": "refund_only", "lines": [{"order_line_id": line.id, "quantity": 1}]},
    )
    assert r.json["amount"] == 2000
