"""Flash-sale pages: the product page box (slot, with a countdown), the
listing page, the flash checkout, and the activities console (platform and
merchants).

Routes (blueprint ``flashsale``):

- ``GET  /flashsale``                        running and upcoming flash sales (anyone)
- ``POST /flashsale/buy``                    "Buy now" in the box (buyer) -> flash checkout
- ``GET|POST /flashsale/checkout``           the flash checkout (buyer)
- ``GET  /seller/flashsale/activities``      activities (seller scope, ``products``)
- ``GET|POST /seller/flashsale/activities/new`` and ``/<id>``  create / edit

The console pages take the seller from :func:`jishi.sellers.current_scope`:
platform staff (scope ``seller_id`` None) act for the platform and may use
any product; a merchant's staff only their merchant's products.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from jishi.checkout.errors import CheckoutError
from jishi.checkout.service import build_checkout, place_order
from jishi.db import commit, db, rollback, utcnow
from jishi.i18n import gettext as _
from jishi.i18n import parse_shop_time, to_shop_time
from jishi.sellers import current_scope, seller_page
from jishi.web.common import flash_error, form_int
from markupsafe import Markup

from jishi_flashsale import gate, service
from jishi_flashsale.models import Activity

bp = Blueprint("flashsale", __name__)


def local(dt: datetime | None, fmt: str = "%Y-%m-%dT%H:%M") -> str:
    return to_shop_time(dt).strftime(fmt) if dt is not None else ""


def parse_local(text: str) -> datetime | None:
    try:
        return parse_shop_time(text)
    except ValueError:
        return None


def epoch_ms(dt: datetime) -> int:
    return int(dt.replace(tzinfo=UTC).timestamp() * 1000)


@bp.app_template_global("flashsale_local")
def _local_global(dt, fmt="%Y-%m-%d %H:%M"):
    return local(dt, fmt)


@bp.app_template_global("flashsale_epoch_ms")
def _epoch_global(dt):
    return epoch_ms(dt)


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
    activity = service.current_for_product(product.id, at)
    if activity is None:
        return None
    offers = _offers(activity, product)
    if not offers:
        return None
    return Markup(render_template("flashsale/_product_box.html", activity=activity, offers=offers, product=product,
                                  state=service.state_of(activity, at), now=at))


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


def _choice_args(source) -> dict:
    return {"sku_id": form_int("sku_id", source=source), "quantity": form_int("quantity", 1, source=source)}


@bp.post("/flashsale/buy")
@login_required
def buy():
    """The box's "Buy now": sold out is answered at once (nothing written),
    otherwise on to the flash checkout."""
    args = _choice_args(request.form)
    if args["sku_id"] is None or args["quantity"] is None or args["quantity"] < 1:
        flash(_("Choose a variant first."), "error")
        return redirect(request.referrer or url_for("flashsale.listing"))
    row = None if gate.is_sold_out(args["sku_id"]) else service.running_flash(args["sku_id"], current_user.id)
    if row is None or row.stock - row.sold <= 0:
        flash(_("Sold out.") if row is not None or gate.is_sold_out(args["sku_id"]) else _("This variant is not in a running flash sale."), "error")
        return redirect(request.referrer or url_for("flashsale.listing"))
    return redirect(url_for("flashsale.checkout", **args))


def _addresses():
    from jishi.accounts.models import Address

    return list(db.session.execute(db.select(Address).where(Address.user_id == current_user.id).order_by(Address.is_default.desc(), Address.id)).scalars())


@bp.get("/flashsale/checkout")
@login_required
def checkout():
    from jishi.web.shopping import _options

    args = _choice_args(request.args)
    if args["sku_id"] is None or args["quantity"] is None or args["quantity"] < 1:
        abort(404)
    if service.running_flash(args["sku_id"], current_user.id) is None:
        flash(_("This variant is not in a running flash sale."), "error")
        return redirect(url_for("flashsale.listing"))
    addresses = _addresses()
    address_id = form_int("address_id", source=request.args)
    if address_id is None or all(a.id != address_id for a in addresses):
        address_id = addresses[0].id if addresses else None
    try:
        co = build_checkout(current_user, [(args["sku_id"], args["quantity"])], address_id, _options(request.args))
    except CheckoutError as exc:
        rollback()
        flash_error(exc)
        return redirect(url_for("flashsale.listing"))
    return render_template("flashsale/checkout.html", checkout=co, addresses=addresses, address_id=address_id, args=args,
                           address_next=request.full_path, idempotency_key=secrets.token_urlsafe(24))


@bp.post("/flashsale/checkout")
@login_required
def checkout_place():
    from jishi.web.shopping import _options

    args = _choice_args(request.form)
    address_id = form_int("address_id")
    keep = {k: v for k, v in args.items() if v is not None}
    keep.update({k: v for k, v in request.form.items() if k.startswith(("delivery-", "message-", "opt.")) and v})
    if args["sku_id"] is None or args["quantity"] is None or args["quantity"] < 1:
        abort(400)
    if request.form.get("action") == "refresh":
        return redirect(url_for("flashsale.checkout", address_id=address_id, **keep))
    if gate.is_sold_out(args["sku_id"]):
        flash(_("Sold out."), "error")
        return redirect(url_for("flashsale.listing"))
    key = (request.form.get("idempotency_key") or "").replace("#", "").strip()[:72] or None
    row = service.running_flash(args["sku_id"], current_user.id)
    if row is None:
        flash(_("This flash sale has ended."), "error")
        return redirect(url_for("flashsale.listing"))
    options = _options(request.form)
    options["flashsale"] = {"sku_id": args["sku_id"], "flash_sku_id": row.id}  # at this flash price or not at all
    try:
        payments = place_order(current_user, [(args["sku_id"], args["quantity"])], address_id, options, idempotency_key=key)
    except CheckoutError as exc:
        flash_error(exc)
        return redirect(url_for("flashsale.checkout", address_id=address_id, **keep))
    return redirect(url_for("shop.pay", number=payments[0].number))


# -- console (platform and merchants) ----------------------------------------------------------


def acting():
    """(scope, platform): platform staff acting for the platform may use any
    product; anyone else acts for the seller of their scope."""
    scope = current_scope("console")
    platform = scope is not None and scope.seller_id is None and bool(getattr(current_user, "is_platform", False))
    return scope, platform


@bp.get("/seller/flashsale/activities")
@seller_page("products")
def activities():
    scope, platform = acting()
    rows = service.visible_activities(seller_id=scope.seller_id, platform=platform)
    return render_template("flashsale/activities.html", rows=rows, platform=platform, scope=scope, state_of=service.state_of)


def _yuan_to_fen(text: str):
    """"12.5" -> 1250; anything else -> None (a 4xx naming the price)."""
    from decimal import Decimal, InvalidOperation

    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    if not value.is_finite() or value != value.quantize(Decimal("0.01")) or value <= 0:
        return None
    return int(value * 100)


def _form_data(form) -> dict:
    skus = []
    for key in form:
        if key.startswith("price-"):
            sid = key[len("price-"):]
            value = (form.get(key) or "").strip()
            if not value or not sid.isdigit():
                continue
            skus.append({"sku_id": int(sid), "flash_price": _yuan_to_fen(value), "stock": form_int(f"stock-{sid}", source=form)})
    return {
        "product_id": form_int("product_id", source=form),
        "title": form.get("title", ""),
        "per_user_limit": form_int("per_user_limit", 0, source=form),
        "starts_at": parse_local(form.get("starts_at", "")),
        "ends_at": parse_local(form.get("ends_at", "")),
        "enabled": form.get("enabled") == "1",
        "skus": skus,
    }


def _products_for(scope, platform):
    from jishi.catalog.models import Product

    q = db.select(Product).order_by(Product.id.desc()).limit(300)
    if not platform:
        q = q.where(Product.seller_id == scope.seller_id) if scope.seller_id is not None else q.where(Product.seller_id.is_(None))
    return list(db.session.execute(q).scalars())


@bp.route("/seller/flashsale/activities/new", methods=["GET", "POST"])
@seller_page("products")
def activity_new():
    scope, platform = acting()
    product_id = form_int("product_id", source=request.values)
    product = None
    if product_id is not None:
        from jishi.catalog.models import Product

        product = db.session.get(Product, product_id) if 0 < product_id < 2**31 else None
        if product is None or (not platform and product.seller_id != scope.seller_id):
            abort(404)
    if request.method == "POST" and product is not None and request.form.get("action") == "save":
        try:
            activity = service.save_activity(_form_data(request.form), seller_id=scope.seller_id, platform=platform)
        except service.FlashSaleError as exc:
            rollback()
            flash_error(exc)
        else:
            commit()
            flash(_("Saved."), "success")
            return redirect(url_for("flashsale.activity", activity_id=activity.id))
    return render_template("flashsale/activity_form.html", activity=None, product=product, products=_products_for(scope, platform),
                           form=request.form, platform=platform, prices={}, stocks={})


@bp.route("/seller/flashsale/activities/<int:activity_id>", methods=["GET", "POST"])
@seller_page("products")
def activity(activity_id: int):
    scope, platform = acting()
    a = service.activity_for(activity_id, seller_id=scope.seller_id, platform=platform)
    if a is None:
        abort(404)
    from jishi.catalog.models import Product

    product = db.session.get(Product, a.product_id)
    if request.method == "POST":
        try:
            service.save_activity(_form_data(request.form), seller_id=scope.seller_id, platform=platform, activity=a)
        except service.FlashSaleError as exc:
            rollback()
            flash_error(exc)
        else:
            commit()
            flash(_("Saved."), "success")
            return redirect(url_for("flashsale.activity", activity_id=a.id))
    form = request.form if request.method == "POST" else {
        "title": a.title, "per_user_limit": a.per_user_limit, "starts_at": local(a.starts_at), "ends_at": local(a.ends_at),
        "enabled": "1" if a.enabled else "",
    }
    prices = {s.sku_id: f"{s.flash_price // 100}.{s.flash_price % 100:02d}" for s in a.skus}
    stocks = {s.sku_id: s.stock for s in a.skus}
    return render_template("flashsale/activity_form.html", activity=a, product=product, products=[], form=form, platform=platform,
                           prices=prices, stocks=stocks)
