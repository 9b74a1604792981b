"""Group-buy pages: the product page box (slot), the group's share page,
the group checkout, and the activities console (platform and merchants).

Routes (blueprint ``groupbuy``):

- ``GET  /groupbuy/groups/<token>``     the share page (anyone)
- ``POST /groupbuy/buy``                "Start a group" / "Join" (buyer) -> checkout
- ``GET|POST /groupbuy/checkout``       the group checkout (buyer)
- ``GET  /seller/groupbuy/activities``  activities (seller scope, ``products``)
- ``GET|POST /seller/groupbuy/activities/new`` and ``/<id>``  create / edit

Who acts for which seller, the product picker, the price and time fields and
the checkout page come from :mod:`jishi.promotions`.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from jishi import promotions
from jishi.db import db
from jishi.forms import form_int
from jishi.i18n import gettext as _
from jishi.money import fen_to_yuan_str
from jishi.sellers import seller_page
from markupsafe import Markup
from sqlalchemy.orm.attributes import set_committed_value

from jishi_groupbuy import service
from jishi_groupbuy.models import Activity, Group

bp = Blueprint("groupbuy", __name__)

local = promotions.local_input


@bp.app_template_global("groupbuy_local")
def _local_global(dt, fmt="%Y-%m-%d %H:%M"):
    return local(dt, fmt)


# -- slots ---------------------------------------------------------------------


def slot(name: str, context: dict):
    if name == "product_detail_after_price":
        product = context.get("product")
        if product is None:
            return None
        loaded = context.get("loaded")
        if loaded is not None and "groupbuy.activity" in loaded:  # read with the page (product_page_loaders)
            activity = loaded.first("groupbuy.activity")
            if activity is not None:
                set_committed_value(activity, "skus", loaded["groupbuy.skus"])
            groups = loaded["groupbuy.groups"]
        else:
            activity = service.running_activity(product.id)
            groups = None
        if activity is None:
            return None
        skus = {s.id: s for s in product.skus if s.is_active}
        prices = [(skus[a.sku_id], a.group_price) for a in activity.skus if a.sku_id in skus]
        if not prices:
            return None
        if groups is None:
            groups = service.open_groups(activity.id, limit=5)
        return Markup(
            render_template(
                "groupbuy/_product_box.html", activity=activity, prices=prices, groups=groups, product=product
            )
        )
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
    joinable = (
        group.state == service.FORMING
        and group.seats < group.size
        and group.expires_at > service.now()
        and mine is None
    )
    share_url = url_for("groupbuy.group_page", token=group.token, _external=True)
    return render_template(
        "groupbuy/group.html",
        group=group,
        activity=activity,
        product=product,
        prices=prices,
        members=service.paid_members(group),
        mine=mine,
        joinable=joinable,
        share_url=share_url,
    )


def _choice_args(source) -> dict:
    args = promotions.choice_args(source, "activity_id")
    args["group_token"] = (source.get("group_token") or "").strip() or None
    return args


def _choice(args) -> dict:
    return {service.OPTION: {"activity_id": args["activity_id"], "group_token": args["group_token"]}}


@bp.post("/groupbuy/buy")
@login_required
def buy():
    """The product page's / share page's buttons: go to the group checkout."""
    args = _choice_args(request.form)
    if args["sku_id"] is None or args["activity_id"] is None:
        flash(_("Choose a variant first."), "error")
        return redirect(request.referrer or url_for("shop.index"))
    return redirect(url_for("groupbuy.checkout", **{k: v for k, v in args.items() if v is not None}))


@bp.get("/groupbuy/checkout")
@login_required
def checkout():
    args = _choice_args(request.args)
    if args["sku_id"] is None or args["activity_id"] is None or args["quantity"] is None:
        abort(404)
    return promotions.checkout_page(
        "groupbuy/checkout.html",
        args["sku_id"],
        args["quantity"],
        _choice(args),
        failed=url_for("shop.index"),
        args=args,
    )


@bp.post("/groupbuy/checkout")
@login_required
def checkout_place():
    args = _choice_args(request.form)
    address_id = form_int("address_id")
    keep = promotions.carried_fields(args, request.form)
    if args["sku_id"] is None or args["activity_id"] is None or args["quantity"] is None:
        abort(400)
    if request.form.get("action") == "refresh":
        return redirect(url_for("groupbuy.checkout", address_id=address_id, **keep))
    return promotions.place_checkout(
        args["sku_id"],
        args["quantity"],
        _choice(args),
        retry=url_for("groupbuy.checkout", address_id=address_id, **keep),
    )


# -- console (platform and merchants) -------------------------------------------


@bp.get("/seller/groupbuy/activities")
@seller_page("marketing")
def activities():
    scope, platform = promotions.acting()
    rows = service.visible_activities(seller_id=scope.seller_id, platform=platform)
    counts = service.count_by_state([a.id for a in rows])
    return render_template(
        "groupbuy/activities.html",
        rows=rows,
        counts=counts,
        platform=platform,
        scope=scope,
        product_names=promotions.product_names(rows),
    )


def _form_data(form) -> dict:
    return {
        "product_id": form_int("product_id", source=form),
        "title": form.get("title", ""),
        "group_size": form_int("group_size", source=form),
        "time_limit_minutes": _limit_minutes(form),
        "per_user_limit": form_int("per_user_limit", 0, source=form),
        "starts_at": promotions.parse_local_input(form.get("starts_at", "")),
        "ends_at": promotions.parse_local_input(form.get("ends_at", "")),
        "enabled": form.get("enabled") == "1",
        "skus": [{"sku_id": sid, "group_price": fen} for sid, fen in promotions.price_fields(form)],
    }


def _limit_minutes(form):
    n = form_int("time_limit", source=form)
    if n is None:
        return None
    return n * 60 if form.get("time_unit") == "hours" else n


@bp.route("/seller/groupbuy/activities/new", methods=["GET", "POST"])
@seller_page("marketing")
def activity_new():
    scope, platform = promotions.acting()
    product = promotions.picked_product(scope, platform)
    if request.method == "POST" and product is not None and request.form.get("action") == "save":
        saved = promotions.save_form(
            lambda: service.save_activity(_form_data(request.form), seller_id=scope.seller_id, platform=platform),
            "groupbuy.activity",
        )
        if saved is not None:
            return saved
    return render_template(
        "groupbuy/activity_form.html",
        activity=None,
        product=product,
        products=promotions.products_for(scope, platform),
        form=request.form,
        platform=platform,
        prices={},
    )


@bp.route("/seller/groupbuy/activities/<int:activity_id>", methods=["GET", "POST"])
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
            "groupbuy.activity",
        )
        if saved is not None:
            return saved
    groups = list(
        db.session.execute(
            db.select(Group).where(Group.activity_id == a.id).order_by(Group.id.desc()).limit(100)
        ).scalars()
    )
    form = (
        request.form
        if request.method == "POST"
        else {
            "title": a.title,
            "group_size": a.group_size,
            "time_limit": a.time_limit_minutes,
            "time_unit": "minutes",
            "per_user_limit": a.per_user_limit,
            "starts_at": local(a.starts_at),
            "ends_at": local(a.ends_at),
            "enabled": "1" if a.enabled else "",
        }
    )
    prices = {s.sku_id: fen_to_yuan_str(s.group_price) for s in a.skus}
    from jishi.catalog.models import Product

    return render_template(
        "groupbuy/activity_form.html",
        activity=a,
        product=db.session.get(Product, a.product_id),
        products=[],
        form=form,
        platform=platform,
        prices=prices,
        groups=groups,
    )
