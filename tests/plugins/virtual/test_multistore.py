"""C7/MS17 with multistore: a merchant's virtual goods are delivered from
its own codes; the merchant's order page shows what was handed over (and a
short delivery flagged with "deliver again"); another merchant sees nothing."""

from __future__ import annotations

import pytest
from jishi.db import db
from jishi.testing import flows

pytestmark = pytest.mark.jishi_plugins("multistore", "virtual")


def test_merchant_order_page_shows_delivery_and_flag(app, factory, ms, vg, login, client):
    """C7: codes ran out at payment -> flagged on the merchant's order page;
    the merchant adds codes and delivers again; the order completes."""
    shop = ms.merchant("卡券店")
    other = ms.merchant("别家店")
    product = ms.product(shop, name="视频会员月卡", price=2500, is_virtual=True)
    buyer = factory.user()
    [payment] = flows.place(buyer, [(product.skus[0], 1)])
    vg.deliver_by_codes(product)
    flows.pay(payment)
    order = flows.fetch(payment.orders[0])
    assert order.status == "paid" and order.seller_id == shop.id

    login(ms.admin_of(shop))
    page = client.get(f"/merchant/orders/{order.id}").get_data(as_text=True)
    assert "卡密不足" in page and "重新发放" in page
    resp = client.post(f"/seller/virtual/products/{product.id}/codes", data={"codes": "VIP-777"})
    assert resp.status_code == 302
    assert client.post(f"/seller/virtual/orders/{order.id}/deliver").status_code == 302
    assert flows.fetch(order).status == "completed"
    assert "VIP-777" in client.get(f"/merchant/orders/{order.id}").get_data(as_text=True)

    login(ms.admin_of(other))
    assert client.get(f"/seller/virtual/products/{product.id}").status_code == 404
    assert client.post(f"/seller/virtual/products/{product.id}/codes", data={"codes": "X"}).status_code == 404
    db.session.expire_all()
    login(buyer)
    assert "VIP-777" in client.get(f"/orders/{order.id}").get_data(as_text=True)
