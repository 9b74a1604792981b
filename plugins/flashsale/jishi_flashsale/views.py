"""Flash-sale pages: the product page box (slot, with a countdown), the
listing page, the flash checkout, and the activities console (platform and
merchants).

Routes (blueprint ``flashsale``):

- ``GET  /flashsale``                        running and upcoming flash sales (anyone)
- ``POST /flashsale/buy``                    "Buy now" in the box (buyer) -> flash checkout
- ``GET|POST /flashsale/checkout``           the flash checkout (buyer)
- ``GET  /seller/flashsale/activities``      activities (seller scope, ``products``)
- ``GET|POST /seller/flashsale/activities/new`` and ``/<id>``  create / edit

Who acts for which seller, the product picker, the price and time fields and
the checkout page come from :mod:`jishi.promotions`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from jishi import promotions
from jishi.db import db, utcnow
from jishi.forms import form_int
from jishi.i18n import gettext as _
from jishi.money import fen_to_yuan_str
from jishi.sellers import seller_page
from markupsafe import Markup
from sqlalchemy.orm.attributes import set_committed_value

from jishi_flashsale import gate, service
from jishi_flashsale.models import Activity

bp = Blueprint("flashsale", __name__)

local = promotions.local_input


def epoch_ms(dt: datetime) -> int:
    return int(dt.replace(tzinfo=UTC).timestamp() * 1000)


@bp.app_template_global("flashsale_local")
def _local_global(dt, fmt="%Y-%m-%d %H:%M"):
    return local(dt, fmt)


@bp.app_template_global("flashsale_epoch_ms")
def _epoch_global(dt):
    return epoch_ms(dt)


@bp.app_template_global("flashsale_at")
def _at_global(text: str) -> datetime:
    """A moment of a designer block's data (ISO, UTC, ``Z``) as the naive
    UTC datetime the countdown takes."""
    return datetime.fromisoformat(text.removesuffix("Z"))


def _offers(activity: Activity, product) -> list[tuple]:
    skus = {s.id: s for s in product.skus if s.is_active}
    return [(skus[f.sku_id], f) for f in activity.skus if f.sku_id in skus]


# -- slot ----------------------------------------------------------------------------------


def slot(name: str, context: dict):
    if name != "product_detail_after_price":
        return None
    product = context.get("product")
    if product is None:
        return None
    at = utcnow()
    loaded = context.get("loaded")
    if loaded is not None and "flashsale.activity" in loaded:  # read with the page (product_page_loaders)
        activity = loaded.first("flashsale.activity")
        if activity is not None:
            set_committed_value(activity, "skus", loaded["flashsale.skus"])
    else:
        activity = service.current_for_product(product.id, at)
    if activity is None:
        return None
    offers = _offers(activity, product)
    if not offers:
        return None
    return Markup(
        render_template(
            "flashsale/_product_box.html",
            activity=activity,
            offers=offers,
            product=product,
            state=service.state_of(activity, at),
            now=at,
        )
    )


# -- buyer pages ---------------------------------------------------------------------------


@bp.get("/flashsale")
def listing():
    at = utcnow()
    from jishi.catalog.models import Product

    rows = []
    for a in service.listing(at):
        product = db.session.get(Product, a.product_id)
        offers = _offers(a, product) if product else []
        if offers:
            rows.append((a, product, offers, service.state_of(a, at)))
    return render_template("flashsale/listing.html", rows=rows, now=at)


@bp.post("/flashsale/buy")
@login_required
def buy():
    """The box's "Buy now": sold out is answered at once (nothing written),
    otherwise on to the flash checkout."""
    args = promotions.choice_args(request.form)
    if args["sku_id"] is None or args["quantity"] is None or args["quantity"] < 1:
        flash(_("Choose a variant first."), "error")
        return redirect(request.referrer or url_for("flashsale.listing"))
    row = None if gate.is_sold_out(args["sku_id"]) else service.running_flash(args["sku_id"], current_user.id)
    if row is None or row.stock - row.sold <= 0:
        flash(
            _("Sold out.")
            if row is not None or gate.is_sold_out(args["sku_id"])
            else _("This variant is not in a running flash sale."),
            "error",
        )
        return redirect(request.referrer or url_for("flashsale.listing"))
    return redirect(url_for("flashsale.checkout", **args))


@bp.get("/flashsale/checkout")
@login_required
def checkout():
    args = promotions.choice_args(request.args)
    if args["sku_id"] is None or args["quantity"] is None or args["quantity"] < 1:
        abort(404)
    if service.running_flash(args["sku_id"], current_user.id) is None:
        flash(_("This variant is not in a running flash sale."), "error")
        return redirect(url_for("flashsale.listing"))
    return promotions.checkout_page(
        "flashsale/checkout.html", args["sku_id"], args["quantity"], {}, failed=url_for("flashsale.listing"), args=args
    )


@bp.post("/flashsale/checkout")
@login_required
def checkout_place():
    args = promotions.choice_args(request.form)
    address_id = form_int("address_id")
    keep = promotions.carried_fields(args, request.form)
    if args["sku_id"] is None or args["quantity"] is None or args["quantity"] < 1:
        abort(400)
    if request.form.get("action") == "refresh":
        return redirect(url_for("flashsale.checkout", address_id=address_id, **keep))
    if gate.is_sold_out(args["sku_id"]):
        flash(_("Sold out."), "error")
        return redirect(url_for("flashsale.listing"))
    row = service.running_flash(args["sku_id"], current_user.id)
    if row is None:
        flash(_("This flash sale has ended."), "error")
        return redirect(url_for("flashsale.listing"))
    choice = {"flashsale": {"sku_id": args["sku_id"], "flash_sku_id": row.id}}  # at this flash price or not at all
    return promotions.place_checkout(
        args["sku_id"], args["quantity"], choice, retry=url_for("flashsale.checkout", address_id=address_id, **keep)
    )


# -- console (platform and merchants) ----------------------------------------------------------


@bp.get("/seller/flashsale/activities")
@seller_page("marketing")
def activities():
    scope, platform = promotions.acting()
    rows = service.visible_activities(seller_id=scope.seller_id, platform=platform)
    return render_template(
        "flashsale/activities.html",
        rows=rows,
        platform=platform,
        scope=scope,
        state_of=service.state_of,
        product_names=promotions.product_names(rows),
    )


def _form_data(form) -> dict:
    skus = [
        {"sku_id": sid, "flash_price": fen, "stock": form_int(f"stock-{sid}", source=form)}
        for sid, fen in promotions.price_fields(form)
    ]
    return {
        "product_id": form_int("product_id", source=form),
        "title": form.get("title", ""),
        "per_user_limit": form_int("per_user_limit", 0, source=form),
        "starts_at": promotions.parse_local_input(form.get("starts_at", "")),
        "ends_at": promotions.parse_local_input(form.get("ends_at", "")),
        "enabled": form.get("enabled") == "1",
        "skus": skus,
    }


@bp.route("/seller/flashsale/activities/new", methods=["GET", "POST"])
@seller_page("marketing")
def activity_new():
    scope, platform = promotions.acting()
    product = promotions.picked_product(scope, platform)
    if request.method == "POST" and product is not None and request.form.get("action") == "save":
        saved = promotions.save_form(
            lambda: service.save_activity(_form_data(request.form), seller_id=scope.seller_id, platform=platform),
            "flashsale.activity",
        )
        if saved is not None:
            return saved
    return render_template(
        "flashsale/activity_form.html",
        activity=None,
        product=product,
        products=promotions.products_for(scope, platform),
        form=request.form,
        platform=platform,
        prices={},
        stocks={},
    )


@bp.route("/seller/flashsale/activities/<int:activity_id>", methods=["GET", "POST"])
@seller_page("marketing")
def activity(activity_id: int):
    scope, platform = promotions.acting()
    a = service.activity_for(activity_id, seller_id=scope.seller_id, platform=platform)
    if a is None:
        abort(404)
    if request.method == "POST":
        saved = promotions.save_form(
            lambda: service.save_activity(
                _form_data(request.form), seller_id=scope.seller_id, platform=platform, activity=a
            ),
            "flashsale.activity",
        )
        if saved is not None:
            return saved
    form = (
        request.form
        if request.method == "POST"
        else {
            "title": a.title,
            "per_user_limit": a.per_user_limit,
            "starts_at": local(a.starts_at),
            "ends_at": local(a.ends_at),
            "enabled": "1" if a.enabled else "",
        }
    )
    prices = {s.sku_id: fen_to_yuan_str(s.flash_price) for s in a.skus}
    stocks = {s.sku_id: s.stock for s in a.skus}
    from jishi.catalog.models import Product

    return render_template(
        "flashsale/activity_form.html",
        activity=a,
        product=db.session.get(Product, a.product_id),
        products=[],
        form=form,
        platform=platform,
        prices=prices,
        stocks=stocks,
    )
