"""¥0 orders (0元订单自动支付) in the storefront: placing a ¥0 checkout
through the forms goes straight to the result page ("支付成功") with the
order paid, never to the payment page; posting the same form again places
and pays nothing more."""

from __future__ import annotations

from jishi import settings
from jishi.db import db
from jishi.orders.models import Order, OrderEvent, PaymentOrder
from sqlalchemy import func, select
from webforms import page_form


def test_zero_checkout_goes_to_the_paid_page(app, buyer_client, factory):
    """¥0 orders: the web checkout of a ¥0 SKU (no delivery fee) redirects
    to ``/pay/return/<number>`` showing "Payment received"; the order is
    paid by ``free`` once, also after the same form is posted again."""
    settings.set_many({"delivery.flat_fee": 0})
    db.session.commit()
    sku = factory.product(name="赠品", price=0, stock=3).skus[0]
    client = buyer_client
    assert client.post("/cart/add", data={"sku_id": sku.id, "quantity": 1}).status_code == 302
    form = page_form(client.get("/checkout"), "/checkout")
    placed = client.post("/checkout", data=form | {"action": "place"})
    assert placed.status_code == 302, placed.get_data(as_text=True)
    location = placed.headers["Location"]
    payment = db.session.execute(select(PaymentOrder)).scalar_one()
    assert location.endswith(f"/pay/return/{payment.number}"), location
    again = client.post("/checkout", data=form | {"action": "place"})
    assert again.status_code == 302 and again.headers["Location"] == location
    page = client.get(location).get_data(as_text=True)
    assert "Payment received" in page or "支付成功" in page, page
    db.session.expire_all()
    [order] = db.session.execute(select(Order)).scalars().all()
    assert (payment.status, payment.method, order.status) == ("paid", "free", "paid")
    paid_events = select(func.count()).select_from(OrderEvent).where(OrderEvent.to_status == "paid")
    assert db.session.scalar(paid_events) == 1
