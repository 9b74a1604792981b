"""Order changes (订单修改, seed 004 §2; issue 13 C6): the price of an unpaid
order (改价) and the delivery address until shipped, by the platform (API
and console); the payment always asks the changed amount."""

from __future__ import annotations

import pytest
from jishi.db import db
from jishi.models import Order, OrderLine, PaymentNotification, PaymentOrder, SandboxTrade
from jishi.payments import sandbox
from jishi.testing import flows
from sqlalchemy import func, select

from tests.api.test_payments import SplitBySeller, notify, payment_status, signed, start_online


def _place(api, factory, prices=(1234, 555), buyer=None, **product_kw):
    buyer = buyer or factory.user()
    addr = factory.address(buyer)
    skus = [factory.product(price=p, **product_kw).skus[0] for p in prices]
    placed = flows.place_api(api, buyer, [(s, 1) for s in skus], addr)
    return buyer, placed


def _price(api, admin, order_id, pay_amount, reason="议价"):
    return api.post(f"/admin/orders/{order_id}/price", user=admin, json={"pay_amount": pay_amount, "reason": reason})


def test_price_change_the_buyer_pays_exactly_the_new_amount(app, api, client, factory, login):
    """C6: 改价 lowers an unpaid order's amount: the lines share the new goods
    amount exactly, the payment asks it, the gateway trade started for the old
    amount is closed and a notification for the old amount pays nothing; the
    buyer sees the new amount and the change with its reason in the history,
    and paying the new amount pays the order."""
    admin = factory.admin()
    buyer, placed = _place(api, factory)
    [order] = placed["orders"]
    [payment] = placed["payments"]
    number, fee = payment["number"], order["delivery_fee"]
    old = order["pay_amount"]
    assert old == 1234 + 555 + fee and payment["amount"] == old
    stale = start_online(api, buyer, number)  # the buyer opened the gateway at the old amount

    r = _price(api, admin, order["id"], 1000 + fee, reason="老客户优惠")
    assert r.status_code == 200, r.json
    assert r.json["pay_amount"] == 1000 + fee and r.json["adjustment_amount"] == 1000 + fee - old
    lines = r.json["lines"]
    assert sum(line["pay_amount"] for line in lines) == 1000
    assert [line["pay_amount"] for line in lines] == [690, 310]  # 1000 over 1234:555, largest remainder
    assert all(line["pay_amount"] <= line["goods_amount"] for line in lines)
    assert sum(line["adjustment_amount"] for line in lines) == 1000 - 1789
    [event] = [e for e in r.json["events"] if e["kind"] == "price"]
    assert event["data"] == {"old": old, "new": 1000 + fee} and event["note"] == "老客户优惠"
    assert event["actor_role"] == "platform" and "老客户优惠" in event["text"]

    assert api.get(f"/payments/{number}", user=buyer).json["amount"] == 1000 + fee
    db.session.expire_all()
    assert db.session.get(SandboxTrade, stale.id).status == "closed"
    # the old amount: refused, nothing recorded, nothing paid
    resp = notify(client, signed(app, dict(sandbox.notification_for(stale), notify_id="old-amount")))
    assert resp.status_code == 400 and b"total_amount" in resp.data
    assert payment_status(number) == "pending"
    assert db.session.execute(select(func.count(PaymentNotification.id))).scalar_one() == 0

    login(buyer)
    page = client.get(f"/orders/{order['id']}").get_data(as_text=True)
    assert "老客户优惠" in page and f"¥{(1000 + fee) // 100}." in page
    pay_page = client.get(f"/pay/{number}").get_data(as_text=True)
    assert f"¥{(1000 + fee) / 100:.2f}" in pay_page and f"¥{old / 100:.2f}" not in pay_page

    trade = start_online(api, buyer, number)
    assert trade.amount == 1000 + fee and trade.trade_no != stale.trade_no
    assert notify(client, sandbox.notification_for(trade)).data == b"success"
    assert payment_status(number) == "paid"
    assert api.get(f"/orders/{order['id']}", user=buyer).json["status"] == "paid"


def test_price_change_recomputes_from_the_placed_amounts(api, factory):
    """C6: each change spreads the new amount over what the lines cost as
    placed (not over the previous change), up or down, summing exactly."""
    admin = factory.admin()
    _buyer, placed = _place(api, factory, prices=(1000, 1000, 1000))
    [order] = placed["orders"]
    fee = order["delivery_fee"]
    r = _price(api, admin, order["id"], 100 + fee)
    assert [line["pay_amount"] for line in r.json["lines"]] == [34, 33, 33]
    r = _price(api, admin, order["id"], 3001 + fee, reason="加急费")
    assert [line["pay_amount"] for line in r.json["lines"]] == [1001, 1000, 1000]
    assert [line["adjustment_amount"] for line in r.json["lines"]] == [1, 0, 0]
    assert r.json["adjustment_amount"] == 1 and r.json["pay_amount"] == 3001 + fee
    db.session.expire_all()
    assert db.session.get(PaymentOrder, placed["payments"][0]["id"]).amount == 3001 + fee
    kinds = [e.kind for e in db.session.get(Order, order["id"]).events]
    assert kinds.count("price") == 2


def test_price_change_bad_input_and_states(api, factory):
    """C6: the amount is whole fen from the delivery fee (≥ 1 fen) up, the
    reason is required, the same amount changes nothing (422 naming the
    field, nothing written); a paid order's price cannot change (409)."""
    admin = factory.admin()
    _buyer, placed = _place(api, factory, prices=(1000,))
    [order] = placed["orders"]
    fee = order["delivery_fee"]
    oid = order["id"]
    for body, field in (
        ({"pay_amount": 0, "reason": "x"}, "pay_amount"),
        ({"pay_amount": 12.5, "reason": "x"}, "pay_amount"),
        ({"pay_amount": "800", "reason": "x"}, "pay_amount"),
        ({"pay_amount": 800}, "reason"),
        ({"pay_amount": 800, "reason": ""}, "reason"),
        ({"pay_amount": order["pay_amount"], "reason": "same"}, "pay_amount"),
    ):
        r = api.post(f"/admin/orders/{oid}/price", user=admin, json=body)
        assert r.status_code == 422, (body, r.json)
        assert field in str(r.json), (body, r.json)
    if fee:
        r = _price(api, admin, oid, fee - 1)
        assert r.status_code == 422 and r.json["field"] == "pay_amount"
    r = api.post(f"/admin/orders/{oid}/price", user=admin, json={"pay_amount": 800, "reason": "   "})
    assert r.status_code == 422 and r.json["field"] == "reason"
    assert (
        api.post("/admin/orders/2147483000/price", user=admin, json={"pay_amount": 9, "reason": "x"}).status_code == 404
    )
    db.session.expire_all()
    assert db.session.get(Order, oid).pay_amount == order["pay_amount"]
    assert db.session.get(Order, oid).adjustment_amount == 0

    flows.pay(flows.payment_of(placed["payments"][0]["number"]))
    r = _price(api, admin, oid, 500 + fee)
    assert r.status_code == 409 and r.json["field"] == "status"
    db.session.expire_all()
    assert db.session.get(PaymentOrder, placed["payments"][0]["id"]).amount == order["pay_amount"]


class TestCombinedPayment:
    @pytest.fixture
    def extra_plugins(self):
        return [SplitBySeller()]

    def test_price_change_of_one_order_of_a_combined_payment(self, app, api, client, factory):
        """C6 (合并支付): changing one order's price changes what the payment
        of both asks by the difference; cancelling the other afterwards
        leaves exactly the changed amount; that amount pays."""
        admin = factory.admin()
        buyer = factory.user()
        a = factory.product(price=2000, seller_id=1, is_virtual=True).skus[0]
        b = factory.product(price=3000, seller_id=2, is_virtual=True).skus[0]
        placed = flows.place_api(api, buyer, [(a, 1), (b, 1)])
        [payment] = placed["payments"]
        first, second = sorted(placed["orders"], key=lambda o: o["pay_amount"])
        assert payment["amount"] == 5000
        stale = start_online(api, buyer, payment["number"])
        assert _price(api, admin, first["id"], 1500).status_code == 200
        assert api.get(f"/payments/{payment['number']}", user=buyer).json["amount"] == 4500
        db.session.expire_all()
        assert db.session.get(SandboxTrade, stale.id).status == "closed"
        assert api.post(f"/orders/{second['id']}/cancel", user=buyer).status_code == 200
        assert api.get(f"/payments/{payment['number']}", user=buyer).json["amount"] == 1500
        trade = start_online(api, buyer, payment["number"])
        assert trade.amount == 1500
        assert notify(client, sandbox.notification_for(trade)).data == b"success"
        assert api.get(f"/orders/{first['id']}", user=buyer).json["status"] == "paid"


ADDRESS = {"name": "李四", "phone": "13900001111", "province": "浙江省", "city": "杭州市", "detail": "文三路 1 号"}


def test_address_change_until_shipped(api, factory):
    """C6: the address of an unpaid or paid order changes with the reason in
    the history; bad fields are named; once shipped it is 409."""
    admin = factory.admin()
    _buyer, placed = _place(api, factory, prices=(1000,))
    [order] = placed["orders"]
    oid = order["id"]
    url = f"/admin/orders/{oid}/address"
    r = api.post(url, user=admin, json={"address": ADDRESS, "reason": "买家来电"})
    assert r.status_code == 200, r.json
    assert r.json["address"]["name"] == "李四" and r.json["address"]["detail"] == "文三路 1 号"
    [event] = [e for e in r.json["events"] if e["kind"] == "address"]
    assert event["data"]["new"]["city"] == "杭州市" and event["note"] == "买家来电"

    r = api.post(url, user=admin, json={"address": dict(ADDRESS, phone="call me"), "reason": "x"})
    assert r.status_code == 422 and r.json["field"] == "phone"
    r = api.post(url, user=admin, json={"address": {k: v for k, v in ADDRESS.items() if k != "city"}, "reason": "x"})
    assert r.status_code == 422 and "city" in str(r.json)
    r = api.post(url, user=admin, json={"address": ADDRESS})
    assert r.status_code == 422 and "reason" in str(r.json)

    flows.pay(flows.payment_of(placed["payments"][0]["number"]))
    r = api.post(url, user=admin, json={"address": dict(ADDRESS, detail="文三路 2 号"), "reason": "改到公司"})
    assert r.status_code == 200 and r.json["address"]["detail"] == "文三路 2 号"
    flows.ship(db.session.get(Order, oid))
    r = api.post(url, user=admin, json={"address": dict(ADDRESS, detail="文三路 3 号"), "reason": "太晚了"})
    assert r.status_code == 409 and r.json["field"] == "status"
    db.session.expire_all()
    assert db.session.get(Order, oid).address["detail"] == "文三路 2 号"


def test_console_forms_change_price_and_address(api, client, factory, login):
    """C6: the platform console's order page changes the price (yuan) and
    the address with a reason, shows the history with it, and names a bad
    amount without changing anything."""
    admin = factory.admin()
    _buyer, placed = _place(api, factory, prices=(1000,))
    [order] = placed["orders"]
    oid, fee = order["id"], order["delivery_fee"]
    login(admin)
    page = client.get(f"/console/orders/{oid}").get_data(as_text=True)
    assert "order-change-price" in page and "order-change-address" in page
    r = client.post(f"/console/orders/{oid}/price", data={"pay_amount": "abc", "reason": "x"}, follow_redirects=True)
    assert r.status_code == 200
    db.session.expire_all()
    assert db.session.get(Order, oid).pay_amount == order["pay_amount"]
    amount = 888 + fee
    r = client.post(
        f"/console/orders/{oid}/price",
        data={"pay_amount": f"{amount // 100}.{amount % 100:02d}", "reason": "店庆"},
        follow_redirects=True,
    )
    page = r.get_data(as_text=True)
    assert "店庆" in page
    db.session.expire_all()
    assert db.session.get(Order, oid).pay_amount == amount
    assert sum(line.pay_amount for line in db.session.get(Order, oid).lines) == 888
    data = dict(ADDRESS, reason="换地址")
    page = client.post(f"/console/orders/{oid}/address", data=data, follow_redirects=True).get_data(as_text=True)
    assert "换地址" in page and "文三路 1 号" in page
    db.session.expire_all()
    assert db.session.get(Order, oid).address["name"] == "李四"


def test_change_is_in_the_openapi_document(client):
    """C6: the change endpoints are documented."""
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "post" in paths["/api/v1/admin/orders/{order_id}/price"]
    assert "post" in paths["/api/v1/admin/orders/{order_id}/address"]


def test_line_pay_amounts_sum_to_the_order(api, factory):
    """C6: after a change the lines and the delivery fee add up to the order."""
    admin = factory.admin()
    _buyer, placed = _place(api, factory, prices=(999, 1, 333))
    [order] = placed["orders"]
    assert _price(api, admin, order["id"], 777 + order["delivery_fee"]).status_code == 200
    db.session.expire_all()
    o = db.session.get(Order, order["id"])
    lines = db.session.execute(select(OrderLine).where(OrderLine.order_id == o.id)).scalars().all()
    assert sum(line.pay_amount for line in lines) + o.delivery_fee == o.pay_amount
    assert all(line.pay_amount == line.goods_amount - line.discount_amount + line.adjustment_amount for line in lines)


class TestRace:
    @pytest.fixture
    def app_config(self):
        from jishi.testing import parallel_config

        return parallel_config()

    @pytest.mark.parametrize("round_", range(3))
    def test_price_change_racing_a_notification_one_wins(self, app, factory, round_):
        """C6: a price change and a notification for the old amount at once:
        either the payment is paid at the old amount and the change answers
        409 (no change recorded), or the change is made and the notification
        is refused (nothing paid, nothing recorded). Never both, never a
        payment asking one amount with the order at another."""
        from jishi.accounts.models import User
        from jishi.checkout.service import place_order
        from jishi.orders import service as orders_service
        from jishi.orders.changes import OrderChangeError
        from jishi.payments.service import PaymentError, handle_notification
        from jishi.testing import run_parallel

        admin_id = factory.admin().id
        buyer = factory.user()
        product = factory.product(price=2000)
        addr = factory.address(buyer)
        with app.test_request_context("/", method="POST"):
            [payment] = place_order(buyer, [(product.skus[0].id, 1)], addr.id, idempotency_key=f"race-{round_}")
            from jishi.payments.service import start

            start(payment, "sandbox", "pc")
            [trade] = sandbox.trades_of(payment.number)
            trade.status = "paid"
            db.session.commit()
            params = sandbox.notification_for(trade)
        pid, oid, old = payment.id, payment.orders[0].id, payment.amount

        def act(i):
            if i == 0:
                order = db.session.get(Order, oid)
                try:
                    orders_service.change_price(
                        order, old - 500, "race", actor=db.session.get(User, admin_id), actor_kind="platform"
                    )
                    return "changed"
                except OrderChangeError as exc:
                    assert exc.status == 409
                    return "conflict"
            try:
                return handle_notification("sandbox", dict(params))
            except PaymentError as exc:
                assert exc.status == 400
                return "refused"

        results, errors = run_parallel(app, 2, act, request={"method": "POST"})
        assert not errors, errors
        db.session.expire_all()
        payment = db.session.get(PaymentOrder, pid)
        order = db.session.get(Order, oid)
        notes = db.session.execute(select(func.count(PaymentNotification.id))).scalar_one()
        changes = [e for e in order.events if e.kind == "price"]
        assert results in (["conflict", "success"], ["changed", "refused"]), results
        if results[0] == "changed":
            assert payment.status == "pending" and payment.amount == order.pay_amount == old - 500
            assert order.status == "pending_payment" and notes == 0 and len(changes) == 1
        else:
            assert payment.status == "paid" and payment.amount == order.pay_amount == old
            assert order.status == "paid" and notes == 1 and changes == []


def test_order_changed_signal_after_commit(api, factory):
    """C6: ``order_changed`` is sent once per change, after commit, with the
    kind of change and the old value (receivers notify the buyer)."""
    from jishi import signals

    admin = factory.admin()
    _buyer, placed = _place(api, factory, prices=(1000,))
    [order] = placed["orders"]
    before = db.session.get(Order, order["id"]).address
    seen = []

    def receiver(sender, **kw):
        seen.append((sender.id, kw["change"], kw["old"], db.session.get(Order, sender.id).pay_amount))

    signals.order_changed.connect(receiver)
    try:
        assert _price(api, admin, order["id"], order["pay_amount"] - 1).status_code == 200
        assert _price(api, admin, order["id"], 0).status_code == 422  # refused: nothing sent
        r = api.post(f"/admin/orders/{order['id']}/address", user=admin, json={"address": ADDRESS, "reason": "x"})
        assert r.status_code == 200
    finally:
        signals.order_changed.disconnect(receiver)
    assert [s[:3] for s in seen] == [(order["id"], "price", order["pay_amount"]), (order["id"], "address", before)]
    assert seen[0][3] == order["pay_amount"] - 1
