"""The buyer's orders, after-sales requests and reviews (K8, K10, K11)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from jishi import media
from jishi.aftersales.models import Refund
from jishi.db import db
from jishi.i18n import gettext as _
from jishi.orders import service as orders_service
from jishi.orders import state
from jishi.orders.models import Order, OrderLine
from jishi.web.common import bp, error_text, form_int, form_outcome

PAGE = 20
TABS = ("all", state.PENDING, state.PAID, state.SHIPPED, state.RECEIVED, state.COMPLETED, state.CLOSED)


def _aftersales():
    from jishi.aftersales import service

    return service


def _reviews():
    from jishi.reviews import service

    return service


def _own_order(order_id: int) -> Order:
    order = orders_service.buyer_order(current_user, order_id)
    if order is None:
        abort(404)
    return order


@bp.get("/orders")
@login_required
def orders():
    tab = request.args.get("status") if request.args.get("status") in TABS else "all"
    before = form_int("before", source=request.args)
    query = db.select(Order).options(selectinload(Order.payment)).where(Order.user_id == current_user.id)
    if tab != "all":
        query = query.where(Order.status == tab)
    if before:
        query = query.where(Order.id < before)
    rows = db.session.execute(query.order_by(Order.id.desc()).limit(PAGE + 1)).scalars().all()
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    lines = orders_service.lines_of([o.id for o in rows])
    more_url = url_for("shop.orders", status=tab, before=rows[-1].id) if more else None
    return render_template("shop/orders.html", orders=rows, lines=lines, tab=tab, tabs=TABS, more_url=more_url)


@bp.get("/orders/<int:order_id>")
@login_required
def order(order_id: int):
    order = _own_order(order_id)
    refundable = []
    if order.status in (state.PAID, state.SHIPPED, state.RECEIVED, state.COMPLETED):
        refundable = _aftersales().refundable_lines(order)
    reviewable = set()
    if order.status in (state.RECEIVED, state.COMPLETED):
        reviews = _reviews()
        reviewable = {line.id for line in order.lines if reviews.can_review(current_user, line)}
    refunds = (
        db.session.execute(db.select(Refund).where(Refund.order_id == order.id).order_by(Refund.id)).scalars().all()
    )
    return render_template(
        "shop/order.html",
        order=order,
        can_cancel=state.can(order, "cancel", "buyer"),
        can_receive=state.can(order, "receive", "buyer"),
        can_refund=bool(refundable),
        reviewable=reviewable,
        refunds=refunds,
    )


@bp.post("/orders/<int:order_id>/cancel")
@login_required
def order_cancel(order_id: int):
    order = _own_order(order_id)
    try:
        orders_service.cancel(order, actor=current_user, actor_kind="buyer")
    except state.TransitionError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        flash(_("The order is cancelled."), "success")
    return redirect(url_for("shop.order", order_id=order_id))


@bp.post("/orders/<int:order_id>/receive")
@login_required
def order_receive(order_id: int):
    order = _own_order(order_id)
    try:
        orders_service.receive(order, actor=current_user, actor_kind="buyer")
    except state.TransitionError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        flash(_("Thanks! Receipt confirmed."), "success")
    return redirect(url_for("shop.order", order_id=order_id))


# -- after-sales -------------------------------------------------------------


@bp.route("/orders/<int:order_id>/refund", methods=["GET", "POST"])
@login_required
def refund_new(order_id: int):
    order = _own_order(order_id)
    service = _aftersales()
    refundable = service.refundable_lines(order)
    if not refundable:
        flash(_("Nothing in this order can be refunded now."), "error")
        return redirect(url_for("shop.order", order_id=order_id))
    error = None
    if request.method == "POST":
        kind = request.form.get("kind", "")
        wanted = []
        for line, _max_qty, _max_amount in refundable:
            qty = form_int(f"qty-{line.id}", 0)
            if qty:
                wanted.append((line.id, qty))
        try:
            refund = service.request_refund(
                current_user, order, kind, wanted, (request.form.get("reason") or "").strip()
            )
        except service.AfterSalesError as exc:
            db.session.rollback()
            error = {"field": getattr(exc, "field", None), "message": error_text(exc)}
        else:
            db.session.commit()
            flash(_("Your request is sent."), "success")
            return redirect(url_for("shop.refund", refund_id=refund.id))
    return render_template("shop/refund_form.html", order=order, refundable=refundable, error=error), (
        422 if error else 200
    )


@bp.get("/refunds")
@login_required
def refunds():
    rows = (
        db.session.execute(
            db.select(Refund).where(Refund.user_id == current_user.id).order_by(Refund.id.desc()).limit(50)
        )
        .scalars()
        .all()
    )
    return render_template("shop/refunds.html", refunds=rows)


def _own_refund(refund_id: int) -> Refund:
    refund = db.session.get(Refund, refund_id)
    if refund is None or refund.user_id != current_user.id:
        abort(404)
    return refund


@bp.get("/refunds/<int:refund_id>")
@login_required
def refund(refund_id: int):
    from jishi.aftersales.models import RefundNote

    refund = _own_refund(refund_id)
    notes = (
        db.session.execute(db.select(RefundNote).where(RefundNote.refund_id == refund.id).order_by(RefundNote.id))
        .scalars()
        .all()
    )
    return render_template("shop/refund.html", refund=refund, notes=notes)


@bp.post("/refunds/<int:refund_id>/<action>")
@login_required
def refund_action(refund_id: int, action: str):
    refund = _own_refund(refund_id)
    service = _aftersales()
    with form_outcome():
        if action == "ship-back":
            service.buyer_ship_back(
                refund,
                current_user,
                (request.form.get("carrier") or "").strip(),
                (request.form.get("tracking_no") or "").strip(),
            )
        elif action == "cancel":
            service.cancel_request(refund, current_user)
        else:
            abort(404)
    return redirect(url_for("shop.refund", refund_id=refund_id))


# -- reviews -----------------------------------------------------------------


@bp.route("/orders/<int:order_id>/lines/<int:line_id>/review", methods=["GET", "POST"])
@login_required
def review_new(order_id: int, line_id: int):
    order = _own_order(order_id)
    line = db.session.get(OrderLine, line_id)
    if line is None or line.order_id != order.id:
        abort(404)
    service = _reviews()
    if not service.can_review(current_user, line):
        flash(_("This item cannot be reviewed now."), "error")
        return redirect(url_for("shop.order", order_id=order_id))
    error = None
    status = 200
    if request.method == "POST":
        rating = form_int("rating", 0)
        try:
            images = _review_uploads(service)
            service.post_review(
                current_user,
                line,
                rating,
                (request.form.get("content") or "").strip(),
                bool(request.form.get("anonymous")),
                images=images,
            )
        except (service.ReviewError, media.MediaError) as exc:
            db.session.rollback()
            error = {"field": getattr(exc, "field", None), "message": error_text(exc)}
            status = exc.status if exc.status in (413, 422) else 422
        else:
            db.session.commit()
            flash(_("Thanks for your review!"), "success")
            return redirect(url_for("shop.order", order_id=order_id))
    return render_template(
        "shop/review_form.html", order=order, line=line, error=error, form=request.form, max_images=service.MAX_IMAGES
    ), status


def _review_uploads(service) -> list[int]:
    """The review form's pictures (file field ``images``, several), stored
    as the buyer's uploads in the request's transaction (flushed, not
    committed: a refused review keeps none of them). Ids, in order."""
    files = [f for f in request.files.getlist("images") if f and f.filename]
    if len(files) > service.MAX_IMAGES:
        raise service.ReviewError("images", _("A review has at most %(n)d pictures.", n=service.MAX_IMAGES))
    owner = media.buyer_owner(current_user.id)
    return [media.upload(f, owner, user_id=current_user.id, field="images", commit_now=False).id for f in files]
