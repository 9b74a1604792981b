"""The kernel's side of the payment-gateway contract (issue 14, SPEC K9):
what must not depend on a plugin — reconciliation, real refunds (committed
first, done only when confirmed, failed visibly and retried with the same
number), money state derived from events, the gateway a notification comes
from checked against the payment's."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from jishi.db import db, utcnow
from jishi.hookspecs import GatewayNotification, PaymentGateway, PaymentStart, hookimpl
from jishi.models import Order, PaymentEvent, PaymentOrder, PaymentRefund, Refund, SandboxTrade
from jishi.payments import sandbox
from jishi.payments import service as payments
from jishi.testing import flows
from sqlalchemy import func, select, update


def _paid_order(factory, price=2000):
    buyer = factory.user()
    [payment] = flows.place(buyer, [(factory.product(price=price).skus[0], 1)], factory.address(buyer))
    flows.pay(payment)
    return buyer, db.session.get(PaymentOrder, payment.id)


def _age_events(payment_id, seconds):
    db.session.execute(
        update(PaymentEvent)
        .where(PaymentEvent.payment_id == payment_id)
        .values(created_at=utcnow() - timedelta(seconds=seconds))
    )
    db.session.commit()


def test_reconciliation_recovers_a_dropped_notification(app, factory):
    """Issue 14: the buyer paid at the gateway, the notification was lost;
    the reconcile job queries the pending payment and records it — once."""
    buyer = factory.user()
    [payment] = flows.place(buyer, [(factory.product(price=1500).skus[0], 2)], factory.address(buyer))
    with app.test_request_context("/"):
        trade = sandbox.trade_for(payment)
        trade.status = "paid"  # paid at the gateway; nothing reaches us
        db.session.commit()
        assert payments.reconcile()["queried"] == 0  # too recent to ask
        _age_events(payment.id, 120)
        counts = payments.reconcile()
    assert counts["queried"] == 1 and counts["recovered"] == 1
    db.session.expire_all()
    payment = db.session.get(PaymentOrder, payment.id)
    assert payment.status == "paid" and payment.gateway_trade_no == trade.trade_no
    assert {o.status for o in payment.orders} == {"paid"}
    assert payments.balance(payment.id)["charged"] == payment.amount
    with app.test_request_context("/"):
        assert payments.reconcile()["queried"] == 0  # paid: nothing left to ask
        # the notification arriving after all changes nothing
        assert payments.handle_notification("sandbox", sandbox.notification_for(trade)) == "success"
    charges = db.session.execute(
        select(func.count(PaymentEvent.id)).where(PaymentEvent.kind == "charge", PaymentEvent.status == "success")
    ).scalar_one()
    assert charges == 1


def test_refund_accepted_then_confirmed_by_notification(app, factory):
    """Issue 14: an asynchronous gateway refund is ``refunding`` until the
    gateway's refund notification confirms it; then ``refunded`` and
    ``refund_completed`` is sent once."""
    from jishi import signals

    _buyer, payment = _paid_order(factory)
    app.config["JISHI_SANDBOX_REFUND_MODE"] = "async"
    app.config["JISHI_SANDBOX_NOTIFY_INLINE"] = False  # the notification is "in flight" (posted nowhere)
    seen = []
    receiver = lambda sender, **kw: seen.append(sender.id)  # noqa: E731
    signals.refund_completed.connect(receiver)
    try:
        refund = flows.refund(payment.orders[0])
        assert refund.status == "refunding" and seen == []
        money = db.session.execute(select(PaymentRefund)).scalar_one()
        assert money.status == "pending" and money.attempts == 1
        # the gateway's signed refund notification arrives
        trade = db.session.execute(select(SandboxTrade)).scalar_one()
        op = db.session.execute(select(sandbox.SandboxOperation)).scalar_one()
        note = sandbox.refund_notification(op, trade)
        with app.test_request_context("/"):
            assert payments.handle_notification("sandbox", note) == "success"
            assert payments.handle_notification("sandbox", note) == "success"  # a replay
    finally:
        signals.refund_completed.disconnect(receiver)
    db.session.expire_all()
    assert db.session.get(Refund, refund.id).status == "refunded"
    assert db.session.get(PaymentRefund, money.id).status == "succeeded"
    assert seen == [refund.id]
    assert payments.balance(payment.id) == {
        "charged": payment.amount,
        "refunded": payment.amount,
        "reserved": payment.amount,
    }


def test_a_lost_refund_notification_is_recovered_by_query(app, factory):
    """Issue 14: no refund notification ever comes; reconciliation asks the
    gateway and finishes the refund."""
    _buyer, payment = _paid_order(factory)
    app.config["JISHI_SANDBOX_REFUND_MODE"] = "async"
    app.config["JISHI_SANDBOX_NOTIFY_INLINE"] = False
    refund = flows.refund(payment.orders[0])
    assert refund.status == "refunding"
    db.session.execute(update(PaymentRefund).values(tried_at=utcnow() - timedelta(minutes=5)))
    db.session.commit()
    with app.test_request_context("/"):
        assert payments.reconcile()["refunds_queried"] == 1
    db.session.expire_all()
    assert db.session.get(Refund, refund.id).status == "refunded"


def test_refused_refund_is_failed_visibly_and_retried_with_the_same_number(app, factory, client, login):
    """Issue 14: a refusal is ``refund_failed`` (the after-sales request) and
    ``failed`` (the gateway refund) with its reason, a to-do on the console
    home, listed with a retry; the retry sends the same number and succeeds."""
    _buyer, payment = _paid_order(factory)
    app.config["JISHI_SANDBOX_REFUND_MODE"] = "fail"
    refund = flows.refund(payment.orders[0])
    db.session.expire_all()
    assert db.session.get(Refund, refund.id).status == "refund_failed"
    money = db.session.execute(select(PaymentRefund)).scalar_one()
    number = money.number
    assert (money.status, money.attempts) == ("failed", 1) and "refused" in money.last_error
    assert db.session.get(PaymentOrder, payment.id).orders[0].refunded_amount == payment.amount  # decided

    admin = factory.admin()
    login(admin)
    page = client.get("/console/payment-refunds?status=failed").get_data(as_text=True)
    assert number in page and "重试" in page
    assert "退款失败" in client.get("/console/").get_data(as_text=True)
    detail = client.get(f"/console/refunds/{refund.id}").get_data(as_text=True)
    assert "支付渠道拒绝" in detail and "重试退款" in detail

    # still refused: the retry says so and nothing changes but the attempts
    r = client.post(f"/console/payment-refunds/{money.id}/retry", data={"status": "failed"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(PaymentRefund, money.id).attempts == 2

    app.config["JISHI_SANDBOX_REFUND_MODE"] = "sync"
    r = client.post(f"/console/refunds/{refund.id}/retry-money")
    assert r.status_code == 302
    db.session.expire_all()
    money = db.session.get(PaymentRefund, money.id)
    assert (money.number, money.status, money.attempts) == (number, "succeeded", 3)
    assert db.session.get(Refund, refund.id).status == "refunded"
    ops = db.session.execute(select(sandbox.SandboxOperation.number)).scalars().all()
    assert ops == [number]  # the gateway saw one refund number (its record answers the retry)
    trade = db.session.execute(select(SandboxTrade)).scalar_one()
    assert trade.refunded_amount == payment.amount
    # a second retry: nothing to retry
    r = client.post(f"/console/payment-refunds/{money.id}/retry")
    assert r.status_code == 302
    assert db.session.get(PaymentRefund, money.id).attempts == 3


def test_unreachable_gateway_refund_is_sent_again_by_reconciliation(app, factory):
    """Issue 14: a refund the gateway could not be reached for stays
    committed (``refunding``) and the reconcile job sends it again, same
    number, once the gateway answers."""
    _buyer, payment = _paid_order(factory)
    app.config["JISHI_SANDBOX_REFUND_MODE"] = "down"
    refund = flows.refund(payment.orders[0])
    assert refund.status == "refunding"
    money = db.session.execute(select(PaymentRefund)).scalar_one()
    assert (money.status, money.attempts) == ("requested", 1) and "unreachable" in money.last_error
    with app.test_request_context("/"):
        assert payments.reconcile()["refunds_sent"] == 0  # not yet: wait before retrying
    db.session.execute(
        update(PaymentRefund).values(
            created_at=utcnow() - timedelta(minutes=5), tried_at=utcnow() - timedelta(minutes=5)
        )
    )
    db.session.commit()
    app.config["JISHI_SANDBOX_REFUND_MODE"] = "sync"
    with app.test_request_context("/"):
        assert payments.reconcile()["refunds_sent"] == 1
    db.session.expire_all()
    assert db.session.get(PaymentRefund, money.id).status == "succeeded"
    assert db.session.get(Refund, refund.id).status == "refunded"


def test_money_state_is_derived_and_a_differing_report_is_a_recorded_failure(app, factory):
    """Issue 14: the same trade reported twice with the same amount is
    harmless; with another amount it is refused and recorded, nothing moves."""
    _buyer, payment = _paid_order(factory)
    trade = db.session.execute(select(SandboxTrade)).scalar_one()
    with app.test_request_context("/"):
        gw = payments.gateway("sandbox")
        assert payments.record_charge(gw, payment, 0, trade.trade_no, payment.amount) == "already_paid"
        with pytest.raises(payments.PaymentError):
            payments.record_charge(gw, payment, 0, trade.trade_no, payment.amount + 1)
    failures = db.session.execute(
        select(PaymentEvent.message).where(PaymentEvent.status == "failure", PaymentEvent.kind == "charge")
    ).scalars()
    assert list(failures) == ["reported again differently"]
    assert payments.balance(payment.id)["charged"] == payment.amount


class Other(PaymentGateway):
    """A second gateway whose notifications verify: a signed report from it
    about a payment started with the sandbox must change nothing."""

    code = "other"
    label = "Other"

    def start(self, payment, channel, payer):
        return PaymentStart(redirect_url="/other")

    def verify_notification(self, request, kind):
        data = json.loads(request.get_data(as_text=True))
        return GatewayNotification(
            kind="payment",
            reference=data["id"],
            payment_number=data["out_trade_no"],
            gateway_trade_no=data["trade"],
            amount=data["amount"],
            status="paid",
        )

    @hookimpl
    def payment_gateways(self):
        return [self]


@pytest.mark.parametrize("extra_plugins", [[Other()]], ids=["other"])
def test_a_notification_from_another_gateway_than_the_payments_is_refused(app, client, factory, extra_plugins):
    """Issue 14 (the forged-webhook trap): a notification that verifies at
    gateway B for a payment only started at gateway A pays nothing."""
    buyer = factory.user()
    [payment] = flows.place(buyer, [(factory.product(price=900).skus[0], 1)], factory.address(buyer))
    with app.test_request_context("/"):
        sandbox.trade_for(payment)
    body = {"id": "x1", "out_trade_no": payment.number, "trade": "O-1", "amount": payment.amount}
    r = client.post("/payments/notify/other", data=json.dumps(body))
    assert r.status_code == 400 and b"gateway" in r.data
    db.session.expire_all()
    assert db.session.get(PaymentOrder, payment.id).status == "pending"
    assert client.post("/payments/notify/nothing", data="{}").status_code == 404


def test_price_change_closes_the_old_trade_and_numbers_the_next(app, api, factory):
    """Issue 14: after the amount a payment asks changes, the trade number
    moves on (a gateway never takes two amounts for one out_trade_no) and
    the old trade is closed at its gateway."""
    from jishi.orders import service as orders_service

    buyer = factory.user()
    admin = factory.admin()
    [payment] = flows.place(buyer, [(factory.product(price=3000).skus[0], 1)], factory.address(buyer))
    with app.test_request_context("/"):
        old = sandbox.trade_for(payment)
        order = db.session.get(Order, payment.orders[0].id)
        orders_service.change_price(order, order.pay_amount - 100, "优惠", actor=admin, actor_kind="platform")
        payment = db.session.get(PaymentOrder, payment.id)
        assert payments.trade_number(payment) == f"{payment.number}-1"
        new = sandbox.trade_for(payment)
    assert db.session.get(SandboxTrade, old.id).status == "closed"
    assert new.out_trade_no == f"{payment.number}-1" and new.amount == payment.amount
    flows.pay(payment)
    assert db.session.get(PaymentOrder, payment.id).status == "paid"


class TestRefundRace:
    @pytest.fixture
    def app_config(self):
        from jishi.testing import parallel_config

        return parallel_config()

    def test_concurrent_refunds_never_both_pass_the_balance_check(self, app, factory):
        """Issue 14 (the Spree trap): refunds of one payment are committed
        under the payment's lock; 6 at once, each for 40% of what was paid,
        in their own transactions: exactly two pass, the others are refused,
        and what is reserved never exceeds what was charged. On PostgreSQL
        the transactions truly overlap; without the lock all six pass."""
        from jishi.testing import run_parallel

        _buyer, payment = _paid_order(factory, price=5000)
        pid, total = payment.id, payment.amount
        share = total * 40 // 100
        oid = payment.orders[0].id

        def reserve(i):
            order = db.session.get(Order, oid)
            try:
                payments.reserve_refund(order, share)
            except payments.PaymentError as exc:
                assert exc.status == 409
                return "refused"
            db.session.info.pop("jishi_after_commit", None)  # keep them unsent: only the check is raced
            db.session.commit()
            return "reserved"

        results, errors = run_parallel(app, 6, reserve, request={"method": "POST"})
        assert not errors, errors
        assert sorted(results) == ["refused"] * 4 + ["reserved"] * 2
        db.session.expire_all()
        assert payments.balance(pid) == {"charged": total, "refunded": 0, "reserved": 2 * share}


def test_daily_bill_differences_are_listed(app, factory, client, login):
    """Issue 14 (no anchor compares the bill; Jishi does): the sandbox's
    bill of the day against the kernel's events — equal, nothing listed; a
    charge the gateway settled that Jishi never recorded, and an amount that
    differs, are listed in the console until marked looked into; comparing
    again replaces, never duplicates."""
    from jishi.i18n import to_shop_time
    from jishi.payments.models import BillDifference

    _buyer, payment = _paid_order(factory)
    refund = flows.refund(payment.orders[0], kind="refund_only")
    assert db.session.get(Refund, refund.id).status == "refunded"
    today = to_shop_time(utcnow()).date()
    with app.test_request_context("/"):
        assert payments.compare_bills(today) == f"{today}: sandbox: 0, cod: 0"
        # money the gateway took that never reached us (no notification, no query yet)
        buyer = factory.user()
        [lost] = flows.place(buyer, [(factory.product(price=700).skus[0], 1)], factory.address(buyer))
        trade = sandbox.trade_for(lost)
        trade.status = "paid"
        # and a charge recorded with another amount than the gateway's
        db.session.execute(
            update(PaymentEvent).where(PaymentEvent.kind == "charge").values(amount=PaymentEvent.amount - 1)
        )
        db.session.commit()
        gw = payments.gateway("sandbox")
        found = payments.compare_bill(gw, today)
        assert sorted((d.kind, d.problem) for d in found) == [("charge", "amount"), ("charge", "missing_here")]
        assert len(payments.compare_bill(gw, today)) == 2
    assert db.session.execute(select(func.count(BillDifference.id))).scalar_one() == 2
    login(factory.admin())
    page = client.get("/console/payment-bills").get_data(as_text=True)
    assert "集市无记录" in page and "金额不一致" in page and trade.trade_no in page
    assert "对账差异" in client.get("/console/").get_data(as_text=True)
    first = db.session.execute(select(BillDifference.id).order_by(BillDifference.id)).scalars().first()
    assert client.post(f"/console/payment-bills/{first}/resolve").status_code == 302
    with app.test_request_context("/"):
        assert len(payments.compare_bill(payments.gateway("sandbox"), today)) == 2  # the resolved one is kept
    assert db.session.execute(select(func.count(BillDifference.id))).scalar_one() == 3


def test_notifications_are_counted_by_gateway_and_result(app, client, factory):
    """Issue 14/15: every notification the notify route handles is counted
    in ``/metrics`` by gateway and result (paid, duplicate, refused)."""
    import re

    def sample(result):
        body = client.get("/metrics").get_data(as_text=True)
        m = re.search(rf'jishi_payment_notifications_total{{gateway="sandbox",result="{result}"}} ([0-9.]+)', body)
        return float(m.group(1)) if m else 0.0

    before = {r: sample(r) for r in ("paid", "duplicate", "refused")}
    buyer = factory.user()
    [payment] = flows.place(buyer, [(factory.product(price=600).skus[0], 1)], factory.address(buyer))
    with app.test_request_context("/"):
        trade = sandbox.trade_for(payment)
        note = sandbox.notification_for(trade)
    db.session.commit()
    assert client.post("/payments/notify/sandbox", data=note).data == b"success"
    assert client.post("/payments/notify/sandbox", data=note).data == b"success"
    assert client.post("/payments/notify/sandbox", data=dict(note, sign="0" * 64)).status_code == 400
    assert {r: sample(r) - before[r] for r in before} == {"paid": 1, "duplicate": 1, "refused": 1}


def test_an_internal_failure_is_never_answered_success(app, client, factory, monkeypatch):
    """Issue 14: a notification whose handling fails inside Jishi (a bug, the
    database gone) is answered with the gateway's failure reply and leaves
    nothing written, so the gateway's retry — the only second chance —
    comes; the retry then succeeds."""
    buyer = factory.user()
    [payment] = flows.place(buyer, [(factory.product(price=800).skus[0], 1)], factory.address(buyer))
    with app.test_request_context("/"):
        note = sandbox.notification_for(sandbox.trade_for(payment))
    db.session.commit()

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(payments, "record_charge", broken)
    r = client.post("/payments/notify/sandbox", data=note)
    assert r.status_code == 400 and r.data != b"success"
    db.session.expire_all()
    assert db.session.get(PaymentOrder, payment.id).status == "pending"
    assert (
        db.session.execute(select(func.count(PaymentEvent.id)).where(PaymentEvent.kind == "charge")).scalar_one() == 0
    )
    monkeypatch.undo()
    assert client.post("/payments/notify/sandbox", data=note).data == b"success"
    db.session.expire_all()
    assert db.session.get(PaymentOrder, payment.id).status == "paid"
