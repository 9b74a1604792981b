"""The sandbox gateway's pages and the kernel's notify endpoint."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request

from jishi.db import commit, db
from jishi.extensions import csrf
from jishi.payments import sandbox, service
from jishi.payments.models import SandboxTrade

bp = Blueprint("payments", __name__)


@bp.get("/sandbox-gateway/pay/<trade_no>")
def gateway_page(trade_no: str):
    trade = db.session.execute(db.select(SandboxTrade).where(SandboxTrade.trade_no == trade_no)).scalar_one_or_none()
    if trade is None:
        abort(404)
    return render_template("payments/gateway.html", trade=trade)


@bp.post("/sandbox-gateway/pay/<trade_no>")
def gateway_pay(trade_no: str):
    """The buyer confirms on the gateway: the gateway marks its trade paid,
    sends the signed notification, and sends the buyer back."""
    trade = db.session.execute(db.select(SandboxTrade).where(SandboxTrade.trade_no == trade_no)).scalar_one_or_none()
    if trade is None:
        abort(404)
    if request.form.get("action") == "cancel" or trade.status == "closed":
        return redirect(trade.return_url)  # a closed trade takes no money
    if trade.status == "created":
        trade.status = "paid"
        commit()
    sandbox.deliver(trade.notify_url, sandbox.notification_for(trade))
    return redirect(trade.return_url)


@bp.post("/payments/notify/<gateway>")
@csrf.exempt
def notify(gateway: str):
    """A gateway's payment notification, routed by path (no query string)."""
    return service.notify(gateway, "payment", request)


@bp.post("/payments/notify/<gateway>/refund")
@csrf.exempt
def notify_refund(gateway: str):
    """A gateway's refund notification."""
    return service.notify(gateway, "refund", request)
