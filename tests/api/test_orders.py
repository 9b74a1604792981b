"""K8 orders through the JSON API: the full flow, history, cancel, timeout,
ownership, platform actions and permissions (K14, K15)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlparse

from jishi.db import db, utcnow
from jishi.i18n import to_shop_time
from jishi.models import Order, PaymentOrder, Sku
from jishi.orders import service as orders_service
from sqlalchemy import select, update


def place(api, buyer, addr, items, key):
    r = api.post(
        "/checkout/place",
        user=buyer,
        json={"items": [{"sku_id": s.id, "quantity": q} for s, q in items], "address_id": addr.id},
        headers={"Idempotency-Key": key},
    )
    assert r.status_code == 201, r.json
    return r.json


def pay_online(api, client, buyer, number):
    r = api.post(f"/payments/{number}/pay", user=buyer, json={"method": "sandbox"})
    assert r.status_code == 200, r.json
    assert r.json["offline"] is False
    path = urlparse(r.json["redirect_url"]).path
    assert path.startswith("/sandbox-gateway/pay/")
    assert client.post(path, data={"action": "pay"}).status_code == 302


def stock(sku_id):
    db.session.expire_all()
    return db.session.get(Sku, sku_id).stock


def test_full_flow(api, client, factory):
    """K8/K9: place -> pay on the gateway -> ship -> receive -> complete, every
    transition recorded with actor and note."""
    buyer, admin = factory.user(), factory.admin()
    addr = factory.address(buyer)
    sku = factory.product(price=2500, stock=5).skus[0]
    placed = place(api, buyer, addr, [(sku, 2)], "flow")
    [order] = placed["orders"]
    number = placed["payments"][0]["number"]
    assert order["status"] == "pending_payment"

    pay_online(api, client, buyer, number)
    r = api.get(f"/payments/{number}", user=buyer)
    assert r.json["status"] == "paid"
    assert r.json["orders"][0]["status"] == "paid"

    r = api.post(f"/admin/orders/{order['id']}/ship", user=admin, json={"carrier": "SF", "tracking_no": "SF123"})
    assert r.status_code == 200, r.json
    assert r.json["status"] == "shipped"
    assert r.json["delivery"]["tracking_no"] == "SF123"

    r = api.post(f"/orders/{order['id']}/receive", user=buyer)
    assert r.status_code == 200 and r.json["status"] == "received"
    r = api.post(f"/orders/{order['id']}/receive", user=buyer)
    assert r.status_code == 409 and r.json["field"] == "status"

    r = api.post(f"/admin/orders/{order['id']}/complete", user=admin)
    assert r.status_code == 200 and r.json["status"] == "completed"

    r = api.get(f"/orders/{order['id']}", user=buyer)
    detail = r.json
    assert [(e["from_status"], e["to_status"], e["actor_role"]) for e in detail["events"]] == [
        ("", "pending_payment", "buyer"),
        ("pending_payment", "paid", "system"),
        ("paid", "shipped", "platform"),
        ("shipped", "received", "buyer"),
        ("received", "completed", "platform"),
    ]
    assert detail["events"][-1]["note"]  # "moved to completed by the platform", translated
    assert detail["address"]["city"] == "杭州市"
    assert detail["lines"][0]["quantity"] == 2
    assert detail["pay_amount"] == 5000 + 1000
    assert stock(sku.id) == 3


def test_list_orders_keyset_and_filter(api, factory):
    """K8/K14: the buyer's list pages by cursor and filters by status."""
    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product(price=100, stock=50).skus[0]
    ids = [place(api, buyer, addr, [(sku, 1)], f"k{i}")["orders"][0]["id"] for i in range(5)]
    r = api.get("/orders?limit=2", user=buyer)
    assert [o["id"] for o in r.json["items"]] == ids[::-1][:2]
    seen = [o["id"] for o in r.json["items"]]
    cursor = r.json["next_cursor"]
    while cursor:
        r = api.get(f"/orders?limit=2&cursor={cursor}", user=buyer)
        seen += [o["id"] for o in r.json["items"]]
        cursor = r.json["next_cursor"]
    assert seen == ids[::-1]
    api.post(f"/orders/{ids[0]}/cancel", user=buyer)
    r = api.get("/orders?status=closed", user=buyer)
    assert [o["id"] for o in r.json["items"]] == [ids[0]]
    assert r.json["items"][0]["lines"][0]["quantity"] == 1
    assert api.get("/orders?status=nonsense", user=buyer).json["field"] == "status"


def test_cancel_restores_stock(api, factory):
    """K8: cancelling an unpaid order closes it and its payment and gives the stock back."""
    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product(price=100, stock=5).skus[0]
    placed = place(api, buyer, addr, [(sku, 3)], "c")
    assert stock(sku.id) == 2
    r = api.post(f"/orders/{placed['orders'][0]['id']}/cancel", user=buyer)
    assert r.status_code == 200 and r.json["status"] == "closed"
    assert r.json["close_reason"] == "cancelled"
    assert stock(sku.id) == 5
    assert api.get(f"/payments/{placed['payments'][0]['number']}", user=buyer).json["status"] == "closed"
    r = api.post(f"/payments/{placed['payments'][0]['number']}/pay", user=buyer, json={"method": "sandbox"})
    assert r.status_code == 409
    assert api.post(f"/orders/{placed['orders'][0]['id']}/cancel", user=buyer).status_code == 409


def test_close_unpaid_job(api, factory):
    """K8: the timed job closes payments unpaid past the timeout and restores stock."""
    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product(price=100, stock=5).skus[0]
    old = place(api, buyer, addr, [(sku, 2)], "old")
    fresh = place(api, buyer, addr, [(sku, 1)], "fresh")
    db.session.execute(
        update(PaymentOrder)
        .where(PaymentOrder.id == old["payments"][0]["id"])
        .values(created_at=utcnow() - timedelta(hours=2))
    )
    db.session.commit()
    assert orders_service.close_unpaid() == 1
    assert orders_service.close_unpaid() == 0
    statuses = dict(db.session.execute(select(Order.id, Order.status)).all())
    assert statuses == {old["orders"][0]["id"]: "closed", fresh["orders"][0]["id"]: "pending_payment"}
    assert stock(sku.id) == 4


def test_other_buyers_objects_are_not_found(api, factory):
    """K15: another buyer's order and payment answer 404."""
    buyer, other = factory.user(), factory.user()
    addr = factory.address(buyer)
    sku = factory.product().skus[0]
    placed = place(api, buyer, addr, [(sku, 1)], "mine")
    oid, number = placed["orders"][0]["id"], placed["payments"][0]["number"]
    assert api.get(f"/orders/{oid}", user=other).status_code == 404
    assert api.post(f"/orders/{oid}/cancel", user=other).status_code == 404
    assert api.post(f"/orders/{oid}/receive", user=other).status_code == 404
    assert api.get(f"/payments/{number}", user=other).status_code == 404
    assert api.post(f"/payments/{number}/pay", user=other, json={"method": "sandbox"}).status_code == 404
    assert api.get("/orders", user=other).json["items"] == []
    assert api.get(f"/orders/{oid}").status_code == 401


def test_buyer_cannot_use_platform_endpoints(api, factory):
    """K15: /admin is for platform staff: a buyer gets 403, a visitor 401."""
    buyer = factory.user()
    for path in (
        "/admin/orders",
        "/admin/refunds",
        "/admin/reviews",
        "/admin/reports/overview",
        "/admin/orders/export",
    ):
        assert api.get(path, user=buyer).status_code == 403, path
        assert api.get(path).status_code == 401, path
    assert api.post("/admin/orders/1/ship", user=buyer, json={"carrier": "a", "tracking_no": "b"}).status_code == 403


def test_admin_list_filters(api, factory):
    """K8: the platform filters orders by status, number, buyer phone and dates."""
    admin = factory.admin()
    a, b = factory.user(phone="13900000001"), factory.user(phone="13900000002")
    sku = factory.product(price=100, stock=50).skus[0]
    oa = place(api, a, factory.address(a), [(sku, 1)], "a")["orders"][0]
    ob = place(api, b, factory.address(b), [(sku, 1)], "b")["orders"][0]
    api.post(f"/orders/{ob['id']}/cancel", user=b)
    ids = lambda r: [o["id"] for o in r.json["items"]]  # noqa: E731
    assert ids(api.get("/admin/orders", user=admin)) == [ob["id"], oa["id"]]
    assert ids(api.get("/admin/orders?phone=13900000001", user=admin)) == [oa["id"]]
    assert ids(api.get(f"/admin/orders?number={ob['number']}", user=admin)) == [ob["id"]]
    assert ids(api.get("/admin/orders?status=closed", user=admin)) == [ob["id"]]
    today = to_shop_time(utcnow()).date()
    assert len(ids(api.get(f"/admin/orders?start={today}&end={today}", user=admin))) == 2
    assert ids(api.get(f"/admin/orders?start={today + timedelta(days=1)}", user=admin)) == []
    r = api.get(f"/admin/orders?start={today}&end={today - timedelta(days=1)}", user=admin)
    assert r.status_code == 422 and r.json["field"] == "start"
    assert api.get("/admin/orders?start=notaday", user=admin).json["field"] == "start"
    assert api.get(f"/admin/orders/{oa['id']}", user=admin).json["number"] == oa["number"]
    assert api.get("/admin/orders/999999", user=admin).status_code == 404


def test_admin_ship_batch_and_close(api, client, factory):
    """K8: batch shipping answers per item; the platform closes unpaid orders only."""
    admin, buyer = factory.admin(), factory.user()
    addr = factory.address(buyer)
    sku = factory.product(price=100, stock=50).skus[0]
    paid = place(api, buyer, addr, [(sku, 1)], "p")
    pay_online(api, client, buyer, paid["payments"][0]["number"])
    unpaid = place(api, buyer, addr, [(sku, 2)], "u")
    pid, uid = paid["orders"][0]["id"], unpaid["orders"][0]["id"]
    r = api.post(
        "/admin/orders/ship-batch",
        user=admin,
        json={
            "items": [
                {"order_id": pid, "carrier": "SF", "tracking_no": "1"},
                {"order_id": uid, "carrier": "SF", "tracking_no": "2"},
                {"order_id": 999999, "carrier": "SF", "tracking_no": "3"},
            ]
        },
    )
    assert r.status_code == 200
    assert [(i["order_id"], i["ok"]) for i in r.json["items"]] == [(pid, True), (uid, False), (999999, False)]
    assert r.json["shipped"] == 1
    assert api.post(f"/admin/orders/{pid}/close", user=admin).status_code == 409
    before = stock(sku.id)
    r = api.post(f"/admin/orders/{uid}/close", user=admin)
    assert r.status_code == 200 and r.json["status"] == "closed"
    assert stock(sku.id) == before + 2
    r = api.post(
        "/admin/orders/ship-batch", user=admin, json={"items": [{"order_id": "1", "carrier": "SF", "tracking_no": "1"}]}
    )
    assert r.status_code == 422 and r.json["field"].endswith("order_id")


def test_openapi_documents_order_endpoints(client):
    """K14: openapi.json documents the order endpoints with request and response schemas."""
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    spec = r.json
    paths = spec["paths"]
    for path, method in (
        ("/api/v1/checkout/place", "post"),
        ("/api/v1/orders/{order_id}", "get"),
        ("/api/v1/refunds", "post"),
        ("/api/v1/reviews", "post"),
        ("/api/v1/admin/orders/ship-batch", "post"),
        ("/api/v1/admin/reports/overview", "get"),
    ):
        op = paths[path][method]
        ok = next(v for k, v in op["responses"].items() if k in ("200", "201"))
        assert "schema" in ok["content"]["application/json"], path
    place = paths["/api/v1/checkout/place"]["post"]
    assert "requestBody" in place and "200" in place["responses"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in place["parameters"])
    item = spec["components"]["schemas"]["CheckoutItem"]
    assert item["properties"]["quantity"]["type"] == "integer"
    assert spec["components"]["schemas"]["OrderDetail"]["properties"]["pay_amount"]["type"] == "integer"


def test_order_list_statements_do_not_grow(api, factory, queries):
    """K8 (performance): listing orders takes the same statements for 2 or 8 orders (no N+1)."""
    buyer = factory.user()
    addr = factory.address(buyer)
    skus = [factory.product(price=100, stock=50).skus[0] for _ in range(2)]
    api.headers(buyer)
    counts = []
    for n in (2, 6):
        for i in range(n):
            place(api, buyer, addr, [(skus[0], 1), (skus[1], 1)], f"n{n}-{i}")
        with queries() as q:
            r = api.get("/orders?limit=50", user=buyer)
        assert r.status_code == 200
        counts.append(q.count)
    assert len(r.json["items"]) == 8
    assert counts[0] == counts[1] <= 5, counts
