"""Withdrawals (MS12): rules, requests, review, offline payout, overview.

Rules are platform settings (panel "multistore_withdraw"): payout is manual
only (the platform pays offline, then confirms); one withdrawal is at least
``multistore.withdraw_min`` fen (default 500, 5 yuan, never less); a merchant
withdraws at most once per ``multistore.withdraw_interval_days`` days (at
least 1: with 5, a withdrawal on Jan 1 allows the next on Jan 6, calendar
days in the shop's time zone; rejected requests do not count); and
``multistore.withdraw_agreement``, when set, must be accepted.

A request serialises on the merchant row (:func:`ledger.lock`, the first
write of its transaction) and only then sums the withdrawable balance and
posts, so simultaneous requests can never take more than the balance.

Statuses: ``pending`` -> ``approved`` -> ``paid``; ``pending``/``approved``
-> ``rejected`` (the money goes back to withdrawable). Every change is a
conditional UPDATE: two clicks cannot both win.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from jishi import settings
from jishi.db import db, utcnow
from jishi.errors import DomainError
from jishi.i18n import gettext as _
from jishi.i18n import to_shop_time
from sqlalchemy import func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from jishi_multistore import ledger
from jishi_multistore.models import LedgerEntry, Merchant, Withdrawal

METHODS = ("bank", "alipay", "wechat")
STATUSES = ("pending", "approved", "rejected", "paid")
OPEN = ("pending", "approved")
MIN_FLOOR = 500  # 5 yuan: the platform may raise the minimum, not lower it

MIN_SETTING = "multistore.withdraw_min"
INTERVAL_SETTING = "multistore.withdraw_interval_days"
AGREEMENT_SETTING = "multistore.withdraw_agreement"
PAYOUT_SETTING = "multistore.withdraw_payout"


class WithdrawalError(DomainError):
    pass


def _int_setting(key: str, default: int, minimum: int) -> int:
    try:
        value = int(settings.get(key, default))
    except (TypeError, ValueError):
        value = default
    return max(value, minimum)


def rules() -> dict:
    return {
        "payout": "manual",
        "min_amount": _int_setting(MIN_SETTING, MIN_FLOOR, MIN_FLOOR),
        "interval_days": _int_setting(INTERVAL_SETTING, 1, 1),
        "agreement": str(settings.get(AGREEMENT_SETTING, "") or ""),
    }


def local_day(moment: datetime):
    """The calendar day of a naive UTC time in the shop's time zone."""
    return to_shop_time(moment).date()


def last_request(merchant_id: int) -> Withdrawal | None:
    return db.session.execute(
        select(Withdrawal)
        .where(Withdrawal.merchant_id == merchant_id, Withdrawal.status != "rejected")
        .order_by(Withdrawal.created_at.desc(), Withdrawal.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def next_allowed_day(merchant_id: int, interval_days: int | None = None):
    """The first day a new request is allowed (None: now)."""
    last = last_request(merchant_id)
    if last is None:
        return None
    days = interval_days if interval_days is not None else rules()["interval_days"]
    return local_day(last.created_at) + timedelta(days=days)


def clean_account(data: dict | None, method: str | None = None) -> dict:
    """A withdrawal account {method, name, account, bank} or a 422 naming the field."""
    data = dict(data or {})
    raw = method if method else data.get("method")
    method = raw.strip() if isinstance(raw, str) else ""
    if method not in METHODS:
        raise WithdrawalError("method", _("Choose bank card, Alipay or WeChat."))  # 提现方式
    out = {"method": method}
    limits = {"name": 40, "account": 60, "bank": 60}
    for key, size in limits.items():
        value = data.get(key, "")
        if not isinstance(value, str):
            raise WithdrawalError(f"account.{key}", _("Enter text."))
        value = value.strip()
        if len(value) > size:
            raise WithdrawalError(f"account.{key}", _("At most %(n)d characters.", n=size))
        out[key] = value
    if not out["name"]:
        raise WithdrawalError("account.name", _("Enter the account holder's name."))  # 户名
    if not out["account"]:
        raise WithdrawalError("account.account", _("Enter the account number."))  # 账号
    if method == "bank" and not out["bank"]:
        raise WithdrawalError("account.bank", _("Enter the bank."))  # 开户行
    if method != "bank":
        out["bank"] = ""
    return out


def save_account(merchant: Merchant, data: dict) -> dict:
    account = clean_account(data)
    merchant.withdraw_account = account
    return account


def request_withdrawal(
    merchant: Merchant, user, amount, *, method: str | None = None, account: dict | None = None, agree: bool = False
) -> Withdrawal:
    """A merchant asks for ``amount`` fen of its withdrawable balance (the
    caller commits). ``account`` None reuses the stored account."""
    r = rules()
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise WithdrawalError("amount", _("Enter the amount in fen."))
    if amount < r["min_amount"]:
        raise WithdrawalError(
            "amount", _("A withdrawal is at least %(min)s.", min=_yuan(r["min_amount"])), code="below_minimum"
        )  # 单笔提现不得低于5元
    if r["agreement"] and not agree:
        raise WithdrawalError("agree", _("Accept the withdrawal agreement first."), code="agreement")  # 提现协议
    if account:
        account = clean_account(account, account.get("method") or method)
    else:
        stored = dict(merchant.withdraw_account or {})
        if not stored:
            raise WithdrawalError("account", _("Enter the account to pay into."))
        if method and method != stored.get("method"):
            raise WithdrawalError("account", _("Enter the %(method)s account to pay into.", method=method))
        account = clean_account(stored)
    # Serialise on the merchant row, then read and post.
    ledger.lock(merchant.id)
    next_day = next_allowed_day(merchant.id, r["interval_days"])
    if next_day is not None and local_day(utcnow()) < next_day:
        raise WithdrawalError(
            "amount",
            _(
                "One withdrawal per %(n)d days: the next is possible on %(day)s.",
                n=r["interval_days"],
                day=next_day.isoformat(),
            ),
            code="too_soon",
            status=409,
        )  # X天内只能提现一次
    available = ledger.withdrawable(ledger.balances(merchant.id))  # less any debt (profit sharing)
    if amount > available:
        raise WithdrawalError(
            "amount", _("Only %(n)s can be withdrawn.", n=_yuan(available)), code="insufficient", status=409
        )  # 可提现金额不足
    w = Withdrawal(
        merchant_id=merchant.id,
        amount=amount,
        method=account["method"],
        account=account,
        status="pending",
        requested_by=getattr(user, "id", None),
        created_at=utcnow(),
    )
    db.session.add(w)
    db.session.flush()
    ledger.post(
        "withdraw_request",
        "withdrawal",
        w.id,
        merchant.id,
        [(merchant.id, ledger.AVAILABLE, -amount), (merchant.id, ledger.PAYOUT_PENDING, amount)],
        memo=f"W{w.id}",
    )
    if merchant.withdraw_account != account:
        merchant.withdraw_account = account
    return w


def _move(w: Withdrawal, sources: tuple[str, ...], target: str, **values) -> None:
    won = db.session.execute(
        update(Withdrawal)
        .where(Withdrawal.id == w.id, Withdrawal.status.in_(sources))
        .values(status=target, **values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if won != 1:
        db.session.refresh(w)
        raise WithdrawalError(
            "status", _("This withdrawal is %(status)s.", status=w.status), code="conflict", status=409
        )
    set_committed_value(w, "status", target)
    for key, value in values.items():
        set_committed_value(w, key, value)


def approve(w: Withdrawal) -> Withdrawal:
    _move(w, ("pending",), "approved", reviewed_at=utcnow())
    return w


def reject(w: Withdrawal, reason: str) -> Withdrawal:
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if not reason:
        raise WithdrawalError("reason", _("Give a reason."))
    if len(reason) > 200:
        raise WithdrawalError("reason", _("At most %(n)d characters.", n=200))
    ledger.lock(w.merchant_id)
    _move(w, OPEN, "rejected", reviewed_at=utcnow(), reject_reason=reason)
    ledger.post(
        "withdraw_reject",
        "withdrawal",
        w.id,
        w.merchant_id,
        [(w.merchant_id, ledger.PAYOUT_PENDING, -w.amount), (w.merchant_id, ledger.AVAILABLE, w.amount)],
        memo=f"W{w.id}",
    )
    return w


def confirm_paid(w: Withdrawal) -> Withdrawal:
    """The platform paid the merchant offline (打款)."""
    ledger.lock(w.merchant_id)
    _move(w, ("approved",), "paid", paid_at=utcnow())
    ledger.post(
        "withdraw_paid",
        "withdrawal",
        w.id,
        w.merchant_id,
        [
            (w.merchant_id, ledger.PAYOUT_PENDING, -w.amount),
            (w.merchant_id, ledger.PAID_OUT, w.amount),
            (None, ledger.CASH, w.amount),
            (None, ledger.PAYOUTS, -w.amount),
        ],
        memo=f"W{w.id}",
    )
    return w


def list_withdrawals(
    *,
    merchant_id: int | None = None,
    status: str | None = None,
    method: str | None = None,
    before_id: int | None = None,
    limit: int = 20,
) -> list[Withdrawal]:
    q = select(Withdrawal).order_by(Withdrawal.id.desc()).limit(limit)
    if merchant_id is not None:
        q = q.where(Withdrawal.merchant_id == merchant_id)
    if status:
        q = q.where(Withdrawal.status == status)
    if method:
        q = q.where(Withdrawal.method == method)
    if before_id:
        q = q.where(Withdrawal.id < before_id)
    return list(db.session.execute(q).scalars())


def overview(start: datetime | None = None, end: datetime | None = None, merchant_id: int | None = None) -> dict:
    """The platform's settlement overview (资金对账): totals and one row per
    merchant. Figures are the ledger's net movement in ``[start, end)`` (all
    time = current balances): paid out, pending payout, withdrawable
    (awaiting withdrawal), non-withdrawable; withdrawals counted by request
    time."""
    q = select(LedgerEntry.merchant_id, LedgerEntry.account, func.sum(LedgerEntry.amount)).where(
        LedgerEntry.merchant_id.isnot(None), LedgerEntry.account.in_(ledger.MERCHANT_ACCOUNTS)
    )
    wq = select(Withdrawal.merchant_id, func.count(Withdrawal.id)).where(Withdrawal.status != "rejected")
    if start is not None:
        q = q.where(LedgerEntry.created_at >= start)
        wq = wq.where(Withdrawal.created_at >= start)
    if end is not None:
        q = q.where(LedgerEntry.created_at < end)
        wq = wq.where(Withdrawal.created_at < end)
    if merchant_id is not None:
        q = q.where(LedgerEntry.merchant_id == merchant_id)
        wq = wq.where(Withdrawal.merchant_id == merchant_id)
    per: dict[int, dict] = {}

    def row(mid):
        return per.setdefault(mid, {"merchant_id": mid, "withdrawals": 0, **dict.fromkeys(ledger.MERCHANT_ACCOUNTS, 0)})

    for mid, account, total in db.session.execute(q.group_by(LedgerEntry.merchant_id, LedgerEntry.account)).all():
        row(mid)[account] = int(total or 0)
    for mid, n in db.session.execute(wq.group_by(Withdrawal.merchant_id)).all():
        row(mid)["withdrawals"] = int(n)
    names = (
        dict(db.session.execute(select(Merchant.id, Merchant.name).where(Merchant.id.in_(list(per)))).all())
        if per
        else {}
    )
    rows = []
    for mid in sorted(per):
        r = per[mid]
        rows.append(
            {
                "merchant_id": mid,
                "merchant_name": names.get(mid, ""),
                "withdrawals": r["withdrawals"],
                "paid_out": r[ledger.PAID_OUT],
                "pending_payout": r[ledger.PAYOUT_PENDING],
                "withdrawable": r[ledger.AVAILABLE],
                "non_withdrawable": r[ledger.PENDING],
                "cod_collected": r[ledger.COD_COLLECTED],
            }
        )
    totals = {
        k: sum(r[k] for r in rows)
        for k in ("withdrawals", "paid_out", "pending_payout", "withdrawable", "non_withdrawable", "cod_collected")
    }
    return {"totals": totals, "merchants": rows}


def _yuan(fen: int) -> str:
    from jishi.money import format_fen

    return format_fen(fen)
