"""WXP-JOURNEY: WeChat Pay through the kernel's API, against the fake
(issue 14): checkout → start (each channel) → the buyer pays → the signed
notification → paid → a partial refund (PROCESSING, then the refund
notification) → balances exact; a late payment to a closed order is
refunded through WeChat Pay; a dropped notification is recovered by the
reconciliation query."""

from __future__ import annotations

import urllib.request
from datetime import timedelta

import pytest
from jishi.db import db, utcnow
from jishi.models import Order, OrderLine, PaymentOrder, PaymentRefund
from jishi.payments import service as payments
from jishi.testing import flows
from sqlalchemy import select

OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"


def _place(api, factory, price=3333, qty=3):
    buyer = factory.user()
    sku = factory.product(price=price, stock=10).skus[0]
    data = flows.place_api(api, buyer, [(sku, qty)], factory.address(buyer))
    return buyer, data["payments"][0]["number"], data["orders"][0]["id"]


def _collect(wx):
    notes = []
    wx.fake.deliver = lambda url, headers, body: notes.append((url, headers, body))
    return notes


def _pay(wx, api, buyer, number, channel):
    """Start with ``channel`` through the API and pay as the buyer would."""
    body = {"method": "wechatpay", "channel": channel}
    if channel in ("jsapi", "mini_program"):
        body["openid"] = OPENID
    r = api.post(f"/payments/{number}/pay", user=buyer, json=body)
    assert r.status_code == 200, r.json
    assert r.json["test_mode"] is True
    if channel in ("jsapi", "mini_program"):
        return wx.fake.request_payment(r.json["client_params"])
    notes = _collect(wx)
    url = r.json["qr_code"] if channel in ("native", "pc") else r.json["redirect_url"]
    assert url.startswith(wx.fake.base)
    try:
        urllib.request.urlopen(urllib.request.Request(url, data=b"", method="POST"))
    except urllib.error.URLError:
        pass  # H5 sends the browser back to the shop: not served here
    [(note_url, headers, raw)] = notes
    from jishi_wechatpay.fake import Notification

    return Notification(note_url, headers, raw)


def _payment(number):
    db.session.expire_all()
    return db.session.execute(select(PaymentOrder).where(PaymentOrder.number == number)).scalar_one()


@pytest.mark.parametrize("channel", ["native", "h5", "jsapi", "mini_program"])
def test_journey_pay_partial_refund_balances(wx, api, factory, channel):
    buyer, number, oid = _place(api, factory)
    methods = api.get("/payment-methods", user=buyer, query_string={"channel": channel}).json["items"]
    assert next(m for m in methods if m["code"] == "wechatpay")["test_mode"] is True
    note = _pay(wx, api, buyer, number, channel)
    assert wx.send(note).status_code == 204
    payment = _payment(number)
    total = payment.amount
    assert payment.status == "paid" and payment.method == "wechatpay"
    assert db.session.get(Order, oid).status == "paid"

    # a partial refund: one unit of three, through after-sales
    admin = factory.admin()
    [line] = db.session.execute(select(OrderLine).where(OrderLine.order_id == oid)).scalars()
    r = api.post(
        "/refunds",
        user=buyer,
        json={
            "order_id": oid,
            "kind": "refund_only",
            "lines": [{"order_line_id": line.id, "quantity": 1}],
            "reason": "x",
        },
    )
    assert r.status_code == 201, r.json
    amount = r.json["amount"]
    r = api.post(f"/admin/refunds/{r.json['id']}/approve", user=admin, json={})
    assert r.status_code == 200, r.json
    [pr] = db.session.execute(select(PaymentRefund)).scalars()
    assert (pr.status, pr.amount, pr.gateway) == ("pending", amount, "wechatpay")  # PROCESSING at WeChat Pay
    sent = wx.fake.refunds[pr.number]
    assert sent["amount"]["refund"] == amount and sent["amount"]["total"] == total
    assert payments.balance(payment.id) == {"charged": total, "refunded": 0, "reserved": amount}

    refund_note = wx.fake.finish_refund(pr.number)
    assert wx.send(refund_note).status_code == 204
    assert wx.send(refund_note).status_code == 204  # again: harmless
    db.session.expire_all()
    assert db.session.get(PaymentRefund, pr.id).status == "succeeded"
    assert payments.balance(payment.id) == {"charged": total, "refunded": amount, "reserved": amount}
    assert wx.fake.trades[pr.trade_number].refunded == amount


def test_refund_abnormal_is_visible_and_retried(wx, api, factory):
    """退款异常: the refund notification ABNORMAL leaves the refund abnormal
    (not done, money not counted as returned)."""
    buyer, number, oid = _place(api, factory, price=2000, qty=1)
    assert wx.send(_pay(wx, api, buyer, number, "native")).status_code == 204
    admin = factory.admin()
    [line] = db.session.execute(select(OrderLine).where(OrderLine.order_id == oid)).scalars()
    r = api.post(
        "/refunds",
        user=buyer,
        json={
            "order_id": oid,
            "kind": "refund_only",
            "lines": [{"order_line_id": line.id, "quantity": 1}],
            "reason": "x",
        },
    )
    assert api.post(f"/admin/refunds/{r.json['id']}/approve", user=admin, json={}).status_code == 200
    [pr] = db.session.execute(select(PaymentRefund)).scalars()
    assert wx.send(wx.fake.finish_refund(pr.number, "ABNORMAL")).status_code == 204
    db.session.expire_all()
    pr = db.session.get(PaymentRefund, pr.id)
    assert pr.status == "abnormal"
    assert payments.balance(pr.payment_id)["refunded"] == 0


def test_dropped_notification_recovered_by_reconciliation(wx, api, factory):
    """The notification never arrives: the reconciliation job's query finds
    the trade paid and records the payment (once)."""
    buyer, number, oid = _place(api, factory, price=1000, qty=1)
    _pay(wx, api, buyer, number, "native")  # paid at WeChat Pay; the notification is dropped
    assert _payment(number).status == "pending"
    counts = payments.reconcile(now=utcnow() + timedelta(minutes=5))
    assert counts["recovered"] == 1
    payment = _payment(number)
    assert payment.status == "paid" and payment.gateway_trade_no == wx.fake.trades[number].transaction_id
    assert payments.reconcile(now=utcnow() + timedelta(minutes=6))["recovered"] == 0


def test_late_payment_to_a_closed_order_is_refunded(wx, api, factory):
    """The buyer cancels while WeChat Pay's page is open and pays there
    anyway (or paid just before): the money is recorded and refunded
    through WeChat Pay at once; the order stays closed."""
    buyer, number, oid = _place(api, factory, price=1500, qty=1)
    notes = _collect(wx)
    r = api.post(f"/payments/{number}/pay", user=buyer, json={"method": "wechatpay", "channel": "native"})
    assert r.status_code == 200
    note = wx.fake.pay(number)  # paid at WeChat Pay; the notification is late
    r = api.post(f"/orders/{oid}/cancel", user=buyer)
    db.session.expire_all()
    order = db.session.get(Order, oid)
    assert order.status == "closed"
    assert wx.send(note).status_code == 204
    db.session.expire_all()
    [pr] = db.session.execute(select(PaymentRefund)).scalars()
    total = wx.fake.trades[number].total
    assert (pr.reason, pr.status, pr.amount) == ("late_payment", "pending", total)
    assert wx.fake.refunds[pr.number]["amount"]["refund"] == total
    assert wx.send(wx.fake.finish_refund(pr.number)).status_code == 204
    db.session.expire_all()
    assert db.session.get(PaymentRefund, pr.id).status == "succeeded"
    assert db.session.get(Order, oid).status == "closed"
    assert payments.balance(pr.payment_id) == {"charged": total, "refunded": total, "reserved": total}
    assert not notes


@pytest.mark.parametrize("paid_meanwhile", [False, True])
def test_timeout_closes_at_wechatpay_first(wx, api, factory, paid_meanwhile):
    """Issue 14: nothing is closed locally before WeChat Pay closed it: the
    unpaid-order timeout closes the trade there (the open QR code takes no
    money); a trade paid meanwhile (ORDERPAID) is recorded as paid instead."""
    from jishi.orders import service as orders_service
    from sqlalchemy import update

    buyer, number, oid = _place(api, factory, price=1500, qty=1)
    r = api.post(f"/payments/{number}/pay", user=buyer, json={"method": "wechatpay", "channel": "native"})
    assert r.status_code == 200
    if paid_meanwhile:
        wx.fake.pay(number)
    db.session.execute(
        update(PaymentOrder).where(PaymentOrder.number == number).values(created_at=utcnow() - timedelta(hours=1))
    )
    db.session.commit()
    orders_service.close_unpaid()
    db.session.expire_all()
    if paid_meanwhile:
        assert _payment(number).status == "paid" and db.session.get(Order, oid).status == "paid"
    else:
        assert wx.fake.trades[number].trade_state == "CLOSED"
        assert _payment(number).status == "closed" and db.session.get(Order, oid).status == "closed"
        assert wx.fake.pay(number) is None  # the page left open takes no money


def test_refund_notifications_that_do_not_check_out(wx, api, factory):
    """A refund notification naming another merchant, an unknown
    out_refund_no, another trade, or a stale timestamp changes nothing and
    is answered FAIL; the genuine one then settles the refund."""
    import time

    buyer, number, oid = _place(api, factory, price=2000, qty=1)
    assert wx.send(_pay(wx, api, buyer, number, "native")).status_code == 204
    admin = factory.admin()
    [line] = db.session.execute(select(OrderLine).where(OrderLine.order_id == oid)).scalars()
    r = api.post(
        "/refunds",
        user=buyer,
        json={
            "order_id": oid,
            "kind": "refund_only",
            "lines": [{"order_line_id": line.id, "quantity": 1}],
            "reason": "x",
        },
    )
    assert api.post(f"/admin/refunds/{r.json['id']}/approve", user=admin, json={}).status_code == 200
    [pr] = db.session.execute(select(PaymentRefund)).scalars()
    wx.fake.finish_refund(pr.number)
    record = wx.fake.refunds[pr.number]
    bad = [
        wx.fake.refund_notification(record, mchid="1900000999"),
        wx.fake.refund_notification(record, out_refund_no="T000000000000"),
        wx.fake.refund_notification(record, out_trade_no="P000000000000", transaction_id="4200000000"),
    ]
    stale = wx.fake.refund_notification(record)
    data = {k: record[k] for k in ("out_trade_no", "transaction_id", "out_refund_no", "refund_id")}
    data.update(mchid=wx.merchant.mchid, refund_status="SUCCESS", amount=record["amount"])
    bad.append(
        wx.fake.notification(stale.url, "REFUND.SUCCESS", "refund", data, "退款成功", timestamp=int(time.time()) - 900)
    )
    for note in bad:
        resp = wx.send(note)
        assert resp.status_code == 400 and resp.get_json()["code"] == "FAIL", resp.get_data(as_text=True)
        db.session.expire_all()
        assert db.session.get(PaymentRefund, pr.id).status == "pending"
    assert wx.send(wx.fake.refund_notification(record)).status_code == 204
    db.session.expire_all()
    assert db.session.get(PaymentRefund, pr.id).status == "succeeded"
