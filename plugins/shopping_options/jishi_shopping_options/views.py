"""Shopping options pages (issue 18): the product page box (slot), the
buy-now checkout (the kernel's checkout page without the cart) and the
console's per-product overrides.

Routes (blueprint ``shopping_options``):

- ``GET|POST /shopping-options/checkout``          buy now, without the cart (buyer)
- ``GET  /seller/shopping-options``                 products and their overrides (seller scope, ``products``)
- ``GET|POST /seller/shopping-options/products/<id>`` a product's overrides

The platform's defaults and caps: the console's settings page (panel
"Shopping options").
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from jishi import promotions
from jishi.db import commit, rollback
from jishi.errors import DomainError
from jishi.i18n import gettext as _
from jishi.sellers import seller_page
from markupsafe import Markup

from jishi_shopping_options import service

bp = Blueprint("shopping_options", __name__)


# -- slot ----------------------------------------------------------------------------------


def slot(name: str, context: dict):
    if name == "console_product_row_actions":
        return _row_link(context.get("product"))
    if name != "product_detail_after_price":
        return None
    product = context.get("product")
    if product is None:
        return None
    loaded = context.get("loaded")
    if loaded is not None and "shopping_options.row" in loaded:  # read with the page (product_page_loaders)
        row = loaded.first("shopping_options.row")
        service.remember(product.id, row)
    else:
        row = service.row_for(product.id)
    opts = service.effective(row)
    if not opts.any:
        return None
    skus = [s for s in product.skus if s.is_active]
    return Markup(
        render_template(
            "shopping_options/_product_box.html",
            product=product,
            opts=opts,
            levels=service.level_names(opts.member_levels) if opts.member_levels else "",
            skus=skus,
            level_ok=service._level_problem(opts, current_user if current_user.is_authenticated else None) is None,
        )
    )


def _row_link(product):
    """The console product list's link to the product's shopping options
    (the kernel's ``console_product_row_actions`` slot; no statement)."""
    if product is None:
        return None
    return Markup('<a class="btn btn-ghost" href="{}">{}</a>').format(
        url_for("shopping_options.product", product_id=product.id), _("Shopping options")
    )


# -- buy now -------------------------------------------------------------------------------


@bp.get("/shopping-options/checkout")
@login_required
def checkout():
    args = promotions.choice_args(request.args)
    if args["sku_id"] is None or args["quantity"] is None or args["quantity"] < 1:
        abort(404)
    return promotions.checkout_page(
        "shopping_options/checkout.html",
        args["sku_id"],
        args["quantity"],
        {},
        failed=request.referrer or url_for("shop.index"),
        args=args,
    )


@bp.post("/shopping-options/checkout")
@login_required
def checkout_place():
    args = promotions.choice_args(request.form)
    if args["sku_id"] is None or args["quantity"] is None or args["quantity"] < 1:
        abort(400)
    keep = promotions.carried_fields(args, request.form)
    address_id = request.form.get("address_id", type=int)
    retry = url_for("shopping_options.checkout", address_id=address_id, **keep)
    if request.form.get("action") == "refresh":
        return redirect(retry)
    return promotions.place_checkout(args["sku_id"], args["quantity"], {}, retry=retry)


# -- console -------------------------------------------------------------------------------


@bp.get("/seller/shopping-options")
@seller_page("products")
def products():
    scope, platform = promotions.acting()
    rows = promotions.products_for(scope, platform)
    return render_template(
        "shopping_options/products.html",
        rows=rows,
        overrides=service.overrides(p.id for p in rows),
        defaults=service.effective(None),
        platform=platform,
        scope=scope,
    )


def _form_data(form) -> dict:
    def whole(name):
        raw = (form.get(name) or "").strip()
        if raw == "":
            return None
        if not raw.isdecimal() or len(raw) > 10:
            raise DomainError(name, _("Enter a whole number."))
        return int(raw)

    bn = form.get("buy_now_only", "")
    levels = form.getlist("member_levels")
    if not all((v.isdecimal() and len(v) <= 10) for v in levels):
        raise DomainError("member_levels", _("A list of member level ids."))
    return {
        "min_per_order": whole("min_per_order"),
        "max_per_order": whole("max_per_order"),
        "max_per_buyer": whole("max_per_buyer"),
        "buy_now_only": {"1": True, "0": False}.get(bn),
        "member_levels": [int(v) for v in levels] if form.get("levels_set") == "1" else None,
    }


@bp.route("/seller/shopping-options/products/<int:product_id>", methods=["GET", "POST"])
@seller_page("products")
def product(product_id: int):
    scope, platform = promotions.acting()
    p = promotions.product_for(product_id, scope, platform)
    if p is None:
        abort(404)
    row = service.overrides([p.id]).get(p.id)
    status = 200
    error_field = None
    if request.method == "POST":
        try:
            service.save(p, _form_data(request.form))
        except DomainError as exc:
            rollback()
            flash(exc.message, "error")
            status, error_field = 422, exc.field
        else:
            commit()
            flash(_("Saved."), "success")
            return redirect(url_for("shopping_options.product", product_id=p.id))
    return (
        render_template(
            "shopping_options/product_form.html",
            product=p,
            row=row,
            form=request.form if request.method == "POST" else None,
            defaults=service.effective(None),
            levels=service.all_levels(),
            scope=scope,
            error_field=error_field,
        ),
        status,
    )
