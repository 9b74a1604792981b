"""Issue 14 (plugins/alipay): the gateway against the local fake Alipay,
over HTTP with real RSA2 signatures both ways: each channel's start, query,
close, refunds (fund_change, idempotent retries), 分账, and failures that
never raise (an unreachable gateway, a forged answer)."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from jishi.gateways import Payer, PaymentError, ProfitShareRequest, RefundRequest, gateway, trade_number
from jishi_alipay import config, wire


def _gw():
    gw = gateway("alipay")
    assert gw is not None
    return gw


def _start(app, payment, channel, openid=None):
    with app.test_request_context("/"):
        return _gw().start(payment, channel, Payer(user=None, openid=openid))


def test_not_offered_until_configured(app, factory, fake, app_key_pem, ap):
    """Issue 14 (alipay): available() is False until Alipay is enabled with
    an app id and keys that read; then on its four channels only."""
    gw = _gw()
    assert not gw.available() and not gw.available("pc")
    ap.configure(fake, app_key_pem, **{config.ENABLED: False})
    assert not gw.available("pc")
    ap.configure(fake, app_key_pem, **{config.PUBLIC_KEY: "garbage"})
    assert not gw.available("pc")
    ap.configure(fake, app_key_pem)
    assert [c for c in ("pc", "h5", "jsapi", "mini_program", "native", "app") if gw.available(c)] == [
        "pc",
        "h5",
        "mini_program",
        "native",
    ]
    assert gw.test_mode  # pointed at the fake
    ap.configure(fake, app_key_pem, **{config.GATEWAY_URL: config.PRODUCTION_URL})
    assert not gw.test_mode


def test_page_pay_url_is_signed_for_the_fake(app, client, factory, alipay, ap):
    """Issue 14 (alipay): PC page pay answers a redirect to the gateway with
    the signed common parameters (timestamp in Beijing time, notify and
    return URLs, amount from fen); the fake's cashier accepts it."""
    buyer, payment = ap.place(factory, price=1230)
    started = _start(app, payment, "pc")
    url = urlsplit(started.redirect_url)
    assert f"{url.scheme}://{url.netloc}{url.path}" == alipay.gateway_url
    params = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert params["method"] == "alipay.trade.page.pay"
    assert (params["format"], params["charset"], params["sign_type"], params["version"]) == (
        "JSON",
        "utf-8",
        "RSA2",
        "1.0",
    )
    assert params["notify_url"].endswith("/payments/notify/alipay")
    assert wire.parse_time(params["timestamp"]) is not None
    biz = json.loads(params["biz_content"])
    assert biz["out_trade_no"] == trade_number(payment)
    assert biz["total_amount"] == f"{payment.amount // 100}.{payment.amount % 100:02d}"
    assert biz["product_code"] == "FAST_INSTANT_TRADE_PAY"
    import urllib.request

    with urllib.request.urlopen(started.redirect_url) as resp:
        page = resp.read().decode()
    assert "收银台" in page and biz["total_amount"] in page
    assert alipay.trade(payment.number).status == "WAIT_BUYER_PAY"


def test_wap_pay_and_a_tampered_url(app, factory, alipay, ap):
    """Issue 14 (alipay): H5 is wap pay (QUICK_WAP_WAY); a URL whose amount
    was changed is refused by the gateway's signature check."""
    import urllib.error
    import urllib.request

    buyer, payment = ap.place(factory)
    started = _start(app, payment, "h5")
    params = {k: v[0] for k, v in parse_qs(urlsplit(started.redirect_url).query).items()}
    assert params["method"] == "alipay.trade.wap.pay"
    assert json.loads(params["biz_content"])["product_code"] == "QUICK_WAP_WAY"
    tampered = started.redirect_url.replace("total_amount%22%3A%22", "total_amount%22%3A%221")
    assert tampered != started.redirect_url
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(tampered)
    assert "isv.invalid-signature" in refused.value.read().decode()
    assert payment.number not in alipay.trades


def test_native_precreate_answers_a_qr_code(app, factory, alipay, ap):
    """Issue 14 (alipay): native is precreate; the answer (signed by Alipay,
    verified with its public key) carries the QR code."""
    buyer, payment = ap.place(factory)
    started = _start(app, payment, "native")
    trade = alipay.trade(payment.number)
    assert started.qr_code == f"{alipay.url}/cashier/{trade.trade_no}"
    assert alipay.requests[-1][0] == "alipay.trade.precreate"


def test_mini_program_create_answers_trade_no(app, factory, alipay, app_key_pem, ap):
    """Issue 14 (alipay): the mini-program channel creates the trade for the
    buyer (payer.openid: a 2088 user id → buyer_id, else buyer_open_id) and
    answers {"tradeNO": ...} for my.tradePay and the gateway trade number."""
    ap.configure(alipay, app_key_pem, **{config.MINI_APP_ID: "2021000000000099"})
    buyer, payment = ap.place(factory)
    with pytest.raises(PaymentError) as missing:
        _start(app, payment, "mini_program")
    assert missing.value.field == "openid"
    started = _start(app, payment, "mini_program", openid=ap.BUYER_ID)
    trade = alipay.trade(payment.number)
    assert started.client_params == {"tradeNO": trade.trade_no} and started.gateway_trade_no == trade.trade_no
    method, biz = alipay.requests[-1]
    assert method == "alipay.trade.create" and biz["buyer_id"] == ap.BUYER_ID
    assert biz["op_app_id"] == "2021000000000099" and biz["product_code"] == "JSAPI_PAY"
    # asked again: the same trade
    assert _start(app, payment, "mini_program", openid=ap.BUYER_ID).gateway_trade_no == trade.trade_no
    _, other = ap.place(factory)
    _start(app, other, "mini_program", openid="074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5")
    assert "buyer_open_id" in alipay.requests[-1][1]


def test_start_refused_when_paid_or_unreachable(app, factory, alipay, app_key_pem, ap):
    """Issue 14 (alipay): a paid trade started again is a 409 the buyer
    reads; an unreachable gateway a 502, never a crash."""
    buyer, payment = ap.place(factory)
    _start(app, payment, "native")
    alipay.pay(payment.number)
    with pytest.raises(PaymentError) as paid:
        _start(app, payment, "native")
    assert paid.value.status == 409
    ap.configure(alipay, app_key_pem, **{config.GATEWAY_URL: "http://127.0.0.1:9/gateway.do"})
    _, other = ap.place(factory)
    with pytest.raises(PaymentError) as down:
        _start(app, other, "native")
    assert down.value.status == 502


def test_query_and_close(app, factory, alipay, ap):
    """Issue 14 (alipay): query answers not_paid / succeeded (amount in fen,
    trade number, time) / closed; close closes an open trade, answers
    closed for a trade never opened (ACQ.TRADE_NOT_EXIST) and succeeded for
    one paid meanwhile."""
    gw = _gw()
    buyer, payment = ap.place(factory, price=1230)
    assert gw.query(payment).status == "not_paid"  # never opened
    assert gw.close(payment).status == "closed"
    _start(app, payment, "native")
    assert gw.query(payment).status == "not_paid"
    alipay.pay(payment.number)
    q = gw.query(payment)
    trade = alipay.trade(payment.number)
    assert (q.status, q.amount, q.reference) == ("succeeded", payment.amount, trade.trade_no)
    assert q.paid_at is not None
    closing = gw.close(payment)
    assert (closing.status, closing.amount) == ("succeeded", payment.amount)
    _, other = ap.place(factory)
    _start(app, other, "native")
    assert gw.close(other).status == "closed"
    assert alipay.trade(other.number).status == "TRADE_CLOSED"
    assert gw.query(other).status == "closed"


def _paid(app, factory, alipay, ap, price=1000):
    buyer, payment = ap.place(factory, price=price)
    _start(app, payment, "native")
    alipay.pay(payment.number)
    alipay.outbox.clear()
    return payment, alipay.trade(payment.number)


def test_partial_refunds_are_idempotent(app, factory, alipay, ap):
    """Issue 14 (alipay): a partial refund sends out_request_no = our number
    and succeeds only with fund_change Y; retried with the same number
    (fund_change N) it is confirmed by the refund query and nothing moves
    twice; more than is left is refused."""
    gw = _gw()
    payment, trade = _paid(app, factory, alipay, ap)
    total = trade.total
    first = RefundRequest("T1", payment.number, trade.trade_no, total, 300, "aftersales")
    r = gw.refund(first)
    assert (r.status, r.amount) == ("succeeded", 300)
    assert alipay.requests[-1][1]["out_request_no"] == "T1" and alipay.requests[-1][1]["refund_amount"] == "3.00"
    again = gw.refund(first)
    assert (again.status, again.amount) == ("succeeded", 300)
    assert trade.refunded == 300
    assert [m for m, _ in alipay.requests[-2:]] == ["alipay.trade.refund", "alipay.trade.fastpay.refund.query"]
    too_much = gw.refund(RefundRequest("T2", payment.number, trade.trade_no, total, total, ""))
    assert too_much.status == "failed" and "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL" in too_much.message
    assert not too_much.retryable
    q = gw.query_refund(first)
    assert (q.status, q.amount) == ("succeeded", 300)
    assert gw.query_refund(RefundRequest("T9", payment.number, trade.trade_no, total, 1, "")).status == "failed"


def test_refund_pending_until_alipay_finishes(app, factory, alipay, ap):
    """Issue 14 (alipay): fund_change N with no success yet is pending; the
    refund query turns succeeded once Alipay finishes it."""
    gw = _gw()
    payment, trade = _paid(app, factory, alipay, ap)
    alipay.refund_mode = "async"
    req = RefundRequest("T1", payment.number, trade.trade_no, trade.total, 400, "")
    assert gw.refund(req).status == "pending"
    assert gw.query_refund(req).status == "pending"
    alipay.finish_refunds()
    assert (gw.query_refund(req).status, gw.query_refund(req).amount) == ("succeeded", 400)


def test_gateway_failures_never_raise(app, factory, alipay, app_key_pem, ap):
    """Issue 14 (alipay): unreachable gateway → failed, retryable; a system
    error → retryable; an answer not signed by Alipay's key is never
    believed."""
    gw = _gw()
    payment, trade = _paid(app, factory, alipay, ap)
    req = RefundRequest("T1", payment.number, trade.trade_no, trade.total, 100, "")
    alipay.fail_next["alipay.trade.refund"] = ("40004", "ACQ.SYSTEM_ERROR", "系统错误")
    busy = gw.refund(req)
    assert busy.status == "failed" and busy.retryable
    other_key = wire.private_pem(wire.new_key())
    ap.configure(alipay, app_key_pem, **{config.PUBLIC_KEY: wire.public_pem(wire.load_private_key(other_key))})
    forged = gw.query(payment)
    assert forged.status == "failed" and "signature" in forged.message
    ap.configure(alipay, app_key_pem, **{config.GATEWAY_URL: "http://127.0.0.1:9/gateway.do"})
    for result in (gw.query(payment), gw.close(payment), gw.refund(req), gw.query_refund(req)):
        assert result.status == "failed" and result.retryable
    ap.configure(alipay, app_key_pem, **{config.APP_ID: "2021000000000002"})
    wrong_app = gw.query(payment)
    assert wrong_app.status == "failed" and "isv.invalid-app-id" in wrong_app.message


def test_profit_sharing(app, factory, alipay, app_key_pem, ap):
    """Issue 14 (alipay, 分账): on only when configured; the trade is frozen
    at creation (royalty_freeze), a receiver is bound, a settle sends its
    share (idempotent by number), a return takes it back through the refund
    API's royalty parameters, more than was shared is refused (→ the kernel
    records a debt), finish unfreezes the rest."""
    gw = _gw()
    assert not gw.profit_sharing
    ap.configure(alipay, app_key_pem, **{config.PROFIT_SHARING: True})
    assert gw.profit_sharing
    payment, trade = _paid(app, factory, alipay, ap, price=10000)
    assert trade.frozen
    receiver = {"type": "userId", "account": "2088000000000777", "name": "店铺"}
    share = ProfitShareRequest("S1", payment.number, trade.trade_no, 6000, receiver, "merchant share")
    unbound = gw.profit_share(share)
    assert unbound.status == "failed"
    assert gw.add_receiver(receiver).status == "succeeded"
    done = gw.profit_share(share)
    assert (done.status, done.amount) == ("succeeded", 6000) and done.reference
    assert gw.profit_share(share).reference == done.reference  # the same number: once
    method, biz = alipay.requests[-1]
    assert biz["royalty_parameters"][0] == {
        "royalty_type": "transfer",
        "trans_in_type": "userId",
        "trans_in": "2088000000000777",
        "amount": "60.00",
        "desc": "merchant share",
    }
    back = ProfitShareRequest("R1", payment.number, trade.trade_no, 1000, receiver, "refund", share_number="S1")
    assert gw.profit_return(back).status == "succeeded"
    assert trade.settles["S1"]["returned"] == 1000 and trade.refunded == 0
    # its notification, should Alipay send one, changes nothing of the payment's
    assert gw.notification_from(alipay.refund_notification(trade, "R1")) is None
    over = ProfitShareRequest("R2", payment.number, trade.trade_no, 9000, receiver, "refund", share_number="S1")
    refused = gw.profit_return(over)
    assert refused.status == "failed" and "debt" in refused.message
    payment.gateway_trade_no = trade.trade_no
    assert gw.finish_sharing(payment, "F1").status == "succeeded"
    assert not trade.frozen


def test_unreadable_answers_are_retryable(app, factory, alipay, app_key_pem, ap):
    """Issue 14 (alipay): an answer that is not Alipay's JSON (a proxy's HTML
    page, a 404) is a retryable failure, never a crash."""
    from jishi_alipay import client

    cfg = config.current()
    assert cfg is not None
    for raw in (
        "<html>502 Bad Gateway</html>",
        '{"other_response":{"code":"10000"}}',
        '{"alipay_trade_query_response":[]}',
    ):
        answer = client.read_answer(cfg, "alipay.trade.query", raw)
        assert not answer.ok and answer.retryable
    ap.configure(alipay, app_key_pem, **{config.GATEWAY_URL: alipay.url + "/nothing-here"})
    _, payment = ap.place(factory)
    result = _gw().query(payment)
    assert result.status == "failed" and result.retryable
