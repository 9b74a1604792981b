"""Finance pages (MS11, MS12, MS16).

Merchant console: ``/merchant/finance`` (balances, apply for a withdrawal,
the withdrawal account, records filterable by status and method, the ledger;
permission ``money``) and ``/merchant/data`` (permission ``data``).
Platform console: ``/console/multistore/withdrawals`` (review, reject,
confirm payout), ``/console/multistore/settlement`` (overview by time range
and per merchant), ``/console/multistore/commission`` (default, category and
merchant rates).
"""

from __future__ import annotations

from datetime import date

from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user
from jishi.access import requires
from jishi.db import db
from jishi.errors import DomainError
from jishi.forms import form_int, form_money, form_outcome
from jishi.i18n import MAX_MOMENT, MIN_MOMENT, shop_day_bounds
from jishi.i18n import gettext as _
from jishi.money import MoneyError, parse_percent
from sqlalchemy import select

from jishi_multistore import finance, ledger, withdrawals
from jishi_multistore.blueprints import admin
from jishi_multistore.blueprints import merchant as merchant_bp
from jishi_multistore.models import Merchant, Withdrawal
from jishi_multistore.principal import current_principal, merchant, merchant_page


def _day(name: str) -> date | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        return None
    return day if MIN_MOMENT.date() <= day < MAX_MOMENT.date() else None  # the calendar's edge: the default


def _choice(name: str, allowed) -> str | None:
    value = request.args.get(name) or None
    return value if value in allowed else None


def _account_form(f) -> dict:
    return {key: f.get(key, "") for key in ("method", "name", "account", "bank")}


# --- Merchant console --------------------------------------------------------------


@merchant_bp.get("/finance", endpoint="finance")
@merchant_page("money")
def finance_page():
    m = merchant()
    status = _choice("status", withdrawals.STATUSES)
    method = _choice("method", withdrawals.METHODS)
    return render_template(
        "multistore/finance/merchant_finance.html",
        summary=finance.finance_summary(m),
        records=withdrawals.list_withdrawals(merchant_id=m.id, status=status, method=method, limit=100),
        journals=ledger.journals(m.id, limit=30),
        mid=m.id,
        status=status,
        method=method,
        statuses=withdrawals.STATUSES,
        methods=withdrawals.METHODS,
        read_only=current_principal().read_only,
    )


@merchant_bp.post("/finance/withdraw", endpoint="finance_withdraw")
@merchant_page("money")
def finance_withdraw():
    m = merchant()
    f = request.form
    with form_outcome(_("Withdrawal requested: the platform reviews it and pays offline.")):  # 提现申请已提交
        try:
            amount = form_money("amount", source=f, required=True)
        except MoneyError as exc:
            raise withdrawals.WithdrawalError("amount", str(exc)) from None
        account = _account_form(f) if f.get("use_stored") != "1" else None
        withdrawals.request_withdrawal(m, current_user, amount, account=account, agree=f.get("agree") == "1")
    return redirect(url_for("merchant.finance"))


@merchant_bp.post("/finance/account", endpoint="finance_account")
@merchant_page("money")
def finance_account():
    with form_outcome(_("Withdrawal account saved.")):
        withdrawals.save_account(merchant(), _account_form(request.form))
    return redirect(url_for("merchant.finance"))


@merchant_bp.get("/data", endpoint="data")
@merchant_page("data")
def data_page():
    grain = request.args.get("grain", "day")
    grain = grain if grain in ("day", "week", "month") else "day"
    data = finance.merchant_data(merchant().id, _day("start"), _day("end"), grain)
    return render_template("multistore/finance/merchant_data.html", d=data, grain=grain)


@merchant_bp.get("/data/<section>.<fmt>", endpoint="data_export")
@merchant_page("data")
def data_export(section: str, fmt: str):
    """One report section of this shop as CSV or XLSX (issue 19)."""
    from flask import current_app
    from jishi.reports import service as reports

    start, end = finance.day_range(_day("start"), _day("end"))
    grain = request.args.get("grain", "day")
    table = (
        reports.report_table(section, start, end, merchant().id, grain if grain in ("day", "week", "month") else "day")
        if fmt in ("csv", "xlsx")
        else None
    )
    if table is None:
        abort(404)
    name = f"{table.key}-{start.isoformat()}-{end.isoformat()}"
    if fmt == "xlsx":
        body = reports.table_xlsx(table)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        body, mimetype = reports.table_csv(table), "text/csv; charset=utf-8"
    return current_app.response_class(
        body, mimetype=mimetype, headers={"Content-Disposition": f"attachment; filename={name}.{fmt}"}
    )


# --- Platform console ----------------------------------------------------------------


@admin.get("/withdrawals", endpoint="withdrawals")
@requires("money")
def withdrawals_page():
    status = _choice("status", withdrawals.STATUSES)
    method = _choice("method", withdrawals.METHODS)
    merchant_id = form_int("merchant_id", source=request.args, minimum=1)
    rows = withdrawals.list_withdrawals(merchant_id=merchant_id, status=status, method=method, limit=200)
    merchants = db.session.execute(
        select(Merchant.id, Merchant.name).where(Merchant.review_status == "approved").order_by(Merchant.id)
    ).all()
    return render_template(
        "multistore/finance/admin_withdrawals.html",
        rows=rows,
        status=status,
        method=method,
        merchant_id=merchant_id,
        statuses=withdrawals.STATUSES,
        methods=withdrawals.METHODS,
        merchants=merchants,
    )


@admin.post("/withdrawals/<int:withdrawal_id>/<action>", endpoint="withdrawal_action")
@requires("money")
def withdrawal_action(withdrawal_id, action):
    w = db.session.get(Withdrawal, withdrawal_id)
    if w is None or action not in ("approve", "reject", "pay"):
        abort(404)
    messages = {
        "approve": _("Approved: pay offline, then confirm the payout."),
        "reject": _("Rejected: the money is withdrawable again."),
        "pay": _("Payout confirmed."),
    }
    with form_outcome(messages[action]):
        if action == "approve":
            withdrawals.approve(w)
        elif action == "reject":
            withdrawals.reject(w, request.form.get("reason", ""))
        else:
            withdrawals.confirm_paid(w)
    return redirect(
        request.form.get("back")
        if (request.form.get("back") or "").startswith("/console/multistore/withdrawals")
        else url_for("multistore_admin.withdrawals")
    )


@admin.get("/settlement", endpoint="settlement")
@requires("money")
def settlement_page():
    start, end = _day("start"), _day("end")
    if start and end and start > end:
        start, end = end, start
    s, e = shop_day_bounds(start, end)
    data = withdrawals.overview(s, e)
    return render_template(
        "multistore/finance/admin_settlement.html", data=data, start=start, end=end, platform=ledger.platform_balances()
    )


def _percent_bp(raw: str, field: str) -> int | None:
    """A percentage typed in a form ("5", "5.5", "0.25") as basis points
    (:func:`jishi.money.parse_percent`, the unit every commission form
    uses); None when empty."""
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return parse_percent(raw)
    except MoneyError:
        raise DomainError(field, _("Enter a percentage from 0 to 100 with at most two decimals.")) from None


@admin.get("/commission", endpoint="commission")
@requires("commission")
def commission_page():
    from jishi.catalog.models import Category

    from jishi_multistore.finance_api import commission_overview

    categories = db.session.execute(select(Category.id, Category.name, Category.path).order_by(Category.path)).all()
    return render_template("multistore/finance/admin_commission.html", c=commission_overview(), categories=categories)


@admin.post("/commission/default", endpoint="commission_default")
@requires("commission")
def commission_default():
    from jishi import settings

    with form_outcome():
        bp = _percent_bp(request.form.get("rate", ""), "rate")
        settings.set_many({ledger.COMMISSION_SETTING: bp or 0})
    return redirect(url_for("multistore_admin.commission"))


@admin.post("/commission/categories", endpoint="commission_category")
@requires("commission")
def commission_category():
    from jishi_multistore.finance_api import set_category_rate

    category_id = form_int("category_id", source=request.form, minimum=1)
    with form_outcome():
        if category_id is None:
            raise DomainError("category_id", _("Choose a category."))
        from jishi.catalog.models import Category

        if db.session.get(Category, category_id) is None:
            raise DomainError("category_id", _("Unknown category."))
        set_category_rate(category_id, _percent_bp(request.form.get("rate", ""), "rate"))
    return redirect(url_for("multistore_admin.commission"))


@admin.post("/commission/merchants/<int:merchant_id>", endpoint="commission_merchant")
@requires("commission")
def commission_merchant(merchant_id):
    from jishi_multistore.finance_api import set_merchant_commission

    m = db.session.get(Merchant, merchant_id)
    if m is None or m.deleted_at is not None:
        abort(404)
    with form_outcome():
        values = {"rate_bp": _percent_bp(request.form.get("rate", ""), "rate")}
        if "category_id" in request.form:
            values["category_id"] = form_int("category_id", source=request.form, minimum=1)
        set_merchant_commission(m, values)
    return redirect(url_for("multistore_admin.commission"))
