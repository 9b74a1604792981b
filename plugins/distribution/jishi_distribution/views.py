"""Distribution pages.

Storefront (blueprint ``distribution``): the promoter centre
``/distribution`` (summary, link and code, poster, team, commission records,
withdrawals), applying ``POST /distribution/apply``, withdrawing
``POST /distribution/withdraw``, the poster ``/distribution/poster.png``.
Always the signed-in user's own.

Merchant console (blueprint ``distribution_seller``, ``/seller/distribution``,
merchant staff with ``products``; the merchant from the principal): opting
the merchant's own products in, with rates or fixed amounts, when the
platform allows merchant products.

Platform console (blueprint ``distribution_admin``,
``/console/distribution``): promoters (review, freeze, remove; permission
``marketing``), commission records with filters and CSV export
(``marketing``), commission rates per category and per product
(``marketing``), a report (sales through distribution, commission cost,
top promoters; ``marketing``), withdrawals (approve, reject, confirm
payout; ``money``).
"""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from jishi.access import guard_platform, requires
from jishi.db import commit, db
from jishi.errors import DomainError
from jishi.forms import flash_error, form_int, form_money, form_outcome
from jishi.i18n import gettext as _
from jishi.money import MoneyError, parse_percent
from jishi.sellers import current_scope, seller_page
from sqlalchemy import select

from jishi_distribution import centre, service
from jishi_distribution import withdrawals as wd
from jishi_distribution.models import (
    ACTIVE,
    COMMISSION_STATUSES,
    PROMOTER_STATUSES,
    CategoryRate,
    Commission,
    ProductRule,
    Promoter,
    Withdrawal,
)

bp = Blueprint("distribution", __name__)
admin = Blueprint("distribution_admin", __name__, url_prefix="/console/distribution")
guard_platform(admin)
seller = Blueprint("distribution_seller", __name__, url_prefix="/seller/distribution")


# --- Promoter centre ------------------------------------------------------------


@bp.get("/distribution", endpoint="centre")
@login_required
def centre_page():
    service.ensure_promoter(current_user.id, staff=service.is_staff())
    commit()
    level = 2 if request.args.get("level") == "2" else 1
    return render_template(
        "distribution/centre.html",
        s=centre.summary(current_user.id),
        level=level,
        members=centre.team(current_user.id, level)[: centre.PAGE],
        commissions=centre.commissions(current_user.id),
        withdrawals=wd.list_withdrawals(user_id=current_user.id),
        rules=wd.rules(),
        methods=wd.METHODS,
    )


@bp.post("/distribution/apply")
@login_required
def apply():
    answers = {label: request.form.get(f"answer.{i}", "") for i, label in enumerate(service.apply_fields())}
    with form_outcome(_("Application sent.")):
        service.apply(current_user.id, answers)
    return redirect(url_for("distribution.centre"))


@bp.post("/distribution/withdraw")
@login_required
def withdraw():
    try:
        amount = form_money("amount", source=request.form, required=True)
    except MoneyError as exc:
        flash_error(exc)
        return redirect(url_for("distribution.centre"))
    account = {k: request.form.get(k, "") for k in ("name", "account", "bank")}
    with form_outcome(_("Withdrawal requested.")):
        wd.request_withdrawal(
            current_user.id, amount, request.form.get("method", ""), account, request.form.get("agree") == "on"
        )
    return redirect(url_for("distribution.centre"))


@bp.get("/distribution/poster.png")
@login_required
def poster():
    from jishi_distribution.poster import render

    p = service.ensure_promoter(current_user.id, staff=service.is_staff())
    commit()
    if p is None or p.status != ACTIVE:
        abort(404)
    product_id = form_int("product_id", source=request.args, minimum=1)
    try:
        png = render(p, product_id)
    except DomainError:
        abort(404)
    return Response(png, mimetype="image/png", headers={"Cache-Control": "private, no-store"})


# --- Merchant console -------------------------------------------------------------


def _merchant_id() -> int:
    """The signed-in merchant staff's merchant (the platform's own products are on the rates page)."""
    scope = current_scope()
    if scope is None or scope.seller_id is None:
        abort(404)
    return scope.seller_id


@seller.get("/", endpoint="index")
@seller_page("products")
def seller_index():
    from jishi.catalog.models import Product

    sid = _merchant_id()
    products = db.session.execute(
        select(Product, ProductRule)
        .outerjoin(ProductRule, ProductRule.product_id == Product.id)
        .where(Product.seller_id == sid)
        .order_by(Product.id.desc())
        .limit(200)
    ).all()
    return render_template(
        "distribution/seller_index.html", products=products, allowed=service.setting(service.MERCHANT_PRODUCTS)
    )


@seller.post("/products/<int:product_id>", endpoint="product")
@seller_page("products")
def seller_product(product_id):
    from jishi.catalog.models import Product

    sid = _merchant_id()
    product = db.session.get(Product, product_id)
    if product is None or product.seller_id != sid:
        abort(404)
    with form_outcome():
        if not service.setting(service.MERCHANT_PRODUCTS):
            raise DomainError("enabled", _("The platform does not let merchants' products distribute."))
        service.set_product_rule(
            product_id,
            enabled=request.form.get("enabled") == "on",
            level1_bp=_form_bp("level1"),
            level2_bp=_form_bp("level2"),
            level1_fixed=_form_fen("level1_fixed"),
            level2_fixed=_form_fen("level2_fixed"),
        )
    return redirect(url_for("distribution_seller.index"))


# --- Platform console -----------------------------------------------------------


@admin.get("/promoters", endpoint="promoters")
@requires("marketing")
def promoters_page():
    status = request.args.get("status") or None
    q = select(Promoter).order_by(Promoter.created_at.desc()).limit(200)
    if status in PROMOTER_STATUSES:
        q = q.where(Promoter.status == status)
    rows = list(db.session.scalars(q))
    return render_template(
        "distribution/admin_promoters.html",
        rows=rows,
        status=status,
        statuses=PROMOTER_STATUSES,
        counts={p.user_id: centre.team_counts(p.user_id) for p in rows},
    )


@admin.post("/promoters/<int:user_id>/<action>", endpoint="promoter_action")
@requires("marketing")
def promoter_action(user_id, action):
    if action not in ("approve", "reject", "freeze", "unfreeze", "remove") or service.promoter(user_id) is None:
        abort(404)
    reason = request.form.get("reason", "")
    with form_outcome():
        if action in ("approve", "reject"):
            service.review(user_id, action == "approve", current_user.id, reason)
        elif action == "freeze":
            service.freeze(user_id, current_user.id, reason)
        elif action == "unfreeze":
            service.unfreeze(user_id, current_user.id)
        else:
            service.remove(user_id, current_user.id, reason)
    return redirect(url_for("distribution_admin.promoters"))


def _commission_query():
    q = select(Commission).order_by(Commission.id.desc())
    status = request.args.get("status") or None
    if status in COMMISSION_STATUSES:
        q = q.where(Commission.status == status)
    level = form_int("level", source=request.args, minimum=1)
    if level in (1, 2):
        q = q.where(Commission.level == level)
    promoter_id = form_int("promoter_id", source=request.args, minimum=1)
    if promoter_id:
        q = q.where(Commission.promoter_id == promoter_id)
    order_id = form_int("order_id", source=request.args, minimum=1)
    if order_id:
        q = q.where(Commission.order_id == order_id)
    return q, {"status": status, "level": level, "promoter_id": promoter_id, "order_id": order_id}


@admin.get("/commissions", endpoint="commissions")
@requires("marketing")
def commissions_page():
    q, filters = _commission_query()
    return render_template(
        "distribution/admin_commissions.html",
        rows=service.with_states(db.session.scalars(q.limit(200))),
        f=filters,
        statuses=COMMISSION_STATUSES,
    )


@admin.get("/commissions.csv", endpoint="commissions_csv")
@requires("marketing")
def commissions_csv():
    q, _filters = _commission_query()
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(
        ["id", "order_id", "order_line_id", "level", "promoter_id", "buyer_id", "base", "rule", "amount"]
        + [
            "reversed",
            "status",
            "state",
            "paid_amount",
            "debt",
            "funded_by",
            "created_at",
            "released_at",
        ]
    )
    for c in service.with_states(db.session.scalars(q.limit(50000))):
        w.writerow(
            [
                c.id,
                c.order_id,
                c.order_line_id,
                c.level,
                c.promoter_id,
                c.buyer_id,
                c.base,
                c.rule,
                c.amount,
                c.reversed,
                c.status,
                c.state,
                c.paid_amount,
                c.debt,
                c.funded_by,
                c.created_at.isoformat(),
                c.released_at.isoformat() if c.released_at else "",
            ]
        )
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=distribution-commissions.csv"},
    )


def _form_bp(name: str):
    raw = request.form.get(name, "").strip()
    if not raw:
        return None
    try:
        return parse_percent(raw)
    except MoneyError as exc:
        raise DomainError(name, _("A rate is between 0 and 100%.")) from exc


def _form_fen(name: str):
    try:
        return form_money(name, source=request.form)
    except MoneyError as exc:
        raise DomainError(name, _("Enter an amount of at least 0.")) from exc


@admin.get("/rates", endpoint="rates")
@requires("marketing")
def rates_page():
    from jishi.catalog.models import Category, Product

    categories = db.session.execute(select(Category.id, Category.name).order_by(Category.id)).all()
    cat_rates = {r.category_id: r for r in db.session.scalars(select(CategoryRate))}
    rules = db.session.execute(
        select(ProductRule, Product.name, Product.seller_id)
        .join(Product, Product.id == ProductRule.product_id)
        .order_by(ProductRule.product_id)
    ).all()
    return render_template("distribution/admin_rates.html", categories=categories, cat_rates=cat_rates, rules=rules)


@admin.post("/rates/categories", endpoint="category_rate")
@requires("marketing")
def category_rate():
    category_id = form_int("category_id", source=request.form, minimum=1)
    with form_outcome():
        if category_id is None:
            raise DomainError("category_id", _("Choose a category."))
        service.set_category_rate(category_id, _form_bp("level1"), _form_bp("level2"))
    return redirect(url_for("distribution_admin.rates"))


@admin.post("/rates/products", endpoint="product_rule")
@requires("marketing")
def product_rule():
    product_id = form_int("product_id", source=request.form, minimum=1)
    with form_outcome():
        if product_id is None:
            raise DomainError("product_id", _("Enter a product id."))
        service.set_product_rule(
            product_id,
            enabled=request.form.get("enabled") == "on",
            level1_bp=_form_bp("level1"),
            level2_bp=_form_bp("level2"),
            level1_fixed=_form_fen("level1_fixed"),
            level2_fixed=_form_fen("level2_fixed"),
        )
    return redirect(url_for("distribution_admin.rates"))


@admin.get("/report", endpoint="report")
@requires("marketing")
def report_page():
    return render_template("distribution/admin_report.html", r=centre.report(), statuses=COMMISSION_STATUSES)


@admin.get("/withdrawals", endpoint="withdrawals")
@requires("money")
def withdrawals_page():
    status = request.args.get("status") or None
    rows = wd.list_withdrawals(status=status if status in wd.STATUSES else None, limit=200)
    return render_template("distribution/admin_withdrawals.html", rows=rows, status=status, statuses=wd.STATUSES)


@admin.post("/withdrawals/<int:withdrawal_id>/<action>", endpoint="withdrawal_action")
@requires("money")
def withdrawal_action(withdrawal_id, action):
    w = db.session.get(Withdrawal, withdrawal_id)
    if w is None or action not in ("approve", "reject", "pay"):
        abort(404)
    with form_outcome():
        if action == "approve":
            wd.approve(w)
        elif action == "reject":
            wd.reject(w, request.form.get("reason", ""))
        else:
            wd.confirm_paid(w)
    return redirect(url_for("distribution_admin.withdrawals"))
