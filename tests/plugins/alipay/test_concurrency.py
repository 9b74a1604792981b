"""Issue 14 (alipay), K9: the same Alipay payment reported at once by many
deliveries (Alipay's retries crossing, the same notification and others
with their own notify_id) moves the payment once and records one charge.
Truly concurrent transactions on PostgreSQL."""

from __future__ import annotations

import pytest
from jishi.db import db
from jishi.payments.models import PaymentEvent
from jishi.payments.service import handle_notification
from jishi.testing import parallel_config, run_parallel
from sqlalchemy import func, select


@pytest.fixture
def app_config():
    return parallel_config()


def test_concurrent_deliveries_pay_once(app, api, factory, alipay, ap):
    """Issue 14 (alipay), K9: 8 deliveries at once (4 copies of one
    notification, 4 of the trade under other notify_ids): all acknowledged,
    the payment paid once, one charge, the orders paid once."""
    buyer, payment = ap.place(factory, price=1999)
    ap.start_api(api, buyer, payment, "native")
    genuine = alipay.pay(payment.number)
    alipay.outbox.clear()
    others = [
        alipay.sign({**{k: v for k, v in genuine.items() if k not in ("sign", "sign_type")}, "notify_id": f"n{i}"})
        for i in range(4)
    ]
    deliveries = [genuine] * 4 + others

    def deliver(i):
        return handle_notification("alipay", dict(deliveries[i]))

    results, errors = run_parallel(app, len(deliveries), deliver, request={"method": "POST"})
    assert not errors, errors
    assert results == ["success"] * len(deliveries)
    paid = ap.fresh(payment.id)
    assert paid.status == "paid" and paid.gateway_trade_no == genuine["trade_no"]
    charges = db.session.execute(
        select(func.count(PaymentEvent.id)).where(
            PaymentEvent.payment_id == payment.id, PaymentEvent.kind == "charge", PaymentEvent.status == "success"
        )
    ).scalar_one()
    assert charges == 1
    assert all(o.status == "paid" for o in paid.orders)
