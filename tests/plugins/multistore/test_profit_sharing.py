"""Issue 14 "Profit sharing (分账) in multistore" (seed 000 §4 支付完成后自动进行
分账; seed 001 withdrawal kept as the default): amounts to the fen through the
sandbox gateway, which shares and returns against its own records
(``sandbox_operations``) through the public gateway contract.

Orders go through the real paths (place, the sandbox's signed notification,
complete, after-sales refunds), so every posting comes from the kernel's
hooks; the gateway's own books are checked against the ledger."""

from __future__ import annotations

from datetime import timedelta

import pytest
from jishi.db import db, utcnow
from jishi.gateways import GatewayResult
from jishi.orders.models import Order
from jishi.payments.models import PaymentEvent, SandboxOperation
from jishi_multistore import ledger, sharing
from jishi_multistore.models import LedgerJournal, ProfitShare
from sqlalchemy import func, select

from .finance_helpers import balances, complete, fetch, journal_sums, pay, pay_cod, place, refund

RECEIVER = {"type": "MERCHANT_ID", "account": "1900000109", "name": "甲商户"}


def _setting(key, value):
    from jishi import settings

    settings.set_many({key: value})
    db.session.commit()


@pytest.fixture
def sharing_mode(app):
    _setting(ledger.COMMISSION_SETTING, 1000)  # 10%
    _setting("delivery.flat_fee", 0)
    _setting(sharing.MODE_SETTING, sharing.PROFIT_SHARING)


def _merchant(ms, *, bound=True):
    m = ms.merchant()
    if bound:
        sharing.bind(m, ms.admin_of(m), "sandbox", RECEIVER)
        db.session.commit()
    return m


def _order(factory, ms, m, price=2345, qty=2, buyer=None):
    buyer = buyer or factory.user()
    p = ms.product(m, price=price)
    [payment] = place(buyer, [(p.skus[0].id, qty)], factory.address(buyer))
    order = db.session.execute(select(Order).where(Order.payment_id == payment.id)).scalar_one()
    return payment, order


def _ops(kind):
    return {
        op.number: (op.amount, op.status, op.receiver)
        for op in db.session.execute(select(SandboxOperation).where(SandboxOperation.kind == kind)).scalars()
    }


def _platform_money():
    """The platform's money at the gateway, from its events and sharings:
    paid − shared − refunded + returned."""
    events = dict(
        db.session.execute(
            select(PaymentEvent.kind, func.sum(PaymentEvent.amount))
            .where(PaymentEvent.status == "success", PaymentEvent.kind.in_(("charge", "refund")))
            .group_by(PaymentEvent.kind)
        ).all()
    )
    ops = {k: sum(a for a, s, _r in _ops(k).values() if s == "succeeded") for k in ("share", "share_return")}
    return int(events.get("charge", 0)) - ops["share"] - int(events.get("refund", 0)) + ops["share_return"]


def _books_balance():
    assert set(journal_sums().values()) == {0}
    # The ledger's cash (a debit account) is the platform's money held.
    assert -ledger.platform_balances()[ledger.CASH] == _platform_money()


def test_completion_shares_the_withdrawable_amount_after_commission(app, factory, ms, sharing_mode):
    """Issue 14 / seed 000 §4: on completion the merchant's share (its
    withdrawable amount after commission) goes to its receiver, recorded as
    paid out; nothing is left to withdraw."""
    m = _merchant(ms)
    payment, order = _order(factory, ms, m)
    pay(payment)
    assert balances(m.id)[ledger.PENDING] == 4690
    complete(order)
    share = sharing.share_of(order.id)
    commission = (4690 * 1000 + 5000) // 10000  # 469
    assert (share.status, share.amount, share.netted, share.attempts) == ("succeeded", 4690 - commission, 0, 1)
    assert share.number == f"PS{fetch(order).number}"
    assert _ops("share") == {share.number: (4221, "succeeded", RECEIVER["account"])}
    bal = balances(m.id)
    assert bal == {**dict.fromkeys(ledger.MERCHANT_ACCOUNTS, 0), ledger.PAID_OUT: 4221}
    plat = ledger.platform_balances()
    assert (plat[ledger.CASH], plat[ledger.COMMISSION], plat[ledger.PAYOUTS]) == (-469, 469, -4221)
    _books_balance()


def test_partial_refund_after_sharing_is_returned(app, factory, ms, sharing_mode):
    """Issue 14: a refund after the share was sent returns (分账回退) the
    merchant's part of it as the ledger reverses it: the refund less the
    commission given back."""
    m = _merchant(ms)
    payment, order = _order(factory, ms, m)
    pay(payment)
    order = complete(order)
    r = refund(order, [(order.lines[0].id, 1)])
    commission_back = 469 * 2345 // 4690  # 234
    part = 2345 - commission_back  # 2111
    ret = db.session.execute(select(ProfitShare).where(ProfitShare.kind == "return")).scalar_one()
    assert (ret.number, ret.status, ret.amount, ret.netted) == (f"PR{r.number}", "succeeded", part, 0)
    assert _ops("share_return")[ret.number][:2] == (part, "succeeded")
    bal = balances(m.id)
    assert bal == {**dict.fromkeys(ledger.MERCHANT_ACCOUNTS, 0), ledger.PAID_OUT: 4221 - part}
    plat = ledger.platform_balances()
    assert plat[ledger.COMMISSION] == 469 - commission_back
    assert -plat[ledger.CASH] == 4690 - 4221 - 2345 + part == 235
    _books_balance()
    # The rest of the order: the whole share is returned, to the fen.
    refund(order, [(order.lines[0].id, 1)])
    assert balances(m.id)[ledger.PAID_OUT] == 0
    assert ledger.platform_balances()[ledger.COMMISSION] == 0
    _books_balance()


def test_refused_return_is_a_debt_netted_from_the_next_payout(app, factory, ms, sharing_mode, monkeypatch):
    """Issue 14: when the gateway refuses the return, the merchant owes it
    (its ledger shows the debt); the next share is reduced by it and a
    withdrawal cannot take it."""
    from jishi.defaults.payments import SandboxGateway

    m = _merchant(ms)
    payment, order = _order(factory, ms, m)
    pay(payment)
    order = complete(order)
    monkeypatch.setattr(
        SandboxGateway, "profit_return", lambda self, share: GatewayResult("failed", message="past 180 days")
    )
    refund(order, [(order.lines[0].id, 1)])
    ret = db.session.execute(select(ProfitShare).where(ProfitShare.kind == "return")).scalar_one()
    assert (ret.status, ret.amount, ret.last_error) == ("debt", 2111, "past 180 days")
    bal = balances(m.id)
    assert (bal[ledger.OWED], bal[ledger.PAID_OUT], bal[ledger.RETURNING]) == (-2111, 4221, 0)
    assert ledger.posted("share_debt", "profit_share", ret.id)
    _books_balance()  # the platform is short by the debt: cash says so
    assert -ledger.platform_balances()[ledger.CASH] == 4690 - 4221 - 2345 == -1876
    summary = __import__("jishi_multistore.finance", fromlist=["x"]).finance_summary(m)
    assert (summary["owed"], summary["withdrawable"]) == (2111, 0)
    monkeypatch.undo()
    # The next order: 1000 - 100 commission = 900 due, all of it nets the debt.
    payment2, order2 = _order(factory, ms, m, price=1000, qty=1)
    pay(payment2)
    complete(order2)
    s2 = sharing.share_of(order2.id)
    assert (s2.status, s2.amount, s2.netted) == ("succeeded", 0, 900)
    assert s2.number not in _ops("share")  # nothing to send
    assert balances(m.id)[ledger.OWED] == -1211
    # And one more: 3000 - 300 = 2700 due, 1211 nets the rest of the debt, 1489 is sent.
    payment3, order3 = _order(factory, ms, m, price=3000, qty=1)
    pay(payment3)
    complete(order3)
    s3 = sharing.share_of(order3.id)
    assert (s3.status, s3.amount, s3.netted) == ("succeeded", 1489, 1211)
    bal = balances(m.id)
    assert (bal[ledger.OWED], bal[ledger.AVAILABLE], bal[ledger.PAID_OUT]) == (0, 0, 4221 + 1489)
    _books_balance()


def test_failed_share_is_retried_with_the_same_number(app, factory, ms, sharing_mode, monkeypatch):
    """Issue 14: a failed sharing is visible (failed, with its error) and the
    periodic job sends it again under the same number; the money waits in
    ``sharing`` meanwhile, never withdrawable."""
    from jishi.defaults.payments import SandboxGateway

    m = _merchant(ms)
    payment, order = _order(factory, ms, m)
    pay(payment)
    real = SandboxGateway.profit_share
    monkeypatch.setattr(
        SandboxGateway,
        "profit_share",
        lambda self, share: GatewayResult("failed", message="sandbox unreachable", retryable=True),
    )
    complete(order)
    share = sharing.share_of(order.id)
    assert (share.status, share.last_error, share.retryable) == ("failed", "sandbox unreachable", True)
    assert balances(m.id)[ledger.SHARING] == 4221 and balances(m.id)[ledger.AVAILABLE] == 0
    assert sharing.failed_count() == 1
    assert sharing.retry_due() == {"sent": 0, "succeeded": 0, "failed": 0}  # not due yet
    later = utcnow() + timedelta(seconds=sharing.RETRY_SECONDS + 1)
    assert sharing.retry_due(later)["failed"] == 1  # still down
    monkeypatch.setattr(SandboxGateway, "profit_share", real)
    assert sharing.retry_due(later + timedelta(seconds=sharing.RETRY_SECONDS + 1))["succeeded"] == 1
    db.session.expire_all()
    share = sharing.share_of(order.id)
    assert (share.status, share.attempts, share.last_error) == ("succeeded", 3, "")
    assert _ops("share") == {share.number: (4221, "succeeded", RECEIVER["account"])}
    assert balances(m.id)[ledger.PAID_OUT] == 4221 and balances(m.id)[ledger.SHARING] == 0
    assert sharing.failed_count() == 0
    _books_balance()


def test_job_twice_and_notification_twice_post_once(app, factory, ms, sharing_mode):
    """Issue 14 idempotency: the payment notification delivered twice, the
    completion hook replayed, the job run twice and a send of a finished
    share: one share, one payout, one sandbox operation."""
    from flask import current_app
    from jishi.payments.service import handle_notification

    m = _merchant(ms)
    payment, order = _order(factory, ms, m)
    note = pay(payment)
    with current_app.test_request_context("/"):
        assert handle_notification("sandbox", dict(note)) == "success"
    order = complete(order)
    with current_app.test_request_context("/"):
        assert handle_notification("sandbox", dict(note)) == "success"
    current_app.extensions["jishi"].hook.settle_order(order=order)
    db.session.commit()
    later = utcnow() + timedelta(hours=1)
    sharing.retry_due(later)
    sharing.retry_due(later)
    share = sharing.share_of(order.id)
    assert sharing.send(share.id) == "succeeded"
    # one share, and the payment's one "finish" (unfreeze the rest), sent once
    kinds = dict(
        db.session.execute(select(ProfitShare.kind, func.count(ProfitShare.id)).group_by(ProfitShare.kind)).all()
    )
    assert kinds == {"share": 1, "finish": 1}
    assert len(_ops("finish")) == 1
    kinds = db.session.execute(select(LedgerJournal.kind).order_by(LedgerJournal.id)).scalars().all()
    assert kinds == ["paid", "completed", "share_request", "share_paid"]
    assert len(_ops("share")) == 1
    assert balances(m.id)[ledger.PAID_OUT] == 4221
    _books_balance()


def test_fallbacks_stay_withdrawable(app, factory, ms, sharing_mode):
    """Issue 14: cash on delivery (a gateway without profit sharing), a
    merchant without a receiver and the withdrawal mode keep today's
    withdrawal: the money stays withdrawable, nothing is sent."""
    bound = _merchant(ms)
    unbound = _merchant(ms, bound=False)
    p1, cod_order = _order(factory, ms, bound, price=1000, qty=1)
    pay_cod(p1)
    complete(cod_order)
    p2, o2 = _order(factory, ms, unbound, price=1000, qty=1)
    pay(p2)
    complete(o2)
    assert balances(unbound.id)[ledger.AVAILABLE] == 900
    _setting(sharing.MODE_SETTING, sharing.WITHDRAWAL)
    p3, o3 = _order(factory, ms, bound, price=2000, qty=1)
    pay(p3)
    complete(o3)
    assert balances(bound.id)[ledger.AVAILABLE] == 1800
    assert balances(bound.id)[ledger.COD_COLLECTED] == 1000
    assert db.session.scalar(select(func.count(ProfitShare.id))) == 0
    assert _ops("share") == {}
    _books_balance()


def test_refund_while_share_open_waits_release_falls_back(app, factory, ms, sharing_mode, monkeypatch):
    """Issue 14: a refund after completion while the order's share is still
    open is refused (409, nothing written); the platform may release a share
    the gateway refused: its money becomes withdrawable and refunds come out
    of it as in the withdrawal mode."""
    from jishi.defaults.payments import SandboxGateway
    from jishi.errors import DomainError

    m = _merchant(ms)
    payment, order = _order(factory, ms, m)
    pay(payment)
    monkeypatch.setattr(
        SandboxGateway, "profit_share", lambda self, share: GatewayResult("failed", message="receiver not bound")
    )
    order = complete(order)
    share = sharing.share_of(order.id)
    assert (share.status, share.retryable) == ("failed", False)
    with pytest.raises(DomainError) as info:
        refund(order, [(order.lines[0].id, 1)])
    assert (info.value.code, info.value.status) == ("sharing_open", 409)
    db.session.rollback()
    assert fetch(order).refunded_amount == 0
    sharing.release(share)
    db.session.commit()
    assert balances(m.id)[ledger.AVAILABLE] == 4221 and balances(m.id)[ledger.SHARING] == 0
    with pytest.raises(DomainError):
        sharing.release(sharing.share_of(order.id))  # once
    db.session.rollback()
    refund(order, [(order.lines[0].id, 1)])
    assert balances(m.id)[ledger.AVAILABLE] == 4221 - 2111
    assert sharing.retry_due(utcnow() + timedelta(hours=1))["sent"] == 0  # released: never sent again
    _books_balance()


def test_bind_and_unbind_receiver(app, factory, ms, sharing_mode, monkeypatch):
    """Issue 14: binding asks the gateway (add_receiver) first; a refusal
    writes nothing; fields are checked per gateway; unbinding is refused while
    a sharing is open."""
    from jishi.defaults.payments import SandboxGateway
    from jishi.errors import DomainError
    from jishi_multistore.models import ShareReceiver

    m = _merchant(ms, bound=False)
    for data, field in (
        ({"type": "loginName", "account": "a@b.c"}, "type"),
        ({"type": "MERCHANT_ID", "account": ""}, "account"),
        ({"type": "MERCHANT_ID", "account": "1900000109"}, "name"),
        ({"type": "PERSONAL_OPENID", "account": "x" * 65}, "account"),
    ):
        with pytest.raises(DomainError) as info:
            sharing.bind(m, None, "sandbox", data)
        assert info.value.field == field
    with pytest.raises(DomainError) as info:
        sharing.bind(m, None, "cod", RECEIVER)
    assert info.value.status == 404
    monkeypatch.setattr(
        SandboxGateway, "add_receiver", lambda self, r: GatewayResult("failed", message="name does not match")
    )
    with pytest.raises(DomainError) as info:
        sharing.bind(m, None, "sandbox", RECEIVER)
    assert info.value.code == "refused" and "name does not match" in info.value.message
    db.session.rollback()
    assert db.session.scalar(select(func.count(ShareReceiver.id))) == 0
    monkeypatch.undo()
    row = sharing.bind(m, None, "sandbox", {"type": "PERSONAL_OPENID", "account": "o-abc"})
    db.session.commit()
    assert row.as_receiver() == {"type": "PERSONAL_OPENID", "account": "o-abc"}
    db.session.add(
        ProfitShare(
            number="PSX",
            kind="share",
            source_id=1,
            merchant_id=m.id,
            order_id=1,
            payment_id=1,
            gateway="sandbox",
            trade_number="X",
            amount=1,
            status="failed",
        )
    )
    db.session.commit()
    with pytest.raises(DomainError) as info:
        sharing.unbind(m, "sandbox")
    assert info.value.status == 409
    db.session.rollback()
    db.session.execute(ProfitShare.__table__.update().values(status="succeeded"))
    sharing.unbind(m, "sandbox")
    db.session.commit()
    assert sharing.receivers(m.id) == {}


def test_finished_sharing_unfreezes_the_rest_once(app, factory, ms, sharing_mode):
    """Issue 14 (WeChat 分账: unfreeze): once every order of a payment is
    completed or closed and its shares are sent, the job asks the gateway
    once to unfreeze what is left for the platform (``finish_sharing``,
    ``PF<trade number>``); not before, and never twice."""
    m = _merchant(ms)
    n = _merchant(ms)
    buyer = factory.user()
    p, q = ms.product(m, price=1000), ms.product(n, price=2000)
    [payment] = place(buyer, [(p.skus[0].id, 1), (q.skus[0].id, 1)], factory.address(buyer))
    pay(payment)
    first, second = db.session.execute(select(Order).where(Order.payment_id == payment.id).order_by(Order.id)).scalars()
    complete(first)
    assert sharing.share_of(first.id).status == "succeeded"
    sharing.retry_due()
    assert _ops("finish") == {}  # the other store's order is still open
    complete(second)
    sharing.retry_due()
    sharing.retry_due()
    [row] = db.session.execute(select(ProfitShare).where(ProfitShare.kind == "finish")).scalars()
    assert (row.status, row.amount, row.number) == ("succeeded", 0, f"PF{fetch(first).payment.number}")
    assert list(_ops("finish")) == [row.number]
    _books_balance()
