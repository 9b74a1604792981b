"""The platform console's points pages (blueprint ``points_console``,
``/console/points``), for platform staff holding the ``points`` permission
(declared by the plugin's ``permissions`` hook; admins hold it):

- ``/console/points/``: find a buyer (phone, name or id);
- ``/console/points/buyers/<id>``: the buyer's usable and frozen points and
  history; ``POST .../adjust`` adds or takes points with a reason
  (:func:`jishi_points.service.adjust`): bad input is a 4xx page naming the
  field, with nothing written;
- ``/console/points/report``: issued, adjusted, spent, returned, clawed
  back, expired per day of a range, and the outstanding liability in yuan
  (:mod:`.report`); ``/console/points/report.csv`` the same as CSV.

The rules are the settings panel "Points" (Settings → Points).
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from jishi.access import guard_platform, platform_can, requires
from jishi.db import db
from jishi.errors import DomainError
from jishi.i18n import gettext as _
from sqlalchemy import or_, select

from jishi_points import ledger, report, service
from jishi_points.models import PointsAccount

PERMISSION = "points"
SEARCH_LIMIT = 50
SHORT_ID = 6

admin = Blueprint("points_console", __name__, url_prefix="/console/points")
guard_platform(admin)  # every page asks for "points"


@admin.context_processor
def _links():
    return {"can_settings": platform_can("settings")}


def _search(q: str) -> list:
    """Users whose phone or name contains ``q`` (or whose id it is, for a
    number of at most six digits), with their points."""
    from jishi.accounts.models import User

    q = q.strip()[:60]
    if not q:
        return []
    if q.isdecimal() and len(q) <= SHORT_ID:  # a short number is an id (a phone is searched by 7+ digits)
        where = [User.id == int(q)]
    else:
        like = f"%{q.replace('%', '').replace('_', '')}%"
        where = [User.phone.like(like), User.name.like(like)]
    rows = db.session.execute(
        select(User, PointsAccount.balance, PointsAccount.frozen)
        .outerjoin(PointsAccount, PointsAccount.user_id == User.id)
        .where(or_(*where))
        .order_by(User.id)
        .limit(SEARCH_LIMIT)
    ).all()
    return [(u, balance or 0, frozen or 0) for u, balance, frozen in rows]


@admin.get("/")
@requires(PERMISSION)
def index():
    q = request.args.get("q", "")
    return render_template("points/console_index.html", q=q, found=_search(q), searched=bool(q.strip()))


def _buyer_or_404(user_id: int):
    from jishi.accounts.models import User

    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


def _buyer_page(user, *, error: DomainError | None = None, form: dict | None = None, status: int = 200):
    from jishi_points.web import history_page

    raw = request.args.get("before", "")
    before = int(raw) if (raw.isdecimal() and len(raw) <= 10) and 0 < int(raw) < 2**63 else None
    balance, frozen = ledger.balance(user.id)
    lines, next_before = history_page(user.id, before)
    return (
        render_template(
            "points/console_buyer.html",
            buyer=user,
            balance=balance,
            frozen=frozen,
            lines=lines,
            before=before,
            next_before=next_before,
            error=error,
            form=form or {},
        ),
        status,
    )


@admin.get("/buyers/<int:user_id>")
@requires(PERMISSION)
def buyer(user_id):
    return _buyer_page(_buyer_or_404(user_id))


def _points_field(raw: str) -> int:
    text = (raw or "").strip().replace("＋", "+").replace("－", "-")
    digits = text[1:] if text[:1] in "+-" else text
    if not digits.isdecimal() or len(digits) > 9:
        raise DomainError("points", _("Points are a whole number other than 0, at most 10,000,000 either way."))
    return int(text)


@admin.post("/buyers/<int:user_id>/adjust")
@requires(PERMISSION)
def adjust(user_id):
    user = _buyer_or_404(user_id)
    form = {"points": request.form.get("points", ""), "reason": request.form.get("reason", "")}
    try:
        points = _points_field(form["points"])
        service.adjust(user.id, points, form["reason"])
    except DomainError as exc:
        db.session.rollback()
        return _buyer_page(user, error=exc, form=form, status=exc.status if 400 <= exc.status < 500 else 422)
    db.session.commit()
    shown = f"{points:+d}"
    flash(_("Points adjusted: %(points)s.", points=shown), "success")
    return redirect(url_for("points_console.buyer", user_id=user.id))


def _range_or_error():
    try:
        return report.parse_range(request.args.get("start", ""), request.args.get("end", "")), None
    except ValueError as exc:
        field = str(exc)
        label = {"start": _("From"), "end": _("To")}.get(field, field)  # the form's words, not the key
        return None, DomainError(
            field,
            _("%(field)s: a day like 2026-01-31; a range of at most %(days)s days.", field=label, days=report.MAX_DAYS),
        )


@admin.get("/report")
@requires(PERMISSION)
def report_page():
    span, error = _range_or_error()
    if error is not None:
        return render_template("points/console_report.html", report=None, error=error), 400
    assert span is not None
    return render_template("points/console_report.html", report=report.build(*span), error=None)


@admin.get("/report.csv")
@requires(PERMISSION)
def report_csv():
    span, error = _range_or_error()
    if error is not None:
        return current_app.response_class(
            f"{error.field}: {error.message}\n", status=400, mimetype="text/plain; charset=utf-8"
        )
    assert span is not None
    data = report.build(*span)
    name = f"points-{data.start.isoformat()}-{data.end.isoformat()}.csv"
    return current_app.response_class(
        report.csv_text(data),
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": f"attachment; filename={name}"},
    )
