"""Points exchange pages for buyers (积分商城, blueprint ``points_exchange``).

- ``GET  /points/exchange``                 the items, with the buyer's points
- ``GET  /points/exchange/<id>``            one item, its redeem button
- ``POST /points/exchange/<id>/redeem``     redeem a coupon item in place
- ``GET|POST /points/exchange/<id>/checkout``  a product item's checkout:
  the kernel's checkout page (:func:`jishi.promotions.checkout_page`) of
  its SKU with the option ``points_exchange``; placing it spends the points
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from jishi import promotions
from jishi.db import commit, rollback
from jishi.errors import DomainError
from jishi.forms import flash_error, form_int
from jishi.i18n import gettext as _

from jishi_points import exchange, ledger
from jishi_points.models import EXCHANGE_PRODUCT

bp = Blueprint("points_exchange", __name__)


def _item_or_404(item_id: int):
    item = exchange.get(item_id)
    if item is None or not exchange.visible(item) or exchange.state_of(item) == exchange.OFF:
        abort(404)
    return item


@bp.get("/points/exchange")
def listing():
    rows = exchange.listing()
    from jishi_points.api_exchange import images_of

    return render_template(
        "points/exchange_list.html",
        items=rows,
        avail=exchange.availability_many(rows, current_user),
        images=images_of(rows),
        balance=ledger.balance(current_user.id)[0] if current_user.is_authenticated else None,
    )


@bp.get("/points/exchange/<int:item_id>")
def detail(item_id: int):
    item = _item_or_404(item_id)
    from jishi_points.api_exchange import images_of

    return render_template(
        "points/exchange_detail.html",
        item=item,
        avail=exchange.availability(item, current_user),
        product=exchange.product_of(item),
        template=exchange.coupon_template_of(item),
        image=images_of([item]).get(item.product_id, ""),
    )


@bp.post("/points/exchange/<int:item_id>/redeem")
@login_required
def redeem(item_id: int):
    """A coupon item: points spent and the coupon issued, back to the item."""
    item = _item_or_404(item_id)
    if item.kind == EXCHANGE_PRODUCT:
        return redirect(url_for("points_exchange.checkout", item_id=item.id))
    try:
        exchange.redeem_coupon(current_user, item.id)
        commit()
    except DomainError as exc:
        rollback()
        flash_error(exc)
    else:
        flash(_("Redeemed: the coupon is in your coupons."), "success")
    return redirect(url_for("points_exchange.detail", item_id=item.id))


def _args(item, source) -> dict:
    quantity = form_int("quantity", 1, source=source)
    return {"quantity": quantity if quantity and quantity > 0 else 1}


def _product_item_or_404(item_id: int):
    item = _item_or_404(item_id)
    if item.kind != EXCHANGE_PRODUCT or item.sku_id is None:
        abort(404)
    return item


def _options(item) -> dict:
    return {exchange.OPTION: {"item_id": item.id}}


@bp.get("/points/exchange/<int:item_id>/checkout")
@login_required
def checkout(item_id: int):
    item = _product_item_or_404(item_id)
    args = _args(item, request.args)
    return promotions.checkout_page(
        "points/exchange_checkout.html",
        item.sku_id,
        args["quantity"],
        _options(item),
        failed=url_for("points_exchange.detail", item_id=item.id),
        args=args,
        item=item,
    )


@bp.post("/points/exchange/<int:item_id>/checkout")
@login_required
def checkout_place(item_id: int):
    item = _product_item_or_404(item_id)
    args = _args(item, request.form)
    address_id = form_int("address_id")
    keep = promotions.carried_fields(args, request.form)
    if request.form.get("action") == "refresh":
        return redirect(url_for("points_exchange.checkout", item_id=item.id, address_id=address_id, **keep))
    return promotions.place_checkout(
        item.sku_id,
        args["quantity"],
        _options(item),
        retry=url_for("points_exchange.checkout", item_id=item.id, address_id=address_id, **keep),
    )
