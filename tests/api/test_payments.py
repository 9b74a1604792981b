"""K9 payments: the sandbox gateway, notification verification and
idempotency, late payments, cash on delivery, payment methods (K14)."""

from __future__ import annotations

import time
from datetime import timedelta
from urllib.parse import urlparse

import pytest
from flask import g
from jishi.db import db, utcnow
from jishi.hookspecs import hookimpl
from jishi.models import Order, OrderEvent, PaymentNotification, PaymentOrder, PaymentRefund, SandboxTrade
from jishi.orders import service as orders_service
from jishi.payments import sandbox
from jishi.payments import service as payments
from sqlalchemy import func, select, update


def place(api, buyer, addr, sku, qty=1, key="k"):
    r = api.post(
        "/checkout/place",
        user=buyer,
        json={"items": [{"sku_id": sku.id, "quantity": qty}], "address_id": addr.id},
        headers={"Idempotency-Key": key},
    )
    assert r.status_code == 201, r.json
    return r.json


def start_online(api, buyer, number) -> SandboxTrade:
    r = api.post(f"/payments/{number}/pay", user=buyer, json={"method": "sandbox"})
    assert r.status_code == 200, r.json
    trade_no = urlparse(r.json["redirect_url"]).path.rsplit("/", 1)[-1]
    return db.session.execute(select(SandboxTrade).where(SandboxTrade.trade_no == trade_no)).scalar_one()


def notify(client, params):
    return client.post("/payments/notify/sandbox", data=params)


def signed(app, params):
    params = {k: v for k, v in params.items() if k != "sign"}
    params["sign"] = sandbox.sign(params, app.config["JISHI_SANDBOX_SECRET"])
    return params


def payment_status(number):
    db.session.expire_all()
    return db.session.execute(select(PaymentOrder.status).where(PaymentOrder.number == number)).scalar_one()


def test_pay_on_gateway_page(api, client, factory):
    """K9: the buyer pays on the gateway page; its signed notification marks the payment paid."""
    buyer = factory.user()
    placed = place(api, buyer, factory.address(buyer), factory.product(price=1234).skus[0])
    number = placed["payments"][0]["number"]
    trade = start_online(api, buyer, number)
    assert client.get(f"/sandbox-gateway/pay/{trade.trade_no}").status_code == 200
    r = client.post(f"/sandbox-gateway/pay/{trade.trade_no}", data={"action": "pay"})
    assert r.status_code == 302
    assert payment_status(number) == "paid"
    order = db.session.get(Order, placed["orders"][0]["id"])
    assert order.status == "paid" and order.payment_method == "sandbox" and order.paid_at is not None


def test_gateway_cancel_leaves_payment_pending(api, client, factory):
    """K9: leaving the gateway without paying changes nothing."""
    buyer = factory.user()
    placed = place(api, buyer, factory.address(buyer), factory.product().skus[0])
    number = placed["payments"][0]["number"]
    trade = start_online(api, buyer, number)
    client.post(f"/sandbox-gateway/pay/{trade.trade_no}", data={"action": "cancel"})
    assert payment_status(number) == "pending"


def test_duplicate_and_replayed_notifications(app, api, client, factory):
    """K9: the same notification twice (and with a new notify id for the same
    trade) changes the state once."""
    buyer = factory.user()
    placed = place(api, buyer, factory.address(buyer), factory.product().skus[0])
    number = placed["payments"][0]["number"]
    trade = start_online(api, buyer, number)
    trade.status = "paid"
    db.session.commit()
    params = sandbox.notification_for(trade)
    for _ in range(2):
        r = notify(client, params)
        assert r.status_code == 200 and r.data == b"success"
    again = sandbox.notification_for(trade)  # a new notify id for the same trade
    assert notify(client, again).data == b"success"
    assert payment_status(number) == "paid"
    events = db.session.execute(select(func.count(OrderEvent.id)).where(OrderEvent.to_status == "paid")).scalar_one()
    assert events == 1
    assert db.session.execute(select(func.count(PaymentNotification.id))).scalar_one() == 2
    db.session.expire_all()
    assert db.session.get(SandboxTrade, trade.id).refunded_amount == 0


def test_bad_notifications_are_refused(app, api, client, factory):
    """K9: a forged signature, a wrong amount or an old timestamp is a 400 and changes nothing."""
    buyer = factory.user()
    placed = place(api, buyer, factory.address(buyer), factory.product(price=5000).skus[0])
    number = placed["payments"][0]["number"]
    trade = start_online(api, buyer, number)
    good = sandbox.notification_for(trade)

    forged = dict(good, sign="0" * 64)
    r = notify(client, forged)
    assert r.status_code == 400 and b"sign" in r.data

    tampered = dict(good, total_amount="1")  # changed after signing
    r = notify(client, tampered)
    assert r.status_code == 400 and b"sign" in r.data

    wrong_amount = signed(app, dict(good, total_amount="1", notify_id="n-amount"))
    r = notify(client, wrong_amount)
    assert r.status_code == 400 and b"total_amount" in r.data

    old = signed(app, dict(good, timestamp=str(int(time.time()) - 3600), notify_id="n-old"))
    r = notify(client, old)
    assert r.status_code == 400 and b"timestamp" in r.data

    other_app = signed(app, dict(good, app_id="someone-else", notify_id="n-app"))
    assert notify(client, other_app).status_code == 400

    assert payment_status(number) == "pending"
    assert db.session.execute(select(func.count(PaymentNotification.id))).scalar_one() == 0
    assert notify(client, good).data == b"success"
    assert payment_status(number) == "paid"


def test_timeout_closes_the_trade_at_the_gateway_first(app, api, client, factory):
    """K9, issue 14: close_unpaid closes the gateway's trade before the
    payment is closed locally: the page left open takes no money."""
    buyer = factory.user()
    sku = factory.product(price=3000, stock=5).skus[0]
    placed = place(api, buyer, factory.address(buyer), sku, 2)
    number = placed["payments"][0]["number"]
    trade = start_online(api, buyer, number)
    db.session.execute(
        update(PaymentOrder).where(PaymentOrder.number == number).values(created_at=utcnow() - timedelta(hours=1))
    )
    db.session.commit()
    assert orders_service.close_unpaid() == 1
    db.session.expire_all()
    assert db.session.get(SandboxTrade, trade.id).status == "closed"
    r = client.post(f"/sandbox-gateway/pay/{trade.trade_no}", data={"action": "pay"})
    assert r.status_code == 302
    assert payment_status(number) == "closed"
    assert db.session.get(SandboxTrade, trade.id).status == "closed"
    assert db.session.execute(select(func.count(PaymentNotification.id))).scalar_one() == 0
    assert db.session.get(type(sku), sku.id).stock == 5


def test_timeout_records_a_trade_paid_meanwhile(app, api, client, factory):
    """K9, issue 14: when the gateway says the trade was paid (its
    notification lost), the timeout records the payment instead of closing."""
    buyer = factory.user()
    sku = factory.product(price=3000, stock=5).skus[0]
    placed = place(api, buyer, factory.address(buyer), sku, 1)
    number = placed["payments"][0]["number"]
    trade = start_online(api, buyer, number)
    trade.status = "paid"  # paid at the gateway; the notification never came
    db.session.execute(
        update(PaymentOrder).where(PaymentOrder.number == number).values(created_at=utcnow() - timedelta(hours=1))
    )
    db.session.commit()
    assert orders_service.close_unpaid() == 0
    assert payment_status(number) == "paid"
    order = db.session.get(Order, placed["orders"][0]["id"])
    assert order.status == "paid"


def test_late_notification_after_cancel_is_refunded(app, api, client, factory):
    """K9: money arriving after the buyer cancelled (the payment closed) is
    recorded and refunded at once through the same gateway; the payment and
    the order stay closed."""
    buyer = factory.user()
    sku = factory.product(price=3000, stock=5).skus[0]
    placed = place(api, buyer, factory.address(buyer), sku, 2)
    number = placed["payments"][0]["number"]
    trade = start_online(api, buyer, number)
    assert api.post(f"/orders/{placed['orders'][0]['id']}/cancel", user=buyer).status_code == 200
    # the buyer pays on the gateway page that was still open
    r = client.post(f"/sandbox-gateway/pay/{trade.trade_no}", data={"action": "pay"})
    assert r.status_code == 302
    assert payment_status(number) == "closed"
    db.session.expire_all()
    trade = db.session.get(SandboxTrade, trade.id)
    assert trade.status == "refunded" and trade.refunded_amount == trade.amount
    order = db.session.get(Order, placed["orders"][0]["id"])
    assert order.status == "closed" and order.close_reason == "cancelled"
    assert db.session.execute(select(PaymentNotification.result)).scalar_one() == "refunded_late"
    [refund] = db.session.execute(select(PaymentRefund)).scalars()
    paid = trade.amount  # the goods and the delivery fee
    assert (refund.reason, refund.status, refund.amount) == ("late_payment", "succeeded", paid)
    assert payments.balance(refund.payment_id) == {"charged": paid, "refunded": paid, "reserved": paid}
    assert db.session.get(type(sku), sku.id).stock == 5


def test_notification_with_another_payments_trade_is_refused(app, api, client, factory):
    """K9: a correctly signed notification naming payment A with the trade of
    payment B (same amount) or an amount other than its trade's is refused;
    A stays pending, nothing is recorded."""
    buyer = factory.user()
    sku = factory.product(price=2500).skus[0]
    addr = factory.address(buyer)
    a = place(api, buyer, addr, sku, key="a")["payments"][0]["number"]
    b = place(api, buyer, addr, sku, key="b")["payments"][0]["number"]
    trade_b = start_online(api, buyer, b)
    trade_b.status = "paid"
    db.session.commit()
    start_online(api, buyer, a)  # A has a trade of its own, unpaid

    crossed = signed(app, dict(sandbox.notification_for(trade_b), out_trade_no=a, notify_id="n-cross"))
    r = notify(client, crossed)
    assert r.status_code == 400 and b"trade_no" in r.data
    unknown = signed(app, dict(sandbox.notification_for(trade_b), trade_no="SBX-made-up", notify_id="n-unknown"))
    r = notify(client, unknown)
    assert r.status_code == 400 and b"trade_no" in r.data
    assert payment_status(a) == "pending" and payment_status(b) == "pending"
    assert db.session.execute(select(func.count(PaymentNotification.id))).scalar_one() == 0
    assert notify(client, sandbox.notification_for(trade_b)).data == b"success"  # B's own pays B only
    assert payment_status(b) == "paid" and payment_status(a) == "pending"


def test_cash_on_delivery(api, client, factory):
    """K9: cash on delivery sends the order to shipping unpaid; receipt records the payment."""
    buyer, admin = factory.user(), factory.admin()
    placed = place(api, buyer, factory.address(buyer), factory.product(price=800).skus[0])
    number, oid = placed["payments"][0]["number"], placed["orders"][0]["id"]
    r = api.post(f"/payments/{number}/pay", user=buyer, json={"method": "cod"})
    assert r.status_code == 200 and r.json == {
        "redirect_url": None,
        "qr_code": None,
        "client_params": None,
        "offline": True,
        "test_mode": False,
    }
    detail = api.get(f"/orders/{oid}", user=buyer).json
    assert detail["status"] == "paid" and detail["paid_at"] is None and detail["payment_method"] == "cod"
    assert api.post(f"/payments/{number}/pay", user=buyer, json={"method": "cod"}).status_code == 409
    assert (
        api.post(f"/admin/orders/{oid}/ship", user=admin, json={"carrier": "EMS", "tracking_no": "E1"}).status_code
        == 200
    )
    detail = api.post(f"/orders/{oid}/receive", user=buyer).json
    assert detail["status"] == "received" and detail["paid_at"] is not None


def test_cod_can_be_turned_off(api, factory):
    """K9: the payment.cod_enabled setting hides and refuses cash on delivery."""
    from jishi import settings

    buyer = factory.user()
    placed = place(api, buyer, factory.address(buyer), factory.product().skus[0])
    assert [m["code"] for m in api.get("/payment-methods").json["items"]] == ["sandbox", "cod"]
    settings.set_many({"payment.cod_enabled": False})
    db.session.commit()
    g.pop("jishi_settings", None)  # requests share the test's app context (and its cache)
    assert [m["code"] for m in api.get("/payment-methods").json["items"]] == ["sandbox"]
    r = api.post(f"/payments/{placed['payments'][0]['number']}/pay", user=buyer, json={"method": "cod"})
    assert r.status_code == 422 and r.json["field"] == "method"


def test_pay_bad_input(api, factory):
    """K14: an unknown method or a missing one names the field."""
    buyer = factory.user()
    placed = place(api, buyer, factory.address(buyer), factory.product().skus[0])
    number = placed["payments"][0]["number"]
    r = api.post(f"/payments/{number}/pay", user=buyer, json={"method": "bitcoin"})
    assert r.status_code == 422 and r.json["field"] == "method"
    r = api.post(f"/payments/{number}/pay", user=buyer, json={})
    assert r.status_code == 422 and r.json["field"] == "method"
    assert api.get("/payments/NOPE", user=buyer).status_code == 404


class SplitBySeller:
    """Throwaway plugin: one group (order) per seller, like the multistore plugin."""

    @hookimpl
    def split_cart(self, lines, user):
        from jishi.hookspecs import CartGroup

        sellers = sorted({line.seller_id or 0 for line in lines})
        return [
            CartGroup(
                key=f"seller:{s}",
                title=f"store {s}",
                seller_id=s or None,
                line_keys=tuple(line.key for line in lines if (line.seller_id or 0) == s),
            )
            for s in sellers
        ]


def _two_store_checkout(api, factory):
    buyer = factory.user()
    addr = factory.address(buyer)
    a = factory.product(price=2000, seller_id=1).skus[0]
    b = factory.product(price=3000, seller_id=2).skus[0]
    r = api.post(
        "/checkout/place",
        user=buyer,
        headers={"Idempotency-Key": "two"},
        json={"items": [{"sku_id": a.id, "quantity": 1}, {"sku_id": b.id, "quantity": 1}], "address_id": addr.id},
    )
    assert r.status_code == 201, r.json
    return buyer, r.json


class TestCombinedPayment:
    @pytest.fixture
    def extra_plugins(self):
        return [SplitBySeller()]

    def test_one_payment_for_all_orders(self, api, client, factory):
        """K8/K9 (合并支付): one payment order pays every store's order at once."""
        buyer, placed = _two_store_checkout(api, factory)
        assert len(placed["orders"]) == 2 and len(placed["payments"]) == 1
        payment = placed["payments"][0]
        assert payment["amount"] == sum(o["pay_amount"] for o in placed["orders"]) == 2000 + 1000 + 3000 + 1000
        r = api.post(f"/payments/{payment['number']}/pay", user=buyer, json={"method": "sandbox"})
        assert r.json["redirect_url"].startswith("http://shop.test/sandbox-gateway/pay/")
        client.post(urlparse(r.json["redirect_url"]).path, data={"action": "pay"})
        assert {o["status"] for o in api.get(f"/payments/{payment['number']}", user=buyer).json["orders"]} == {"paid"}

    def test_cancelling_one_order_lowers_the_payment(self, app, api, client, factory, login):
        """K8/K9 (合并支付): cancelling one order of a payment lowers what the
        payment asks (API and pay page); a notification for the old amount
        marks nothing paid and is recorded nowhere; one for what is left pays
        only the order still payable."""
        buyer = factory.user()
        a = factory.product(price=1234, seller_id=1, is_virtual=True).skus[0]
        b = factory.product(price=555, seller_id=2, is_virtual=True).skus[0]
        r = api.post(
            "/checkout/place",
            user=buyer,
            headers={"Idempotency-Key": "cancel-one"},
            json={"items": [{"sku_id": a.id, "quantity": 1}, {"sku_id": b.id, "quantity": 1}]},
        )
        assert r.status_code == 201, r.json
        [payment] = r.json["payments"]
        number = payment["number"]
        assert payment["amount"] == 1789
        keep, drop = sorted(r.json["orders"], key=lambda o: -o["pay_amount"])
        assert (keep["pay_amount"], drop["pay_amount"]) == (1234, 555)
        stale = start_online(api, buyer, number)  # a gateway page opened for 1789
        assert stale.amount == 1789

        assert api.post(f"/orders/{drop['id']}/cancel", user=buyer).status_code == 200
        assert api.get(f"/payments/{number}", user=buyer).json["amount"] == 1234
        login(buyer)
        page = client.get(f"/pay/{number}").get_data(as_text=True)
        assert "¥12.34" in page and "¥17.89" not in page
        db.session.expire_all()
        assert db.session.get(SandboxTrade, stale.id).status == "closed"  # its page takes no money

        # paying the stale page, or a notification for 1789: refused, nothing recorded
        client.post(f"/sandbox-gateway/pay/{stale.trade_no}", data={"action": "pay"})
        old = signed(app, dict(sandbox.notification_for(stale), notify_id="n-stale"))
        resp = notify(client, old)
        assert resp.status_code == 400 and b"total_amount" in resp.data
        assert payment_status(number) == "pending"
        assert db.session.execute(select(func.count(PaymentNotification.id))).scalar_one() == 0
        assert {o["status"] for o in api.get(f"/payments/{number}", user=buyer).json["orders"]} == {
            "pending_payment",
            "closed",
        }

        trade = start_online(api, buyer, number)
        assert trade.amount == 1234 and trade.trade_no != stale.trade_no
        assert notify(client, sandbox.notification_for(trade)).data == b"success"
        assert payment_status(number) == "paid"
        statuses = {o["id"]: o["status"] for o in api.get(f"/payments/{number}", user=buyer).json["orders"]}
        assert statuses == {keep["id"]: "paid", drop["id"]: "closed"}


class TestPerStorePayment:
    @pytest.fixture
    def extra_plugins(self):
        return [SplitBySeller()]

    @pytest.fixture
    def app_config(self):
        return {"JISHI_PAYMENT_MODE": "per_order"}

    def test_each_store_paid_on_its_own(self, api, client, factory):
        """K9 (订单按店铺支付): one payment per store; paying one leaves the other pending;
        a retry with the same key answers both."""
        buyer, placed = _two_store_checkout(api, factory)
        assert len(placed["payments"]) == 2
        first, second = placed["payments"]
        assert [len(p["orders"]) for p in placed["payments"]] == [1, 1]
        r = api.post(f"/payments/{first['number']}/pay", user=buyer, json={"method": "sandbox"})
        client.post(urlparse(r.json["redirect_url"]).path, data={"action": "pay"})
        assert payment_status(first["number"]) == "paid"
        assert payment_status(second["number"]) == "pending"
        again = api.post(
            "/checkout/place",
            user=buyer,
            headers={"Idempotency-Key": "two"},
            json={"items": [{"sku_id": 1, "quantity": 1}], "address_id": 1},
        )
        assert again.status_code == 200
        assert [p["id"] for p in again.json["payments"]] == [first["id"], second["id"]]
