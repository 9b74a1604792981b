"""WXP-GW: the WeChat Pay gateway against the local fake, through the
kernel's payment service: each channel starts a real (fake) trade with
signed requests, a notification pays the payment once, query / close /
refund / profit sharing speak the v3 API (issue 14, plugins/wechatpay)."""

from __future__ import annotations

import urllib.parse
import urllib.request

import pytest
from jishi.db import db
from jishi.payments import service
from jishi_wechatpay import crypto
from jishi_wechatpay.gateway import WechatPay

from .helpers import APPID, MINI_APPID


def _status(payment):
    db.session.expire_all()
    return db.session.get(type(payment), payment.id).status


@pytest.mark.parametrize("channel", ["native", "pc"])
def test_native_qr_then_notification_pays_once(wx, channel):
    """WXP-NATIVE: native (and a desktop's pc) answers the code_url as the
    QR code; the fake's trade asks the payment's amount in fen with the
    path-only notify URL; its signed, encrypted notification marks the
    payment paid (answered 204); the same notification again changes
    nothing and is answered 204 too."""
    _, payment = wx.place(price=1234, quantity=2)
    started = wx.start(payment, channel)
    assert started.qr_code and started.qr_code.startswith(wx.fake.base + "/pay/wx")
    trade = wx.fake.trades[payment.number]
    assert trade.total == payment.amount and trade.trade_type == "NATIVE" and trade.appid == APPID
    assert trade.notify_url.endswith("/payments/notify/wechatpay") and "?" not in trade.notify_url
    assert trade.params["settle_info"] == {"profit_sharing": True}
    note = wx.pay(payment)
    assert wx.send(note).status_code == 204
    assert _status(payment) == "paid"
    db.session.expire_all()
    assert db.session.get(type(payment), payment.id).gateway_trade_no == trade.transaction_id
    again = wx.send(note)
    assert again.status_code == 204
    assert service.balance(payment.id)["charged"] == trade.total


@pytest.mark.parametrize("channel,appid", [("jsapi", APPID), ("mini_program", MINI_APPID)])
def test_jsapi_and_mini_program_answer_signed_request_payment_params(wx, channel, appid):
    """WXP-JSAPI: the prepay answers wx.requestPayment's parameters for the
    channel's app id, paySign by the merchant key (the fake checks it as
    WeChat's client does); paying them sends the notification."""
    _, payment = wx.place(price=990)
    started = wx.start(payment, channel, openid="oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
    params = dict(started.client_params)
    assert set(params) == {"appId", "timeStamp", "nonceStr", "package", "signType", "paySign"}
    assert params["appId"] == appid and params["signType"] == "RSA" and params["package"].startswith("prepay_id=wx")
    trade = wx.fake.trades[payment.number]
    assert trade.trade_type == "JSAPI" and trade.openid == "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
    forged = {**params, "package": params["package"] + "x"}
    with pytest.raises(ValueError):
        wx.fake.request_payment(forged)
    note = wx.fake.request_payment(params)
    assert wx.send(note).status_code == 204
    assert _status(payment) == "paid"


def test_jsapi_without_openid_and_h5_without_ip_are_refused(wx):
    """WXP-JSAPI: no openid, no prepay (422 naming openid); H5 needs the
    payer's IP (client_ip)."""
    _, payment = wx.place()
    with pytest.raises(service.PaymentError) as err:
        wx.start(payment, "mini_program")
    assert err.value.problem.field == "openid"
    with pytest.raises(service.PaymentError) as err:
        wx.start(payment, "h5", client_ip="")
    assert err.value.problem.field == "client_ip"
    assert payment.number not in wx.fake.trades


def test_h5_redirects_to_the_cashier_which_comes_back(wx):
    """WXP-H5: h5 redirects to h5_url with redirect_url (the shop's return
    page); the buyer confirms on the fake's page, which notifies and sends
    the browser back."""
    _, payment = wx.place(price=500)
    started = wx.start(payment, "h5")
    url = urllib.parse.urlsplit(started.redirect_url)
    query = urllib.parse.parse_qs(url.query)
    assert started.redirect_url.startswith(wx.fake.base + "/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx")
    assert query["redirect_url"][0].endswith(f"/pay/return/{payment.number}")
    assert wx.fake.trades[payment.number].params["scene_info"]["payer_client_ip"] == "203.0.113.9"
    page = urllib.request.urlopen(started.redirect_url).read().decode()
    assert f"¥{payment.amount // 100}.{payment.amount % 100:02d}" in page and "测试环境" in page
    notes = []
    wx.fake.deliver = lambda url, headers, body: notes.append((url, headers, body))

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kw):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        opener.open(urllib.request.Request(started.redirect_url, data=b"", method="POST"))
    except urllib.error.HTTPError as exc:
        assert exc.code == 302 and exc.headers["Location"] == query["redirect_url"][0]
    [(note_url, headers, body)] = notes
    assert wx.post(note_url, headers, body).status_code == 204
    assert _status(payment) == "paid"


def test_start_refused_by_the_api_or_unreachable(wx, app):
    """WXP-START: WeChat Pay's refusal is a PaymentError the buyer reads;
    an unreachable API a 503 PaymentError; a trade asked again with the same
    amount is the same trade."""
    _, payment = wx.place()
    wx.start(payment, "native")
    wx.start(payment, "native")  # the buyer chose again: same out_trade_no, same amount
    wx.fake.pay(payment.number)
    with pytest.raises(service.PaymentError) as err:
        wx.start(payment, "native")
    assert "ORDERPAID" in err.value.problem.message
    _, other = wx.place()
    wx.fake.down = True
    with pytest.raises(service.PaymentError) as err:
        wx.start(other, "native")
    assert err.value.status == 503


def test_requests_are_signed_and_a_wrong_key_is_refused(wx, wx_merchant):
    """WXP-SIGN: the fake verifies each request's Authorization with the
    merchant's public key; a request signed with another key is 401
    SIGN_ERROR at the fake and a refused start here."""
    from jishi_wechatpay import config
    from jishi_wechatpay.fake import new_key

    _, payment = wx.place()
    wx.start(payment, "native")
    assert wx.fake.requests[-1] == ("POST", "/v3/pay/transactions/native", 200)
    wx.configure(**{config.PRIVATE_KEY: crypto.private_pem(new_key())})
    _, other = wx.place()
    with pytest.raises(service.PaymentError):
        wx.start(other, "native")
    assert wx.fake.requests[-1] == ("POST", "/v3/pay/transactions/native", 401)


def test_answers_with_a_bad_signature_are_not_trusted(wx, app):
    """WXP-VERIFY: an answer not signed by the configured platform key
    (another key configured) is not trusted: query is failed, retryable."""
    from jishi_wechatpay import config
    from jishi_wechatpay.fake import new_key

    _, payment = wx.place()
    wx.start(payment, "native")
    wx.configure(**{config.PLATFORM_KEY: crypto.public_pem(new_key())})
    result = WechatPay().query(payment)
    assert result.status == "failed" and result.retryable and "does not verify" in result.message


def test_query_and_close(wx):
    """WXP-QUERY: unknown trade → not_paid; started → not_paid; paid →
    succeeded with amount, transaction_id and time. WXP-CLOSE: an unpaid
    trade closes (then queries closed); a paid one answers its payment."""
    gw = WechatPay()
    _, payment = wx.place(price=700)
    assert gw.query(payment).status == "not_paid"
    wx.start(payment, "native")
    assert gw.query(payment).status == "not_paid"
    wx.fake.pay(payment.number)
    paid = gw.query(payment)
    trade = wx.fake.trades[payment.number]
    assert (paid.status, paid.amount, paid.reference) == ("succeeded", payment.amount, trade.transaction_id)
    assert paid.paid_at is not None and paid.paid_at.tzinfo is not None
    closed_paid = gw.close(payment)
    assert closed_paid.status == "succeeded" and closed_paid.amount == payment.amount
    _, other = wx.place()
    wx.start(other, "native")
    assert gw.close(other).status == "closed"
    assert wx.fake.trades[other.number].trade_state == "CLOSED"
    assert gw.query(other).status == "closed"
    assert gw.close(other).status == "closed"  # again: still closed


def test_network_errors_never_raise(wx, app):
    """Contract: a network error answers failed, retryable."""
    from jishi.hookspecs import RefundRequest

    _, payment = wx.place()
    wx.fake.stop()
    gw = WechatPay()
    for result in (
        gw.query(payment),
        gw.close(payment),
        gw.refund(RefundRequest("T1", payment.number, "", 100, 50)),
        gw.query_refund(RefundRequest("T1", payment.number, "", 100, 50)),
    ):
        assert result.status == "failed" and result.retryable


def _paid(wx, price=1000):
    _, payment = wx.place(price=price)
    wx.start(payment, "native")
    assert wx.send(wx.pay(payment)).status_code == 204
    db.session.expire_all()
    return db.session.get(type(payment), payment.id)


def test_refund_processing_then_notification(wx):
    """WXP-REFUND: a refund answers PROCESSING → pending; the same number
    again is the same refund (never a second one); a query says pending,
    then SUCCESS → succeeded; the refund notification decodes to kind
    refund, status succeeded, our out_refund_no and the amount in fen."""
    from jishi.hookspecs import RefundRequest

    payment = _paid(wx, 1000)
    gw = WechatPay()
    request = RefundRequest("T20260101001", payment.number, payment.gateway_trade_no, payment.amount, 300, "退货")
    first = gw.refund(request)
    assert (first.status, first.amount) == ("pending", 300) and first.reference.startswith("50000")
    assert gw.refund(request).reference == first.reference
    assert wx.fake.trades[payment.number].refunded == 300
    assert wx.fake.refunds["T20260101001"]["notify_url"].endswith("/payments/notify/wechatpay/refund")
    assert gw.query_refund(request).status == "pending"
    too_much = gw.refund(
        RefundRequest("T20260101002", payment.number, payment.gateway_trade_no, payment.amount, payment.amount - 299)
    )
    assert too_much.status == "failed" and not too_much.retryable and "NOT_ENOUGH" in too_much.message
    note = wx.fake.finish_refund("T20260101001")
    assert gw.query_refund(request).status == "succeeded"
    cfg = __import__("jishi_wechatpay.config", fromlist=["load"]).load()
    decoded = gw.decode_notification(cfg, note.body, "refund")
    assert (decoded.kind, decoded.status, decoded.refund_number, decoded.amount) == (
        "refund",
        "succeeded",
        "T20260101001",
        300,
    )
    assert gw.query_refund(RefundRequest("T-none-999", payment.number, "", payment.amount, 1)).retryable


@pytest.mark.parametrize("outcome,status", [("ABNORMAL", "abnormal"), ("CLOSED", "failed")])
def test_refund_abnormal_and_closed(wx, outcome, status):
    """WXP-REFUND: 退款异常 (ABNORMAL) is its own visible status; CLOSED is failed."""
    from jishi.hookspecs import RefundRequest
    from jishi_wechatpay import config

    payment = _paid(wx, 800)
    gw = WechatPay()
    request = RefundRequest("T20260101003", payment.number, payment.gateway_trade_no, payment.amount, payment.amount)
    assert gw.refund(request).status == "pending"
    note = wx.fake.finish_refund("T20260101003", outcome)
    assert gw.query_refund(request).status == status
    assert gw.decode_notification(config.load(), note.body, "refund").status == status


def test_profit_sharing_add_share_return_unfreeze(wx):
    """WXP-SHARE: a receiver is added (its name RSA-OAEP encrypted with the
    platform key, the fake decrypts it); a sharing of a paid trade
    succeeds; a return (分账回退) of part of it succeeds, beyond it fails;
    unfreeze finishes the trade (no more sharing)."""
    from jishi.hookspecs import ProfitShareRequest

    payment = _paid(wx, 10000)
    gw = WechatPay()
    receiver = {"type": "MERCHANT_ID", "account": "1900000110", "name": "深圳分店有限公司"}
    assert gw.add_receiver(receiver).status == "succeeded"
    assert wx.fake.receivers["1900000110"]["name"] == "深圳分店有限公司"
    share = ProfitShareRequest("S1001", payment.number, payment.gateway_trade_no, 2500, receiver, "商户结算")
    shared = gw.profit_share(share)
    assert shared.status == "succeeded" and shared.amount == 2500 and shared.reference.startswith("3008")
    assert gw.profit_share(share).reference == shared.reference  # idempotent by out_order_no
    over = gw.profit_share(ProfitShareRequest("S1002", payment.number, payment.gateway_trade_no, 900, receiver))
    assert over.status == "failed"  # beyond the 30% the merchant may share
    back = ProfitShareRequest(
        "R1001",
        payment.number,
        payment.gateway_trade_no,
        1000,
        receiver,
        share_number="S1001",
        gateway_share_no=shared.reference,
    )
    assert gw.profit_return(back).status == "succeeded"
    beyond = ProfitShareRequest("R1002", payment.number, payment.gateway_trade_no, 1600, receiver, share_number="S1001")
    assert gw.profit_return(beyond).status == "failed"
    wx.fake.return_failure = "BALANCE_NOT_ENOUGH"
    short = ProfitShareRequest("R1003", payment.number, payment.gateway_trade_no, 100, receiver, share_number="S1001")
    refused = gw.profit_return(short)
    assert refused.status == "failed" and "BALANCE_NOT_ENOUGH" in refused.message
    assert gw.finish_sharing(payment, "U1001").status == "succeeded"
    assert wx.fake.trades[payment.number].unfrozen
    late = gw.profit_share(ProfitShareRequest("S1003", payment.number, payment.gateway_trade_no, 100, receiver))
    assert late.status == "failed"


def test_unknown_receiver_cannot_be_shared_with(wx):
    from jishi.hookspecs import ProfitShareRequest

    payment = _paid(wx, 10000)
    result = WechatPay().profit_share(
        ProfitShareRequest(
            "S2001", payment.number, payment.gateway_trade_no, 100, {"type": "MERCHANT_ID", "account": "1900000999"}
        )
    )
    assert result.status == "failed" and "RECEIVER_INVALID" in result.message


@pytest.mark.wechatpay_mode("certificate")
def test_platform_certificate_mode(wx):
    """WXP-CERT: with a platform certificate (serial in Wechatpay-Serial)
    instead of the public key, answers and notifications verify the same."""
    assert not wx.fake.platform_key_id.startswith("PUB_KEY_ID_")
    assert "CERTIFICATE" in wx.fake.platform_key_pem
    _, payment = wx.place(price=321)
    assert wx.start(payment, "native").qr_code
    assert wx.send(wx.pay(payment)).status_code == 204
    assert _status(payment) == "paid"
    assert wx.fake.trades[payment.number].params["amount"]["total"] == payment.amount
