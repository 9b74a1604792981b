"""Pages: the seller's pickup points and verification page (console of the
shop or of a multistore merchant, from the principal's seller scope), the
buyer's QR image, and the markup of the plugin's template slots."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from jishi.access import rate_limit
from jishi.db import commit, db, rollback
from jishi.i18n import gettext as _
from jishi.sellers import current_scope, seller_page
from markupsafe import Markup

from jishi_pickup import service
from jishi_pickup.blueprints import web
from jishi_pickup.models import CODE_ACTIVE, PickupCode

# --- Rate limit (shared by the page and the API) --------------------------------


def verify_limit() -> str:
    return current_app.config["JISHI_PICKUP_VERIFY_RATE_LIMIT"]


def verify_key() -> str:
    """Attempts are counted per signed-in user (per address when signed out)."""
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    from flask_limiter.util import get_remote_address

    return f"addr:{get_remote_address()}"


verify_rate_limit = rate_limit(verify_limit, scope="pickup-verify", key_func=verify_key, methods=["POST"])


# --- Points ---------------------------------------------------------------------


def _form_values() -> dict:
    values = {k: request.form.get(k, "") for k in ("name", "address", "hours", "phone", "lat", "lng")}
    values["is_active"] = request.form.get("is_active") in ("1", "on", "true")
    return values


def _own_point_or_404(point_id: int):
    point = service.own_point(current_scope().seller_id, point_id)
    if point is None:
        abort(404)
    return point


@web.route("/seller/pickup/points", methods=["GET", "POST"])
@seller_page("settings")
def points():
    scope = current_scope()
    form, error = {}, None
    if request.method == "POST":
        form = _form_values()
        try:
            service.create_point(scope.seller_id, form)
            commit()
            flash(_("Pickup point added."), "success")
            return redirect(url_for("pickup.points"))
        except service.PickupError as exc:
            rollback()
            error = exc
    rows = service.points_of(scope.seller_id)
    return render_template("pickup/points.html", points=rows, form=form, error=error, scope=scope), (
        error.status if error else 200
    )


@web.route("/seller/pickup/points/<int:point_id>", methods=["GET", "POST"])
@seller_page("settings")
def point_edit(point_id: int):
    point = _own_point_or_404(point_id)
    error = None
    if request.method == "POST":
        try:
            service.update_point(point, _form_values())
            commit()
            flash(_("Saved."), "success")
            return redirect(url_for("pickup.points"))
        except service.PickupError as exc:
            rollback()
            error = exc
            point = _own_point_or_404(point_id)
    return render_template("pickup/point_form.html", point=point, error=error, scope=current_scope()), (
        error.status if error else 200
    )


@web.post("/seller/pickup/points/<int:point_id>/delete")
@seller_page("settings")
def point_delete(point_id: int):
    point = _own_point_or_404(point_id)
    service.delete_point(point)
    commit()
    flash(_("Pickup point deleted."), "success")
    return redirect(url_for("pickup.points"))


# --- Verification (核销) ----------------------------------------------------------


@web.route("/seller/pickup/verify", methods=["GET", "POST"])
@seller_page("orders")
@verify_rate_limit
def verify():
    scope = current_scope()
    error, done = None, None
    if request.method == "POST":
        try:
            _row, order = service.verify(scope, current_user, request.form.get("code"))
            number = order.number
            commit()
            flash(_("Picked up: order %(number)s is complete.", number=number), "success")
            return redirect(url_for("pickup.verify", done=order.id))
        except service.PickupError as exc:
            rollback()
            error = exc
    done_id = request.args.get("done", "")
    if done_id.isdecimal() and len(done_id) <= 10:
        done = _verified_order(scope.seller_id, int(done_id))
    recent = service.recent_verifications(scope.seller_id)
    return render_template("pickup/verify.html", error=error, done=done, recent=recent, scope=scope), (
        error.status if error else 200
    )


def _verified_order(seller_id, order_id):
    from jishi.orders.models import Order

    if order_id > service.MAX_ID:
        return None
    order = db.session.get(Order, order_id)
    if order is None or order.seller_id != seller_id or order.delivery_method != service.CODE:
        return None
    return order


# --- The buyer's QR code -----------------------------------------------------------


def buyer_code(order_id: int) -> PickupCode | None:
    """The signed-in buyer's active code of their own order (None otherwise)."""
    from jishi.orders.service import buyer_order

    if order_id > service.MAX_ID:
        return None
    order = buyer_order(current_user, order_id)
    if order is None or order.delivery_method != service.CODE:
        return None
    code = service.code_of(order.id)
    if code is None or code.status != CODE_ACTIVE:
        return None
    return code


def qr_response(code: PickupCode):
    resp = current_app.response_class(service.qr_svg(code.code), mimetype="image/svg+xml")
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


@web.get("/orders/<int:order_id>/pickup/qr.svg")
@login_required
def qr(order_id: int):
    code = buyer_code(order_id)
    if code is None:
        abort(404)
    return qr_response(code)


# --- Slots ---------------------------------------------------------------------------


def checkout_group_slot(group, checkout):
    """The point select of a group offering pickup (``opt.pickup.<key>``)."""
    if group is None or checkout is None:
        return None
    offered = next((o for o in group.delivery_options if o.code == service.CODE), None)
    if offered is None:
        return None
    points = service._points_cache(checkout).get(group.seller_id) or service.points_of(
        group.seller_id, active_only=True
    )
    chosen = (offered.data or {}).get("point_id")
    return Markup(
        render_template(
            "pickup/_checkout_group.html",
            group=group,
            points=points,
            chosen=chosen,
            selected=group.delivery is not None and group.delivery.code == service.CODE,
        )
    )


def order_delivery_slot(order):
    """The buyer's order page: the point (from the order's snapshot), the
    code and its QR while it is valid."""
    if order is None or order.delivery_method != service.CODE:
        return None
    code = service.code_of(order.id)
    mine = current_user.is_authenticated and current_user.id == order.user_id
    return Markup(
        render_template(
            "pickup/_order_delivery.html",
            order=order,
            point=order.delivery_data or {},
            code=code if mine else None,
            display_code=service.display_code,
        )
    )


def console_order_slot(order):
    """A console's order page: the point and the code's state (never the code)."""
    if order is None or order.delivery_method != service.CODE:
        return None
    return Markup(
        render_template(
            "pickup/_console_order.html", order=order, point=order.delivery_data or {}, code=service.code_of(order.id)
        )
    )
