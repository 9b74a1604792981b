"""Promoter withdrawals: rules, requests, review, offline payout.

Rules (settings): ``distribution.withdraw_min`` fen (default 1000, ¥10;
never below 100); one request per ``distribution.withdraw_interval_days``
shop calendar days (0: no limit; rejected requests do not count);
``distribution.withdraw_agreement``, when set, must be accepted. Only an
active promoter withdraws (a frozen one waits; a removed one may still take
out what was available when removed).

The request is ONE conditional UPDATE of the promoter's account
(:func:`ledger.withdraw`): simultaneous requests can never take more than
the available balance. Statuses ``pending`` -> ``approved`` -> ``paid``;
``pending``/``approved`` -> ``rejected`` (the money is available again,
paying off any debt first). Every move is a conditional UPDATE.
"""

from __future__ import annotations

from datetime import timedelta

from jishi import settings
from jishi.db import db, utcnow
from jishi.errors import DomainError
from jishi.i18n import gettext as _
from jishi.i18n import shop_day_bounds, to_shop_time
from jishi.money import format_fen
from sqlalchemy import func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from jishi_distribution import ledger, service
from jishi_distribution.models import (
    ACTIVE,
    E_WITHDRAW,
    E_WITHDRAW_PAID,
    E_WITHDRAW_REJECTED,
    REMOVED,
    Account,
    Withdrawal,
)

MIN_SETTING = "distribution.withdraw_min"
INTERVAL_SETTING = "distribution.withdraw_interval_days"
AGREEMENT_SETTING = "distribution.withdraw_agreement"
MIN_FLOOR = 100
METHODS = ("bank", "alipay", "wechat")
STATUSES = ("pending", "approved", "rejected", "paid")
OPEN = ("pending", "approved")


def _int(key: str, default: int, minimum: int) -> int:
    try:
        value = int(settings.get(key, default))
    except (TypeError, ValueError):
        value = default
    return max(value, minimum)


def rules() -> dict:
    return {
        "min_amount": _int(MIN_SETTING, 1000, MIN_FLOOR),
        "interval_days": _int(INTERVAL_SETTING, 1, 0),
        "agreement": str(settings.get(AGREEMENT_SETTING, "") or ""),
    }


def _not_since(interval_days: int):
    """The moment from which an earlier request blocks a new one: the start
    of the shop day ``interval_days - 1`` days before today."""
    today = to_shop_time(utcnow()).date()
    start, _end = shop_day_bounds(today - timedelta(days=interval_days - 1), None)
    return start


def clean_account(method, data) -> dict:
    method = method.strip() if isinstance(method, str) else ""
    if method not in METHODS:
        raise DomainError("method", _("Choose bank card, Alipay or WeChat."))
    data = data if isinstance(data, dict) else {}
    out = {"method": method}
    for key, size in (("name", 40), ("account", 60), ("bank", 60)):
        value = data.get(key, "")
        value = value.strip() if isinstance(value, str) else ""
        if len(value) > size:
            raise DomainError(f"account.{key}", _("At most %(n)d characters.", n=size))
        out[key] = value
    if not out["name"]:
        raise DomainError("account.name", _("Enter the account holder's name."))
    if not out["account"]:
        raise DomainError("account.account", _("Enter the account number."))
    if method == "bank" and not out["bank"]:
        raise DomainError("account.bank", _("Enter the bank."))
    return out


def request_withdrawal(user_id: int, amount, method, account, agree: bool = False) -> Withdrawal:
    """A promoter asks for ``amount`` fen of their available commission (the caller commits)."""
    r = rules()
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise DomainError("amount", _("Enter the amount in fen."))
    if amount < r["min_amount"]:
        raise DomainError("amount", _("A withdrawal is at least %(min)s.", min=format_fen(r["min_amount"])))
    p = service.promoter(user_id)
    if p is None or p.status not in (ACTIVE, REMOVED):
        raise DomainError("status", _("Only active promoters can withdraw."), code="conflict", status=409)
    if r["agreement"] and not agree:
        raise DomainError("agree", _("Accept the withdrawal agreement first."))
    clean = clean_account(method, account)
    if not ledger.withdraw(user_id, amount, _not_since(r["interval_days"])):
        available = ledger.balances(user_id)["available"]
        if amount > available:
            raise DomainError(
                "amount", _("Only %(n)s can be withdrawn.", n=format_fen(available)), code="conflict", status=409
            )
        raise DomainError(
            "amount", _("One withdrawal per %(n)d days.", n=r["interval_days"]), code="conflict", status=409
        )
    w = Withdrawal(
        user_id=user_id, amount=amount, method=clean["method"], account=clean, status="pending", created_at=utcnow()
    )
    db.session.add(w)
    db.session.flush()
    ledger.record(user_id, E_WITHDRAW, f"w{w.id}", available=-amount, withdrawing=amount)
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
        raise DomainError("status", _("This withdrawal is %(status)s.", status=w.status), code="conflict", status=409)
    set_committed_value(w, "status", target)
    for key, value in values.items():
        set_committed_value(w, key, value)


def approve(w: Withdrawal) -> Withdrawal:
    _move(w, ("pending",), "approved", reviewed_at=utcnow())
    return w


def reject(w: Withdrawal, reason: str) -> Withdrawal:
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason:
        raise DomainError("reason", _("Give a reason."))
    if len(reason) > 200:
        raise DomainError("reason", _("At most %(n)d characters.", n=200))
    _move(w, OPEN, "rejected", reviewed_at=utcnow(), reject_reason=reason)
    ledger.credit(w.user_id, E_WITHDRAW_REJECTED, f"w{w.id}", w.amount, withdrawing=-w.amount)
    # a rejected request does not count for the interval
    last = db.session.scalar(
        select(func.max(Withdrawal.created_at)).where(Withdrawal.user_id == w.user_id, Withdrawal.status != "rejected")
    )
    db.session.execute(
        update(Account)
        .where(Account.user_id == w.user_id)
        .values(last_withdraw_at=last)
        .execution_options(synchronize_session=False)
    )
    return w


def confirm_paid(w: Withdrawal) -> Withdrawal:
    """The platform paid the promoter offline: the amount is allocated to
    the promoter's commission records oldest first (``paid_amount``)."""
    _move(w, ("approved",), "paid", paid_at=utcnow())
    ledger.lock(w.user_id)
    ledger.post(w.user_id, E_WITHDRAW_PAID, f"w{w.id}", withdrawing=-w.amount, paid=w.amount)
    ledger.allocate_paid(w.user_id, w.amount)
    return w


def list_withdrawals(
    *, user_id: int | None = None, status: str | None = None, before_id: int | None = None, limit: int = 20
) -> list[Withdrawal]:
    q = select(Withdrawal).order_by(Withdrawal.id.desc()).limit(limit)
    if user_id is not None:
        q = q.where(Withdrawal.user_id == user_id)
    if status:
        q = q.where(Withdrawal.status == status)
    if before_id:
        q = q.where(Withdrawal.id < before_id)
    return list(db.session.scalars(q))
