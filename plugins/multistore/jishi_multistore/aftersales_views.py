"""Merchant console "After-sales": the merchant's own refund and return
requests (list, detail, approve, reject, goods received back)."""

from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user
from jishi.aftersales import service as kernel
from jishi.forms import form_int, form_outcome

from jishi_multistore import aftersales as svc
from jishi_multistore.blueprints import merchant as merchant_bp
from jishi_multistore.principal import current_principal, merchant, merchant_page

PAGE = 30


def _refund(refund_id: int):
    try:
        return svc.merchant_refund(merchant().id, refund_id)
    except svc.RefundNotFound:
        abort(404)


@merchant_bp.get("/refunds")
@merchant_page("aftersales")
def refunds():
    status = request.args.get("status", "")
    before = form_int("before", source=request.args, minimum=1)
    rows, nxt = svc.list_refunds(merchant().id, status or None, before, PAGE)
    more_url = url_for("merchant.refunds", status=status, before=nxt) if nxt else None
    return render_template(
        "multistore/aftersales/merchant_list.html",
        principal=current_principal(),
        refunds=rows,
        status=status,
        statuses=svc.STATUSES,
        more_url=more_url,
    )


@merchant_bp.get("/refunds/<int:refund_id>")
@merchant_page("aftersales")
def refund(refund_id: int):
    r = _refund(refund_id)
    return render_template(
        "multistore/aftersales/merchant_detail.html",
        principal=current_principal(),
        refund=r,
        notes=kernel.notes(r),
    )


def _act(refund_id: int, action: str, text: str = ""):
    r = _refund(refund_id)
    with form_outcome():
        svc.act(r, action, actor=current_user, text=text)
    return redirect(url_for("merchant.refund", refund_id=refund_id))


@merchant_bp.post("/refunds/<int:refund_id>/approve")
@merchant_page("aftersales")
def refund_approve(refund_id: int):
    return _act(refund_id, "approve", request.form.get("note", ""))


@merchant_bp.post("/refunds/<int:refund_id>/reject")
@merchant_page("aftersales")
def refund_reject(refund_id: int):
    return _act(refund_id, "reject", request.form.get("reason", ""))


@merchant_bp.post("/refunds/<int:refund_id>/confirm-returned")
@merchant_page("aftersales")
def refund_confirm_returned(refund_id: int):
    return _act(refund_id, "confirm-returned", request.form.get("note", ""))
