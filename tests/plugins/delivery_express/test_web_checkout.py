"""DE-CHECKOUT on the web: the checkout page offers 快递发货 with its fee
(or disabled with the reason), placing writes it; the buyer's order page
shows carrier, tracking number and the timeline."""

from __future__ import annotations

from jishi.cart.models import CartLine
from jishi.db import db
from jishi.orders.models import Order
from jishi.testing.principals import sign_in

from .helpers import template


def _sign_in(client, user):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    sign_in(client, user)


def test_web_checkout_with_express(client, factory, svc):
    """DE-CHECKOUT: the page shows "快递发货 ¥15.00"; placing stores it."""
    template()
    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product(price=2000).skus[0]
    db.session.add(CartLine(user_id=buyer.id, sku_id=sku.id, quantity=2))
    db.session.commit()
    _sign_in(client, buyer)
    html = client.get("/checkout").get_data(as_text=True)
    assert 'value="express"' in html and "快递发货 ¥15.00" in html
    r = client.post(
        "/checkout",
        data={"address_id": str(addr.id), "delivery-shop": "express", "action": "place", "idempotency_key": "w1"},
    )
    assert r.status_code == 302 and "/pay/" in r.headers["Location"]
    order = db.session.query(Order).one()
    assert (order.delivery_method, order.delivery_fee, order.pay_amount) == ("express", 1500, 5500)
    html = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "尚未发货。" in html  # the timeline slot, before shipment


def test_web_checkout_unserved_region_shows_reason(client, factory, svc):
    """DE-CHECKOUT: an address in a region not served: the option is
    disabled with the reason naming the region, placing is refused."""
    template(regions=[{"province": "西藏", "served": False}])
    buyer = factory.user()
    addr = factory.address(buyer, province="西藏自治区", city="拉萨市")
    sku = factory.product().skus[0]
    db.session.add(CartLine(user_id=buyer.id, sku_id=sku.id, quantity=1))
    db.session.commit()
    _sign_in(client, buyer)
    html = client.get(f"/checkout?address_id={addr.id}").get_data(as_text=True)
    assert "disabled" in html and "快递不配送至西藏。" in html
    r = client.post(
        "/checkout",
        data={"address_id": str(addr.id), "delivery-shop": "express", "action": "place", "idempotency_key": "w2"},
    )
    assert r.status_code == 302 and "/checkout" in r.headers["Location"]
    assert db.session.query(Order).count() == 0
