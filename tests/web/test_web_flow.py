"""The whole storefront purchase through HTML forms (K5, K6, K7, K8, K9)."""

from urllib.parse import urlsplit

from jishi.db import db
from jishi.orders.models import Order, PaymentOrder
from webforms import page_form


def path(resp) -> str:
    parts = urlsplit(resp.headers["Location"])
    return parts.path + (("?" + parts.query) if parts.query else "")


def test_register_cart_checkout_pay_through_forms(app, client, shop):
    """K5-K9: register, add to cart, add an address, check out with the
    rendered idempotency key, pay on the sandbox gateway, see the order paid.
    Posting the same checkout form twice places one order (K7)."""
    reg = client.get("/register")
    data = page_form(reg, "/register") | {
        "phone": "13700000001",
        "password": "secret123",
        "password2": "secret123",
        "name": "小王",
    }
    resp = client.post("/register", data=data)
    assert resp.status_code == 302

    tea = shop["tea"]
    product_page = client.get(f"/product/{tea.id}")
    form = page_form(product_page, "/cart/add")
    assert form["sku_id"] == str(tea.skus[0].id)  # the in-stock SKU is picked
    resp = client.post("/cart/add", data=form | {"quantity": "2"})
    assert path(resp) == "/cart"
    cart = client.get("/cart")
    assert "¥24.68" in cart.get_data(as_text=True)

    resp = client.post("/cart", data=page_form(cart, "/cart") | {"action": "checkout"})
    assert path(resp) == "/checkout"
    checkout = client.get("/checkout")
    assert "Choose a delivery address" in checkout.get_data(as_text=True) or "请选择收货地址" in checkout.get_data(
        as_text=True
    )

    new_address = client.get("/account/addresses/new?next=/checkout")
    form = page_form(new_address, "/account/addresses/new") | {
        "name": "王五",
        "phone": "13800000000",
        "province": "浙江省",
        "city": "杭州市",
        "district": "西湖区",
        "detail": "文三路 1 号",
    }
    resp = client.post("/account/addresses/new", data=form)
    assert path(resp) == "/checkout"

    checkout = client.get("/checkout")
    form = page_form(checkout, "/checkout")
    assert form["idempotency_key"] and form["address_id"]
    assert "¥34.68" in checkout.get_data(as_text=True)  # 24.68 + 10.00 delivery
    resp = client.post("/checkout", data=form | {"action": "place", "message-shop": "请放门口"})
    assert resp.status_code == 302 and path(resp).startswith("/pay/")
    again = client.post("/checkout", data=form | {"action": "place", "message-shop": "请放门口"})
    assert path(again) == path(resp)
    assert db.session.execute(db.select(db.func.count(Order.id))).scalar_one() == 1

    pay_page = client.get(path(resp))
    pay_form = page_form(pay_page, "/pay/")
    assert pay_form["method"] == "sandbox"
    to_gateway = client.post(path(resp), data=pay_form)
    assert path(to_gateway).startswith("/sandbox-gateway/pay/")
    gateway = client.get(path(to_gateway))
    assert "¥34.68" in gateway.get_data(as_text=True)
    back = client.post(path(to_gateway), data=page_form(gateway, "/sandbox-gateway/pay/") | {"action": "pay"})
    assert path(back).startswith("/pay/return/")
    result = client.get(path(back))
    assert result.status_code == 200

    order = db.session.execute(db.select(Order)).scalar_one()
    db.session.refresh(order)
    assert order.status == "paid"
    assert order.buyer_message == "请放门口"
    assert db.session.execute(db.select(PaymentOrder.status)).scalar_one() == "paid"
    detail = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert order.number in detail and "¥34.68" in detail


def test_cash_on_delivery_goes_to_shipping(app, client, factory, shop, login):
    """K9: cash on delivery moves the order to awaiting shipment without paid_at."""
    buyer = factory.user()
    factory.address(buyer)
    login(buyer)
    client.post("/cart/add", data={"sku_id": shop["orange"].skus[0].id, "quantity": "1"})
    form = page_form(client.get("/checkout"), "/checkout")
    resp = client.post("/checkout", data=form | {"action": "place"})
    pay = path(resp)
    back = client.post(pay, data={"method": "cod"})
    assert path(back).startswith("/pay/return/")
    order = db.session.execute(db.select(Order)).scalar_one()
    assert order.status == "paid" and order.paid_at is None and order.payment_method == "cod"
