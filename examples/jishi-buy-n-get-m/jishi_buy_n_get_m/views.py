"""The seller page: a seller sets "buy N pay M" on its own products.

One URL for every seller: the seller is the signed-in user's
:func:`jishi.sellers.current_scope` (the shop itself for platform staff, the
merchant under multistore), never a request parameter. A product or rule of
another seller answers 404. Needs the ``products`` permission (a multistore
clerk has none); the platform's read-only view of a merchant may only look.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from jishi.db import commit, db, rollback
from jishi.errors import DomainError
from jishi.i18n import gettext as _
from jishi.sellers import SellerScope, current_scope, seller_page

from jishi_buy_n_get_m import rules
from jishi_buy_n_get_m.models import MAX_QTY, BuyNGetMRule

bp = Blueprint("buy_n_get_m", __name__, url_prefix="/seller/buy-n-get-m")


def _scope() -> SellerScope:
    """The signed-in seller's scope: ``seller_page`` only lets a user with one in."""
    scope = current_scope(via="console")
    if scope is None:  # pragma: no cover - seller_page answered 403 already
        abort(403)
    return scope


def _form_values(form) -> dict:
    """What the form shows again after an error (plain values)."""
    return {
        "product_id": form.get("product_id", ""),
        "buy_qty": form.get("buy_qty", ""),
        "pay_qty": form.get("pay_qty", ""),
        "active": _active(form),
    }


def _active(form) -> bool:
    # the form sends a hidden "0" then the checkbox's "1" when ticked
    values = form.getlist("active")
    return not values or values[-1] in ("1", "on", "true")


def _render(status: int = 200, product=None, form=None, error: DomainError | None = None):
    scope = _scope()
    return render_template(
        "buy_n_get_m/rules.html",
        rows=rules.rules_of(scope.seller_id),
        products=rules.own_products(scope.seller_id),
        product=product,
        form=form or {},
        error=error,
        max_qty=MAX_QTY,
        read_only=scope.read_only,
    ), status


@bp.get("/")
@seller_page("products")
def index():
    return _render()


@bp.get("/products/<int:product_id>")
@seller_page("products")
def edit(product_id: int):
    product = rules.own_product(_scope().seller_id, product_id)
    if product is None:
        abort(404)
    rule = rules.rule_for_product(product.id)
    form = {"product_id": product.id}
    if rule is not None:
        form.update(buy_qty=rule.buy_qty, pay_qty=rule.pay_qty, active=rule.active)
    return _render(product=product, form=form)


@bp.post("/")
@seller_page("products")
def save():
    form = request.form
    raw_id = form.get("product_id", "").strip()
    product = rules.own_product(_scope().seller_id, int(raw_id)) if raw_id.isdigit() else None
    if product is None:
        if not raw_id.isdigit():
            err = DomainError("product_id", _("Choose a product."))
            return _render(422, form=_form_values(form), error=err)
        abort(404)  # another seller's product, or none: never say which
    try:
        buy = rules.parse_qty(form.get("buy_qty"), "buy_qty", 2, MAX_QTY)
        pay = rules.parse_qty(form.get("pay_qty"), "pay_qty", 1, MAX_QTY)
        rules.save_rule(product, buy, pay, active=_active(form))
        commit()
    except DomainError as err:
        rollback()
        return _render(409 if err.code == "conflict" else 422, product=product, form=_form_values(form), error=err)
    flash(_("Saved: %(label)s on %(name)s.", label=rules.label(buy, pay), name=product.name), "success")
    return redirect(url_for(".index"))


@bp.post("/<int:rule_id>/delete")
@seller_page("products")
def delete(rule_id: int):
    rule = db.session.get(BuyNGetMRule, rule_id) if 1 <= rule_id <= 2**31 - 1 else None
    if rule is None or rule.seller_id != _scope().seller_id:
        abort(404)
    rules.delete_rule(rule)
    commit()
    flash(_("Rule removed."), "success")
    return redirect(url_for(".index"))
