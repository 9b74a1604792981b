"""Merchant console "Orders" and the platform's "Merchant orders" pages (MS10)."""

from __future__ import annotations

from datetime import date

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from jishi.access import requires
from jishi.aftersales.models import Refund
from jishi.db import db
from jishi.errors import DomainError
from jishi.forms import flash_error, form_int, form_outcome
from jishi.i18n import gettext as _
from jishi.orders import service as orders_service
from jishi.orders import state
from sqlalchemy import select

from jishi_multistore import orders as svc
from jishi_multistore.blueprints import admin as admin_bp
from jishi_multistore.blueprints import merchant as merchant_bp
from jishi_multistore.models import Merchant
from jishi_multistore.principal import current_principal, merchant, merchant_page

PAGE = 30


def _day(name: str) -> date | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        flash(_("Dates look like 2024-05-01."), "error")
        return None


def _filter(with_merchant: bool = False) -> svc.OrderFilter:
    status = request.args.get("status") or None
    return svc.OrderFilter(
        status=status if status in state.STATUSES else None,
        start=_day("start"),
        end=_day("end"),
        number=(request.args.get("number") or "").strip()[:32] or None,
        phone=(request.args.get("phone") or "").strip()[:20] or None,
        merchant_id=form_int("merchant_id", source=request.args, minimum=1) if with_merchant else None,
    )


def _args() -> dict:
    return {
        k: v for k, v in request.args.items() if k in ("status", "start", "end", "number", "phone", "merchant_id") and v
    }


def _listing(f: svc.OrderFilter, merchant_id: int | None, endpoint: str):
    before = form_int("before", source=request.args, minimum=1)
    rows, nxt = svc.list_orders(f, merchant_id=merchant_id, cursor=before, limit=PAGE)
    more_url = url_for(endpoint, **_args(), before=nxt) if nxt else None
    return rows, more_url


def _ids() -> list[int]:
    out = []
    for raw in request.values.getlist("ids") + request.values.getlist("order_id"):
        for part in str(raw).split(","):
            if part.strip().isdecimal() and len(part.strip()) <= 10:
                out.append(int(part.strip()))
    return out


def _refunds(order) -> list:
    return list(db.session.execute(select(Refund).where(Refund.order_id == order.id).order_by(Refund.id)).scalars())


# --- Merchant console ------------------------------------------------------------


@merchant_bp.get("/orders")
@merchant_page("orders")
def orders():
    f = _filter()
    rows, more_url = _listing(f, merchant().id, "merchant.orders")
    return render_template(
        "multistore/orders/merchant_list.html",
        principal=current_principal(),
        orders=rows,
        lines=orders_service.lines_of([o.id for o in rows]),
        fulfilments=svc.fulfilments(rows),
        f=f,
        statuses=state.STATUSES,
        more_url=more_url,
        args=_args(),
    )


@merchant_bp.get("/orders/<int:order_id>")
@merchant_page("orders")
def order(order_id: int):
    o = _merchant_order(order_id)
    return render_template(
        "multistore/orders/merchant_detail.html",
        principal=current_principal(),
        order=o,
        moves=svc.seller_moves(o),
        refunds=_refunds(o),
        needs_tracking=svc.needs_tracking(o),
        price_url=url_for("merchant.order_price", order_id=o.id),
        address_url=url_for("merchant.order_address", order_id=o.id),
        fulfilment=orders_service.fulfilment(o),
    )


def _merchant_order(order_id: int):
    try:
        return svc.merchant_order(merchant().id, order_id)
    except svc.OrderNotFound:
        abort(404)


@merchant_bp.post("/orders/<int:order_id>/ship")
@merchant_page("orders")
def order_ship(order_id: int):
    o = _merchant_order(order_id)
    with form_outcome(_("Shipped.")):
        svc.ship(o, request.form.get("carrier", ""), request.form.get("tracking_no", ""), actor=current_user)
    return redirect(url_for("merchant.order", order_id=order_id))


@merchant_bp.post("/orders/<int:order_id>/price")
@merchant_page("orders")
def order_price(order_id: int):
    """改价 of the merchant's unpaid order: the new total and the reason."""
    o = _merchant_order(order_id)
    with form_outcome(_("The price was changed.")):
        orders_service.change_price_from_form(o, request.form, actor=current_user, actor_kind="seller")
    return redirect(url_for("merchant.order", order_id=order_id))


@merchant_bp.post("/orders/<int:order_id>/address")
@merchant_page("orders")
def order_address(order_id: int):
    """The delivery address of the merchant's order not shipped yet."""
    o = _merchant_order(order_id)
    with form_outcome(_("The address was changed.")):
        orders_service.change_address_from_form(o, request.form, actor=current_user, actor_kind="seller")
    return redirect(url_for("merchant.order", order_id=order_id))


@merchant_bp.post("/orders/<int:order_id>/status")
@merchant_page("orders")
def order_status(order_id: int):
    o = _merchant_order(order_id)
    name = request.form.get("name", "")
    with form_outcome():
        svc.move(
            o,
            name,
            actor=current_user,
            note=request.form.get("note", ""),
            carrier=request.form.get("carrier", ""),
            tracking_no=request.form.get("tracking_no", ""),
        )
    return redirect(url_for("merchant.order", order_id=order_id))


@merchant_bp.post("/orders/ship-batch")
@merchant_page("orders")
def orders_ship_batch():
    """The list's form: ticked orders, each with its own tracking number
    (``tracking-<id>``) and carrier (``carrier-<id>``, else the common one)."""
    ids = _ids()
    if not ids:
        flash(_("Tick the orders to ship first."), "error")
        return redirect(url_for("merchant.orders", status=state.PAID))
    common = request.form.get("carrier", "")
    items = [
        {
            "order_id": i,
            "carrier": request.form.get(f"carrier-{i}") or common,
            "tracking_no": request.form.get(f"tracking-{i}", ""),
        }
        for i in ids
    ]
    results = svc.ship_batch(merchant().id, items, actor=current_user)
    shipped = [r for r in results if r["ok"]]
    failed = [r for r in results if not r["ok"]]
    if shipped:
        flash(_("%(n)d orders shipped.", n=len(shipped)), "success")
    for r in failed:
        flash(_("Order %(id)s not shipped: %(error)s", id=r["order_id"], error=r["error"]), "error")
    return redirect(url_for("merchant.orders", status=state.PAID))


@merchant_bp.get("/orders/packing-slip")
@merchant_page("orders")
def packing_slip():
    """Printable packing slips (出货单) of one or several orders: ``ids``
    (none: 400 asking to select one)."""
    ids = _ids()
    if not ids:
        abort(400, description=_("Select at least one order to print its packing slip."))
    found = svc.merchant_orders(merchant().id, ids)
    if not found:
        abort(404)
    return render_template(
        "multistore/orders/packing_slip.html",
        orders=found,
        shop=merchant(),
        lines=orders_service.lines_of([o.id for o in found]),
    )


@merchant_bp.get("/orders/export")
@merchant_page("orders")
def orders_export():
    fmt = request.args.get("format", "csv")
    if fmt not in ("csv", "xlsx"):
        abort(400)
    f = _filter()
    if f.start and f.end and f.start > f.end:
        flash(_("The start is after the end."), "error")
        return redirect(url_for("merchant.orders"))
    body, mimetype, name = svc.export(merchant().id, fmt, f.start, f.end, f.status)
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})


# --- Platform console -------------------------------------------------------------


def _platform_order(order_id: int):
    try:
        return svc.platform_order(order_id)
    except svc.OrderNotFound:
        abort(404)


@admin_bp.get("/orders", endpoint="orders")
@requires("orders")
def orders_admin():
    f = _filter(with_merchant=True)
    rows, more_url = _listing(f, None, "multistore_admin.orders")
    merchants = list(
        db.session.execute(
            select(Merchant.id, Merchant.name).where(Merchant.approved_at.is_not(None)).order_by(Merchant.name)
        ).all()
    )
    return render_template(
        "multistore/orders/admin_list.html",
        orders=rows,
        lines=orders_service.lines_of([o.id for o in rows]),
        names=svc.merchant_names(o.seller_id for o in rows),
        fulfilments=svc.fulfilments(rows),
        merchants=merchants,
        f=f,
        statuses=state.STATUSES,
        more_url=more_url,
        args=_args(),
    )


@admin_bp.get("/orders/<int:order_id>", endpoint="order")
@requires("orders")
def order_admin(order_id: int):
    o = _platform_order(order_id)
    return render_template(
        "multistore/orders/admin_detail.html",
        order=o,
        merchant_name=svc.merchant_names([o.seller_id]).get(o.seller_id),
        refunds=_refunds(o),
        can_complete=state.can(o, "force_complete", "platform"),
        can_close=o.status == state.PENDING or state.can(o, "close", "platform"),
        price_url=url_for("console.order_price", order_id=o.id),
        address_url=url_for("console.order_address", order_id=o.id),
    )


@admin_bp.post("/orders/<int:order_id>/complete", endpoint="order_complete")
@requires("orders")
def order_admin_complete(order_id: int):
    o = _platform_order(order_id)
    with form_outcome(_("Moved to completed.")):
        svc.platform_complete(o, actor=current_user)
    return redirect(url_for("multistore_admin.order", order_id=order_id))


@admin_bp.post("/orders/<int:order_id>/close", endpoint="order_close")
@requires("orders")
def order_admin_close(order_id: int):
    o = _platform_order(order_id)
    try:
        svc.platform_close(o, actor=current_user)
    except DomainError as exc:
        db.session.rollback()
        flash_error(exc)
    else:
        flash(_("Order closed."), "success")
    return redirect(url_for("multistore_admin.order", order_id=order_id))
