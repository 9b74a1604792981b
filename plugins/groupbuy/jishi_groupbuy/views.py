"""Group-buy pages: the product page box (slot), the group's share page,
the group checkout, and the activities console (platform and merchants).

Routes (blueprint ``groupbuy``):

- ``GET  /groupbuy/groups/<token>``     the share page (anyone)
- ``POST /groupbuy/buy``                "Start a group" / "Join" (buyer) -> checkout
- ``GET|POST /groupbuy/checkout``       the group checkout (buyer)
- ``GET  /seller/groupbuy/activities``  activities (seller scope, ``products``)
- ``GET|POST /seller/groupbuy/activities/new`` and ``/<id>``  create / edit

The console pages take the seller from :func:`jishi.sellers.current_scope`:
platform staff (scope ``seller_id`` None) act for the platform and may use
any product; a merchant's staff only their merchant's products.
"""

from __future__ import annotations

import secrets
from datetime import datetime

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
from jishi.db import commit, db, rollback
from jishi.i18n import gettext as _
from jishi.i18n import parse_shop_time, to_shop_time
from jishi.sellers import current_scope, seller_page
from jishi.web.common import flash_error, form_int
from markupsafe import Markup

from jishi_groupbuy import service
from jishi_groupbuy.models import Activity, Group

bp = Blueprint("groupbuy", __name__)


def local(dt: datetime | None, fmt: str = "%Y-%m-%dT%H:%M") -> str:
    return to_shop_time(dt).strftime(fmt) if dt is not None else ""


def parse_local(text: str) -> datetime | None:
    try:
        return parse_shop_time(text)
    except ValueError:
        return None


@bp.app_template_global("groupbuy_local")
def _local_global(dt, fmt="%Y-%m-%d %H:%M"):
    return local(dt, fmt)


# -- slots ---------------------------------------------------------------------


def slot(name: str, context: dict):
    if name == "product_detail_after_price":
        product = context.get("product")
        if product is None:
            return None
        activity = service.running_activity(product.id)
        if activity is None:
            return None
        skus = {s.id: s for s in product.skus if s.is_active}
        prices = [(skus[a.sku_id], a.group_price) for a in activity.skus if a.sku_id in skus]
        if not prices:
            return None
        groups = service.open_groups(activity.id, limit=5)
        return Markup(render_template("groupbuy/_product_box.html", activity=activity, prices=prices, groups=groups, product=product))
    if name == "order_detail_bottom":
        order = context.get("order")
        member = service.member_of_order(order.id) if order is not None else None
        if member is None:
            return None
        group = db.session.get(Group, member.group_id)
        return Markup(render_template("groupbuy/_order_group.html", group=group, member=member))
    return None


# -- buyer pages -----------------------------------------------------------------


@bp.get("/groupbuy/groups/<token>")
def group_page(token: str):
    group = service.group_by_token(token)
    if group is None:
        abort(404)
    activity = db.session.get(Activity, group.activity_id)
    from jishi.catalog.models import Product

    product = db.session.get(Product, activity.product_id)
    skus = {s.id: s for s in product.skus if s.is_active} if product else {}
    prices = [(skus[a.sku_id], a.group_price) for a in activity.skus if a.sku_id in skus]
    mine = service._live_member(group.id, current_user.id) if current_user.is_authenticated else None
    joinable = group.state == service.FORMING and group.seats < group.size and group.expires_at > service.now() and mine is None
    share_url = url_for("groupbuy.group_page", token=group.token, _external=True)
    return render_template(
        "groupbuy/group.html", group=group, activity=activity, product=product, prices=prices, members=service.paid_members(group),
        mine=mine, joinable=joinable, share_url=share_url,
    )


def _choice_args(source) -> dict:
    args = {
        "sku_id": form_int("sku_id", source=source),
        "quantity": form_int("quantity", 1, source=source),
        "activity_id": form_int("activity_id", source=source),
        "group_token": (source.get("group_token") or "").strip() or None,
    }
    return args


def _options(source, args) -> dict:
    from jishi.web.shopping import checkout_options as kernel_options

    options = kernel_options(source)
    options[service.OPTION] = {"activity_id": args["activity_id"], "group_token": args["group_token"]}
    return options


@bp.post("/groupbuy/buy")
@login_required
def buy():
    """The product page's / share page's buttons: go to the group checkout."""
    args = _choice_args(request.form)
    if args["sku_id"] is None or args["activity_id"] is None:
        flash(_("Choose a variant first."), "error")
        return redirect(request.referrer or url_for("shop.index"))
    return redirect(url_for("groupbuy.checkout", **{k: v for k, v in args.items() if v is not None}))


def _addresses():
    from jishi.accounts.models import Address

    return list(db.session.execute(db.select(Address).where(Address.user_id == current_user.id).order_by(Address.is_default.desc(), Address.id)).scalars())


@bp.get("/groupbuy/checkout")
@login_required
def checkout():
    args = _choice_args(request.args)
    if args["sku_id"] is None or args["activity_id"] is None or args["quantity"] is None:
        abort(404)
    addresses = _addresses()
    address_id = form_int("address_id", source=request.args)
    if address_id is None or all(a.id != address_id for a in addresses):
        address_id = addresses[0].id if addresses else None
    try:
        co = build_checkout(current_user, [(args["sku_id"], args["quantity"])], address_id, _options(request.args, args))
    except CheckoutError as exc:
        rollback()
        flash_error(exc)
        return redirect(url_for("shop.index"))
    return render_template("groupbuy/checkout.html", checkout=co, addresses=addresses, address_id=address_id, args=args,
                           address_next=request.full_path, idempotency_key=secrets.token_urlsafe(24))


@bp.post("/groupbuy/checkout")
@login_required
def checkout_place():
    args = _choice_args(request.form)
    address_id = form_int("address_id")
    keep = {k: v for k, v in args.items() if v is not None}
    keep.update({k: v for k, v in request.form.items() if k.startswith(("delivery-", "message-", "opt.")) and v})
    if args["sku_id"] is None or args["activity_id"] is None or args["quantity"] is None:
        abort(400)
    if request.form.get("action") == "refresh":
        return redirect(url_for("groupbuy.checkout", address_id=address_id, **keep))
    key = (request.form.get("idempotency_key") or "").strip()[:80] or None
    try:
        payments = place_order(current_user, [(args["sku_id"], args["quantity"])], address_id, _options(request.form, args), idempotency_key=key)
    except CheckoutError as exc:
        flash_error(exc)
        return redirect(url_for("groupbuy.checkout", address_id=address_id, **keep))
    return redirect(url_for("shop.pay", number=payments[0].number))


# -- console (platform and merchants) -------------------------------------------


def acting():
    """(scope, platform): platform staff acting for the platform may use any
    product; anyone else acts for the seller of their scope."""
    scope = current_scope("console")
    platform = scope is not None and scope.seller_id is None and bool(getattr(current_user, "is_platform", False))
    return scope, platform


@bp.get("/seller/groupbuy/activities")
@seller_page("products")
def activities():
    scope, platform = acting()
    rows = service.visible_activities(seller_id=scope.seller_id, platform=platform)
    counts = {a.id: service.count_by_state(a.id) for a in rows}
    return render_template("groupbuy/activities.html", rows=rows, counts=counts, platform=platform, scope=scope)


def _form_data(form) -> dict:
    skus = []
    for key in form:
        if key.startswith("price-"):
            sid = key[len("price-"):]
            value = (form.get(key) or "").strip()
            if not value or not sid.isdigit():
                continue
            skus.append({"sku_id": int(sid), "group_price": _yuan_to_fen(value)})
    return {
        "product_id": form_int("product_id", source=form),
        "title": form.get("title", ""),
        "group_size": form_int("group_size", source=form),
        "time_limit_minutes": _limit_minutes(form),
        "per_user_limit": form_int("per_user_limit", 0, source=form),
        "starts_at": parse_local(form.get("starts_at", "")),
        "ends_at": parse_local(form.get("ends_at", "")),
        "enabled": form.get("enabled") == "1",
        "skus": skus,
    }


def _yuan_to_fen(text: str):
    """"12.5" -> 1250; anything else -> None (a 4xx naming the price)."""
    from decimal import Decimal, InvalidOperation

    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    if value != value.quantize(Decimal("0.01")) or value <= 0:
        return None
    return int(value * 100)


def _limit_minutes(form):
    n = form_int("time_limit", source=form)
    if n is None:
        return None
    return n * 60 if form.get("time_unit") == "hours" else n


def _products_for(scope, platform):
    from jishi.catalog.models import Product

    q = db.select(Product).order_by(Product.id.desc()).limit(300)
    if not platform:
        q = q.where(Product.seller_id == scope.seller_id) if scope.seller_id is not None else q.where(Product.seller_id.is_(None))
    return list(db.session.execute(q).scalars())


@bp.route("/seller/groupbuy/activities/new", methods=["GET", "POST"])
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
        except service.GroupBuyError as exc:
            rollback()
            flash_error(exc)
        else:
            commit()
            flash(_("Saved."), "success")
            return redirect(url_for("groupbuy.activity", activity_id=activity.id))
    return render_template("groupbuy/activity_form.html", activity=None, product=product, products=_products_for(scope, platform),
                           form=request.form, platform=platform, prices={})


@bp.route("/seller/groupbuy/activities/<int:activity_id>", methods=["GET", "POST"])
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
        except service.GroupBuyError as exc:
            rollback()
            flash_error(exc)
        else:
            commit()
            flash(_("Saved."), "success")
            return redirect(url_for("groupbuy.activity", activity_id=a.id))
    groups = list(db.session.execute(db.select(Group).where(Group.activity_id == a.id).order_by(Group.id.desc()).limit(100)).scalars())
    form = request.form if request.method == "POST" else {
        "title": a.title, "group_size": a.group_size, "time_limit": a.time_limit_minutes, "time_unit": "minutes",
        "per_user_limit": a.per_user_limit, "starts_at": local(a.starts_at), "ends_at": local(a.ends_at), "enabled": "1" if a.enabled else "",
    }
    prices = {s.sku_id: f"{s.group_price // 100}.{s.group_price % 100:02d}" for s in a.skus}
    return render_template("groupbuy/activity_form.html", activity=a, product=product, products=[], form=form, platform=platform,
                           prices=prices, groups=groups)
