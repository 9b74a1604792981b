"""Storefront buying: cart, checkout, paying (K6, K7, K9)."""

from __future__ import annotations

import secrets

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from jishi.accounts.models import Address
from jishi.checkout.errors import CheckoutError
from jishi.checkout.service import build_checkout, place_order
from jishi.db import db, reads_first
from jishi.i18n import gettext as _
from jishi.orders.models import Order, PaymentOrder
from jishi.web.common import bp, error_text, flash_error, form_int


def _cart():
    from jishi.cart import service

    return service


def remember_cart_count(count: int | None) -> None:
    """Keep the number of units in the buyer's cart in the session for the
    header's and tab bar's cart badge (``cart_badge()``), so pages need no
    query for it. Set where the storefront changes or shows the cart;
    ``None``: unknown (no badge until the cart is next shown or changed)."""
    if count is None:
        session.pop("cart_count", None)
    else:
        session["cart_count"] = [current_user.id, count]


# -- cart --------------------------------------------------------------------


@bp.post("/cart/add")
@login_required
def cart_add():
    service = _cart()
    sku_id = form_int("sku_id")
    quantity = form_int("quantity", 1)
    if sku_id is None:
        flash(_("Choose a variant first."), "error")
        return redirect(request.referrer or url_for("shop.index"))
    try:
        service.add(current_user, sku_id, quantity)
    except service.CartError as exc:
        db.session.rollback()
        flash_error(exc)
        return redirect(request.referrer or url_for("shop.index"))
    db.session.commit()
    if request.form.get("buy_now"):
        return redirect(url_for("shop.checkout"))
    remember_cart_count(service.count(current_user))
    # Back where the buyer was (the product page), with a toast and the
    # cart badge, instead of leaving for the cart.
    flash(_("Added to the cart."), "toast")
    return redirect(request.referrer or url_for("shop.cart"))


def _cart_units(view) -> int:
    return sum(line.quantity for group in view.groups for line in group.lines)


@bp.get("/cart")
@login_required
def cart():
    view = _cart().view(current_user)
    remember_cart_count(_cart_units(view))
    return render_template("shop/cart.html", cart=view)


@bp.post("/cart")
@login_required
def cart_update():
    """One form for the whole cart: quantities, selection, remove, go to checkout."""
    service = _cart()
    view = service.view(current_user)
    lines = [line for group in view.groups for line in group.lines]
    remove_id = form_int("remove")
    try:
        if remove_id is not None:
            service.remove(current_user, remove_id)
        else:
            picked = {int(v) for v in request.form.getlist("selected") if (v.isdecimal() and len(v) <= 10)}
            for line in lines:
                qty = form_int(f"qty-{line.id}")
                if qty is not None and qty != line.quantity:
                    service.set_quantity(current_user, line.id, qty)
            on = [line.id for line in lines if line.id in picked]
            off = [line.id for line in lines if line.id not in picked]
            if on:
                service.set_selected(current_user, on, True)
            if off:
                service.set_selected(current_user, off, False)
    except service.CartError as exc:
        db.session.rollback()
        flash_error(exc)
        return redirect(url_for("shop.cart"))
    db.session.commit()
    if request.form.get("action") == "checkout":
        return redirect(url_for("shop.checkout"))
    return redirect(url_for("shop.cart"))


# -- checkout ----------------------------------------------------------------


def checkout_options(source) -> dict:
    """Checkout options from a form or query string (public: plugins with a
    checkout page of their own read their forms with it): ``delivery-<group>``, ``message-<group>``,
    and fields plugins add through the checkout slots: ``opt.<name>.<group>``
    (per group) or ``opt.<name>`` (whole checkout, repeated for a list)."""
    delivery, messages, extra = {}, {}, {}
    for key in source:
        value = source.get(key, "")
        if key.startswith("delivery-") and value:
            delivery[key[len("delivery-") :]] = value
        elif key.startswith("message-"):
            messages[key[len("message-") :]] = value.strip()
        elif key.startswith("opt."):
            name, _sep, group = key[4:].partition(".")
            if not name or name in ("delivery", "messages"):
                continue
            if group:
                extra.setdefault(name, {})[group] = value
            else:
                values = source.getlist(key)
                extra[name] = values if len(values) > 1 else value
    return {**extra, "delivery": delivery, "messages": messages}


def _option_args(source) -> dict:
    """The checkout fields to carry over a redirect (repeated ones whole)."""
    return {
        k: [v for v in source.getlist(k) if v]
        for k in source
        if k.startswith(("delivery-", "message-", "opt.")) and any(source.getlist(k))
    }


def _addresses(user) -> list[Address]:
    return list(
        db.session.execute(
            db.select(Address).where(Address.user_id == user.id).order_by(Address.is_default.desc(), Address.id)
        ).scalars()
    )


@bp.get("/checkout")
@login_required
def checkout():
    addresses = _addresses(current_user)
    address_id = form_int("address_id", source=request.args)
    if address_id is None or all(a.id != address_id for a in addresses):
        address_id = addresses[0].id if addresses else None
    try:
        co = build_checkout(current_user, None, address_id, checkout_options(request.args))
    except CheckoutError as exc:
        db.session.rollback()
        flash_error(exc)
        return redirect(url_for("shop.cart"))
    if not co.lines:
        flash(_("Select something in the cart first."), "error")
        return redirect(url_for("shop.cart"))
    return render_template(
        "shop/checkout.html",
        checkout=co,
        addresses=addresses,
        address_id=address_id,
        # One key per rendering of the page: submitting twice (double click,
        # retry after a timeout) places the order once (K7).
        idempotency_key=secrets.token_urlsafe(24),
    )


@bp.post("/checkout")
@reads_first  # the quote reads; place_order writes after jishi.db.write_from_here
@login_required
def checkout_place():
    address_id = form_int("address_id")
    options = checkout_options(request.form)
    if request.form.get("action") == "refresh":
        return redirect(url_for("shop.checkout", address_id=address_id, **_option_args(request.form)))
    key = (request.form.get("idempotency_key") or "").replace("#", "").strip()[:72] or None
    try:
        # The total the page showed: a different total now (the page was
        # stale) is refused with the new one, never charged.
        payments = place_order(
            current_user,
            None,
            address_id,
            options,
            idempotency_key=key,
            expected_total=form_int("expected_total", minimum=0),
        )
    except CheckoutError as exc:
        flash_error(exc)
        return redirect(url_for("shop.checkout", address_id=address_id, **_option_args(request.form)))
    remember_cart_count(None)  # the placed lines left the cart
    if all(p.status == "paid" for p in payments):
        # Nothing to pay (¥0: a coupon or points paid it all): paid at placement.
        return redirect(url_for("shop.payment_return", number=payments[0].number))
    if len(payments) > 1:
        flash(_("Your orders are placed; each shop is paid separately."), "success")
    unpaid = next(p for p in payments if p.status != "paid")
    return redirect(url_for("shop.pay", number=unpaid.number))


# -- paying ------------------------------------------------------------------


def _own_payment(number: str) -> PaymentOrder:
    payment = db.session.execute(db.select(PaymentOrder).where(PaymentOrder.number == number)).scalar_one_or_none()
    if payment is None or payment.user_id != current_user.id:
        abort(404)
    return payment


def _siblings(payment: PaymentOrder) -> list[PaymentOrder]:
    """Other payment orders placed by the same checkout (per-shop payment)."""
    from jishi.checkout.service import placed_together

    return [p for p in placed_together(payment) if p.id != payment.id] if payment.idempotency_key else []


@bp.get("/pay/<number>")
@login_required
def pay(number: str):
    payment = _own_payment(number)
    if payment.status != "pending":
        return redirect(url_for("shop.payment_return", number=number))
    from jishi.payments import service

    methods = service.offered(service.channel_for(request.user_agent.string))
    return render_template("shop/pay.html", payment=payment, methods=methods, siblings=_siblings(payment))


@bp.post("/pay/<number>")
@login_required
def pay_start(number: str):
    from jishi.hookspecs import Payer
    from jishi.payments import service

    payment = _own_payment(number)
    channel = service.channel_for(request.user_agent.string)
    openid = current_app.extensions["jishi"].hook.payer_openid(user=current_user, channel=channel)
    payer = Payer(user=current_user, client_ip=request.remote_addr or "", openid=openid)
    try:
        start = service.start(payment, request.form.get("method", ""), channel, payer)
    except service.PaymentError as exc:
        db.session.rollback()
        flash(error_text(exc), "error")
        return redirect(url_for("shop.pay", number=number))
    if start.redirect_url:
        return redirect(start.redirect_url)
    if start.qr_code or start.client_params:
        # A QR code to scan (a desktop without a cashier page), or the
        # parameters WeChat's browser passes to its payment sheet.
        return render_template(
            "shop/pay_scan.html",
            payment=payment,
            qr_svg=_qr_svg(start.qr_code) if start.qr_code else None,
            client_params=dict(start.client_params or {}),
        )
    return redirect(url_for("shop.payment_return", number=number))


def _qr_svg(content: str):
    import io

    import segno
    from markupsafe import Markup

    out = io.BytesIO()
    segno.make(content, error="m").save(out, kind="svg", scale=5, xmldecl=False, svgns=True)
    return Markup(out.getvalue().decode())


@bp.get("/pay/return/<number>")
@login_required
def payment_return(number: str):
    payment = _own_payment(number)
    db.session.refresh(payment)
    orders = (
        db.session.execute(db.select(Order).where(Order.payment_id == payment.id).order_by(Order.id)).scalars().all()
    )
    return render_template("shop/payment_return.html", payment=payment, orders=orders, siblings=_siblings(payment))
