"""WXP-NOTIFY: notifications that do not check out change nothing and are
answered as WeChat Pay expects (4xx with {"code": "FAIL", "message": ...},
so it retries); a good one is answered 204 once and again (issue 14's
negative cases: forged, tampered, stale, replayed, other merchant's id,
other app id, wrong amount, another payment's trade)."""

from __future__ import annotations

import json
import time

import pytest
from jishi.db import db
from jishi.payments import service
from jishi.payments.models import PaymentEvent, PaymentNotification
from jishi_wechatpay.fake import FakeWechatPay, Notification


def _pending_payment(wx):
    _, payment = wx.place(price=1500)
    wx.start(payment, "native")
    trade = wx.fake.trades[payment.number]
    wx.fake.pay(payment.number)
    return payment, trade


def _assert_refused(wx, payment, note: Notification, field_word: str = ""):
    resp = wx.send(note)
    assert 400 <= resp.status_code < 600, resp.status_code
    body = resp.get_json()
    assert body["code"] == "FAIL" and body["message"]
    if field_word:
        assert field_word in body["message"], body["message"]
    db.session.expire_all()
    assert db.session.get(type(payment), payment.id).status == "pending"
    assert service.balance(payment.id)["charged"] == 0
    assert not db.session.execute(db.select(PaymentNotification)).scalars().all()
    return body


def _note(wx, trade, *, timestamp=None, **changes):
    data = {**trade.as_json(), **changes}
    return wx.fake.notification(
        trade.notify_url, "TRANSACTION.SUCCESS", "transaction", data, "支付成功", timestamp=timestamp
    )


def test_forged_signature(wx):
    """Signed by another platform key under our key id: refused."""
    payment, trade = _pending_payment(wx)
    forger = FakeWechatPay(wx.merchant)
    forger.platform_key_id = wx.fake.platform_key_id
    note = forger.notification(trade.notify_url, "TRANSACTION.SUCCESS", "transaction", trade.as_json(), "支付成功")
    _assert_refused(wx, payment, note, "signature")


def test_tampered_body(wx):
    """A body changed after signing (another resource spliced in): refused."""
    payment, trade = _pending_payment(wx)
    note = wx.fake.payment_notification(trade)
    other = _note(wx, trade, amount={"total": 1, "currency": "CNY"})
    body = json.loads(note.body)
    body["resource"] = json.loads(other.body)["resource"]
    tampered = Notification(note.url, note.headers, json.dumps(body, ensure_ascii=False).encode())
    _assert_refused(wx, payment, tampered, "signature")


def test_stale_timestamp_and_replay_of_an_old_one(wx):
    """A notification signed 10 minutes ago (the window is 5): refused, so
    a captured old notification cannot be replayed."""
    payment, trade = _pending_payment(wx)
    _assert_refused(wx, payment, _note(wx, trade, timestamp=int(time.time()) - 600), "time window")
    _assert_refused(wx, payment, _note(wx, trade, timestamp=int(time.time()) + 600), "time window")


def test_missing_headers_unknown_serial_and_signature_probe(wx):
    payment, trade = _pending_payment(wx)
    note = wx.fake.payment_notification(trade)
    bare = Notification(note.url, {"Content-Type": "application/json"}, note.body)
    _assert_refused(wx, payment, bare, "missing")
    other_serial = Notification(note.url, {**note.headers, "Wechatpay-Serial": "PUB_KEY_ID_0000"}, note.body)
    _assert_refused(wx, payment, other_serial, "Wechatpay-Serial")
    probe = Notification(note.url, {**note.headers, "Wechatpay-Signature": "WECHATPAY/SIGNTEST/abc"}, note.body)
    _assert_refused(wx, payment, probe, "SIGNTEST")


def test_other_apiv3_key_does_not_decrypt(wx):
    payment, trade = _pending_payment(wx)
    wx.fake.merchant = type(wx.merchant)(**{**wx.merchant.__dict__, "apiv3_key": "b" * 32})
    try:
        note = wx.fake.payment_notification(trade)
    finally:
        wx.fake.merchant = wx.merchant
    _assert_refused(wx, payment, note, "decrypt")


def test_other_merchant_and_other_app(wx):
    """Properly signed, but naming another mchid or another appid: refused."""
    payment, trade = _pending_payment(wx)
    _assert_refused(wx, payment, _note(wx, trade, mchid="1900000999"), "merchant")
    _assert_refused(wx, payment, _note(wx, trade, appid="wx0000000000other"), "app id")


def test_wrong_amount(wx):
    """The trade's total differs from what the payment asked: the kernel
    refuses to mark it paid, records the failure, answers FAIL."""
    payment, trade = _pending_payment(wx)
    resp = wx.send(_note(wx, trade, amount={"total": trade.total - 1, "currency": "CNY"}))
    db.session.expire_all()
    assert db.session.get(type(payment), payment.id).status == "pending"
    assert service.balance(payment.id)["charged"] == 0
    assert resp.status_code == 400 and resp.get_json()["code"] == "FAIL"
    failures = (
        db.session.execute(
            db.select(PaymentEvent).where(PaymentEvent.payment_id == payment.id, PaymentEvent.status == "failure")
        )
        .scalars()
        .all()
    )
    assert [f.amount for f in failures] == [trade.total - 1]  # recorded, visible


def test_another_payments_trade(wx, app):
    """A (genuinely signed) notification naming a payment that was never
    started with WeChat Pay: refused, that payment stays pending."""
    payment, trade = _pending_payment(wx)
    _, other = wx.place(price=1500)
    _assert_refused(wx, other, _note(wx, trade, out_trade_no=other.number), "gateway")
    db.session.expire_all()
    assert db.session.get(type(payment), payment.id).status == "pending"


def test_unknown_trade_and_not_success(wx):
    payment, trade = _pending_payment(wx)
    _assert_refused(wx, payment, _note(wx, trade, out_trade_no="P0000000000"), "out_trade_no")
    # NOTPAY: nothing to do, answered 204 (WeChat Pay stops), nothing changes
    resp = wx.send(_note(wx, trade, trade_state="NOTPAY"))
    assert resp.status_code == 204
    db.session.expire_all()
    assert db.session.get(type(payment), payment.id).status == "pending"


def test_refund_notification_on_the_payment_path_and_garbage(wx):
    payment, trade = _pending_payment(wx)
    note = wx.fake.notification(trade.notify_url, "REFUND.SUCCESS", "refund", {"mchid": wx.merchant.mchid}, "退款成功")
    _assert_refused(wx, payment, note, "refund")
    raw = b"not json"
    _assert_refused(
        wx,
        payment,
        Notification(trade.notify_url, {"Content-Type": "application/json", **wx.fake.signed_headers(raw)}, raw),
    )


def test_replayed_good_notification_changes_state_once(wx):
    """The same good notification three times: paid once, one charge event,
    every delivery answered 204 (WeChat Pay stops retrying)."""
    payment, trade = _pending_payment(wx)
    note = wx.fake.payment_notification(trade)
    assert [wx.send(note).status_code for _ in range(3)] == [204, 204, 204]
    db.session.expire_all()
    assert db.session.get(type(payment), payment.id).status == "paid"
    charges = (
        db.session.execute(
            db.select(PaymentEvent).where(PaymentEvent.payment_id == payment.id, PaymentEvent.kind == "charge")
        )
        .scalars()
        .all()
    )
    assert [(c.status, c.amount) for c in charges] == [("success", trade.total)]
    # a second, distinct notification of the same trade (WeChat Pay resends with a new id): still once
    assert wx.send(wx.fake.payment_notification(trade)).status_code == 204
    assert service.balance(payment.id)["charged"] == trade.total


@pytest.mark.wechatpay_mode("certificate")
def test_certificate_mode_refuses_the_public_key_id(wx):
    payment, trade = _pending_payment(wx)
    note = wx.fake.payment_notification(trade)
    _assert_refused(
        wx, payment, Notification(note.url, {**note.headers, "Wechatpay-Serial": "PUB_KEY_ID_1"}, note.body)
    )


def test_payment_a_named_with_payment_bs_transaction(wx):
    """A notification naming payment A with the transaction_id B was paid
    by (same amount): refused, A stays pending, B stays paid once."""
    a, _trade_a = _pending_payment(wx)
    _, b = wx.place(price=1500)
    wx.start(b, "native")
    trade_b = wx.fake.trades[b.number]
    assert wx.send(wx.pay(b)).status_code == 204  # B is paid with its transaction
    crossed = _note(wx, trade_b, out_trade_no=a.number)
    resp = wx.send(crossed)
    assert resp.status_code == 400 and resp.get_json()["code"] == "FAIL"
    db.session.expire_all()
    assert db.session.get(type(a), a.id).status == "pending"
    assert service.balance(a.id)["charged"] == 0
    assert service.balance(b.id)["charged"] == trade_b.total
