"""Console pages of merchant products and comments (MS7, MS14).

Merchant console (``/merchant``): the merchant's products (filter by review
status and shelf), the product form (platform categories, tags and
parameters only, listing choice), list / unlist / delete; its product
reviews with reply and delete.

Platform console (``/console/multistore``): every merchant product with its
merchant (pinned first), the review queue, list / unlist / pin / delete;
merchant product reviews with delete.
"""

from __future__ import annotations

from datetime import datetime

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from jishi.access import requires
from jishi.catalog.service import seller_profiles
from jishi.db import db
from jishi.errors import DomainError
from jishi.forms import FormError, error_text, form_int, form_outcome, product_data, product_form_state
from jishi.i18n import gettext as _
from jishi.i18n import parse_shop_time, to_shop_time

from jishi_multistore import products as service
from jishi_multistore.blueprints import admin as admin_bp
from jishi_multistore.blueprints import merchant as merchant_bp
from jishi_multistore.models import REVIEW_STATUSES
from jishi_multistore.principal import current_principal, merchant, merchant_page


def _shelf_arg():
    shelf = request.args.get("shelf", "")
    return {"on": True, "off": False}.get(shelf)


def _status_arg():
    status = request.args.get("status", "")
    return status if status in REVIEW_STATUSES else None


def _local(dt: datetime | None) -> str:
    """Times typed and shown in the console are shop-local."""
    return to_shop_time(dt).strftime("%Y-%m-%dT%H:%M") if dt is not None else ""


def _parse_local(text: str) -> datetime | None:
    try:
        return parse_shop_time(text)
    except ValueError:
        raise service.ProductError("list_at", _("Times look like 2026-01-31 09:30.")) from None


# --- Merchant console: products -----------------------------------------------------


@merchant_bp.get("/products")
@merchant_page("products")
def products():
    status, shelf = _status_arg(), _shelf_arg()
    page = form_int("page", 1, source=request.args, minimum=1) or 1
    rows, more = service.list_products(
        merchant_id=merchant().id, review_status=status, on_shelf=shelf, q=request.args.get("q"), page=page
    )
    return render_template(
        "multistore/products/merchant_list.html",
        rows=rows,
        more=more,
        page=page,
        status=status or "",
        shelf=request.args.get("shelf", ""),
        q=request.args.get("q", ""),
        counts=service.review_counts(merchant().id),
        review_enabled=service.review_enabled(),
        principal=current_principal(),
    )


def _form_state(product, state) -> dict:
    """The kernel's product form state plus the merchant form's own fields:
    tags as checkboxes, the listing choice; never on shelf from the form."""
    form = product_form_state(product)
    if request.method == "POST":
        f = request.form
        form.update(
            tags=", ".join(f.getlist("tags")),
            tag_list=f.getlist("tags"),
            on_shelf=False,
            listing=f.get("listing", service.ON_APPROVAL),
            list_at=f.get("list_at", ""),
        )
    elif product is None:
        form.update(tag_list=[], listing=service.ON_APPROVAL, list_at="")
    else:
        form.update(
            tag_list=[t.name for t in product.tags],
            listing=state.listing if state else service.ON_APPROVAL,
            list_at=_local(state.list_at) if state else "",
        )
    return form


def _product_form(product):
    state = service.state_of(product) if product is not None else None
    form = _form_state(product, state)
    error = None
    if request.method == "POST" and request.form.get("action") == "save":
        try:
            data = product_data(form)
            data.pop("on_shelf", None)
            if product is None:
                saved = service.create_product(
                    merchant(), data, listing=form["listing"], list_at=_parse_local(form["list_at"])
                )
                flash(
                    _("Product submitted for review.")
                    if service.state_of(saved).review_status == "pending"
                    else _("Product saved."),
                    "success",
                )
            else:
                if state.review_status != "approved":
                    data.update(listing=form["listing"], list_at=_parse_local(form["list_at"]))
                saved = service.update_product(merchant(), product, data)
                flash(_("Product saved."), "success")
        except (FormError, DomainError) as exc:
            db.session.rollback()
            error = {"field": getattr(exc, "field", None), "message": error_text(exc)}
        else:
            return redirect(url_for("merchant.product_edit", product_id=saved.id))
    options = service.catalog_options()
    return (
        render_template(
            "multistore/products/merchant_form.html",
            product=product,
            state=state,
            form=form,
            error=error,
            options=options,
            listings=service.LISTINGS,
            review_enabled=service.review_enabled(),
            principal=current_principal(),
        ),
        422 if error else 200,
    )


@merchant_bp.route("/products/new", methods=["GET", "POST"])
@merchant_page("products")
def product_new():
    return _product_form(None)


def _own(product_id: int):
    product = service.merchant_product(merchant().id, product_id)
    if product is None:
        abort(404)
    return product


@merchant_bp.route("/products/<int:product_id>", methods=["GET", "POST"])
@merchant_page("products")
def product_edit(product_id: int):
    return _product_form(_own(product_id))


@merchant_bp.post("/products/<int:product_id>/shelf")
@merchant_page("products")
def product_shelf(product_id: int):
    product = _own(product_id)
    on = request.form.get("on_shelf") == "1"
    with form_outcome(_("On shelf.") if on else _("Off shelf.")):
        service.set_shelf(product, on)
    return redirect(request.referrer or url_for("merchant.products"))


@merchant_bp.post("/products/<int:product_id>/delete")
@merchant_page("products")
def product_delete(product_id: int):
    product = _own(product_id)
    with form_outcome(_("Product deleted.")):
        service.delete(product)
    return redirect(url_for("merchant.products"))


# --- Merchant console: comments -----------------------------------------------------


@merchant_bp.get("/comments")
@merchant_page("comments")
def comments():
    page = form_int("page", 1, source=request.args, minimum=1) or 1
    product_id = form_int("product_id", source=request.args, minimum=1)
    rows, more = service.list_comments(merchant_id=merchant().id, product_id=product_id, page=page)
    return render_template(
        "multistore/products/merchant_comments.html",
        rows=rows,
        more=more,
        page=page,
        product_id=product_id,
        principal=current_principal(),
    )


def _own_comment(review_id: int):
    review = service.merchant_comment(merchant().id, review_id)
    if review is None:
        abort(404)
    return review


@merchant_bp.post("/comments/<int:review_id>/reply")
@merchant_page("comments")
def comment_reply(review_id: int):
    review = _own_comment(review_id)
    with form_outcome(_("Reply saved.")):
        service.reply_comment(review, current_user, request.form.get("reply", ""))
    return redirect(request.referrer or url_for("merchant.comments"))


@merchant_bp.post("/comments/<int:review_id>/delete")
@merchant_page("comments")
def comment_delete(review_id: int):
    review = _own_comment(review_id)
    with form_outcome(_("Review deleted.")):
        service.delete_comment(review, current_user)
    return redirect(request.referrer or url_for("merchant.comments"))


# --- Platform console ---------------------------------------------------------------


def _platform_list(template: str, *, review_status=None):
    merchant_id = form_int("merchant_id", source=request.args, minimum=1)
    status = review_status or _status_arg()
    page = form_int("page", 1, source=request.args, minimum=1) or 1
    rows, more = service.list_products(
        merchant_id=merchant_id, review_status=status, on_shelf=_shelf_arg(), q=request.args.get("q"), page=page
    )
    profiles = seller_profiles([p.seller_id for p, _s, _m in rows])
    return render_template(
        template,
        rows=rows,
        more=more,
        page=page,
        profiles=profiles,
        merchants=service.live_merchants(),
        merchant_id=merchant_id,
        status=status or "",
        shelf=request.args.get("shelf", ""),
        q=request.args.get("q", ""),
        counts=service.review_counts(merchant_id),
    )


@admin_bp.get("/products", endpoint="products")
@requires("products")
def products_admin():
    return _platform_list("multistore/products/admin_list.html")


@admin_bp.get("/products/review")
@requires("products")
def product_queue():
    return _platform_list("multistore/products/admin_queue.html", review_status="pending")


def _merchant_product(product_id: int):
    product = service.merchant_owned(product_id)
    if product is None:
        abort(404)
    return product


@admin_bp.get("/products/<int:product_id>")
@requires("products")
def product_admin(product_id: int):
    product = _merchant_product(product_id)
    state = service.state_of(product)
    names = service.merchant_names([product.seller_id])
    profile = seller_profiles([product.seller_id]).get(product.seller_id)
    return render_template(
        "multistore/products/admin_product.html",
        product=product,
        state=state,
        merchant_name=names.get(product.seller_id, ""),
        profile=profile,
    )


@admin_bp.post("/products/<int:product_id>/approve")
@requires("products")
def product_approve(product_id: int):
    product = _merchant_product(product_id)
    with form_outcome(_("Product approved.")):
        service.approve(product)
    return redirect(request.referrer or url_for("multistore_admin.product_queue"))


@admin_bp.post("/products/<int:product_id>/reject")
@requires("products")
def product_reject(product_id: int):
    product = _merchant_product(product_id)
    with form_outcome(_("Product rejected.")):
        service.reject(product, request.form.get("reason", ""))
    return redirect(request.referrer or url_for("multistore_admin.product_queue"))


@admin_bp.post("/products/<int:product_id>/shelf")
@requires("products")
def product_admin_shelf(product_id: int):
    product = _merchant_product(product_id)
    on = request.form.get("on_shelf") == "1"
    with form_outcome(_("On shelf.") if on else _("Off shelf.")):
        service.set_shelf(product, on)
    return redirect(request.referrer or url_for("multistore_admin.products"))


@admin_bp.post("/products/<int:product_id>/pin")
@requires("products")
def product_pin(product_id: int):
    product = _merchant_product(product_id)
    pinned = request.form.get("pinned", "1") == "1"
    with form_outcome(_("Pinned.") if pinned else _("Unpinned.")):
        service.set_pinned(product, pinned)
    return redirect(request.referrer or url_for("multistore_admin.products"))


@admin_bp.post("/products/<int:product_id>/delete")
@requires("products")
def product_admin_delete(product_id: int):
    product = _merchant_product(product_id)
    with form_outcome(_("Product deleted.")):
        service.delete(product)
    return redirect(url_for("multistore_admin.products"))


@admin_bp.get("/comments", endpoint="comments")
@requires("comments")
def comments_admin():
    merchant_id = form_int("merchant_id", source=request.args, minimum=1)
    page = form_int("page", 1, source=request.args, minimum=1) or 1
    rows, more = service.list_comments(merchant_id=merchant_id, page=page)
    return render_template(
        "multistore/products/admin_comments.html",
        rows=rows,
        more=more,
        page=page,
        merchant_id=merchant_id,
        merchants=service.live_merchants(),
        profiles=seller_profiles([r.seller_id for r, _p, _m in rows]),
    )


@admin_bp.post("/comments/<int:review_id>/delete")
@requires("comments")
def comment_admin_delete(review_id: int):
    review = service.merchant_comment(None, review_id)
    if review is None:
        abort(404)
    with form_outcome(_("Review deleted.")):
        service.delete_comment(review, current_user)
    return redirect(request.referrer or url_for("multistore_admin.comments"))
