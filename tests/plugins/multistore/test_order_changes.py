"""Order changes by the merchant (订单修改, seed 004 §2; issue 13 C6): 改价
of its unpaid order and the address until shipped, by the merchant's admin
or a clerk with the order right (API and console); another merchant's order
answers 404; the ledger and commission follow the changed amounts."""

from __future__ import annotations

from jishi.db import db
from jishi.models import Order, PaymentOrder
from jishi.testing import flows
from jishi_multistore import ledger

ADDRESS = {"name": "王五", "phone": "13700002222", "province": "江苏省", "city": "南京市", "detail": "中山路 8 号"}


def _world(api, factory, ms):
    a, b = ms.merchant("甲店"), ms.merchant("乙店")
    sa = ms.product(a, name="甲茶", price=2000, stock=10).skus[0]
    sa2 = ms.product(a, name="甲壶", price=1000, stock=10).skus[0]
    sb = ms.product(b, name="乙茶", price=3000, stock=10).skus[0]
    buyer = factory.user()
    addr = factory.address(buyer)
    data = flows.place_api(api, buyer, [(sa, 1), (sa2, 1), (sb, 1)], addr)
    orders = {o["seller_id"]: db.session.get(Order, o["id"]) for o in data["orders"]}
    return a, b, buyer, orders[a.id], orders[b.id], data["payments"][0]


def test_merchant_changes_the_price_and_the_ledger_follows(api, factory, ms):
    """C6/MS9/MS11: the merchant's clerk (order right) lowers its order's
    price: the combined payment asks the difference less, the other
    merchant's order is untouched; paid, the merchant's pending money is the
    new amount; completed, the commission is on the changed lines."""
    a, b, buyer, oa, ob, payment = _world(api, factory, ms)
    clerk = ms.clerk(a)
    fee_a, old_a, old_b = oa.delivery_fee, oa.pay_amount, ob.pay_amount
    assert payment["amount"] == old_a + old_b

    r = api.post(f"/merchant/orders/{oa.id}/price", user=clerk, json={"pay_amount": 2400 + fee_a, "reason": "议价"})
    assert r.status_code == 200, r.json
    assert r.json["pay_amount"] == 2400 + fee_a and [line["pay_amount"] for line in r.json["lines"]] == [1600, 800]
    assert [e["actor_role"] for e in r.json["events"] if e["kind"] == "price"] == ["seller"]
    # another merchant's order: not found, nothing changed
    r = api.post(f"/merchant/orders/{ob.id}/price", user=clerk, json={"pay_amount": 1, "reason": "x"})
    assert r.status_code == 404
    r = api.post(f"/merchant/orders/{ob.id}/address", user=ms.admin_of(a), json={"address": ADDRESS, "reason": "x"})
    assert r.status_code == 404
    db.session.expire_all()
    assert db.session.get(Order, ob.id).pay_amount == old_b
    assert db.session.get(PaymentOrder, payment["id"]).amount == 2400 + fee_a + old_b

    flows.pay(payment["number"])
    assert ledger.balance(a.id, ledger.PENDING) == 2400 + fee_a
    assert ledger.balance(b.id, ledger.PENDING) == old_b
    order = flows.fetch(oa.id)
    flows.ship(order)
    flows.receive(flows.fetch(oa.id))
    flows.complete(flows.fetch(oa.id))
    rate = ledger.current_rate(a.id, None)
    expected = sum(ledger.commission_of(amount, rate) for amount in (1600, 800))
    assert ledger.balance(a.id, ledger.AVAILABLE) == 2400 + fee_a - expected


def test_merchant_price_change_refused_once_paid_and_address_until_shipped(api, factory, ms):
    """C6: after payment the price is 409; the address changes (admin) until
    the order ships, then 409; the history shows the reason."""
    a, _b, buyer, oa, _ob, payment = _world(api, factory, ms)
    admin = ms.admin_of(a)
    flows.pay(payment["number"])
    r = api.post(f"/merchant/orders/{oa.id}/price", user=admin, json={"pay_amount": 100, "reason": "x"})
    assert r.status_code == 409
    r = api.post(f"/merchant/orders/{oa.id}/address", user=admin, json={"address": ADDRESS, "reason": "买家改址"})
    assert r.status_code == 200 and r.json["address"]["city"] == "南京市"
    assert any(e["kind"] == "address" and "买家改址" in e["text"] for e in r.json["events"])
    flows.ship(flows.fetch(oa.id))
    r = api.post(f"/merchant/orders/{oa.id}/address", user=admin, json={"address": ADDRESS, "reason": "x"})
    assert r.status_code == 409
    # the buyer sees the change in the order's history
    events = api.get(f"/orders/{oa.id}", user=buyer).json["events"]
    assert [e["note"] for e in events if e["kind"] == "address"] == ["买家改址"]


def test_merchant_console_forms(api, client, factory, ms, login):
    """C6: the merchant console's order page changes the price and the
    address, shows them in the history; a bad amount is named, nothing changes."""
    a, _b, _buyer, oa, _ob, payment = _world(api, factory, ms)
    admin = ms.admin_of(a)
    login(admin)
    page = client.get(f"/merchant/orders/{oa.id}").get_data(as_text=True)
    assert "order-change-price" in page and "order-change-address" in page
    r = client.post(f"/merchant/orders/{oa.id}/price", data={"pay_amount": "-1", "reason": "x"}, follow_redirects=True)
    assert r.status_code == 200
    db.session.expire_all()
    assert db.session.get(Order, oa.id).adjustment_amount == 0
    amount = 2000 + oa.delivery_fee
    r = client.post(
        f"/merchant/orders/{oa.id}/price",
        data={"pay_amount": f"{amount // 100}.{amount % 100:02d}", "reason": "会员价"},
        follow_redirects=True,
    )
    assert "会员价" in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Order, oa.id).pay_amount == amount
    r = client.post(f"/merchant/orders/{oa.id}/address", data=dict(ADDRESS, reason="电话确认"), follow_redirects=True)
    assert "电话确认" in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Order, oa.id).address["detail"] == "中山路 8 号"


def test_platform_changes_a_merchant_order_from_its_page(api, client, factory, ms, login):
    """C6: the platform's merchant-order page carries the change forms; they
    post to the platform console's routes and come back to the page."""
    _a, _b, _buyer, oa, ob, payment = _world(api, factory, ms)
    login(factory.admin())
    page_url = f"/console/multistore/orders/{oa.id}"
    page = client.get(page_url).get_data(as_text=True)
    assert "order-change-price" in page and f'value="{page_url}"' in page
    amount = 1500 + oa.delivery_fee
    r = client.post(
        f"/console/orders/{oa.id}/price",
        data={"pay_amount": f"{amount // 100}.{amount % 100:02d}", "reason": "平台调价", "next": page_url},
    )
    assert r.status_code == 302 and r.headers["Location"].endswith(page_url)
    assert "平台调价" in client.get(page_url).get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(PaymentOrder, payment["id"]).amount == amount + ob.pay_amount
    assert [e.actor_role for e in db.session.get(Order, oa.id).events if e.kind == "price"] == ["platform"]
