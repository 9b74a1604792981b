"""Profit sharing pages (issue 14, :mod:`.sharing`).

Merchant console (permission ``money``): ``/merchant/finance/sharing`` (the
platform's settlement mode, a receiver account per gateway that shares —
bind / unbind — and the merchant's shares and returns with status and
error). Platform console (``money``): ``/console/multistore/profit-sharing``
(every share and return, filterable by status, kind and merchant; retry a
failed one now, release a refused share to withdrawal).
"""

from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user
from jishi.access import requires
from jishi.db import db
from jishi.forms import form_int, form_outcome
from jishi.i18n import gettext as _
from sqlalchemy import select

from jishi_multistore import ledger, sharing
from jishi_multistore.blueprints import admin
from jishi_multistore.blueprints import merchant as merchant_bp
from jishi_multistore.models import Merchant, ProfitShare
from jishi_multistore.principal import current_principal, merchant, merchant_page


def _choice(name: str, allowed) -> str | None:
    value = request.args.get(name) or None
    return value if value in allowed else None


@merchant_bp.get("/finance/sharing", endpoint="sharing")
@merchant_page("money")
def sharing_page():
    m = merchant()
    return render_template(
        "multistore/sharing/merchant_sharing.html",
        mode=sharing.mode(),
        gateways=sharing.sharing_gateways(),
        receivers=sharing.receivers(m.id),
        receiver_types=sharing.receiver_types,
        balances=ledger.balances(m.id),
        rows=sharing.list_rows(merchant_id=m.id, limit=100),
        read_only=current_principal().read_only,
    )


@merchant_bp.post("/finance/sharing/<gateway>/bind", endpoint="sharing_bind")
@merchant_page("money")
def sharing_bind(gateway):
    with form_outcome(_("Receiver account bound.")):
        sharing.bind(merchant(), current_user, gateway, request.form)
    return redirect(url_for("merchant.sharing"))


@merchant_bp.post("/finance/sharing/<gateway>/unbind", endpoint="sharing_unbind")
@merchant_page("money")
def sharing_unbind(gateway):
    with form_outcome(_("Receiver account removed.")):
        sharing.unbind(merchant(), gateway)
    return redirect(url_for("merchant.sharing"))


@admin.get("/profit-sharing", endpoint="profit_sharing")
@requires("money")
def profit_sharing_page():
    status = _choice("status", sharing.STATUSES)
    kind = _choice("kind", ("share", "return"))
    merchant_id = form_int("merchant_id", source=request.args, minimum=1)
    rows = sharing.list_rows(merchant_id=merchant_id, status=status, kind=kind, limit=200)
    names = dict(
        db.session.execute(
            select(Merchant.id, Merchant.name).where(Merchant.id.in_({r.merchant_id for r in rows}))
        ).all()
    )
    return render_template(
        "multistore/sharing/admin_sharing.html",
        rows=rows,
        names=names,
        status=status,
        kind=kind,
        merchant_id=merchant_id,
        statuses=sharing.STATUSES,
        mode=sharing.mode(),
        failed=sharing.failed_count(),
    )


@admin.post("/profit-sharing/<int:share_id>/<action>", endpoint="profit_sharing_action")
@requires("money")
def profit_sharing_action(share_id, action):
    row = db.session.get(ProfitShare, share_id)
    if row is None or action not in ("retry", "release"):
        abort(404)
    if action == "retry":
        outcome: list[str] = []
        with form_outcome(lambda: _("Sent again: %(status)s.", status=outcome[0])):
            outcome.append(sharing.retry_now(row))
    else:
        with form_outcome(_("Released: the amount is withdrawable by the merchant.")):
            sharing.release(row)
    return redirect(url_for("multistore_admin.profit_sharing"))
