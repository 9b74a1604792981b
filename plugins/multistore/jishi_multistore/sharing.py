"""Profit sharing (分账, seed 000 §4): paying merchants through the gateway
that took the buyer's money, instead of by withdrawal.

The platform chooses how merchants are paid (setting
``multistore.settlement_mode``): ``withdrawal`` (the default: merchants ask,
the platform pays offline, :mod:`.withdrawals`) or ``profit_sharing``. In
the latter, a merchant binds a receiver account per gateway that shares
(``PaymentGateway.profit_sharing``; binding calls ``add_receiver``), and:

- **completion** (the ``settle_order`` posting, same transaction): when the
  order was paid through a sharing gateway and the merchant has a receiver
  there, what completion made withdrawable (A, after commission) leaves
  ``available`` at once — the merchant's debt ``n`` is netted from it, the
  rest ``s`` goes to ``sharing`` — and a :class:`ProfitShare` row
  ``PS<order number>`` is written. After the commit the share is sent
  (``gateway.profit_share``); on success ``sharing`` → ``paid_out``.
  Anything else (withdrawal mode, cash on delivery, a gateway without
  sharing, no receiver) stays withdrawable as before.
- **failures** stay ``failed`` (visible to the platform, a to-do, and to the
  merchant) and the periodic job ``multistore_profit_sharing`` sends them
  again under the same number; the platform may release a refused one to
  withdrawal.
- **refunds after a sharing**: the merchant's part of the refund (as the
  ledger reverses it: refund + platform-funded discount − commission given
  back) is returned from the receiver (分账回退, ``PR<refund number>``) as far
  as the sharing covers it; the rest, and a return the gateway refuses,
  becomes a debt (``owed``) netted from the merchant's next payouts
  (shares and withdrawals).

Every state change is a conditional UPDATE; ledger postings are unique per
event (see :mod:`.ledger`), so the job twice, the after-commit send and the
job at once, or a notification delivered twice post once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import cast

from jishi import settings
from jishi.db import after_commit, commit, db, rollback, utcnow
from jishi.errors import DomainError
from jishi.gateways import GatewayResult, PaymentGateway, ProfitShareRequest, gateway, gateways, trade_number
from jishi.hookspecs import MenuItem, PeriodicJob, SettingField, SettingsPanel, TodoItem, hookimpl
from jishi.i18n import gettext as _
from jishi.i18n import lazy_gettext as _l
from jishi.orders.models import Order, PaymentOrder
from sqlalchemy import CursorResult, and_, func, or_, select, update

from jishi_multistore import ledger
from jishi_multistore.models import LedgerEntry, LedgerJournal, Merchant, ProfitShare, ShareReceiver

MODE_SETTING = "multistore.settlement_mode"
WITHDRAWAL = "withdrawal"
PROFIT_SHARING = "profit_sharing"
MODES = (WITHDRAWAL, PROFIT_SHARING)

#: receiver types per gateway code (WeChat Pay's and the sandbox's by default)
RECEIVER_TYPES: dict[str, tuple[str, ...]] = {"alipay": ("loginName", "userId")}
DEFAULT_RECEIVER_TYPES = ("MERCHANT_ID", "PERSONAL_OPENID")
NAME_REQUIRED = ("MERCHANT_ID",)  # WeChat checks the receiver's name for a merchant id

SHARE_STATUSES = ("requested", "succeeded", "failed", "released")
RETURN_STATUSES = ("requested", "succeeded", "failed", "debt")
STATUSES = ("requested", "succeeded", "failed", "released", "debt")
OPEN = ("requested", "failed")
MAX_ATTEMPTS = 20
RETRY_SECONDS = 60


class SharingError(DomainError):
    pass


def mode() -> str:
    value = settings.get(MODE_SETTING, WITHDRAWAL)
    return value if value in MODES else WITHDRAWAL


# -- receivers -------------------------------------------------------------------


def sharing_gateways() -> list[PaymentGateway]:
    """The installed online gateways that implement profit sharing."""
    return [g for g in gateways().values() if g.online and g.profit_sharing]


def receiver_types(code: str) -> tuple[str, ...]:
    return RECEIVER_TYPES.get(code, DEFAULT_RECEIVER_TYPES)


def receivers(merchant_id: int) -> dict[str, ShareReceiver]:
    rows = db.session.execute(select(ShareReceiver).where(ShareReceiver.merchant_id == merchant_id)).scalars()
    return {r.gateway: r for r in rows}


def _sharing_gateway(code: str) -> PaymentGateway:
    gw = gateway(code)
    if gw is None or not gw.online or not gw.profit_sharing:
        raise SharingError("gateway", _("This payment method does not support profit sharing."), status=404)
    return gw


def clean_receiver(code: str, data: Mapping) -> dict[str, str]:
    """``{type, account, name}`` checked for gateway ``code``, or a 422
    naming the field."""
    types = receiver_types(code)
    out: dict[str, str] = {}
    for key, size in (("type", 30), ("account", 64), ("name", 64)):
        value = data.get(key, "")
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise SharingError(key, _("Enter text."))
        value = value.strip()
        if len(value) > size:
            raise SharingError(key, _("At most %(n)d characters.", n=size))
        out[key] = value
    if out["type"] not in types:
        raise SharingError("type", _("Choose one of: %(types)s.", types=", ".join(types)))
    if not out["account"]:
        raise SharingError("account", _("Enter the receiver account."))
    if out["type"] in NAME_REQUIRED and not out["name"]:
        raise SharingError("name", _("Enter the receiver's name (as registered with the payment service)."))
    if not out["name"]:
        del out["name"]
    return out


def bind(merchant: Merchant, user, code: str, data: Mapping) -> ShareReceiver:
    """Register the merchant's receiver account at gateway ``code``
    (``add_receiver``) and record it, replacing the one bound before (the
    caller commits). The gateway is asked before anything is written."""
    gw = _sharing_gateway(code)
    receiver = clean_receiver(code, data)
    try:
        result = gw.add_receiver(receiver)
    except Exception as exc:  # a plugin's failure: the gateway could not be asked
        result = GatewayResult("failed", message=str(exc)[:200], retryable=True)
    if result.status != "succeeded":
        if result.retryable:
            raise SharingError(
                "gateway", _("The payment service could not be reached; try again."), code="unavailable", status=503
            )
        raise SharingError(
            "account",
            _("The payment service refused the receiver: %(message)s", message=result.message or "-"),
            code="refused",
        )
    row = receivers(merchant.id).get(code)
    if row is None:
        row = ShareReceiver(merchant_id=merchant.id, gateway=code)
        db.session.add(row)
    row.type = receiver["type"]
    row.account = receiver["account"]
    row.name = receiver.get("name", "")
    row.reference = (result.reference or "")[:64]
    row.bound_by = getattr(user, "id", None)
    row.created_at = utcnow()
    db.session.flush()
    return row


def unbind(merchant: Merchant, code: str) -> None:
    """Remove the receiver bound at ``code``; refused (409) while a sharing
    or a return of the merchant's at that gateway is still open."""
    row = receivers(merchant.id).get(code)
    if row is None:
        raise SharingError("gateway", _("No receiver account is bound for this payment method."), status=404)
    busy = db.session.execute(
        select(func.count(ProfitShare.id)).where(
            ProfitShare.merchant_id == merchant.id, ProfitShare.gateway == code, ProfitShare.status.in_(OPEN)
        )
    ).scalar_one()
    if busy:
        raise SharingError(
            "gateway",
            _("%(n)d profit sharing operations are still open; wait until they finish.", n=busy),
            code="pending",
            status=409,
        )
    db.session.delete(row)
    db.session.flush()


# -- completion: the share ------------------------------------------------------


def _completed_available(order_id: int, merchant_id: int) -> int:
    """What the order's ``completed`` journal made withdrawable (after commission)."""
    return int(
        db.session.execute(
            select(func.coalesce(func.sum(LedgerEntry.amount), 0))
            .join(LedgerJournal, LedgerJournal.id == LedgerEntry.journal_id)
            .where(
                LedgerJournal.kind == "completed",
                LedgerJournal.source_type == "order",
                LedgerJournal.source_id == order_id,
                LedgerEntry.merchant_id == merchant_id,
                LedgerEntry.account == ledger.AVAILABLE,
            )
        ).scalar_one()
    )


def share_of(order_id: int) -> ProfitShare | None:
    return db.session.execute(
        select(ProfitShare).where(ProfitShare.kind == "share", ProfitShare.source_id == order_id)
    ).scalar_one_or_none()


def on_completed(order) -> ProfitShare | None:
    """Inside the completion's transaction, after ``ledger.settle_order``:
    send the merchant's share by profit sharing when the platform, the
    gateway and the merchant's receiver allow it (else it stays
    withdrawable). Idempotent (one share per order)."""
    mid = order.seller_id
    if mid is None or order.payment_method == "cod" or mode() != PROFIT_SHARING:
        return None
    gw = gateway(order.payment_method)
    if gw is None or not gw.online or not gw.profit_sharing:
        return None
    receiver = receivers(mid).get(gw.code)
    payment = order.payment
    if receiver is None or payment is None or not payment.gateway_trade_no:
        return None
    if ledger.posted("share_request", "order", order.id):
        return None
    due = _completed_available(order.id, mid)
    if due <= 0:
        return None
    ledger.lock(mid)  # taken by the completion already; the debt is read under it
    owed = -ledger.balance(mid, ledger.OWED)
    netted = min(max(owed, 0), due)
    send_amount = due - netted
    now = utcnow()
    row = ProfitShare(
        number=f"PS{order.number}",
        kind="share",
        source_id=order.id,
        merchant_id=mid,
        order_id=order.id,
        payment_id=payment.id,
        gateway=gw.code,
        trade_number=trade_number(payment),
        gateway_trade_no=payment.gateway_trade_no,
        receiver=receiver.as_receiver(),
        amount=send_amount,
        netted=netted,
        status="requested" if send_amount else "succeeded",
        retryable=True,
        created_at=now,
        finished_at=None if send_amount else now,
    )
    db.session.add(row)
    db.session.flush()
    ledger.post(
        "share_request",
        "order",
        order.id,
        mid,
        [(mid, ledger.AVAILABLE, -due), (mid, ledger.OWED, netted), (mid, ledger.SHARING, send_amount)],
        order_id=order.id,
        memo=row.number,
    )
    if send_amount:
        share_id = row.id
        after_commit(lambda: send(share_id))
    return row


# -- refunds after a sharing: the return -------------------------------------------


def refund_after_sharing(order, refund, amount: int, subsidy_back: int, commission_back: int):
    """Called by ``ledger.settle_refund`` for a refund after completion
    (under the merchant's lock): None when the order's money was not shared
    (the withdrawable balance pays the refund back, as before); else the
    refund's journal, the merchant's part to be returned from its receiver
    (as far as the sharing covers it) or owed."""
    share = share_of(order.id)
    if share is None or share.status == "released":
        return None
    if share.status != "succeeded":
        raise ledger.LedgerError(
            "amount",
            _("The merchant's profit sharing for this order has not finished; retry or release it first."),
            code="sharing_open",
            status=409,
        )
    mid = order.seller_id
    part = amount + subsidy_back - commission_back
    returned = db.session.execute(
        select(func.coalesce(func.sum(ProfitShare.amount), 0)).where(
            ProfitShare.kind == "return", ProfitShare.parent_id == share.id
        )
    ).scalar_one()
    back = max(0, min(part, share.amount - int(returned)))
    owed = part - back
    now = utcnow()
    row = ProfitShare(
        number=f"PR{refund.number}",
        kind="return",
        source_id=refund.id,
        parent_id=share.id,
        merchant_id=mid,
        order_id=order.id,
        payment_id=share.payment_id,
        gateway=share.gateway,
        trade_number=share.trade_number,
        gateway_trade_no=share.gateway_trade_no,
        receiver=dict(share.receiver or {}),
        amount=back,
        netted=owed,
        status="requested" if back else "succeeded",
        created_at=now,
        finished_at=None if back else now,
    )
    db.session.add(row)
    db.session.flush()
    journal = ledger.post(
        "refund",
        "refund",
        refund.id,
        mid,
        [
            (None, ledger.CASH, amount),
            (None, ledger.SUBSIDY, subsidy_back),
            (None, ledger.COMMISSION, -commission_back),
            (mid, ledger.RETURNING, -back),
            (mid, ledger.OWED, -owed),
        ],
        order_id=order.id,
        memo=refund.number,
    )
    if back:
        return_id = row.id
        after_commit(lambda: send(return_id))
    return journal


# -- sending -----------------------------------------------------------------------


def _request(row: ProfitShare) -> ProfitShareRequest:
    parent = db.session.get(ProfitShare, row.parent_id) if row.parent_id else None
    return ProfitShareRequest(
        number=row.number,
        payment_number=row.trade_number,
        gateway_trade_no=row.gateway_trade_no,
        amount=row.amount,
        receiver=dict(row.receiver or {}),
        description=_("Order settlement") if row.kind == "share" else _("Refund"),
        share_number=parent.number if parent is not None else None,
        gateway_share_no=(parent.reference or None) if parent is not None else None,
    )


def send(row_id: int, now: datetime | None = None) -> str:
    """Send (or send again, same number) a share or a return and record the
    answer; returns its status after it (``busy``: another sender has it).
    Claims the row first (a concurrent sender of the same row does nothing)."""
    now = now or utcnow()
    row = db.session.get(ProfitShare, row_id)
    if row is None:
        return "missing"
    db.session.refresh(row)
    if row.status not in OPEN or row.attempts >= MAX_ATTEMPTS:
        return row.status
    # The claim: a failed row, a new one never tried, or one whose attempt
    # was lost (requested, tried more than RETRY_SECONDS ago) moves to
    # ``requested`` with this attempt's time; a concurrent sender finds it
    # claimed and does nothing, so the gateway is asked once at a time.
    lease = now - timedelta(seconds=RETRY_SECONDS)
    claimed = cast(
        CursorResult,
        db.session.execute(
            update(ProfitShare)
            .where(
                ProfitShare.id == row.id,
                or_(
                    ProfitShare.status == "failed",
                    and_(
                        ProfitShare.status == "requested",
                        or_(ProfitShare.tried_at.is_(None), ProfitShare.tried_at < lease),
                    ),
                ),
            )
            .values(status="requested", tried_at=now, attempts=ProfitShare.attempts + 1)
            .execution_options(synchronize_session=False)
        ),
    ).rowcount
    if not claimed:
        rollback()
        return "busy"
    request = _request(row)
    commit()  # the claim is durable before the gateway is asked
    gw = gateway(row.gateway)
    if gw is None or not gw.profit_sharing:
        result = GatewayResult("failed", message=f"gateway {row.gateway} does not share", retryable=True)
    else:
        try:
            if row.kind == "finish":
                payment = db.session.get(PaymentOrder, row.payment_id)
                assert payment is not None
                result = gw.finish_sharing(payment, row.number)
            elif row.kind == "share":
                result = gw.profit_share(request)
            else:
                result = gw.profit_return(request)
        except Exception as exc:  # a plugin's failure: tried again later
            result = GatewayResult("failed", message=str(exc)[:200], retryable=True)
    return apply_result(row_id, result)


def _move(row: ProfitShare, target: str, **values) -> bool:
    won = cast(
        CursorResult,
        db.session.execute(
            update(ProfitShare)
            .where(ProfitShare.id == row.id, ProfitShare.status.in_(OPEN))
            .values(status=target, **values)
            .execution_options(synchronize_session=False)
        ),
    ).rowcount
    return bool(won)


def apply_result(row_id: int, result: GatewayResult) -> str:
    """Record a gateway's answer about a share or a return; commits."""
    row = db.session.get(ProfitShare, row_id)
    assert row is not None
    db.session.refresh(row)
    mid = row.merchant_id
    reference = (result.reference or row.reference or "")[:64]
    if row.kind == "finish":  # no money of a merchant moves: the platform's rest is unfrozen
        if result.status == "succeeded":
            _move(row, "succeeded", reference=reference, last_error="", finished_at=utcnow())
        else:
            _move(row, "failed", retryable=bool(result.retryable), last_error=(result.message or "failed")[:300])
        commit()
        db.session.refresh(row)
        return row.status
    if result.status == "succeeded" and result.amount and result.amount != row.amount:
        result = GatewayResult("failed", message=f"the gateway answered {result.amount} for {row.amount}")
    if result.status == "succeeded":
        ledger.lock(mid)
        if _move(row, "succeeded", reference=reference, last_error="", finished_at=utcnow()):
            if row.kind == "share":
                legs = [
                    (mid, ledger.SHARING, -row.amount),
                    (mid, ledger.PAID_OUT, row.amount),
                    (None, ledger.CASH, row.amount),
                    (None, ledger.PAYOUTS, -row.amount),
                ]
                ledger.post("share_paid", "profit_share", row.id, mid, legs, order_id=row.order_id, memo=row.number)
            else:
                legs = [
                    (mid, ledger.RETURNING, row.amount),
                    (mid, ledger.PAID_OUT, -row.amount),
                    (None, ledger.CASH, -row.amount),
                    (None, ledger.PAYOUTS, row.amount),
                ]
                ledger.post("share_returned", "profit_share", row.id, mid, legs, order_id=row.order_id, memo=row.number)
    elif result.status == "pending":
        db.session.execute(
            update(ProfitShare)
            .where(ProfitShare.id == row.id, ProfitShare.status.in_(OPEN))
            .values(status="requested", reference=reference, last_error="")
            .execution_options(synchronize_session=False)
        )
    elif row.kind == "return" and not result.retryable:
        # The gateway refuses to return it: the merchant owes it.
        ledger.lock(mid)
        if _move(row, "debt", retryable=False, last_error=(result.message or "refused")[:300], finished_at=utcnow()):
            ledger.post(
                "share_debt",
                "profit_share",
                row.id,
                mid,
                [(mid, ledger.RETURNING, row.amount), (mid, ledger.OWED, -row.amount)],
                order_id=row.order_id,
                memo=row.number,
            )
    else:
        _move(row, "failed", retryable=bool(result.retryable), last_error=(result.message or "failed")[:300])
    commit()
    db.session.refresh(row)
    return row.status


def retry_due(now: datetime | None = None) -> dict[str, int]:
    """The periodic job: send again, same numbers, the shares and returns
    that failed (a refused return is a debt, not retried) and those whose
    send was lost (requested, not tried for a while). Idempotent."""
    now = now or utcnow()
    before = now - timedelta(seconds=RETRY_SECONDS)
    ids = (
        db.session.execute(
            select(ProfitShare.id)
            .where(
                ProfitShare.status.in_(OPEN),
                ProfitShare.attempts < MAX_ATTEMPTS,
                or_(
                    ProfitShare.tried_at < before,
                    and_(ProfitShare.tried_at.is_(None), ProfitShare.created_at < before),
                ),
            )
            .order_by(ProfitShare.id)
            .limit(200)
        )
        .scalars()
        .all()
    )
    counts = {"sent": 0, "succeeded": 0, "failed": 0}
    ids = [*ids, *_finishes_due()]
    for row_id in ids:
        status = send(row_id, now=now)
        if status == "busy":
            continue
        counts["sent"] += 1
        if status == "succeeded":
            counts["succeeded"] += 1
        elif status in ("failed", "debt"):
            counts["failed"] += 1
    rollback()
    return counts


def _finishes_due() -> list[int]:
    """Payments whose sharing is over: every order of the payment completed
    or closed, at least one share sent, none open. For each, a ``finish``
    row (``PF<trade number>``, once per payment) asks the gateway to
    unfreeze what is left of the trade for the platform (WeChat Pay's
    ``/v3/profitsharing/orders/unfreeze``; without it the platform's part
    stays frozen until the gateway's own deadline). Returns the new rows."""
    from jishi.orders import state as order_state
    from sqlalchemy.orm import aliased

    done = aliased(ProfitShare)
    shared = (
        select(ProfitShare.payment_id)
        .where(ProfitShare.kind == "share", ProfitShare.status == "succeeded")
        .where(~select(done.id).where(done.payment_id == ProfitShare.payment_id, done.kind == "finish").exists())
        .distinct()
        .limit(100)
    )
    new = []
    for pid in db.session.execute(shared).scalars().all():
        open_or_done = db.session.execute(
            select(ProfitShare.kind, ProfitShare.status).where(ProfitShare.payment_id == pid)
        ).all()
        if any(kind == "finish" for kind, _s in open_or_done) or any(
            status in OPEN for kind, status in open_or_done if kind in ("share", "return")
        ):
            continue
        unsettled = db.session.execute(
            select(func.count(Order.id)).where(
                Order.payment_id == pid, Order.status.not_in((order_state.COMPLETED, order_state.CLOSED))
            )
        ).scalar_one()
        if unsettled:
            continue
        first = db.session.execute(
            select(ProfitShare)
            .where(ProfitShare.payment_id == pid, ProfitShare.kind == "share")
            .order_by(ProfitShare.id)
            .limit(1)
        ).scalar_one()
        row = ProfitShare(
            number=f"PF{first.trade_number}"[:64],
            kind="finish",
            source_id=pid,
            merchant_id=first.merchant_id,
            order_id=first.order_id,
            payment_id=pid,
            gateway=first.gateway,
            trade_number=first.trade_number,
            gateway_trade_no=first.gateway_trade_no,
            receiver={},
            amount=0,
        )
        db.session.add(row)
        try:
            commit()
        except Exception:  # another job made it first (unique kind, source)
            rollback()
            continue
        new.append(row.id)
    return new


def retry_now(row: ProfitShare) -> str:
    """The platform's "retry now" of a failed share or return."""
    if row.status != "failed":
        raise SharingError("status", _("Only a failed operation can be retried."), code="conflict", status=409)
    if row.attempts >= MAX_ATTEMPTS:
        db.session.execute(
            update(ProfitShare).where(ProfitShare.id == row.id).values(attempts=MAX_ATTEMPTS - 1)
        )  # one more try, asked for by a person
        commit()
    return send(row.id)


def release(row: ProfitShare) -> ProfitShare:
    """The platform gives up on a share the gateway refused (its last answer
    was a refusal, so nothing was shared under its number): the money becomes
    withdrawable. The caller commits."""
    if row.kind != "share" or row.status != "failed" or row.retryable:
        raise SharingError(
            "status",
            _("Only a share the payment service refused can be released to withdrawal."),
            code="conflict",
            status=409,
        )
    mid = row.merchant_id
    ledger.lock(mid)
    if not _move(row, "released", finished_at=utcnow()):
        raise SharingError("status", _("This operation changed meanwhile; reload."), code="conflict", status=409)
    ledger.post(
        "share_released",
        "profit_share",
        row.id,
        mid,
        [(mid, ledger.SHARING, -row.amount), (mid, ledger.AVAILABLE, row.amount)],
        order_id=row.order_id,
        memo=row.number,
    )
    db.session.refresh(row)
    return row


# -- reading ------------------------------------------------------------------------


def list_rows(
    *,
    merchant_id: int | None = None,
    status: str | None = None,
    kind: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[ProfitShare]:
    q = select(ProfitShare).order_by(ProfitShare.id.desc()).limit(limit)
    if merchant_id is not None:
        q = q.where(ProfitShare.merchant_id == merchant_id)
    if status:
        q = q.where(ProfitShare.status == status)
    if kind:
        q = q.where(ProfitShare.kind == kind)
    if before_id:
        q = q.where(ProfitShare.id < before_id)
    return list(db.session.execute(q).scalars())


def failed_count() -> int:
    """Shares and returns that failed (the platform's to-do)."""
    return int(
        db.session.execute(select(func.count(ProfitShare.id)).where(ProfitShare.status == "failed")).scalar_one()
    )


# -- hooks --------------------------------------------------------------------------


@hookimpl
def settings_panels():
    return [
        SettingsPanel(
            "multistore_settlement",
            str(_l("Multi-merchant: how merchants are paid")),  # 多商户-结算方式
            (
                SettingField(
                    MODE_SETTING,
                    str(_l("Settlement")),
                    "choice",
                    WITHDRAWAL,
                    help=str(
                        _l(
                            "Profit sharing sends a merchant's share of a completed order to its receiver account "
                            "through the payment service that took the money; orders it cannot share stay "
                            "withdrawable."
                        )
                    ),
                    choices=(
                        (WITHDRAWAL, str(_l("Withdrawal (merchants apply, the platform pays)"))),
                        (PROFIT_SHARING, str(_l("Profit sharing when the order completes"))),
                    ),
                ),
            ),
            sort=62,
        )
    ]


@hookimpl
def periodic_jobs():
    return [PeriodicJob("multistore_profit_sharing", retry_due, every_seconds=RETRY_SECONDS)]


@hookimpl
def console_menu_items(console, principal):
    return [
        MenuItem(
            str(_l("Profit sharing")),
            "multistore_admin.profit_sharing",
            console="platform",
            permission="money",
            sort=87,
            group="finance",
        ),  # 分账
        MenuItem(
            str(_l("Profit sharing")),
            "merchant.sharing",
            console="merchant",
            permission="money",
            sort=75,
            group="finance",
        ),
    ]


@hookimpl
def console_todos(console, principal):
    if console != "platform":
        return None
    return [
        TodoItem(
            str(_l("Profit sharing failed")),
            failed_count(),
            "multistore_admin.profit_sharing",
            {"status": "failed"},
            permission="money",
            sort=55,
        )
    ]
