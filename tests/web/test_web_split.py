"""Cart and checkout grouped by the split hook, one payment per store (K6, K7, K9)."""

import pytest
from jishi.db import db
from jishi.hookspecs import CartGroup, hookimpl
from jishi.orders.models import Order, PaymentOrder
from webforms import page_form


class SplitBySeller:
    @hookimpl(tryfirst=True)
    def split_cart(self, lines, user):
        groups = {}
        for line in lines:
            groups.setdefault(line.seller_id, []).append(line.key)
        return [
            CartGroup(
                key=f"seller:{sid or 0}",
                title=f"店铺{sid or 0}",
                line_keys=tuple(keys),
                seller_id=sid,
                tags=("营业中",),
            )
            for sid, keys in groups.items()
        ]


@pytest.fixture
def extra_plugins():
    return [SplitBySeller()]


@pytest.fixture
def app_config():
    return {"JISHI_PAYMENT_MODE": "per_order"}


def test_groups_messages_and_per_store_payment(client, factory, buyer, login):
    """The cart shows one block per group with its tags; checkout takes a
    delivery choice and a message per group; per-store payment gives one
    payment per order, and each page links to the next one to pay."""
    a = factory.product(name="甲店商品", price=1000, seller_id=1)
    b = factory.product(name="乙店商品", price=2500, seller_id=2)
    login(buyer)
    for p in (a, b):
        client.post("/cart/add", data={"sku_id": p.skus[0].id, "quantity": 1})
    cart = client.get("/cart").get_data(as_text=True)
    assert "店铺1" in cart and "店铺2" in cart and "营业中" in cart
    checkout = client.get("/checkout")
    form = page_form(checkout, "/checkout")
    assert {"delivery-seller:1", "delivery-seller:2", "message-seller:1", "message-seller:2"} <= set(form)
    form |= {"message-seller:1": "甲店请快点", "message-seller:2": "乙店别压坏", "action": "place"}
    resp = client.post("/checkout", data=form)
    first = resp.headers["Location"].rsplit("/", 1)[1]
    payments = db.session.execute(db.select(PaymentOrder).order_by(PaymentOrder.id)).scalars().all()
    assert len(payments) == 2 and payments[0].number == first
    orders = {o.seller_id: o for o in db.session.execute(db.select(Order)).scalars()}
    assert orders[1].buyer_message == "甲店请快点" and orders[2].buyer_message == "乙店别压坏"
    assert orders[1].pay_amount == 2000 and orders[2].pay_amount == 3500  # each with its own ¥10.00 delivery
    pay_page = client.get(f"/pay/{first}").get_data(as_text=True)
    assert payments[1].number in pay_page and "¥20.00" in pay_page
    gateway = client.post(f"/pay/{first}", data={"method": "sandbox"}).headers["Location"]
    back = client.post(gateway, data={"action": "pay"}).headers["Location"]
    result = client.get(back).get_data(as_text=True)
    assert f"/pay/{payments[1].number}" in result and "¥35.00" in result
    db.session.refresh(orders[1])
    db.session.refresh(orders[2])
    assert orders[1].status == "paid" and orders[2].status == "pending_payment"
