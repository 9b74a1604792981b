"""Virtual goods delivered on payment (seed 002 §5 实物/虚拟订单; issue item C7):
card codes claimed at placement and handed over when paid, a link/text
kept as it was, the order completed without shipping; closed unpaid orders
give their codes back; the buyer sees the codes in the order (web and API),
never in lists."""

from __future__ import annotations

from jishi.db import db
from jishi.testing import flows


def test_codes_claimed_at_placement_and_handed_over_on_payment(app, factory, vg):
    """C7: two units take two codes when placed (not yet delivered); paying
    hands them over and completes the order without an address or shipping
    (paid -> received -> completed, noted "delivered online")."""
    buyer = factory.user()
    product = vg.card(codes=("A-1", "A-2", "A-3"))
    [payment] = flows.place(buyer, [(product.skus[0], 2)])
    order = payment.orders[0]
    assert order.delivery_method == "virtual" and order.address is None
    held = vg.codes_of(order.id)
    assert [c.code for c in held] == ["A-1", "A-2"] and all(c.delivered_at is None for c in held)
    assert vg.free_codes(product) == ["A-3"]

    flows.pay(payment)
    order = flows.fetch(order)
    assert order.status == "completed" and order.shipped_at is None
    assert [s for s, _note in vg.events(order.id)] == ["pending_payment", "paid", "received", "completed"]
    assert vg.events(order.id)[2][1] == "delivered online"
    held = vg.codes_of(order.id)
    line_id = order.lines[0].id
    assert all(c.delivered_at is not None and c.order_line_id == line_id for c in held)


def test_replayed_payment_notification_changes_nothing(app, factory, vg):
    """C7: the gateway repeats its notification: same codes, one delivery, one completion."""
    from jishi.payments.service import handle_notification

    buyer = factory.user()
    product = vg.card(codes=("B-1", "B-2", "B-3"))
    [payment] = flows.place(buyer, [(product.skus[0], 1)])
    note = flows.pay(payment)
    with app.test_request_context("/", method="POST"):
        assert handle_notification("sandbox", dict(note)) == "success"
    order = flows.fetch(payment.orders[0])
    assert [c.code for c in vg.codes_of(order.id)] == ["B-1"]
    assert [s for s, _n in vg.events(order.id)].count("completed") == 1
    assert vg.free_codes(product) == ["B-2", "B-3"]


def test_link_kept_as_paid(app, factory, vg, login, client, api):
    """C7: a link/text product hands over the text as it was at payment;
    the buyer sees it on the order page and in the API."""
    from jishi_virtual import service

    buyer = factory.user()
    product = vg.link(text="https://example.com/v1")
    order = vg.paid_order(buyer, product)
    assert order.status == "completed"
    service.save_good(product, "text", "https://example.com/v2")
    db.session.commit()
    body = api.get(f"/orders/{order.id}/virtual", user=buyer).json
    assert body["status"] == "delivered"
    assert body["items"][0]["kind"] == "text" and body["items"][0]["text"] == "https://example.com/v1"
    login(buyer)
    html = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "https://example.com/v1" in html and "https://example.com/v2" not in html


def test_buyer_sees_codes_in_order_never_in_lists(app, factory, vg, login, client, api):
    """C7: the order page and ``/orders/<id>/virtual`` show the codes to the
    buyer; the order lists (web and API) never do; another buyer gets 404."""
    buyer = factory.user()
    product = vg.card(codes=("SECRET-CODE-1", "SECRET-CODE-2"))
    order = vg.paid_order(buyer, product)
    body = api.get(f"/orders/{order.id}/virtual", user=buyer)
    assert body.status_code == 200 and body.headers["Cache-Control"] == "private, no-store"
    assert body.json["items"][0]["codes"] == ["SECRET-CODE-1"]
    assert "SECRET-CODE" not in api.get("/orders", user=buyer).get_data(as_text=True)
    assert "SECRET-CODE" not in api.get(f"/orders/{order.id}", user=buyer).get_data(as_text=True)
    assert api.get(f"/orders/{order.id}/virtual", user=factory.user()).status_code == 404
    login(buyer)
    assert "SECRET-CODE-1" in client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "SECRET-CODE" not in client.get("/orders").get_data(as_text=True)


def test_closed_unpaid_order_gives_codes_back(app, factory, vg):
    """C7: a buyer cancels before paying: the codes are free again."""
    from jishi.orders import service as orders

    buyer = factory.user()
    product = vg.card(codes=("C-1", "C-2"))
    [payment] = flows.place(buyer, [(product.skus[0], 2)])
    assert vg.free_codes(product) == []
    with app.test_request_context("/", method="POST"):
        orders.cancel(flows.fetch(payment.orders[0]), actor=buyer)
    db.session.commit()
    assert sorted(vg.free_codes(product)) == ["C-1", "C-2"]
    assert vg.codes_of(payment.orders[0].id) == []


def test_never_oversold_preview_and_place_name_the_line(app, factory, vg, api):
    """C7: asking more units than codes left (whatever the SKU's stock) is
    refused at preview and at placement, naming the line; nothing is written."""
    from jishi.orders.models import Order

    buyer = factory.user()
    product = vg.card(codes=("D-1", "D-2"), stock=100, name="点卡")
    body = flows.checkout_body([(product.skus[0].id, 3)])
    preview = api.post("/checkout/preview", user=buyer, json=body)
    problems = [p for p in preview.json.get("problems", []) if p["code"] == "virtual_codes"]
    assert problems and "点卡" in problems[0]["message"], preview.json
    placed = api.post("/checkout/place", user=buyer, json=body, headers={"Idempotency-Key": "k1"})
    assert 400 <= placed.status_code < 500, placed.json
    assert "点卡" in str(placed.json)
    assert db.session.execute(db.select(Order)).first() is None
    assert sorted(vg.free_codes(product)) == ["D-1", "D-2"]


def test_mixed_cart_refused_naming_the_virtual_line(app, factory, vg, api):
    """C7: a gift card and goods to ship in one order: refused, naming the
    gift card (order it on its own, as Youzan/CRMEB)."""
    buyer = factory.user()
    address = factory.address(buyer)
    card = vg.card(name="礼品卡X")
    tea = factory.product(name="龙井", price=3000)
    body = flows.checkout_body([(card.skus[0].id, 1), (tea.skus[0].id, 1)], address)
    preview = api.post("/checkout/preview", user=buyer, json=body)
    mixed = [p for p in preview.json["problems"] if p["code"] == "virtual_mixed"]
    assert len(mixed) == 1 and "礼品卡X" in mixed[0]["message"] and mixed[0]["field"] == "items"
    placed = api.post("/checkout/place", user=buyer, json=body, headers={"Idempotency-Key": "k2"})
    assert 400 <= placed.status_code < 500 and "礼品卡X" in str(placed.json)


def test_codes_ran_out_at_payment_flagged_then_delivered(app, factory, vg, login, client):
    """C7: an order placed before its codes existed (the product got its
    card codes later) finds none when paid: it stays paid, flagged for the
    merchant on the console order page; after adding codes, "deliver again"
    hands them over and completes it."""
    from jishi_virtual import service
    from jishi_virtual.models import KIND_CODES

    buyer = factory.user()
    product = factory.product(name="游戏点卡", price=5000, is_virtual=True)
    [payment] = flows.place(buyer, [(product.skus[0], 2)])
    service.save_good(product, KIND_CODES, "")
    db.session.commit()
    flows.pay(payment)
    order = flows.fetch(payment.orders[0])
    assert order.status == "paid"
    row = service.delivery_of(order.id)
    assert row.status == "short" and row.missing == 2
    admin = factory.admin()
    login(admin)
    page = client.get(f"/console/orders/{order.id}").get_data(as_text=True)
    assert "卡密不足" in page or "Codes ran out" in page, page
    refused = client.post(f"/seller/virtual/orders/{order.id}/deliver")
    assert refused.status_code == 302
    assert flows.fetch(order).status == "paid"
    resp = client.post(
        f"/seller/virtual/products/{product.id}/codes", data={"sku_id": product.skus[0].id, "codes": "G-1\nG-2"}
    )
    assert resp.status_code == 302
    client.post(f"/seller/virtual/orders/{order.id}/deliver")
    order = flows.fetch(order)
    assert order.status == "completed"
    assert sorted(c.code for c in vg.codes_of(order.id)) == ["G-1", "G-2"]
    assert service.delivery_of(order.id).status == "delivered"


def test_refund_after_delivery_keeps_codes_given(app, factory, vg):
    """C7: a delivered code is the buyer's: refunding the order (if the
    seller agrees) never puts it back into the stock for another buyer."""
    buyer = factory.user()
    product = vg.card(codes=("F-1", "F-2"))
    order = vg.paid_order(buyer, product)
    assert order.status == "completed"
    flows.refund(order)
    assert [c.code for c in vg.codes_of(order.id)] == ["F-1"]
    assert vg.free_codes(product) == ["F-2"]


def test_seller_api_shows_own_order_and_refuses_needless_retry(app, factory, vg, api):
    """C7: the shop's staff read the order's codes through the seller API;
    "deliver again" on a delivered order is a 409 naming the order."""
    buyer = factory.user()
    admin = factory.admin()
    product = vg.card(codes=("H-1",))
    order = vg.paid_order(buyer, product)
    body = api.get(f"/seller/virtual/orders/{order.id}", user=admin)
    assert body.status_code == 200 and body.json["items"][0]["codes"] == ["H-1"]
    again = api.post(f"/seller/virtual/orders/{order.id}/deliver", user=admin)
    assert again.status_code == 409 and again.json["code"] == "not_short" and again.json["field"] == "order"


def test_web_checkout_names_the_virtual_line_of_a_mixed_cart(app, factory, vg, api, login, client):
    """C7: the web checkout of a cart holding a gift card and tea shows the
    refusal naming the gift card (a page, not an error); placing it is refused."""
    buyer = factory.user()
    factory.address(buyer)
    card = vg.card(name="礼品卡Y")
    tea = factory.product(name="碧螺春", price=3000)
    for sku in (card.skus[0], tea.skus[0]):
        assert api.post("/cart/items", user=buyer, json={"sku_id": sku.id, "quantity": 1}).status_code == 201
    login(buyer)
    page = client.get("/checkout")
    assert page.status_code == 200
    assert "礼品卡Y 为虚拟商品，线上发放，请单独下单" in page.get_data(as_text=True)
    placed = client.post("/checkout", data={"idempotency_key": "w1"}, follow_redirects=True)
    assert placed.status_code == 200 and "礼品卡Y 为虚拟商品" in placed.get_data(as_text=True)
    from jishi.orders.models import Order

    assert db.session.execute(db.select(Order)).first() is None
