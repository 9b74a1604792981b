"""Issue 14 (plugins/alipay), the traps list: notifications that must change
nothing — forged, tampered, stale, replayed, another app's or seller's, a
wrong or malformed amount, another payment's trade, a payment never started
with Alipay — each answered as Alipay expects (anything but ``success``
makes it retry; ``success`` only when handled). Through the kernel's notify
route (``POST /payments/notify/alipay``, form data)."""

from __future__ import annotations

import pytest
from jishi.db import db
from jishi.payments.models import PaymentEvent
from jishi_alipay import wire
from sqlalchemy import func, select


def _charges(payment_id: int) -> int:
    return db.session.execute(
        select(func.count(PaymentEvent.id)).where(
            PaymentEvent.payment_id == payment_id, PaymentEvent.kind == "charge", PaymentEvent.status == "success"
        )
    ).scalar_one()


@pytest.fixture
def started(api, factory, alipay, ap):
    """A pending payment started with Alipay (native) and the genuine
    notification of its payment (not delivered)."""
    buyer, payment = ap.place(factory, price=1230)
    ap.start_api(api, buyer, payment, "native")
    params = alipay.pay(payment.number)
    alipay.outbox.clear()
    return payment, params


def _unchanged(ap, payment) -> None:
    fresh = ap.fresh(payment.id)
    assert fresh.status == "pending" and fresh.gateway_trade_no is None
    assert _charges(payment.id) == 0


def test_genuine_then_replayed(client, alipay, started, ap):
    """Issue 14 (alipay): the genuine notification pays once (success);
    replayed, it is answered success and changes nothing more; the trade's
    later TRADE_FINISHED notification (another notify_id) neither."""
    payment, params = started
    r = ap.notify(client, params)
    assert (r.status_code, r.get_data(as_text=True)) == (200, "success")
    assert r.headers["Content-Type"].startswith("text/plain")
    fresh = ap.fresh(payment.id)
    assert fresh.status == "paid" and fresh.gateway_trade_no == params["trade_no"] and fresh.method == "alipay"
    assert ap.notify(client, params).get_data(as_text=True) == "success"
    assert _charges(payment.id) == 1
    finished = _resign(alipay, params, notify_id="n-finished", trade_status="TRADE_FINISHED")
    assert ap.notify(client, finished).get_data(as_text=True) == "success"
    assert _charges(payment.id) == 1 and ap.fresh(payment.id).status == "paid"


def _resign(alipay, params, **changes):
    return alipay.sign({**{k: v for k, v in params.items() if k not in ("sign", "sign_type")}, **changes})


@pytest.mark.parametrize(
    "case",
    [
        "forged",
        "tampered_amount",
        "tampered_trade",
        "stale",
        "future",
        "other_app",
        "other_seller",
        "wrong_amount",
        "malformed_amount",
        "unknown_status",
        "rsa1",
        "unsigned",
        "no_notify_id",
    ],
)
def test_refused_notifications_change_nothing(client, alipay, started, ap, case):
    """Issue 14 (alipay): each bad notification is answered ``fail`` (Alipay
    retries; nothing is acknowledged) and the payment stays pending with no
    charge recorded."""
    payment, params = started
    if case == "forged":  # signed with a key that is not Alipay's
        bad = wire.sign_notification(wire.new_key(), {k: v for k, v in params.items() if k != "sign"})
    elif case == "tampered_amount":
        bad = dict(params, total_amount="0.01")
    elif case == "tampered_trade":
        bad = dict(params, out_trade_no=payment.number + "-1")
    elif case == "stale":
        bad = _resign(alipay, params, notify_time="2020-01-01 00:00:00")
    elif case == "future":
        bad = _resign(alipay, params, notify_time="2099-01-01 00:00:00")
    elif case == "other_app":
        bad = _resign(alipay, params, app_id="2021000000000002", auth_app_id="2021000000000002")
    elif case == "other_seller":
        bad = _resign(alipay, params, seller_id="2088999999999999")
    elif case == "wrong_amount":  # signed by Alipay, but not what the payment asks
        bad = _resign(alipay, params, total_amount="0.01", receipt_amount="0.01")
    elif case == "malformed_amount":
        bad = _resign(alipay, params, total_amount="12.300")
    elif case == "unknown_status":
        bad = _resign(alipay, params, trade_status="TRADE_PENDING")
    elif case == "rsa1":
        bad = dict(params, sign_type="RSA")
    elif case == "unsigned":
        bad = {k: v for k, v in params.items() if k != "sign"}
    else:
        bad = _resign(alipay, {k: v for k, v in params.items() if k != "notify_id"})
    r = ap.notify(client, bad)
    assert r.get_data(as_text=True) == "fail", case
    _unchanged(ap, payment)
    # the genuine one still pays afterwards
    assert ap.notify(client, params).get_data(as_text=True) == "success"


def test_another_payments_trade(client, api, factory, alipay, started, ap):
    """Issue 14 (alipay): a genuine notification of payment B cannot pay A
    (its out_trade_no is signed), and a payment never started with Alipay
    is not paid by an Alipay notification."""
    payment, params = started
    buyer_b, other = ap.place(factory, price=990)
    ap.start_api(api, buyer_b, other, "native")
    b_params = alipay.pay(other.number)
    moved = dict(b_params, out_trade_no=payment.number)
    assert ap.notify(client, moved).get_data(as_text=True) == "fail"
    _unchanged(ap, payment)
    # never started with Alipay: a trade the fake made for it anyway
    _, never = ap.place(factory, price=500)
    from jishi_alipay.fake import Trade

    alipay.trades[never.number] = Trade("2026X", never.number, never.amount, "x", "FACE_TO_FACE_PAYMENT")
    paid = alipay.pay(never.number)
    assert ap.notify(client, paid).get_data(as_text=True) == "fail"
    _unchanged(ap, never)


def test_not_configured_refuses(client, started, alipay, app_key_pem, ap):
    """Issue 14 (alipay): with Alipay turned off, notifications are refused."""
    from jishi_alipay import config

    payment, params = started
    ap.configure(alipay, app_key_pem, **{config.ENABLED: False})
    assert ap.notify(client, params).get_data(as_text=True) == "fail"
    _unchanged(ap, payment)


def test_refund_notification_for_an_unknown_refund(client, alipay, started, ap):
    """Issue 14 (alipay): a genuine refund notification naming a refund we
    never asked for (out_biz_no unknown to Alipay's refund query) is
    answered fail; nothing changes."""
    payment, params = started
    ap.notify(client, params)
    fake_refund = _resign(alipay, params, out_biz_no="T-NOT-OURS", refund_fee="1.00", gmt_refund="2026-01-01 00:00:00")
    assert ap.notify(client, fake_refund).get_data(as_text=True) == "fail"
    from jishi.payments import service as payments

    assert payments.balance(payment.id)["refunded"] == 0
