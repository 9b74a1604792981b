"""Issue 14 (plugins/alipay): whole journeys through the kernel against the
fake Alipay over HTTP: checkout → start (each channel, API) → the buyer
pays at the fake → its notification (form POST) → paid → a partial refund
(fund_change) → the refund's notification → balances exact; an
asynchronous refund confirmed by its notification; a late payment to a
closed payment refunded automatically; a dropped notification recovered by
reconciliation."""

from __future__ import annotations

import urllib.parse
import urllib.request
from datetime import timedelta

import pytest
from jishi.db import db, utcnow
from jishi.payments import service as payments
from jishi.payments.models import PaymentRefund
from jishi.testing import flows


def _pay_at_cashier(url: str) -> str:
    """The buyer opens the cashier page (page/wap pay) and clicks pay: the
    fake redirects back to the return URL (not followed)."""
    with urllib.request.urlopen(url) as resp:
        page = resp.read().decode()
    trade_no = page.split("action='/cashier/")[1].split("'")[0]
    base = url.split("/gateway.do")[0]

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        opener.open(base + f"/cashier/{trade_no}", data=urllib.parse.urlencode({"action": "pay"}).encode())
    except urllib.error.HTTPError as exc:
        assert exc.code == 302
        return exc.headers["Location"]
    raise AssertionError("the cashier did not send the buyer back")


@pytest.mark.parametrize("channel", ["pc", "h5", "native", "mini_program"])
def test_pay_each_channel_then_partial_refund(client, api, factory, alipay, ap, channel):
    """Issue 14 (alipay): every channel pays through the kernel; a partial
    refund is sent with out_request_no, done at once (fund_change Y), its
    notification (out_biz_no) acknowledged; charged/refunded exact."""
    buyer, payment = ap.place(factory, price=1230, quantity=2)
    extra = {"openid": ap.BUYER_ID} if channel == "mini_program" else {}
    started = ap.start_api(api, buyer, payment, channel, **extra)
    if channel in ("pc", "h5"):
        back = _pay_at_cashier(started["redirect_url"])
        assert f"/pay/return/{payment.number}?" in back and "trade_no=" in back
    elif channel == "native":
        assert started["qr_code"]
        alipay.pay(payment.number)
    else:
        assert started["client_params"] == {"tradeNO": alipay.trade(payment.number).trade_no}
        alipay.pay(payment.number)
    assert alipay.deliver(ap.poster(client)) == ["success"]
    paid = ap.fresh(payment.id)
    trade = alipay.trade(payment.number)
    assert (paid.status, paid.method, paid.gateway_trade_no) == ("paid", "alipay", trade.trade_no)
    order = paid.orders[0]
    assert order.status == "paid" and order.payment_method == "alipay"
    total = paid.amount
    line = order.lines[0]
    refund = flows.refund(order, [(line.id, 1)])
    pr = db.session.execute(db.select(PaymentRefund).where(PaymentRefund.payment_id == payment.id)).scalar_one()
    assert pr.status == "succeeded" and 0 < pr.amount < total
    assert trade.refunds[pr.number]["amount"] == pr.amount and trade.refunded == pr.amount
    assert refund.status == "refunded"
    assert alipay.deliver(ap.poster(client)) == ["success"]  # the refund's notification: harmless now
    assert payments.balance(payment.id) == {"charged": total, "refunded": pr.amount, "reserved": pr.amount}


def test_async_refund_done_by_its_notification(client, api, factory, alipay, ap):
    """Issue 14 (alipay): fund_change N → the refund is pending (refunding);
    Alipay finishes it and notifies; the notification (confirmed by the
    refund query) completes it; the balance moves once."""
    buyer, payment = ap.place(factory, price=2000)
    ap.start_api(api, buyer, payment, "native")
    alipay.pay(payment.number)
    alipay.deliver(ap.poster(client))
    order = ap.fresh(payment.id).orders[0]
    alipay.refund_mode = "async"
    refund = flows.refund(order)
    pr = db.session.execute(db.select(PaymentRefund).where(PaymentRefund.payment_id == payment.id)).scalar_one()
    assert pr.status == "pending" and refund.status == "refunding"
    assert payments.balance(payment.id)["refunded"] == 0
    assert alipay.finish_refunds() == 1
    notice = alipay.outbox[-1].params
    assert notice["out_biz_no"] == pr.number and notice["trade_status"] == "TRADE_CLOSED"
    assert alipay.deliver(ap.poster(client)) == ["success"]
    db.session.expire_all()
    assert db.session.get(PaymentRefund, pr.id).status == "succeeded"
    total = ap.fresh(payment.id).amount
    assert payments.balance(payment.id) == {"charged": total, "refunded": total, "reserved": total}
    assert alipay.deliver(ap.poster(client)) == []


def test_late_payment_to_a_closed_payment_is_refunded(client, api, factory, app, alipay, ap):
    """Issue 14 (alipay): the buyer left the PC cashier URL unopened; the
    payment timed out (closing it at Alipay found no trade); the buyer
    opens the old URL and pays → the notification is acknowledged and the
    money refunded at once through Alipay."""
    from jishi.orders import service as orders

    buyer, payment = ap.place(factory, price=1500)
    started = ap.start_api(api, buyer, payment, "pc")
    later = utcnow() + timedelta(minutes=int(app.config["JISHI_UNPAID_TIMEOUT_MINUTES"]) + 1)
    assert orders.close_unpaid(now=later) == 1
    assert ap.fresh(payment.id).status == "closed"
    _pay_at_cashier(started["redirect_url"])
    assert alipay.deliver(ap.poster(client))[0] == "success"
    trade = alipay.trade(payment.number)
    assert trade.refunded == trade.total == payment.amount
    money = payments.balance(payment.id)
    assert money["charged"] == money["refunded"] == payment.amount
    assert ap.fresh(payment.id).status == "closed"


def test_dropped_notification_recovered_by_reconciliation(client, api, factory, app, alipay, ap):
    """Issue 14 (alipay): the notification never arrives; the reconcile job
    queries Alipay (alipay.trade.query) and records the payment."""
    buyer, payment = ap.place(factory, price=880)
    ap.start_api(api, buyer, payment, "native")
    alipay.pay(payment.number)
    alipay.outbox.clear()  # dropped
    with app.test_request_context("/"):
        counts = payments.reconcile(now=utcnow() + timedelta(minutes=10))
    assert counts["recovered"] == 1
    paid = ap.fresh(payment.id)
    assert paid.status == "paid" and paid.gateway_trade_no == alipay.trade(payment.number).trade_no
    assert payments.balance(payment.id)["charged"] == payment.amount


def test_a_closed_trade_is_closed_at_alipay_first(client, api, factory, app, alipay, ap):
    """Issue 14 (alipay): a payment timing out closes its trade at Alipay
    (alipay.trade.close) before it is closed locally: the cashier then takes
    no money."""
    from jishi.orders import service as orders

    buyer, payment = ap.place(factory, price=700)
    ap.start_api(api, buyer, payment, "native")
    later = utcnow() + timedelta(minutes=int(app.config["JISHI_UNPAID_TIMEOUT_MINUTES"]) + 1)
    assert orders.close_unpaid(now=later) == 1
    assert alipay.trade(payment.number).status == "TRADE_CLOSED"
    with pytest.raises(ValueError):
        alipay.pay(payment.number)
