"""Console: orders and shipping, after-sales, reviews (K8, K10, K11)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import selectinload

from jishi.accounts.models import User
from jishi.aftersales.models import Refund
from jishi.aftersales.service import STATUSES
from jishi.catalog.models import Product
from jishi.console.common import bp, requires
from jishi.db import db
from jishi.errors import DomainError
from jishi.i18n import gettext as _
from jishi.orders import changes, state
from jishi.orders import service as orders_service
from jishi.orders.models import Order
from jishi.reviews.models import Review
from jishi.web.common import flash_error, form_int, form_outcome, safe_next

PAGE = 30


def _page(query, model, endpoint: str, **params):
    before = form_int("before", source=request.args)
    if before:
        query = query.where(model.id < before)
    rows = db.session.execute(query.order_by(model.id.desc()).limit(PAGE + 1)).scalars().all()
    more_url = url_for(endpoint, **params, before=rows[PAGE - 1].id) if len(rows) > PAGE else None
    return rows[:PAGE], more_url


@bp.get("/orders")
@requires("orders")
def orders():
    status = request.args.get("status", "")
    q = (request.args.get("q") or "").strip()
    query = db.select(Order)
    if status in state.STATUSES:
        query = query.where(Order.status == status)
    if q:
        query = query.where(Order.number.contains(q))
    rows, more_url = _page(query, Order, "console.orders", status=status, q=q)
    return render_template(
        "console/orders.html",
        orders=rows,
        lines=orders_service.lines_of([o.id for o in rows]),
        fulfilments={o.id: orders_service.fulfilment(o) for o in rows},
        status=status,
        q=q,
        statuses=state.STATUSES,
        more_url=more_url,
    )


def _order(order_id: int) -> Order:
    order = db.session.get(Order, order_id)
    if order is None:
        abort(404)
    return order


@bp.get("/orders/<int:order_id>")
@requires("orders")
def order(order_id: int):
    order = _order(order_id)
    refunds = (
        db.session.execute(db.select(Refund).where(Refund.order_id == order.id).order_by(Refund.id)).scalars().all()
    )
    return render_template(
        "console/order.html",
        order=order,
        buyer=db.session.get(User, order.user_id),
        refunds=refunds,
        fulfilment=orders_service.fulfilment(order),
        can_ship=state.can(order, "ship", "platform"),
        can_complete=state.can(order, "force_complete", "platform"),
        can_cancel=state.can(order, "cancel", "platform"),
        price_url=url_for("console.order_price", order_id=order.id),
        address_url=url_for("console.order_address", order_id=order.id),
    )


@bp.post("/orders/<int:order_id>/price")
@requires("orders")
def order_price(order_id: int):
    """改价: the unpaid order's new total and the reason (back to ``next``:
    the multistore platform page posts here too)."""
    order = _order(order_id)
    with form_outcome(_("The price was changed.")):
        changes.change_price_from_form(order, request.form, actor=current_user, actor_kind="platform")
    return redirect(safe_next(url_for("console.order", order_id=order_id)))


@bp.post("/orders/<int:order_id>/address")
@requires("orders")
def order_address(order_id: int):
    """The delivery address of an order not shipped yet, and the reason."""
    order = _order(order_id)
    with form_outcome(_("The address was changed.")):
        changes.change_address_from_form(order, request.form, actor=current_user, actor_kind="platform")
    return redirect(safe_next(url_for("console.order", order_id=order_id)))


def _ship(order: Order, carrier: str, tracking_no: str) -> None:
    """Ship by hand: refused (409/422) when the delivery method says otherwise."""
    orders_service.check_shipment(order, carrier, tracking_no)
    orders_service.ship(
        order, carrier=carrier.strip(), tracking_no=tracking_no.strip(), actor=current_user, actor_kind="platform"
    )


@bp.post("/orders/<int:order_id>/ship")
@requires("orders")
def order_ship(order_id: int):
    order = _order(order_id)
    carrier, tracking_no = request.form.get("carrier", ""), request.form.get("tracking_no", "")
    try:
        _ship(order, carrier, tracking_no)
    except DomainError as exc:
        db.session.rollback()
        flash_error(exc)
    else:
        flash(_("Order %(number)s shipped.", number=order.number), "success")
    return redirect(url_for("console.order", order_id=order_id))


@bp.post("/orders/batch-ship")
@requires("orders")
def orders_batch_ship():
    """Ship every ticked order with its own tracking number and one carrier."""
    carrier = request.form.get("carrier", "").strip()
    ids = [int(v) for v in request.form.getlist("order_id") if (v.isdecimal() and len(v) <= 10)]
    shipped, failed = 0, []
    for oid in ids:
        order = db.session.get(Order, oid)
        tracking_no = request.form.get(f"tracking-{oid}", "").strip()
        if order is None:
            continue
        try:
            _ship(order, carrier, tracking_no)
            shipped += 1
        except DomainError as exc:
            db.session.rollback()
            failed.append(f"{order.number} ({exc.message})")
    if shipped:
        flash(_("%(n)d orders shipped.", n=shipped), "success")
    if failed:
        flash(_("Not shipped (check the state and tracking number): %(numbers)s", numbers=", ".join(failed)), "error")
    if not ids:
        flash(_("Tick the orders to ship first."), "error")
    return redirect(url_for("console.orders", status=state.PAID))


@bp.post("/orders/<int:order_id>/<action>")
@requires("orders")
def order_action(order_id: int, action: str):
    order = _order(order_id)
    try:
        if action == "complete":
            orders_service.force_complete(order, actor=current_user)
        elif action == "cancel":
            orders_service.cancel(order, actor=current_user, actor_kind="platform", note=request.form.get("note", ""))
        else:
            abort(404)
    except state.TransitionError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        flash(_("Saved."), "success")
    return redirect(url_for("console.order", order_id=order_id))


# -- after-sales -------------------------------------------------------------

REFUND_STATUSES = STATUSES  # the after-sales statuses, in their order


@bp.get("/refunds")
@requires("aftersales")
def refunds():
    status = request.args.get("status", "")
    query = db.select(Refund).options(selectinload(Refund.order))
    if status in REFUND_STATUSES:
        query = query.where(Refund.status == status)
    rows, more_url = _page(query, Refund, "console.refunds", status=status)
    return render_template(
        "console/refunds.html", refunds=rows, status=status, statuses=REFUND_STATUSES, more_url=more_url
    )


@bp.get("/refunds/<int:refund_id>")
@requires("aftersales")
def refund(refund_id: int):
    from jishi.aftersales.models import RefundNote

    refund = db.session.get(Refund, refund_id)
    if refund is None:
        abort(404)
    notes = (
        db.session.execute(db.select(RefundNote).where(RefundNote.refund_id == refund.id).order_by(RefundNote.id))
        .scalars()
        .all()
    )
    from jishi.payments.models import PaymentRefund

    money = db.session.execute(
        db.select(PaymentRefund).where(PaymentRefund.refund_id == refund.id)
    ).scalar_one_or_none()
    return render_template(
        "console/refund.html",
        refund=refund,
        notes=notes,
        buyer=db.session.get(User, refund.user_id),
        money=money,
    )


@bp.post("/refunds/<int:refund_id>/<action>")
@requires("aftersales")
def refund_action(refund_id: int, action: str):
    from jishi.aftersales import service
    from jishi.payments.models import PaymentRefund

    refund = db.session.get(Refund, refund_id)
    if refund is None:
        abort(404)
    with form_outcome():
        if action == "approve":
            service.approve(refund, current_user)
        elif action == "reject":
            service.reject(refund, current_user, (request.form.get("reason") or "").strip())
        elif action == "confirm-returned":
            service.confirm_returned(refund, current_user)
        elif action == "retry-money":
            _retry_money(
                db.session.execute(db.select(PaymentRefund.id).where(PaymentRefund.refund_id == refund.id)).scalar()
            )
        else:
            abort(404)
    return redirect(url_for("console.refund", refund_id=refund_id))


PAYMENT_REFUND_STATUSES = ("requested", "pending", "failed", "abnormal", "succeeded")


@bp.get("/payment-refunds")
@requires("aftersales")
def payment_refunds():
    """Money going back through the gateways: every gateway refund (an
    after-sales refund's, or a late payment's), failed ones first to see."""
    from jishi.payments.models import PaymentRefund

    status = request.args.get("status", "")
    query = db.select(PaymentRefund)
    if status in PAYMENT_REFUND_STATUSES:
        query = query.where(PaymentRefund.status == status)
    rows, more_url = _page(query, PaymentRefund, "console.payment_refunds", status=status)
    return render_template(
        "console/payment_refunds.html",
        rows=rows,
        status=status,
        statuses=PAYMENT_REFUND_STATUSES,
        more_url=more_url,
    )


@bp.post("/payment-refunds/<int:refund_id>/retry")
@requires("aftersales")
def payment_refund_retry(refund_id: int):
    """Send a failed refund again, with the same number."""
    from jishi.payments.models import PaymentRefund

    if db.session.get(PaymentRefund, refund_id) is None:
        abort(404)
    with form_outcome():
        _retry_money(refund_id)
    return redirect(url_for("console.payment_refunds", status=request.form.get("status", "")))


def _retry_money(payment_refund_id: int | None) -> None:
    from jishi.errors import DomainError
    from jishi.i18n import gettext as _
    from jishi.payments import service as payments

    if payment_refund_id is None:
        raise DomainError("status", _("Only a failed refund can be retried."), status=409)
    status = payments.retry_refund(payment_refund_id)
    if status == "failed":
        raise DomainError("status", _("The payment gateway refused the refund again."), status=502)


# -- reviews -----------------------------------------------------------------


@bp.get("/reviews")
@requires("comments")
def reviews():
    show = request.args.get("show", "")
    query = db.select(Review)
    if show == "pending":
        query = query.where(Review.is_visible.is_(False), Review.deleted_at.is_(None))
    elif show == "deleted":
        query = query.where(Review.deleted_at.is_not(None))
    else:
        query = query.where(Review.deleted_at.is_(None))
    rows, more_url = _page(query, Review, "console.reviews", show=show)
    ids = {r.product_id for r in rows if r.product_id}
    names = (
        dict(db.session.execute(db.select(Product.id, Product.name).where(Product.id.in_(ids))).all()) if ids else {}
    )
    return render_template("console/reviews.html", reviews=rows, show=show, more_url=more_url, product_names=names)


@bp.post("/reviews/<int:review_id>/<action>")
@requires("comments")
def review_action(review_id: int, action: str):
    from jishi.reviews import service

    review = db.session.get(Review, review_id)
    if review is None:
        abort(404)
    with form_outcome():
        if action == "reply":
            service.reply(review, current_user, (request.form.get("reply") or "").strip())
        elif action == "delete":
            service.delete(review, current_user)
        elif action == "approve":
            service.approve(review, current_user)
        else:
            abort(404)
    return redirect(request.referrer or url_for("console.reviews"))


@bp.get("/payment-bills")
@requires("data")
def payment_bills():
    """The daily bills (对账) compared with Jishi's records: what differs,
    unresolved first."""
    from jishi.payments.models import BillDifference

    show = request.args.get("show", "open")
    query = db.select(BillDifference)
    if show != "all":
        query = query.where(BillDifference.resolved_at.is_(None))
    rows, more_url = _page(query, BillDifference, "console.payment_bills", show=show)
    return render_template("console/payment_bills.html", rows=rows, show=show, more_url=more_url)


@bp.post("/payment-bills/<int:difference_id>/resolve")
@requires("data")
def payment_bill_resolve(difference_id: int):
    """Mark a difference looked into (it stays listed under "all")."""
    from jishi.db import commit, utcnow
    from jishi.payments.models import BillDifference

    row = db.session.get(BillDifference, difference_id)
    if row is None:
        abort(404)
    if row.resolved_at is None:
        row.resolved_at = utcnow()
        commit()
    return redirect(url_for("console.payment_bills"))
