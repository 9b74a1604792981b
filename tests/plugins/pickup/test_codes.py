"""PU4: a pickup code on payment — issued once inside the payment's
transaction, 12 random digits, shown (with its QR) to the order's buyer
only; void when the order closes or is fully refunded."""

from __future__ import annotations

import re

from jishi.db import db
from jishi.models import Order
from jishi_pickup.models import PickupCode


def test_payment_issues_one_code(app, factory, pk):
    """PU4: paying issues exactly one 12-digit active code for the pickup order."""
    buyer = factory.user()
    product = factory.product(price=1500)
    p = pk.point(None)
    [payment] = pk.place(buyer, [(product.skus[0].id, 1)], {None: p.id})
    order = payment.orders[0]
    assert pk.code_of(order) is None  # not before payment
    pk.pay(payment)
    code = pk.code_of(order)
    assert code is not None and code.status == "active" and re.fullmatch(r"\d{12}", code.code)
    assert code.seller_id is None and code.point_id == p.id


def test_duplicate_notification_does_not_issue_two_codes(app, factory, pk):
    """PU4: a duplicate (and a replayed) payment notification: still one code."""
    buyer = factory.user()
    product = factory.product(price=1500)
    pk.point(None)
    [payment] = pk.place(buyer, [(product.skus[0].id, 1)])
    pk.pay(payment, twice=True)
    order = payment.orders[0]
    codes = db.session.execute(db.select(PickupCode).where(PickupCode.order_id == order.id)).scalars().all()
    assert len(codes) == 1
    first = codes[0].code
    # Calling the issuer again (idempotent) keeps the same code.
    from jishi_pickup import service

    assert service.issue_code(db.session.get(Order, order.id)).code == first
    db.session.commit()
    assert db.session.scalar(db.select(db.func.count()).select_from(PickupCode)) == 1


def test_shipped_orders_get_no_code(app, factory, pk):
    """PU4: only pickup orders get a code."""
    buyer = factory.user()
    address = factory.address(buyer)
    product = factory.product(price=1500)
    pk.point(None)
    from flask import current_app
    from jishi.checkout.service import place_order

    with current_app.test_request_context("/"):
        [payment] = place_order(buyer, [(product.skus[0].id, 1)], address.id, {"delivery": {"shop": "standard"}})
    pk.pay(payment)
    assert db.session.scalar(db.select(db.func.count()).select_from(PickupCode)) == 0


def test_codes_differ(app, factory, pk):
    """PU4: codes are random: 5 orders, 5 different codes."""
    buyer = factory.user()
    product = factory.product(price=100, stock=100)
    pk.point(None)
    codes = set()
    for i in range(5):
        [payment] = pk.place(buyer, [(product.skus[0].id, 1)], key=f"c{i}")
        pk.pay(payment)
        codes.add(pk.code_of(payment.orders[0]).code)
    assert len(codes) == 5


def test_buyer_sees_code_point_and_qr(app, api, client, factory, pk, login):
    """PU4: the order's buyer sees code, QR and point (page and API);
    another buyer gets 404 for the code, the QR and the API."""
    order, code = pk.paid_pickup_order(factory)
    from jishi.models import User

    buyer = db.session.get(User, order.user_id)
    other = factory.user()
    resp = api.get(f"/orders/{order.id}/pickup", user=buyer)
    assert resp.status_code == 200, resp.json
    assert resp.json["code"] == code.code and resp.json["status"] == "active"
    assert resp.json["point"]["name"] == "西湖店" and resp.json["point"]["hours"] == "09:00-21:00"
    qr = api.get(f"/orders/{order.id}/pickup/qr.svg", user=buyer)
    assert qr.status_code == 200 and qr.mimetype == "image/svg+xml" and b"<svg" in qr.data
    assert api.get(f"/orders/{order.id}/pickup", user=other).status_code == 404
    assert api.get(f"/orders/{order.id}/pickup/qr.svg", user=other).status_code == 404
    assert api.get(f"/orders/{order.id}/pickup").status_code == 401

    login(buyer)
    page = client.get(f"/orders/{order.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert code.code in html and "西湖店" in html and f"/orders/{order.id}/pickup/qr.svg" in html
    img = client.get(f"/orders/{order.id}/pickup/qr.svg")
    assert img.status_code == 200 and img.mimetype == "image/svg+xml"
    assert "no-store" in img.headers["Cache-Control"]
    login(other)
    assert client.get(f"/orders/{order.id}/pickup/qr.svg").status_code == 404
    assert client.get(f"/orders/{order.id}").status_code == 404


def test_qr_encodes_the_code(app, factory, pk):
    """PU4: the QR image is drawn by segno from the code itself."""
    import segno
    from jishi_pickup import service

    svg = service.qr_svg("123456789012")
    expected = segno.make("123456789012", error="m", micro=False)
    assert svg.startswith(b"<svg") and expected.version >= 1


def test_refund_voids_the_code(app, api, factory, pk):
    """PU4/PU5: a fully refunded (closed) order's code is void, and refused."""
    order, code = pk.paid_pickup_order(factory)
    from jishi.models import User
    from jishi.orders import service as orders

    admin = factory.admin()
    orders.close_paid(db.session.get(Order, order.id), actor=admin, note="缺货")
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Order, order.id).status == "closed"
    assert pk.code_of(order).status == "void"
    buyer = db.session.get(User, order.user_id)
    resp = api.get(f"/orders/{order.id}/pickup", user=buyer)
    assert resp.json["status"] == "void" and resp.json["code"] is None
    assert api.get(f"/orders/{order.id}/pickup/qr.svg", user=buyer).status_code == 404
    resp = api.post("/seller/pickup/verify", user=admin, json={"code": code.code})
    assert resp.status_code == 409 and resp.json["code"] == "code_void"


def test_buyer_refund_request_then_refund_voids(app, api, factory, pk):
    """PU4/PU5: the buyer asks for a full refund; while it is open the code is
    refused; once refunded the order closes and the code is void."""
    order, code = pk.paid_pickup_order(factory)
    from jishi.models import User

    buyer = db.session.get(User, order.user_id)
    admin = factory.admin()
    line = db.session.get(Order, order.id).lines[0]
    resp = api.post(
        "/refunds",
        user=buyer,
        json={
            "order_id": order.id,
            "kind": "refund_only",
            "lines": [{"order_line_id": line.id, "quantity": 1}],
            "reason": "不要了",
        },
    )
    assert resp.status_code == 201, resp.json
    refund_id = resp.json["id"]
    resp = api.post("/seller/pickup/verify", user=admin, json={"code": code.code})
    assert resp.status_code == 409 and resp.json["code"] == "aftersales_open"
    assert pk.code_of(order).status == "active"
    resp = api.post(f"/admin/refunds/{refund_id}/approve", user=admin, json={})
    assert resp.status_code == 200, resp.json
    db.session.expire_all()
    assert db.session.get(Order, order.id).status == "closed"
    assert pk.code_of(order).status == "void"


def test_unpaid_cancelled_order_never_gets_a_code(app, api, factory, pk):
    """PU4: a pickup order cancelled before payment has no code; its API says
    awaiting payment."""
    buyer = factory.user()
    product = factory.product(price=1500)
    pk.point(None)
    [payment] = pk.place(buyer, [(product.skus[0].id, 1)])
    order = payment.orders[0]
    resp = api.get(f"/orders/{order.id}/pickup", user=buyer)
    assert resp.status_code == 200 and resp.json["status"] == "awaiting_payment" and resp.json["code"] is None
    assert api.post(f"/orders/{order.id}/cancel", user=buyer).status_code == 200
    assert pk.code_of(order) is None


def test_cash_on_delivery_pickup_gets_a_code(app, api, factory, pk):
    """PU4: paying at the counter (cash on delivery) also issues the code;
    verification then completes the order."""
    buyer = factory.user()
    product = factory.product(price=1500)
    pk.point(None)
    [payment] = pk.place(buyer, [(product.skus[0].id, 1)])
    resp = api.post(f"/payments/{payment.number}/pay", user=buyer, json={"method": "cod"})
    assert resp.status_code == 200 and resp.json["offline"] is True, resp.json
    order = payment.orders[0]
    code = pk.code_of(order)
    assert code is not None and code.status == "active"
    assert api.post("/seller/pickup/verify", user=factory.admin(), json={"code": code.code}).status_code == 200
    db.session.expire_all()
    done = db.session.get(Order, order.id)
    assert done.status == "completed" and done.paid_at is not None  # cash collected at the counter


def test_console_order_page_shows_point_not_code(app, client, factory, pk, login):
    """PU4: the platform console's order page shows the point and the code's
    state, never the code itself."""
    order, code = pk.paid_pickup_order(factory)
    login(factory.admin())
    html = client.get(f"/console/orders/{order.id}").get_data(as_text=True)
    assert "西湖店" in html and "已发放，未核销" in html
    assert code.code not in html


def test_openapi_lists_the_routes(app, client):
    """PU: the plugin's API is documented in the OpenAPI document."""
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in (
        "/api/v1/seller/pickup/points",
        "/api/v1/seller/pickup/points/{point_id}",
        "/api/v1/seller/pickup/verify",
        "/api/v1/orders/{order_id}/pickup",
        "/api/v1/orders/{order_id}/pickup/qr.svg",
    ):
        assert path in paths, path
