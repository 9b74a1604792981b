"""WXP-CONCURRENCY: WeChat Pay delivers a payment's notifications at once
(its retries, a second id for the same trade, the very same one twice):
each delivery in its own thread, app context and database connection
(truly concurrent on PostgreSQL). Every delivery is answered 204, the
payment is paid once, one charge is recorded."""

from __future__ import annotations

import pytest
from jishi.db import db
from jishi.payments import service
from jishi.payments.models import PaymentEvent
from jishi.testing import parallel_config, run_parallel


@pytest.fixture
def app_config():
    return parallel_config()


def test_concurrent_notifications_pay_once(app, wx):
    _, payment = wx.place(price=4200)
    wx.start(payment, "native")
    trade = wx.fake.trades[payment.number]
    first = wx.pay(payment)
    notes = [first, first] + [wx.fake.payment_notification(trade) for _ in range(4)]

    def deliver(i):
        note = notes[i]
        with app.test_request_context(
            "/payments/notify/wechatpay", method="POST", data=note.body, headers=note.headers
        ):
            from flask import request

            answer = service.notify("wechatpay", "payment", request)
            return answer[1] if isinstance(answer, tuple) else 200

    results, errors = run_parallel(app, len(notes), deliver)
    assert not errors, errors
    assert results == [204] * len(notes)
    db.session.expire_all()
    assert db.session.get(type(payment), payment.id).status == "paid"
    charges = db.session.execute(
        db.select(PaymentEvent.status, PaymentEvent.amount).where(
            PaymentEvent.payment_id == payment.id, PaymentEvent.kind == "charge"
        )
    ).all()
    assert [tuple(c) for c in charges] == [("success", trade.total)]
    assert service.balance(payment.id)["charged"] == trade.total
