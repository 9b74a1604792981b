"""Finance API (MS11, MS12, MS16).

Merchant staff (``/merchant/...``): balances and ledger, withdrawals and the
withdrawal account (permission ``money``: merchant admins; clerks are 403),
the data page (permission ``data``). The platform (``/admin/multistore/...``):
withdrawal review and payout, the settlement overview, commission rates, a
merchant's ledger. Money is integer fen; rates are basis points (100 = 1%).
"""

from __future__ import annotations

from flask_login import current_user
from jishi.access import platform_api
from jishi.api.common import (
    DateTime,
    Id,
    Money,
    QueryId,
    StrictBool,
    StrictInt,
    get_or_404,
    not_found,
)
from jishi.api.schemas import ReportSchema, report_export_response
from jishi.db import commit, db
from jishi.i18n import MAX_MOMENT, MIN_MOMENT
from jishi.i18n import gettext as _
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import select

from jishi_multistore import finance, ledger, withdrawals
from jishi_multistore.blueprints import api
from jishi_multistore.models import CategoryCommission, Merchant, Withdrawal
from jishi_multistore.principal import merchant, merchant_api

MAX_FEN = 10**12

# -- schemas -------------------------------------------------------------------


class AccountSchema(Schema):
    method = fields.String(
        required=True, validate=validate.OneOf(withdrawals.METHODS), metadata={"description": "bank, alipay or wechat"}
    )
    name = fields.String(
        required=True, validate=validate.Length(min=1, max=40), metadata={"description": "account holder (户名)"}
    )
    account = fields.String(
        required=True,
        validate=validate.Length(min=1, max=60),
        metadata={"description": "card number / Alipay / WeChat account"},
    )
    bank = fields.String(
        load_default="", validate=validate.Length(max=60), metadata={"description": "bank name (required for bank)"}
    )


class AccountOutSchema(Schema):
    method = fields.String()
    name = fields.String()
    account = fields.String()
    bank = fields.String()


class RulesSchema(Schema):
    payout = fields.String()
    min_amount = fields.Integer()
    interval_days = fields.Integer()
    agreement = fields.String()


class FinanceSchema(Schema):
    withdrawable = fields.Integer(metadata={"description": "可提现"})
    pending_payout = fields.Integer(metadata={"description": "待打款: requested or approved, not yet paid"})
    non_withdrawable = fields.Integer(metadata={"description": "不可提现: paid online, order not completed"})
    paid_out = fields.Integer(metadata={"description": "已打款"})
    cod_collected = fields.Integer(
        metadata={"description": "cash on delivery collected by the merchant (never withdrawable)"}
    )
    sharing = fields.Integer(metadata={"description": "分账中: sent by profit sharing, not confirmed yet"})
    returning = fields.Integer(metadata={"description": "分账回退中: being returned for refunds"})
    owed = fields.Integer(
        metadata={"description": "欠款: owed to the platform (a refused return); netted from payouts and withdrawable"}
    )
    rules = fields.Nested(RulesSchema)
    next_allowed_day = fields.String(allow_none=True)
    account = fields.Dict()


class EntrySchema(Schema):
    account = fields.String()
    amount = fields.Integer()
    merchant_id = fields.Integer(allow_none=True)


class JournalSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    source_type = fields.String()
    source_id = fields.Integer()
    order_id = fields.Integer(allow_none=True)
    memo = fields.String()
    created_at = DateTime()
    entries = fields.List(fields.Nested(EntrySchema))


class JournalPageSchema(Schema):
    items = fields.List(fields.Nested(JournalSchema))
    next_cursor = fields.String(allow_none=True)


class PageArgs(Schema):
    cursor = QueryId()
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class WithdrawalSchema(Schema):
    id = fields.Integer()
    merchant_id = fields.Integer()
    merchant_name = fields.Function(lambda w: w.merchant.name if w.merchant else "")
    amount = fields.Integer()
    method = fields.String()
    account = fields.Dict()
    status = fields.String()
    reject_reason = fields.String()
    created_at = DateTime()
    reviewed_at = DateTime(allow_none=True)
    paid_at = DateTime(allow_none=True)


class WithdrawalPageSchema(Schema):
    items = fields.List(fields.Nested(WithdrawalSchema))
    next_cursor = fields.String(allow_none=True)


class WithdrawalListArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(withdrawals.STATUSES))
    method = fields.String(validate=validate.OneOf(withdrawals.METHODS))


class AdminWithdrawalListArgs(WithdrawalListArgs):
    merchant_id = QueryId()


class WithdrawArgs(Schema):
    amount = Money(required=True, validate=validate.Range(min=1, max=MAX_FEN))
    method = fields.String(
        validate=validate.OneOf(withdrawals.METHODS),
        metadata={"description": "with no account: the stored account's method"},
    )
    account = fields.Nested(AccountSchema, metadata={"description": "omit to reuse the stored account"})
    agree = StrictBool(
        load_default=False,
        metadata={"description": "accepts the withdrawal agreement (required when the platform set one)"},
    )


class RejectArgs(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=200))


#: the days a range may name (a day at the calendar's edge cannot be moved or converted)
DAYS = validate.Range(min=MIN_MOMENT.date(), max=MAX_MOMENT.date(), max_inclusive=False)


class RangeArgs(Schema):
    start = fields.Date(validate=DAYS)
    end = fields.Date(validate=DAYS)

    @validates_schema
    def _order(self, data, **kwargs):
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise ValidationError(_("The start is after the end."), "start")


class SettlementArgs(RangeArgs):
    merchant_id = QueryId()


class SettlementRowSchema(Schema):
    merchant_id = fields.Integer()
    merchant_name = fields.String()
    withdrawals = fields.Integer()
    paid_out = fields.Integer()
    pending_payout = fields.Integer()
    withdrawable = fields.Integer()
    non_withdrawable = fields.Integer()
    cod_collected = fields.Integer()


class SettlementTotalsSchema(Schema):
    withdrawals = fields.Integer()
    paid_out = fields.Integer()
    pending_payout = fields.Integer()
    withdrawable = fields.Integer()
    non_withdrawable = fields.Integer()
    cod_collected = fields.Integer()


class SettlementSchema(Schema):
    start = fields.String(allow_none=True)
    end = fields.String(allow_none=True)
    totals = fields.Nested(SettlementTotalsSchema)
    merchants = fields.List(fields.Nested(SettlementRowSchema))
    platform = fields.Dict(metadata={"description": "platform accounts (all time): cash, subsidy, commission..."})


class RateArgs(Schema):
    category_id = Id(required=True)
    rate_bp = StrictInt(
        required=True,
        allow_none=True,
        validate=validate.Range(min=0, max=ledger.MAX_BP),
        metadata={"description": "basis points; null removes the rate"},
    )


class DefaultRateArgs(Schema):
    rate_bp = StrictInt(required=True, validate=validate.Range(min=0, max=ledger.MAX_BP))


class MerchantCommissionArgs(Schema):
    rate_bp = StrictInt(
        allow_none=True,
        validate=validate.Range(min=0, max=ledger.MAX_BP),
        metadata={"description": "the merchant's own rate; null: none"},
    )
    category_id = Id(allow_none=True, metadata={"description": "the merchant's commission category; null: none"})


class CategoryRateSchema(Schema):
    category_id = fields.Integer()
    name = fields.String()
    rate_bp = fields.Integer()


class MerchantRateSchema(Schema):
    merchant_id = fields.Integer()
    name = fields.String()
    rate_bp = fields.Integer(allow_none=True)
    category_id = fields.Integer(allow_none=True)
    effective_bp = fields.Integer(metadata={"description": "the rate a line without a category of its own would take"})


class CommissionSchema(Schema):
    default_bp = fields.Integer()
    categories = fields.List(fields.Nested(CategoryRateSchema))
    merchants = fields.List(fields.Nested(MerchantRateSchema))


class LedgerSchema(Schema):
    merchant_id = fields.Integer()
    balances = fields.Dict()
    journals = fields.List(fields.Nested(JournalSchema))


class DataArgs(RangeArgs):
    grain = fields.String(load_default="day", validate=validate.OneOf(("day", "week", "month")))


class DataExportArgs(DataArgs):
    section = fields.String(
        required=True,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "overview, trend, funnel, products or a plugin's section key (coupons...)"},
    )
    format = fields.String(load_default="csv", validate=validate.OneOf(("csv", "xlsx")))


class DataSchema(Schema):
    start = fields.String()
    end = fields.String()
    overview = fields.Dict()
    funnel = fields.Dict()
    products = fields.Dict()
    report = fields.Nested(ReportSchema, metadata={"description": "the reports of this shop (as the platform's)"})


# -- helpers -------------------------------------------------------------------


def _withdrawal_page(rows, limit):
    nxt = rows[-1].id if len(rows) == limit else None
    return {"items": rows, "next_cursor": str(nxt) if nxt else None}


def _own_withdrawal(withdrawal_id: int) -> Withdrawal:
    w = db.session.get(Withdrawal, withdrawal_id)
    if w is None or w.merchant_id != merchant().id:
        not_found("withdrawal")
    return w


def _datetimes(args):
    from jishi.i18n import shop_day_bounds

    return shop_day_bounds(args.get("start") or None, args.get("end") or None)


def commission_overview() -> dict:
    from jishi import settings
    from jishi.catalog.models import Category

    default = ledger.parse_bp(settings.get(ledger.COMMISSION_SETTING, ledger.DEFAULT_COMMISSION_BP))
    cats = db.session.execute(
        select(CategoryCommission.category_id, Category.name, CategoryCommission.rate_bp)
        .join(Category, Category.id == CategoryCommission.category_id)
        .order_by(Category.id)
    ).all()
    merchants = (
        db.session.execute(
            select(Merchant)
            .where(Merchant.deleted_at.is_(None), Merchant.review_status == "approved")
            .order_by(Merchant.id)
        )
        .scalars()
        .all()
    )
    table = ledger.rate_table([(m.id, None) for m in merchants]) if merchants else None
    return {
        "default_bp": default,
        "categories": [{"category_id": c, "name": n, "rate_bp": r} for c, n, r in cats],
        "merchants": [
            {
                "merchant_id": m.id,
                "name": m.name,
                "rate_bp": m.commission_bp,
                "category_id": m.commission_category_id,
                "effective_bp": table.rate(m.id, None),
            }
            for m in merchants
        ],
    }


def set_category_rate(category_id: int, rate_bp: int | None) -> None:
    from jishi.catalog.models import Category

    if db.session.get(Category, category_id) is None:
        from jishi.errors import DomainError

        raise DomainError("category_id", _("Unknown category."))
    row = db.session.get(CategoryCommission, category_id)
    if rate_bp is None:
        if row is not None:
            db.session.delete(row)
    elif row is None:
        db.session.add(CategoryCommission(category_id=category_id, rate_bp=rate_bp))
    else:
        row.rate_bp = rate_bp


def set_merchant_commission(m: Merchant, values: dict) -> None:
    from jishi.catalog.models import Category

    if "rate_bp" in values:
        m.commission_bp = values["rate_bp"]
    if "category_id" in values:
        cid = values["category_id"]
        if cid is not None and db.session.get(Category, cid) is None:
            from jishi.errors import DomainError

            raise DomainError("category_id", _("Unknown category."))
        m.commission_category_id = cid


def live_merchant(merchant_id: int) -> Merchant:
    m = db.session.get(Merchant, merchant_id)
    if m is None or m.deleted_at is not None:
        not_found("merchant")
    return m


# -- merchant staff --------------------------------------------------------------


@api.get("/merchant/finance")
@merchant_api("money")
@api.response(200, FinanceSchema)
def merchant_finance():
    """Balances (withdrawable, pending payout, non-withdrawable, paid out), the
    withdrawal rules, the next day a withdrawal is possible, the stored account."""
    return finance.finance_summary(merchant())


@api.get("/merchant/finance/journals")
@merchant_api("money")
@api.arguments(PageArgs, location="query")
@api.response(200, JournalPageSchema)
def merchant_journals(args):
    """The merchant's ledger, newest first (this merchant's entries only)."""
    mid = merchant().id
    rows = ledger.journals(mid, limit=args["limit"], before_id=args.get("cursor"))
    items = [
        {
            **{k: getattr(j, k) for k in ("id", "kind", "source_type", "source_id", "order_id", "memo", "created_at")},
            "entries": [e for e in j.entries if e.merchant_id == mid],
        }
        for j in rows
    ]
    nxt = rows[-1].id if len(rows) == args["limit"] else None
    return {"items": items, "next_cursor": str(nxt) if nxt else None}


@api.get("/merchant/withdraw-account")
@merchant_api("money")
@api.response(200, AccountOutSchema)
def merchant_get_account():
    """The stored withdrawal account (empty before the first withdrawal)."""
    return dict(merchant().withdraw_account or {})


@api.put("/merchant/withdraw-account")
@merchant_api("money")
@api.arguments(AccountSchema)
@api.response(200, AccountOutSchema)
def merchant_set_account(args):
    """Change the withdrawal account used by the next withdrawals."""
    account = withdrawals.save_account(merchant(), args)
    commit()
    return account


@api.get("/merchant/withdrawals")
@merchant_api("money")
@api.arguments(WithdrawalListArgs, location="query")
@api.response(200, WithdrawalPageSchema)
def merchant_withdrawals(args):
    """The merchant's withdrawal records, filterable by status and method."""
    rows = withdrawals.list_withdrawals(
        merchant_id=merchant().id,
        status=args.get("status"),
        method=args.get("method"),
        before_id=args.get("cursor"),
        limit=args["limit"],
    )
    return _withdrawal_page(rows, args["limit"])


@api.post("/merchant/withdrawals")
@merchant_api("money")
@api.arguments(WithdrawArgs)
@api.response(201, WithdrawalSchema)
def merchant_withdraw(args):
    """Apply for a withdrawal of ``amount`` fen from the withdrawable balance.
    Without ``account`` the stored one is reused; a given account is stored
    for next time. 409 ``insufficient`` / ``too_soon``; 422 ``below_minimum``."""
    w = withdrawals.request_withdrawal(
        merchant(),
        current_user,
        args["amount"],
        method=args.get("method"),
        account=args.get("account"),
        agree=args.get("agree", False),
    )
    commit()
    return w


@api.get("/merchant/withdrawals/<int:withdrawal_id>")
@merchant_api("money")
@api.response(200, WithdrawalSchema)
def merchant_withdrawal(withdrawal_id):
    return _own_withdrawal(withdrawal_id)


@api.get("/merchant/data")
@merchant_api("data")
@api.arguments(DataArgs, location="query")
@api.response(200, DataSchema)
def merchant_data(args):
    """The merchant data page (MS16, issue 19) for a date range (default: the
    last 30 days), from the daily report aggregates of this shop: overview,
    funnel by unique visitor, product analysis, and the full report (trend
    with the previous period, the marketing plugins' sections)."""
    return finance.merchant_data(merchant().id, args.get("start"), args.get("end"), args["grain"])


@api.get("/merchant/data/export")
@merchant_api("data")
@api.arguments(DataExportArgs, location="query")
@api.response(200, description="CSV or XLSX file of one report section of this shop")
def merchant_data_export(args):
    """One report section of this shop (overview, trend, funnel, products,
    coupons...) as CSV or XLSX (issue 19)."""
    start, end = finance.day_range(args.get("start"), args.get("end"))
    return report_export_response({**args, "start": start, "end": end}, merchant().id)


# -- platform ------------------------------------------------------------------------


@api.get("/admin/multistore/withdrawals")
@platform_api("money")
@api.arguments(AdminWithdrawalListArgs, location="query")
@api.response(200, WithdrawalPageSchema)
def admin_withdrawals(args):
    """Every merchant's withdrawals; filter by status, method and merchant."""
    rows = withdrawals.list_withdrawals(
        merchant_id=args.get("merchant_id"),
        status=args.get("status"),
        method=args.get("method"),
        before_id=args.get("cursor"),
        limit=args["limit"],
    )
    return _withdrawal_page(rows, args["limit"])


@api.get("/admin/multistore/withdrawals/<int:withdrawal_id>")
@platform_api("money")
@api.response(200, WithdrawalSchema)
def admin_withdrawal(withdrawal_id):
    return get_or_404(Withdrawal, withdrawal_id, "withdrawal")


@api.post("/admin/multistore/withdrawals/<int:withdrawal_id>/approve")
@platform_api("money")
@api.response(200, WithdrawalSchema)
def admin_approve_withdrawal(withdrawal_id):
    """Approve a pending withdrawal; the platform then pays offline and confirms."""
    w = withdrawals.approve(get_or_404(Withdrawal, withdrawal_id, "withdrawal"))
    commit()
    return w


@api.post("/admin/multistore/withdrawals/<int:withdrawal_id>/reject")
@platform_api("money")
@api.arguments(RejectArgs)
@api.response(200, WithdrawalSchema)
def admin_reject_withdrawal(args, withdrawal_id):
    """Reject a pending or approved withdrawal with a reason; the money returns
    to the merchant's withdrawable balance."""
    w = withdrawals.reject(get_or_404(Withdrawal, withdrawal_id, "withdrawal"), args["reason"])
    commit()
    return w


@api.post("/admin/multistore/withdrawals/<int:withdrawal_id>/pay")
@platform_api("money")
@api.response(200, WithdrawalSchema)
def admin_pay_withdrawal(withdrawal_id):
    """Confirm the offline payout of an approved withdrawal (打款)."""
    w = withdrawals.confirm_paid(get_or_404(Withdrawal, withdrawal_id, "withdrawal"))
    commit()
    return w


@api.get("/admin/multistore/settlement")
@platform_api("money")
@api.arguments(SettlementArgs, location="query")
@api.response(200, SettlementSchema)
def admin_settlement(args):
    """Settlement overview: paid out, pending payout, awaiting withdrawal,
    non-withdrawable — the ledger's movement in the range (all time without
    one) — in total and per merchant (with its withdrawal count)."""
    start, end = _datetimes(args)
    data = withdrawals.overview(start, end, args.get("merchant_id"))
    data["start"] = args["start"].isoformat() if args.get("start") else None
    data["end"] = args["end"].isoformat() if args.get("end") else None
    data["platform"] = ledger.platform_balances()
    return data


@api.get("/admin/multistore/commissions")
@platform_api("commission")
@api.response(200, CommissionSchema)
def admin_commissions():
    """The platform default, the category rates and each merchant's rate."""
    return commission_overview()


@api.put("/admin/multistore/commissions/default")
@platform_api("commission")
@api.arguments(DefaultRateArgs)
@api.response(200, CommissionSchema)
def admin_set_default_commission(args):
    from jishi import settings

    settings.set_many({ledger.COMMISSION_SETTING: args["rate_bp"]})
    commit()
    return commission_overview()


@api.put("/admin/multistore/commissions/categories")
@platform_api("commission")
@api.arguments(RateArgs)
@api.response(200, CommissionSchema)
def admin_set_category_commission(args):
    """Set (or with ``rate_bp`` null remove) a category's default rate; it
    applies to its subcategories without a rate of their own."""
    set_category_rate(args["category_id"], args["rate_bp"])
    commit()
    return commission_overview()


@api.put("/admin/multistore/merchants/<int:merchant_id>/commission")
@platform_api("commission")
@api.arguments(MerchantCommissionArgs)
@api.response(200, MerchantRateSchema)
def admin_set_merchant_commission(args, merchant_id):
    """Set a merchant's own rate and/or its commission category (null clears)."""
    m = live_merchant(merchant_id)
    set_merchant_commission(m, args)
    commit()
    return {
        "merchant_id": m.id,
        "name": m.name,
        "rate_bp": m.commission_bp,
        "category_id": m.commission_category_id,
        "effective_bp": ledger.current_rate(m.id, None),
    }


@api.get("/admin/multistore/merchants/<int:merchant_id>/ledger")
@platform_api("money")
@api.arguments(PageArgs, location="query")
@api.response(200, LedgerSchema)
def admin_merchant_ledger(args, merchant_id):
    """A merchant's balances and journals (with the platform's legs)."""
    m = db.session.get(Merchant, merchant_id)
    if m is None:
        not_found("merchant")
    return {
        "merchant_id": m.id,
        "balances": ledger.balances(m.id),
        "journals": ledger.journals(m.id, limit=args["limit"], before_id=args.get("cursor")),
    }
