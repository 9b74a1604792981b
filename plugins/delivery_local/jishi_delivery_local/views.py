"""Seller console pages: settings (permission ``settings``) and the local
orders with their out-for-delivery / delivered buttons (``orders``)."""

from __future__ import annotations

import math

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from jishi.db import db
from jishi.errors import DomainError
from jishi.forms import flash_error
from jishi.i18n import gettext as _
from jishi.money import MoneyError, fen_to_yuan_str, parse_yuan
from jishi.sellers import current_scope, seller_page

from jishi_delivery_local import service
from jishi_delivery_local.service import LocalDeliveryError

bp = Blueprint("delivery_local", __name__)


def _float(name: str):
    raw = (request.form.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise LocalDeliveryError(
            name, _("The latitude is a number from -90 to 90 and the longitude from -180 to 180.")
        ) from None
    if not math.isfinite(value):
        raise LocalDeliveryError(name, _("The latitude is a number from -90 to 90 and the longitude from -180 to 180."))
    return value


def _whole(name: str, default: int):
    raw = (request.form.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isdecimal() or len(raw) > 10:
        raise LocalDeliveryError(name, _("Enter a whole number."))
    return int(raw)


def _yuan(name: str, default):
    raw = (request.form.get(name) or "").strip()
    if not raw:
        return default
    try:
        return parse_yuan(raw)
    except MoneyError:
        raise LocalDeliveryError(name, _("Amounts are in yuan such as 12.50.")) from None


def form_data() -> dict:
    """The settings form as :func:`service.validate` takes it.

    Tiers: one per line, ``<metres> <fee in yuan>`` ("3000 5"); slots: one
    per line, ``HH:MM-HH:MM <capacity>`` ("10:00-12:00 5")."""
    tiers = []
    for n, line in enumerate((request.form.get("tiers") or "").splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2 or not parts[0].isdecimal():
            raise LocalDeliveryError(
                "tiers", _("Line %(n)d: write a distance in metres and a fee in yuan, e.g. 3000 5.00.", n=n)
            )
        try:
            fee = parse_yuan(parts[1])
        except MoneyError:
            raise LocalDeliveryError(
                "tiers", _("Line %(n)d: write a distance in metres and a fee in yuan, e.g. 3000 5.00.", n=n)
            ) from None
        tiers.append({"max_distance_m": int(parts[0]), "fee": fee})
    slots = []
    for n, line in enumerate((request.form.get("slots") or "").splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        window = parts[0].split("-")
        if len(parts) != 2 or len(window) != 2 or not parts[1].isdecimal():
            raise LocalDeliveryError(
                "slots", _("Line %(n)d: write a time slot and its capacity, e.g. 10:00-12:00 5.", n=n)
            )
        slots.append({"start": window[0], "end": window[1], "capacity": int(parts[1])})
    return {
        "enabled": request.form.get("enabled") == "1",
        "lat": _float("lat"),
        "lng": _float("lng"),
        "radius_m": _whole("radius_m", 5000),
        "tiers": tiers,
        "min_amount": _yuan("min_amount", 0),
        "free_over": _yuan("free_over", None),
        "slots": slots,
        "days_ahead": _whole("days_ahead", 3),
        "lead_minutes": _whole("lead_minutes", 30),
    }


def _form_view(cfg) -> dict:
    return {
        "enabled": cfg.enabled,
        "lat": "" if cfg.lat is None else repr(cfg.lat),
        "lng": "" if cfg.lng is None else repr(cfg.lng),
        "radius_m": cfg.radius_m,
        "tiers": "\n".join(f"{t.max_m} {fen_to_yuan_str(t.fee)}" for t in cfg.tiers),
        "min_amount": fen_to_yuan_str(cfg.min_amount),
        "free_over": "" if cfg.free_over is None else fen_to_yuan_str(cfg.free_over),
        "slots": "\n".join(f"{w.key} {w.capacity}" for w in cfg.windows),
        "days_ahead": cfg.days_ahead,
        "lead_minutes": cfg.lead_minutes,
    }


@bp.route("/seller/local/settings", methods=["GET", "POST"])
@seller_page("settings")
def settings():
    scope = current_scope()
    error = None
    form = None
    if request.method == "POST":
        try:
            service.save(scope.seller_id, form_data())
        except DomainError as exc:
            db.session.rollback()
            error = exc
            form = request.form
        else:
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("delivery_local.settings"))
    cfg = service.config_for(scope.seller_id)
    return render_template(
        "delivery_local/settings.html", cfg=cfg, form=form or _form_view(cfg), error=error, read_only=scope.read_only
    ), (422 if error else 200)


@bp.get("/seller/local/orders")
@seller_page("orders")
def orders():
    scope = current_scope()
    status = request.args.get("status") or None
    if status not in (None, "paid", "shipped", "received", "completed", "closed"):
        status = None
    rows = service.seller_orders(scope, status)
    return render_template("delivery_local/orders.html", rows=rows, status=status, read_only=scope.read_only)


def _own(order_id: int):
    order = service.seller_order(current_scope(), order_id)
    if order is None:
        abort(404)
    return order


def _back():
    target = request.form.get("next") or ""
    if target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    return redirect(url_for("delivery_local.orders"))


@bp.post("/seller/local/orders/<int:order_id>/dispatch")
@seller_page("orders")
def dispatch(order_id: int):
    order = _own(order_id)
    try:
        service.dispatch(
            order, request.form.get("courier_name", ""), request.form.get("courier_phone", ""), actor=current_user
        )
    except DomainError as exc:
        db.session.rollback()
        flash_error(exc)
    else:
        flash(_("Out for delivery."), "success")
    return _back()


@bp.post("/seller/local/orders/<int:order_id>/deliver")
@seller_page("orders")
def deliver(order_id: int):
    from jishi.orders import state

    order = _own(order_id)
    try:
        if not state.can(order, "receive", "seller"):
            raise state.TransitionError(order, "receive")
        service.deliver(order, actor=current_user)
    except DomainError as exc:
        db.session.rollback()
        flash_error(exc)
    else:
        flash(_("Delivered."), "success")
    return _back()
