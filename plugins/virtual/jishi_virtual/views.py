"""Pages: the seller's virtual products (their delivery and card codes, in
the console of the shop or of a multistore merchant, from the principal's
seller scope), a retried delivery, and the markup of the plugin's slots."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from jishi.db import commit, db, rollback
from jishi.i18n import gettext as _
from jishi.sellers import current_scope, owns, seller_page
from markupsafe import Markup

from jishi_virtual import service
from jishi_virtual.blueprints import web
from jishi_virtual.models import KIND_CODES


def _own_product_or_404(product_id: int):
    product = service.own_product(current_scope(), product_id)
    if product is None:
        abort(404)
    return product


@web.get("/seller/virtual/")
@seller_page("products")
def products():
    scope = current_scope()
    rows = service.products_of(scope.seller_id)
    goods = service.goods_of(p.id for p in rows)
    counts = service.code_counts(p.id for p in rows)
    free = {p.id: sum(counts.get(s.id, {}).get("free", 0) for s in p.skus) for p in rows}
    return render_template("virtual/products.html", products=rows, goods=goods, free=free, scope=scope)


def _product_page(product, error=None, form=None):
    goods = service.goods_of([product.id])
    return render_template(
        "virtual/product.html",
        product=product,
        good=goods.get(product.id),
        counts=service.code_counts([product.id]),
        error=error,
        form=form or {},
        scope=current_scope(),
    ), (error.status if error else 200)


@web.get("/seller/virtual/products/<int:product_id>")
@seller_page("products")
def product(product_id: int):
    return _product_page(_own_product_or_404(product_id))


@web.post("/seller/virtual/products/<int:product_id>")
@seller_page("products")
def product_save(product_id: int):
    product = _own_product_or_404(product_id)
    form = {"kind": request.form.get("kind", ""), "content": request.form.get("content", "")}
    try:
        service.save_good(product, form["kind"], form["content"])
        commit()
    except service.VirtualError as exc:
        rollback()
        return _product_page(_own_product_or_404(product_id), exc, form)
    flash(_("Saved."), "success")
    return redirect(url_for("virtual.product", product_id=product_id))


@web.post("/seller/virtual/products/<int:product_id>/codes")
@seller_page("products")
def codes_add(product_id: int):
    product = _own_product_or_404(product_id)
    form = {"sku_id": request.form.get("sku_id", ""), "codes": request.form.get("codes", "")}
    try:
        added, skipped = service.add_codes(product, form["sku_id"], form["codes"])
        commit()
    except service.VirtualError as exc:
        rollback()
        return _product_page(_own_product_or_404(product_id), exc, form)
    flash(_("%(added)s codes added, %(skipped)s already there.", added=added, skipped=skipped), "success")
    return redirect(url_for("virtual.product", product_id=product_id))


@web.post("/seller/virtual/products/<int:product_id>/codes/clear")
@seller_page("products")
def codes_clear(product_id: int):
    product = _own_product_or_404(product_id)
    try:
        removed = service.delete_free_codes(product, request.form.get("sku_id", ""))
        commit()
    except service.VirtualError as exc:
        rollback()
        return _product_page(_own_product_or_404(product_id), exc)
    flash(_("%(n)s unused codes removed.", n=removed), "success")
    return redirect(url_for("virtual.product", product_id=product_id))


@web.post("/seller/virtual/orders/<int:order_id>/deliver")
@seller_page("orders")
def deliver(order_id: int):
    scope = current_scope()
    order = seller_order(scope, order_id)
    if order is None:
        abort(404)
    try:
        service.redeliver(scope, current_user, order)
        commit()
        flash(_("Delivered: order %(number)s is complete.", number=order.number), "success")
    except service.VirtualError as exc:
        rollback()
        flash(exc.message, "error")
    return redirect(request.referrer or url_for("virtual.products"))


def seller_order(scope, order_id: int):
    """The scope's seller's order ``order_id`` (None: not found or another seller's)."""
    from jishi.orders.models import Order

    if order_id > service.MAX_ID:
        return None
    order = db.session.get(Order, order_id)
    if order is None or not owns(scope, order.seller_id):
        return None
    return order


# --- Slots ---------------------------------------------------------------------


def order_delivery_slot(order):
    """The buyer's order page: the codes or the link once paid (to the
    order's buyer only)."""
    if order is None or not order.is_virtual:
        return None
    if not (current_user.is_authenticated and current_user.id == order.user_id):
        return None
    items = service.handed_over(order)
    if not items:
        return None
    return Markup(
        render_template(
            "virtual/_order_delivery.html",
            order=order,
            items=items,
            status=service.status_of(order),
            codes_kind=KIND_CODES,
        )
    )


def console_order_slot(order):
    """A console's order page (the seller's own order, or the platform's):
    what was handed over, and a short delivery flagged with its retry."""
    if order is None or not order.is_virtual:
        return None
    items = service.handed_over(order)
    if not items:
        return None
    scope = current_scope()
    return Markup(
        render_template(
            "virtual/_console_order.html",
            order=order,
            items=items,
            delivery=service.delivery_of(order.id),
            can_retry=scope is not None
            and owns(scope, order.seller_id)
            and not scope.read_only
            and scope.can("orders"),
            codes_kind=KIND_CODES,
        )
    )
