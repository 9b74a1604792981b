"""Storefront accounts: register, login, logout, profile, locale, addresses (K5)."""

from __future__ import annotations

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user
from sqlalchemy import func, select

from jishi.accounts.models import Address
from jishi.db import db
from jishi.extensions import limiter
from jishi.i18n import gettext as _
from jishi.orders import state
from jishi.orders.models import Order
from jishi.web.common import bp, error_text, form_outcome, safe_next


def _accounts():
    from jishi.accounts import service

    return service


def _login_limit() -> str:
    return current_app.config["JISHI_LOGIN_RATE_LIMIT"]


def _providers():
    ext = current_app.extensions["jishi"]
    return [p for r in ext.hook.login_providers() for p in (r or [])]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if request.method == "GET" and current_user.is_authenticated:
        return redirect(safe_next(url_for("shop.index")))
    error = None
    if request.method == "POST":
        phone = (request.form.get("phone") or "").strip()
        password = request.form.get("password") or ""
        user = _accounts().authenticate(phone, password)
        if user is None:
            error = _("Wrong phone number or password.")
        else:
            db.session.commit()  # a rehashed password, if any
            login_user(user, remember=bool(request.form.get("remember")))
            return redirect(safe_next(url_for("shop.index")))
    status = 401 if error else 200
    return render_template(
        "shop/login.html", error=error, providers=_providers(), next=request.values.get("next", "")
    ), status


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def register():
    error, form = None, {}
    if request.method == "POST":
        form = {k: (request.form.get(k) or "").strip() for k in ("phone", "name")}
        password = request.form.get("password") or ""
        if password != (request.form.get("password2") or ""):
            error = {"field": "password2", "message": _("The two passwords differ.")}
        else:
            service = _accounts()
            try:
                user = service.register(form["phone"], password, form["name"])
            except service.AccountError as exc:
                db.session.rollback()
                error = {"field": getattr(exc, "field", None), "message": error_text(exc)}
            else:
                db.session.commit()
                login_user(user)
                flash(_("Welcome! Your account is ready."), "success")
                return redirect(safe_next(url_for("shop.index")))
    status = 422 if error else 200
    return render_template("shop/register.html", error=error, form=form, next=request.values.get("next", "")), status


@bp.post("/logout")
@login_required
def logout():
    """Rotates the session token: every session of this user ends (K5)."""
    _accounts().logout(current_user._get_current_object())
    flash(_("You have signed out."), "success")
    return redirect(url_for("shop.index"))


#: the order states the account page counts and links to, as the
#: shopping apps' "我的" page does: to pay, to ship, shipped, received
ACCOUNT_ORDER_TABS = (state.PENDING, state.PAID, state.SHIPPED, state.RECEIVED)


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    if request.method == "POST":
        service = _accounts()
        with form_outcome():
            service.update_profile(current_user, {"name": request.form.get("name") or ""})
        return redirect(url_for("shop.account"))
    return render_template(
        "shop/account.html",
        addresses=_accounts().list_addresses(current_user),
        locales=current_app.config["JISHI_LOCALES"],
        order_tabs=ACCOUNT_ORDER_TABS,
        order_counts=_order_counts(current_user.id),
    )


def _order_counts(user_id: int) -> dict[str, int]:
    """How many of the buyer's orders are in each of
    :data:`ACCOUNT_ORDER_TABS`' states (one grouped count; a state with
    none is absent)."""
    rows = db.session.execute(
        select(Order.status, func.count())
        .where(Order.user_id == user_id, Order.status.in_(ACCOUNT_ORDER_TABS))
        .group_by(Order.status)
    )
    return {row[0]: row[1] for row in rows}


@bp.route("/locale", methods=["GET", "POST"])
def set_locale():
    """Switch the language: stored on the account when signed in, else in the
    session. The POST (a form with its CSRF token: the account page, the
    console, the footer of a signed-in visitor) stores it on the account; a
    GET (the footer's links for a visitor not signed in, issue 20: a footer
    without a token needs no session, and can be kept rendered) sets the
    session's choice only, never the account (a link another site can make
    changes nothing stored)."""
    locale = (request.form if request.method == "POST" else request.args).get("locale", "")
    if locale not in current_app.config["JISHI_LOCALES"]:
        abort(400)
    session["locale"] = locale
    if request.method == "POST" and current_user.is_authenticated:
        _accounts().set_locale(current_user, locale)
        db.session.commit()
    return redirect(safe_next(request.referrer if _local(request.referrer) else url_for("shop.index")))


def _local(url: str | None) -> bool:
    return bool(url) and url.startswith(request.host_url)


# -- addresses ---------------------------------------------------------------

ADDRESS_FIELDS = ("name", "phone", "province", "city", "district", "detail")


def _address_data() -> dict:
    data = {k: (request.form.get(k) or "").strip() for k in ADDRESS_FIELDS}
    data["is_default"] = bool(request.form.get("is_default"))
    return data


@bp.get("/account/addresses")
@login_required
def addresses():
    return render_template("shop/addresses.html", addresses=_accounts().list_addresses(current_user))


@bp.route("/account/addresses/new", methods=["GET", "POST"])
@login_required
def address_new():
    error, data = None, {}
    if request.method == "POST":
        data = _address_data()
        service = _accounts()
        try:
            service.add_address(current_user, data)
        except service.AccountError as exc:
            db.session.rollback()
            error = {"field": getattr(exc, "field", None), "message": error_text(exc)}
        else:
            db.session.commit()
            flash(_("Address saved."), "success")
            return redirect(safe_next(url_for("shop.addresses")))
    return render_template("shop/address_form.html", error=error, address=data, next=request.values.get("next", "")), (
        422 if error else 200
    )


@bp.route("/account/addresses/<int:address_id>/edit", methods=["GET", "POST"])
@login_required
def address_edit(address_id: int):
    address = db.session.get(Address, address_id)
    if address is None or address.user_id != current_user.id:
        abort(404)
    error, data = None, {k: getattr(address, k) for k in ADDRESS_FIELDS} | {"is_default": address.is_default}
    if request.method == "POST":
        data = _address_data()
        service = _accounts()
        try:
            service.update_address(current_user, address_id, data)
        except service.AccountError as exc:
            db.session.rollback()
            error = {"field": getattr(exc, "field", None), "message": error_text(exc)}
        else:
            db.session.commit()
            flash(_("Address saved."), "success")
            return redirect(safe_next(url_for("shop.addresses")))
    return render_template(
        "shop/address_form.html", error=error, address=data, editing=address, next=request.values.get("next", "")
    ), (422 if error else 200)


@bp.post("/account/addresses/<int:address_id>/delete")
@login_required
def address_delete(address_id: int):
    address = db.session.get(Address, address_id)
    if address is None or address.user_id != current_user.id:
        abort(404)
    service = _accounts()
    with form_outcome(_("Address deleted.")):
        service.delete_address(current_user, address_id)
    return redirect(url_for("shop.addresses"))
