"""Console pages (SPEC DE).

- ``express_admin`` (``/console/express``): the platform admin's delivery
  templates.
- ``express_seller`` (``/seller/express``): the seller console of the
  signed-in user's seller (the shop itself for platform staff, the merchant
  under multistore): chosen templates, products' templates, shipping (one
  by one, ticked orders, CSV upload) and tracking events.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from jishi.access import guard_platform, requires
from jishi.errors import DomainError
from jishi.i18n import gettext as _
from jishi.money import MoneyError, fen_to_yuan_str, parse_yuan
from jishi.sellers import current_scope, seller_page

from jishi_delivery_express import carriers, service

admin = Blueprint("express_admin", __name__, url_prefix="/console/express")
seller = Blueprint("express_seller", __name__, url_prefix="/seller/express")

FEE_FIELDS = ("first_fee", "additional_fee")
REGION_ROWS_EXTRA = 3


guard_platform(admin)  # every page asks for "settings"


# -- platform templates ------------------------------------------------------------------


def _yuan(value: str, name: str) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return parse_yuan(value)
    except MoneyError:
        raise DomainError(
            name, _("%(field)s: enter an amount in yuan, e.g. 12.50.", field=service.field_label(name))
        ) from None


def _form_data(form) -> dict:
    data = {k: form.get(k, "") for k in ("name", "charge_by", "first_units", "additional_units", "free_over_pieces")}
    for k in FEE_FIELDS + ("free_over_amount",):
        data[k] = _yuan(form.get(k, ""), k)
    regions = []
    for i in range(100):
        prefix = f"region-{i}-"
        if prefix + "province" not in form:
            break
        province = form.get(prefix + "province", "").strip()
        if not province:
            continue
        row = {
            "province": province,
            "city": form.get(prefix + "city", ""),
            "served": form.get(prefix + "served", "1") == "1",
            "first_units": form.get(prefix + "first_units", ""),
            "additional_units": form.get(prefix + "additional_units", ""),
        }
        for k in FEE_FIELDS:
            row[k] = _yuan(form.get(prefix + k, ""), f"regions.{len(regions)}.{k}")
        regions.append(row)
    data["regions"] = regions
    return data


def _form_values(t) -> dict:
    if t is None:
        return {
            "name": "",
            "charge_by": "piece",
            "first_units": 1,
            "first_fee": "",
            "additional_units": 1,
            "additional_fee": "",
            "free_over_amount": "",
            "free_over_pieces": "",
            "regions": [],
        }
    return {
        "name": t.name,
        "charge_by": t.charge_by,
        "first_units": t.first_units,
        "first_fee": fen_to_yuan_str(t.first_fee),
        "additional_units": t.additional_units,
        "additional_fee": fen_to_yuan_str(t.additional_fee),
        "free_over_amount": fen_to_yuan_str(t.free_over_amount) if t.free_over_amount else "",
        "free_over_pieces": t.free_over_pieces or "",
        "regions": [
            {
                "province": r.province,
                "city": r.city,
                "served": r.served,
                "first_units": r.first_units or "",
                "first_fee": fen_to_yuan_str(r.first_fee) if r.first_fee is not None else "",
                "additional_units": r.additional_units or "",
                "additional_fee": fen_to_yuan_str(r.additional_fee) if r.additional_fee is not None else "",
            }
            for r in t.regions
        ],
    }


@admin.route("/templates")
@requires("settings")
def templates():
    return render_template("express/admin_templates.html", templates=service.templates())


@admin.route("/templates/new", methods=["GET", "POST"])
@requires("settings")
def template_new():
    return _template_form(None)


@admin.route("/templates/<int:template_id>", methods=["GET", "POST"])
@requires("settings")
def template_edit(template_id):
    return _template_form(_template_or_404(template_id))


def _template_or_404(template_id):
    try:
        return service.get_template(template_id)
    except service.NotFound:
        abort(404)


def _template_form(t):
    values, error = _form_values(t), None
    if request.method == "POST":
        try:
            t = service.save_template(_form_data(request.form), t)
        except DomainError as exc:
            error = exc
            values = {
                k: request.form.get(k, "")
                for k in (
                    "name",
                    "charge_by",
                    "first_units",
                    "first_fee",
                    "additional_units",
                    "additional_fee",
                    "free_over_amount",
                    "free_over_pieces",
                )
            }
            values["regions"] = []
            for i in range(100):
                prefix = f"region-{i}-"
                if prefix + "province" not in request.form:
                    break
                values["regions"].append(
                    {
                        k: request.form.get(prefix + k, "")
                        for k in ("province", "city", "first_units", "first_fee", "additional_units", "additional_fee")
                    }
                    | {"served": request.form.get(prefix + "served", "1") == "1"}
                )
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("express_admin.templates"))
    rows = list(values["regions"]) + [{"province": "", "city": "", "served": True}] * REGION_ROWS_EXTRA
    return render_template("express/admin_template_form.html", template=t, values=values, rows=rows, error=error), (
        422 if error else 200
    )


@admin.route("/templates/<int:template_id>/default", methods=["POST"])
@requires("settings")
def template_default(template_id):
    service.make_default(_template_or_404(template_id))
    flash(_("Saved."), "success")
    return redirect(url_for("express_admin.templates"))


@admin.route("/templates/<int:template_id>/delete", methods=["POST"])
@requires("settings")
def template_delete(template_id):
    service.delete_template(_template_or_404(template_id))
    flash(_("Deleted."), "success")
    return redirect(url_for("express_admin.templates"))


# -- seller pages ----------------------------------------------------------------------------


def _scope():
    return current_scope("console")


@seller.route("/settings", methods=["GET", "POST"])
@seller_page("settings")
def settings():
    scope = _scope()
    error = None
    if request.method == "POST":
        try:
            ids = [int(v) for v in request.form.getlist("template_id") if (v.isdecimal() and len(v) <= 10)]
            default = request.form.get("default_id", "")
            service.choose_templates(
                scope.seller_id,
                ids,
                int(default) if (default.isdecimal() and len(default) <= 10) and int(default) in ids else None,
            )
        except DomainError as exc:
            error = exc
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("express_seller.settings"))
    choices = {c.template_id: c for c in service.seller_choices(scope.seller_id)}
    return render_template(
        "express/seller_settings.html",
        scope=scope,
        templates=service.templates(),
        choices=choices,
        platform_default=service.platform_default(),
        error=error,
    ), (422 if error else 200)


@seller.route("/products", methods=["GET", "POST"])
@seller_page("products")
def products():
    scope = _scope()
    if request.method == "POST":
        pairs = []
        for key in request.form:
            if not key.startswith("template-"):
                continue
            pid, value = key.removeprefix("template-"), request.form.get(key, "")
            try:
                product = service.seller_product(
                    scope.seller_id, int(pid) if (pid.isdecimal() and len(pid) <= 10) else -1
                )
            except service.NotFound:
                abort(404)
            pairs.append((product, int(value) if (value.isdecimal() and len(value) <= 10) else None))
        try:
            service.set_product_templates(scope.seller_id, pairs)
        except DomainError as exc:
            flash(exc.message, "error")
        else:
            flash(_("Saved."), "success")
        return redirect(url_for("express_seller.products"))
    chosen = service.seller_choices(scope.seller_id)
    names = {t.id: t.name for t in service.templates()}
    return render_template(
        "express/seller_products.html",
        scope=scope,
        rows=service.seller_products(scope.seller_id),
        chosen=[(c.template_id, names.get(c.template_id, ""), c.is_default) for c in chosen],
    )


@seller.route("/orders")
@seller_page("orders")
def orders():
    scope = _scope()
    return _orders_page(scope)


def _orders_page(scope, results=None, status=200):
    return render_template(
        "express/seller_orders.html",
        scope=scope,
        orders=service.awaiting_shipment(scope.seller_id),
        shipped=service.recent_shipped(scope.seller_id),
        carriers=carriers.choices(),
        results=results,
    ), status


@seller.route("/orders/ship", methods=["POST"])
@seller_page("orders")
def orders_ship():
    """Ship the ticked orders, each with its row's carrier and tracking number."""
    scope = _scope()
    ids = [int(v) for v in request.form.getlist("order_id") if (v.isdecimal() and len(v) <= 10)]
    if not ids:
        flash(_("Tick the orders to ship."), "error")
        return redirect(url_for("express_seller.orders"))
    found = service.orders_by_id(scope.seller_id, ids)
    items = [
        service.ShipItem(
            str(i),
            found.get(i),
            request.form.get(f"carrier-{i}", ""),
            request.form.get(f"carrier_name-{i}", ""),
            request.form.get(f"tracking-{i}", ""),
        )
        for i in dict.fromkeys(ids)
    ]
    results = service.ship_many(scope.seller_id, items, actor=current_user)
    for r, item in zip(results, items):
        r["number"] = item.order.number if (item.order is not None and r.get("order_id")) else item.key
    return _orders_page(scope, results)


@seller.route("/orders/import", methods=["POST"])
@seller_page("orders")
def orders_import():
    """Ship from an uploaded CSV: order number, carrier, tracking number."""
    scope = _scope()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Choose a CSV file."), "error")
        return _orders_page(scope, status=422)
    try:
        results = service.ship_csv(scope.seller_id, upload.read(service.MAX_CSV_BYTES + 1), actor=current_user)
    except DomainError as exc:
        flash(exc.message, "error")
        return _orders_page(scope, status=422)
    return _orders_page(scope, results)


def _order_or_404(scope, order_id):
    try:
        return service.seller_order(scope.seller_id, order_id)
    except service.NotFound:
        abort(404)


@seller.route("/orders/<int:order_id>")
@seller_page("orders")
def order(order_id):
    scope = _scope()
    o = _order_or_404(scope, order_id)
    return render_template(
        "express/seller_order.html",
        scope=scope,
        order=o,
        events=service.tracking_events(o),
        carriers=carriers.choices(),
    )


@seller.route("/orders/<int:order_id>/ship", methods=["POST"])
@seller_page("orders")
def order_ship(order_id):
    scope = _scope()
    o = _order_or_404(scope, order_id)
    try:
        service.ship(
            scope.seller_id,
            o,
            request.form.get("carrier", ""),
            request.form.get("tracking_no", ""),
            actor=current_user,
            carrier_name=request.form.get("carrier_name", ""),
        )
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(_("Shipped."), "success")
    return redirect(url_for("express_seller.order", order_id=o.id))


@seller.route("/orders/<int:order_id>/events", methods=["POST"])
@seller_page("orders")
def order_event(order_id):
    scope = _scope()
    o = _order_or_404(scope, order_id)
    try:
        service.add_event(
            scope.seller_id, o, request.form.get("time", ""), request.form.get("text", ""), actor=current_user
        )
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(_("Saved."), "success")
    return redirect(url_for("express_seller.order", order_id=o.id))
