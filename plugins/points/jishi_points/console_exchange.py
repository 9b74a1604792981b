"""Points exchange in the platform console (blueprint
``points_exchange_console``, ``/console/points/exchange``): platform staff
with the ``marketing`` permission list, create, edit, stop and start
items. Bad input answers the form again (422) naming the field; nothing is
half-written (the save rolls back)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from jishi import promotions
from jishi.access import guard_platform, requires
from jishi.db import commit, db, rollback
from jishi.errors import DomainError
from jishi.forms import form_int
from jishi.hookspecs import MenuItem
from jishi.i18n import gettext as _
from jishi.money import MoneyError, fen_to_yuan_str, parse_yuan
from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from jishi_points import exchange
from jishi_points.models import EXCHANGE_COUPON, EXCHANGE_PRODUCT

bp = Blueprint("points_exchange_console", __name__, url_prefix="/console/points/exchange")
guard_platform(bp)

FIELDS = (
    "kind",
    "title",
    "description",
    "sku_id",
    "coupon_template_id",
    "points",
    "cash",
    "stock",
    "per_user_limit",
    "sort",
    "starts_at",
    "ends_at",
    "enabled",
)


def menu_items(console: str) -> list[MenuItem]:
    if console != "platform":
        return []
    return [
        MenuItem(
            _("Points exchange"),
            "points_exchange_console.items",
            console="platform",
            sort=64,
            permission="marketing",
            group="marketing",
        )
    ]


@bp.get("/")
@requires("marketing")
def items():
    rows = exchange.all_items()
    return render_template(
        "points/exchange_console_list.html",
        rows=rows,
        states={i.id: exchange.state_text(exchange.state_of(i)) for i in rows},
        names=promotions.product_names([i for i in rows if i.product_id]),
    )


def _cash(form) -> int | None:
    text = (form.get("cash") or "").strip()
    if not text:
        return None
    try:
        return parse_yuan(text)
    except MoneyError:
        return -1  # refused by the service naming "cash"


def _moment(form, key: str):
    text = (form.get(key) or "").strip()
    if not text:
        return None
    parsed = promotions.parse_local_input(text)
    return parsed if parsed is not None else text  # text: refused by the service naming the field


def _form_data(form) -> dict:
    return {
        "kind": form.get("kind", ""),
        "title": form.get("title", ""),
        "description": form.get("description", ""),
        "sku_id": form_int("sku_id", source=form),
        "coupon_template_id": form_int("coupon_template_id", source=form),
        "points": form_int("points", source=form),
        "cash": _cash(form),
        "stock": form_int("stock", source=form),
        "per_user_limit": form_int("per_user_limit", 0, source=form),
        "sort": form_int("sort", 0, source=form),
        "starts_at": _moment(form, "starts_at"),
        "ends_at": _moment(form, "ends_at"),
        "enabled": form.get("enabled") == "1",
    }


def _values(item) -> dict:
    if item is None:
        return {"kind": EXCHANGE_PRODUCT, "per_user_limit": 1, "sort": 0, "enabled": "1", "stock": 100}
    return {
        "kind": item.kind,
        "title": item.title,
        "description": item.description,
        "sku_id": item.sku_id or "",
        "coupon_template_id": item.coupon_template_id or "",
        "points": item.points,
        "cash": fen_to_yuan_str(item.cash),
        "stock": item.stock,
        "per_user_limit": item.per_user_limit,
        "sort": item.sort,
        "starts_at": promotions.local_input(item.starts_at),
        "ends_at": promotions.local_input(item.ends_at),
        "enabled": "1" if item.enabled else "",
    }


def _choices() -> tuple[list, list]:
    """(SKUs, active platform coupon templates) the form offers."""
    from jishi.catalog.models import Product, Sku

    skus = list(
        db.session.scalars(
            select(Sku)
            .join(Sku.product)
            .options(contains_eager(Sku.product))
            .where(Sku.is_active.is_(True))
            .order_by(Product.id.desc(), Sku.id)
            .limit(300)
        )
    )
    templates = []
    if exchange.coupons_enabled():
        from jishi_coupons.models import ACTIVE, CouponTemplate

        templates = list(
            db.session.scalars(
                select(CouponTemplate)
                .where(CouponTemplate.seller_id.is_(None), CouponTemplate.status == ACTIVE)
                .order_by(CouponTemplate.id.desc())
                .limit(200)
            )
        )
    return skus, templates


def _form(item):
    error = None
    values = _values(item)
    if request.method == "POST":
        try:
            item = exchange.save_item(_form_data(request.form), item)
        except DomainError as exc:
            rollback()
            error = exc
            values = {k: request.form.get(k, "") for k in FIELDS}
            if item is not None:
                values["kind"] = item.kind
        else:
            commit()
            flash(_("Saved."), "success")
            return redirect(url_for("points_exchange_console.items"))
    skus, templates = _choices()
    return render_template(
        "points/exchange_console_form.html",
        item=item,
        values=values,
        error=error,
        skus=skus,
        templates=templates,
        coupons=exchange.coupons_enabled(),
        kinds=(EXCHANGE_PRODUCT, EXCHANGE_COUPON),
    ), (422 if error else 200)


@bp.route("/new", methods=["GET", "POST"])
@requires("marketing")
def new():
    return _form(None)


def _item_or_404(item_id: int):
    item = exchange.get(item_id)
    if item is None:
        abort(404)
    return item


@bp.route("/<int:item_id>", methods=["GET", "POST"])
@requires("marketing")
def edit(item_id: int):
    return _form(_item_or_404(item_id))


@bp.post("/<int:item_id>/stop")
@requires("marketing")
def stop(item_id: int):
    exchange.set_enabled(_item_or_404(item_id), False)
    commit()
    flash(_("Stopped."), "success")
    return redirect(url_for("points_exchange_console.items"))


@bp.post("/<int:item_id>/start")
@requires("marketing")
def start(item_id: int):
    exchange.set_enabled(_item_or_404(item_id), True)
    commit()
    flash(_("Started."), "success")
    return redirect(url_for("points_exchange_console.items"))
