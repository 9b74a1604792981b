"""WXP-BILL: the daily trade bill (对账单): ``GET /v3/bill/tradebill``
(signed answer with the file's SHA1), the file downloaded from the
configured host and checked against that SHA1, parsed into charges and
refunds; the kernel's comparison finds a payment WeChat Pay took that was
never recorded here (a lost notification)."""

from __future__ import annotations

import datetime as dt

import pytest
from jishi.db import db
from jishi.payments import service
from jishi.payments.models import BillDifference
from jishi_wechatpay import client
from jishi_wechatpay.gateway import WechatPay, parse_trade_bill
from werkzeug.wrappers import Response

from .helpers import place


def _today():
    return dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()


def _paid(wx, price):
    _, payment = place(price=price)
    wx.start(payment, "native")
    assert wx.send(wx.pay(payment)).status_code == 204
    return payment


def test_bill_lists_charges_and_refunds(wx):
    from jishi.hookspecs import RefundRequest

    a, b = _paid(wx, 1000), _paid(wx, 2550)
    gw = WechatPay()
    trade_a, trade_b = wx.fake.trades[a.number], wx.fake.trades[b.number]
    assert (
        gw.refund(RefundRequest("T20260101009", a.number, trade_a.transaction_id, trade_a.total, 300)).status
        == "pending"
    )
    wx.fake.finish_refund("T20260101009")
    entries = gw.bill(_today())
    assert sorted((e.kind, e.reference, e.amount, e.trade_number) for e in entries) == sorted(
        [
            ("charge", trade_a.transaction_id, trade_a.total, a.number),
            ("charge", trade_b.transaction_id, trade_b.total, b.number),
            ("refund", "T20260101009", 300, a.number),
        ]
    )
    # the download went to the configured host, signed; not to the URL's host
    assert ("GET", "/v3/billdownload/file", 200) in wx.fake.requests


def test_no_statement_is_an_empty_bill_and_a_tampered_file_fails(wx, monkeypatch):
    gw = WechatPay()
    assert gw.bill(_today() - dt.timedelta(days=3)) == []
    _paid(wx, 1000)
    original = wx.fake.bill_file

    def tampered(request):
        answer = original(request)
        return Response(answer.get_data().replace(b"SUCCESS", b"SUCCESS "), content_type="application/octet-stream")

    monkeypatch.setattr(wx.fake, "bill_file", tampered)
    with pytest.raises(client.Unreachable):
        gw.bill(_today())


def test_kernel_comparison_finds_a_payment_not_recorded_here(wx, app):
    """A trade WeChat Pay took whose notification never came (and before
    reconciliation ran): the day's comparison lists it as missing here."""
    recorded = _paid(wx, 1200)
    _, lost = place(price=800)
    wx.start(lost, "native")
    wx.fake.pay(lost.number)  # the notification is lost
    found = service.compare_bill(WechatPay(), _today())
    assert [(d.kind, d.problem, d.reference, d.theirs) for d in found] == [
        ("charge", "missing_here", wx.fake.trades[lost.number].transaction_id, wx.fake.trades[lost.number].total)
    ]
    assert recorded.number not in {d.reference for d in found}
    assert len(db.session.execute(db.select(BillDifference)).scalars().all()) == 1


def test_parse_skips_the_summary_and_unsuccessful_refunds():
    text = (
        "交易时间,微信订单号,商户订单号,交易状态,订单金额,应结订单金额,商户退款单号,申请退款金额,退款金额,退款状态\n"
        "`2026-12-04 10:00:00,`4200001,`P1,`SUCCESS,`12.30,`12.30,`,`0.00,`0.00,`\n"
        "`2026-12-04 11:00:00,`4200001,`P1,`REFUND,`12.30,`0.00,`T1,`1.05,`1.05,`SUCCESS\n"
        "`2026-12-04 12:00:00,`4200001,`P1,`REFUND,`12.30,`0.00,`T2,`2.00,`2.00,`PROCESSING\n"
        "总交易单数,应结订单总金额\n`3,`12.30\n"
    )
    assert [(e.kind, e.reference, e.amount) for e in parse_trade_bill(text)] == [
        ("charge", "4200001", 1230),
        ("refund", "T1", 105),
    ]
