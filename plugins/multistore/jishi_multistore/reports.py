"""Multistore's finance in the reports (``report_sections``, issue 19; seed
004 §6 财务报表, seed 001 merchant statements), read from the ledger
(:mod:`.ledger`) with grouped statements, never one per row.

- ``income`` (the platform's reports only): per shop day of the range, from
  the platform accounts' entries posted that day — ``collected``: online
  payments received (``cash`` of ``paid`` journals); ``commission``: net
  commission income (completions less reversals by refunds);
  ``subsidy``: platform-funded discounts given, net of those refunds
  reversed (``subsidy``); ``refunds``: money paid back to buyers (``cash``
  of ``refund`` journals); ``payouts``: money sent to merchants
  (``payouts``: withdrawals paid and profit shares confirmed, less
  returned shares). Gateway fees are not recorded by the ledger and not
  shown. Two statements.
- ``statements`` (商户对账): per merchant (the platform: every merchant with
  a figure; a merchant: its own) the range's 付款金额 (paid amount) and
  退款金额 (refunded amount) from the kernel's daily aggregates, and its
  balances as of now: 已打款 (paid out), 待提现 (awaiting withdrawal: the
  withdrawable balance), 不可提现 (non-withdrawable: paid, order not
  completed). Three statements.
"""

from __future__ import annotations

from datetime import timedelta

from jishi.db import db, utcnow
from jishi.hookspecs import ReportSection
from jishi.i18n import gettext as _
from jishi.i18n import shop_day_bounds, to_shop_time
from sqlalchemy import case, func, select

from jishi_multistore import ledger
from jishi_multistore.models import LedgerEntry, LedgerJournal, Merchant

__all__ = ["income", "report_sections", "statements"]

INCOME_FIELDS = ("collected", "commission", "subsidy", "refunds", "payouts")


def _shop_day(moment):
    """SQL: the shop's calendar day of a stored (naive UTC) moment, with
    today's UTC offset (as the kernel's reports count days)."""
    offset = to_shop_time(utcnow()).utcoffset()
    seconds = int(offset.total_seconds()) if offset else 0
    if db.engine.dialect.name == "sqlite":
        return func.date(moment, f"{seconds:+d} seconds")
    return func.date(moment + timedelta(seconds=seconds))


def income(start, end) -> list[dict]:
    """The platform's income per shop day (every day of the range, empty
    ones included), fen."""
    s, e = shop_day_bounds(start, end)
    day = _shop_day(LedgerEntry.created_at)
    kind = LedgerJournal.kind
    acc = LedgerEntry.account
    amount = LedgerEntry.amount

    def total(cond, sign=1):
        return func.coalesce(func.sum(case((cond, amount * sign), else_=0)), 0)

    rows = db.session.execute(
        select(
            day,
            total((acc == ledger.CASH) & (kind == "paid"), -1),
            total(acc == ledger.COMMISSION),
            total(acc == ledger.SUBSIDY, -1),
            total((acc == ledger.CASH) & (kind == "refund")),
            total(acc == ledger.PAYOUTS, -1),
        )
        .select_from(LedgerEntry)
        .join(LedgerJournal, LedgerJournal.id == LedgerEntry.journal_id)
        .where(
            LedgerEntry.merchant_id.is_(None),
            LedgerEntry.account.in_((ledger.CASH, ledger.COMMISSION, ledger.SUBSIDY, ledger.PAYOUTS)),
            LedgerEntry.created_at >= s,
            LedgerEntry.created_at < e,
        )
        .group_by(day)
    ).all()
    by_day = {str(r[0])[:10]: [int(v or 0) for v in r[1:]] for r in rows}
    out = []
    for i in range((end - start).days + 1):
        key = (start + timedelta(days=i)).isoformat()
        out.append({"day": key, **dict(zip(INCOME_FIELDS, by_day.get(key, [0] * len(INCOME_FIELDS))))})
    return out


def statements(start, end, merchant_id: int | None = None) -> list[dict]:
    """Per merchant the range's paid and refunded amounts and its balances
    as of now (paid out, awaiting withdrawal, non-withdrawable), fen."""
    from jishi.reports import service as reports

    totals = reports.seller_totals(start, end, merchant_id)
    bal_q = (
        select(
            LedgerEntry.merchant_id,
            func.coalesce(func.sum(case((LedgerEntry.account == ledger.PAID_OUT, LedgerEntry.amount), else_=0)), 0),
            func.coalesce(func.sum(case((LedgerEntry.account == ledger.AVAILABLE, LedgerEntry.amount), else_=0)), 0),
            func.coalesce(func.sum(case((LedgerEntry.account == ledger.OWED, LedgerEntry.amount), else_=0)), 0),
            func.coalesce(func.sum(case((LedgerEntry.account == ledger.PENDING, LedgerEntry.amount), else_=0)), 0),
        )
        .where(LedgerEntry.merchant_id.is_not(None))
        .group_by(LedgerEntry.merchant_id)
    )
    if merchant_id is not None:
        bal_q = bal_q.where(LedgerEntry.merchant_id == merchant_id)
    balances = {int(r[0]): [int(v) for v in r[1:]] for r in db.session.execute(bal_q).all()}
    ids = sorted(set(totals) | set(balances))
    if merchant_id is not None:
        ids = [merchant_id]
    names = (
        dict(db.session.execute(select(Merchant.id, Merchant.name).where(Merchant.id.in_(ids))).all()) if ids else {}
    )
    rows = []
    for mid in ids:
        if mid not in names:
            continue  # a seller id that is not a merchant (the platform's own goods)
        t = totals.get(mid, {})
        paid_out, available, owed, pending = balances.get(mid, [0, 0, 0, 0])
        rows.append(
            {
                "merchant_id": mid,
                "merchant": names[mid],
                "paid_amount": t.get("paid_amount", 0),
                "refund_amount": t.get("refund_amount", 0),
                "paid_out": paid_out,
                "awaiting_withdrawal": max(0, available + owed),
                "non_withdrawable": pending,
            }
        )
    return rows


def report_sections(start, end, seller_id) -> list[ReportSection]:
    sections = []
    if seller_id is None:
        sections.append(
            ReportSection(
                "income",
                _("Platform income"),
                [
                    ("day", _("Day")),
                    ("collected", _("Payments received")),
                    ("commission", _("Commission")),
                    ("subsidy", _("Subsidies given")),
                    ("refunds", _("Refunds paid")),
                    ("payouts", _("Paid to merchants")),
                ],
                income(start, end),
                money=frozenset(INCOME_FIELDS),
                sort=200,
            )
        )
    sections.append(
        ReportSection(
            "statements",
            _("Merchant statements"),
            [
                ("merchant_id", _("ID")),
                ("merchant", _("Merchant")),
                ("paid_amount", _("Paid amount")),
                ("refund_amount", _("Refunded")),
                ("paid_out", _("Paid out")),
                ("awaiting_withdrawal", _("Awaiting withdrawal")),
                ("non_withdrawable", _("Non-withdrawable")),
            ],
            statements(start, end, seller_id),
            money=frozenset({"paid_amount", "refund_amount", "paid_out", "awaiting_withdrawal", "non_withdrawable"}),
            sort=210,
        )
    )
    return sections
