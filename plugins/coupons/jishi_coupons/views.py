"""Coupons pages.

Storefront (blueprint ``coupons``): the claim centre ``/coupons``, claiming
``POST /coupons/<id>/claim`` (also from product and shop pages through the
``product_detail_after_price`` and ``multistore_shop_top`` slots), my coupons
``/account/coupons``; coupon choice at checkout through the
``checkout_group`` (merchant coupon per order) and ``checkout_bottom``
(platform coupon) slots, as form fields ``opt.coupons.<slot>``.

Seller console (blueprint ``coupons_seller``, ``/seller/coupons``): the
platform's coupons for platform staff, a merchant's own for its staff
(permission ``marketing``; the seller comes from the principal).
"""

from __future__ import annotations

import functools

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from jishi.db import db
from jishi.errors import DomainError
from jishi.forms import flash_error, safe_next
from jishi.i18n import gettext as _
from jishi.i18n import parse_shop_time
from jishi.money import MoneyError, parse_yuan
from jishi.sellers import current_scope, seller_page
from markupsafe import Markup

from jishi_coupons import service
from jishi_coupons.checkout import PLATFORM, plan_for
from jishi_coupons.models import KIND_PERCENT, SCOPES

bp = Blueprint("coupons", __name__)
seller = Blueprint("coupons_seller", __name__, url_prefix="/seller/coupons")


# --- Storefront --------------------------------------------------------------------


@bp.get("/coupons")
def centre():
    """领券中心: every coupon that can be claimed now."""
    rows = service.claimable()
    return render_template(
        "coupons/centre.html",
        templates=rows,
        mine=service.claimed_counts(current_user, [t.id for t in rows]),
        profiles=_profiles(rows),
    )


def _profiles(rows) -> dict:
    from jishi.catalog.service import seller_profiles

    ids = {t.seller_id for t in rows if t.seller_id is not None}
    return seller_profiles(sorted(ids)) if ids else {}


@bp.post("/coupons/<int:template_id>/claim")
@login_required
def claim(template_id):
    try:
        service.claim(current_user, template_id)
    except DomainError as exc:
        db.session.rollback()
        if exc.status == 404:
            abort(404)
        flash_error(exc)
    else:
        flash(_("Coupon claimed."), "success")
    return redirect(safe_next(url_for("coupons.centre")))


@bp.get("/account/coupons")
@login_required
def mine():
    tab = request.args.get("status", "unused")
    if tab not in ("unused", "used", "expired"):
        tab = "unused"
    return render_template("coupons/mine.html", coupons=service.my_coupons(current_user, tab), tab=tab)


def render_slot(slot: str, context: dict):
    if slot == "product_detail_after_price":
        product = context.get("product")
        if product is None:
            return None
        loaded = context.get("loaded")
        if loaded is not None and "coupons.templates" in loaded:  # read with the page (product_page_loaders)
            rows, mine = service.page_claimable(product, loaded)
        else:
            rows = service.claimable(product=product, limit=5)
            mine = service.claimed_counts(current_user, [t.id for t in rows]) if rows else {}
        if not rows:
            return None
        return Markup(render_template("coupons/_claim_box.html", templates=rows, next=request.path, mine=mine))
    if slot == "multistore_shop_top":
        merchant = context.get("merchant")
        if merchant is None:
            return None
        rows = service.claimable(seller_id=merchant.id, limit=10)
        if not rows:
            return None
        return Markup(
            render_template(
                "coupons/_claim_box.html",
                templates=rows,
                next=request.path,
                mine=service.claimed_counts(current_user, [t.id for t in rows]),
            )
        )
    if slot in ("checkout_group", "checkout_bottom"):
        checkout = context.get("checkout")
        if checkout is None:
            return None
        plan = plan_for(checkout)
        if slot == "checkout_group":
            group = context.get("group")
            if group is None or group.seller_id is None:
                return None
            key = group.key
        else:
            key = PLATFORM
        options = plan.options.get(key, [])
        activities = [(a, amount) for a, amount in plan.activities if slot == "checkout_bottom"]
        if not options and not activities:
            return None
        return Markup(
            render_template(
                "coupons/_checkout_choice.html",
                slot_key=key,
                options=options,
                chosen=plan.chosen.get(key),
                activities=activities,
                problems=[p for p in plan.problems if (p.group_key or PLATFORM) == key],
            )
        )
    if slot == "account_links":
        return Markup('<a href="%s">%s</a>') % (url_for("coupons.mine"), _("My coupons"))
    return None


# --- Seller console ----------------------------------------------------------------


def seller_coupons_page(view):
    @seller_page(None)
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        scope = current_scope()
        if not scope.can("marketing"):
            abort(403)
        return view(*args, **kwargs)

    return wrapper


@seller.get("/")
@seller_coupons_page
def index():
    sid = current_scope().seller_id
    return render_template(
        "coupons/seller_index.html", templates=service.seller_templates(sid), activities=service.seller_activities(sid)
    )


def _form_dt(name: str):
    raw = (request.form.get(name) or "").strip()
    if not raw:
        return None
    try:
        return parse_shop_time(raw)  # typed in the shop's time zone
    except ValueError:
        raise service.CouponError(
            name, _("%(field)s is not a date and time.", field=service.field_label(name))
        ) from None


def _form_money(name: str):
    raw = (request.form.get(name) or "").strip()
    if not raw:
        return None
    try:
        return parse_yuan(raw)
    except MoneyError as exc:
        raise service.CouponError(name, str(exc)) from None


def _form_int(name: str):
    raw = (request.form.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isdecimal() or len(raw) > 9:
        raise service.CouponError(name, _("%(field)s must be a whole number.", field=service.field_label(name)))
    return int(raw)


def _form_ids(name: str):
    raw = (request.form.get(name) or "").replace("，", ",")
    ids = []
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdecimal() or len(part) > 9:
            raise service.CouponError(name, _("Give ids separated by commas."))
        ids.append(int(part))
    return ids


def _percent_bp(name: str):
    """ "9" (折) -> 1000 basis points off; "8.5" -> 1500."""
    raw = (request.form.get(name) or "").strip()
    if not raw:
        return None
    try:
        tenths = parse_yuan(raw)  # the same two-decimal parser: 8.5 -> 850
    except MoneyError:
        raise service.CouponError(name, _("Give the rate as the tenths of the price paid, e.g. 9 or 8.5.")) from None
    if not 1 <= tenths <= 999:
        raise service.CouponError(name, _("Give the rate as the tenths of the price paid, e.g. 9 or 8.5."))
    return 10000 - tenths * 10


@seller.route("/new", methods=["GET", "POST"])
@seller_coupons_page
def template_new():
    scope = current_scope()
    if request.method == "POST":
        try:
            kind = request.form.get("kind") or "fixed"
            data = {
                "name": request.form.get("name", ""),
                "kind": kind,
                "threshold": _form_money("threshold") or 0,
                "amount": _form_money("amount"),
                "percent_off": _percent_bp("rate") if kind == KIND_PERCENT else None,
                "max_discount": _form_money("max_discount"),
                "scope": request.form.get("scope") or "all",
                "scope_ids": _form_ids("scope_ids"),
                "starts_at": _form_dt("starts_at"),
                "ends_at": _form_dt("ends_at"),
                "valid_days": _form_int("valid_days"),
                "total_quantity": _form_int("total_quantity"),
                "per_user_limit": _form_int("per_user_limit") or 1,
            }
            service.create_template(scope.seller_id, data, current_user)
        except DomainError as exc:
            db.session.rollback()
            flash_error(exc)
            return render_template("coupons/seller_template_form.html", form=request.form, scopes=_scopes(scope)), 422
        flash(_("Coupon created."), "success")
        return redirect(url_for("coupons_seller.index"))
    return render_template("coupons/seller_template_form.html", form={}, scopes=_scopes(scope))


def _scopes(scope):
    return [s for s in SCOPES if scope.seller_id is None or s != "merchant"]


@seller.route("/activities/new", methods=["GET", "POST"])
@seller_coupons_page
def activity_new():
    scope = current_scope()
    if request.method == "POST":
        try:
            tiers = []
            for i in range(1, 4):
                t, a = _form_money(f"tier{i}_threshold"), _form_money(f"tier{i}_amount")
                if t is None and a is None:
                    continue
                tiers.append([t, a])
            data = {
                "name": request.form.get("name", ""),
                "tiers": tiers,
                "scope": request.form.get("scope") or "all",
                "scope_ids": _form_ids("scope_ids"),
                "starts_at": _form_dt("starts_at"),
                "ends_at": _form_dt("ends_at"),
            }
            service.create_activity(scope.seller_id, data, current_user)
        except DomainError as exc:
            db.session.rollback()
            flash_error(exc)
            return render_template("coupons/seller_activity_form.html", form=request.form, scopes=_scopes(scope)), 422
        flash(_("Activity created."), "success")
        return redirect(url_for("coupons_seller.index"))
    return render_template("coupons/seller_activity_form.html", form={}, scopes=_scopes(scope))


@seller.post("/<int:template_id>/stop")
@seller_coupons_page
def template_stop(template_id):
    t = service.own_template(current_scope().seller_id, template_id)
    if t is None:
        abort(404)
    service.stop(t)
    flash(_("Claiming stopped."), "success")
    return redirect(url_for("coupons_seller.index"))


@seller.post("/activities/<int:activity_id>/stop")
@seller_coupons_page
def activity_stop(activity_id):
    a = service.own_activity(current_scope().seller_id, activity_id)
    if a is None:
        abort(404)
    service.stop(a)
    flash(_("Activity stopped."), "success")
    return redirect(url_for("coupons_seller.index"))
