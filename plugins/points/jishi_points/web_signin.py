"""The buyer's sign-in page (签到), blueprint ``points_signin``:

- ``GET /account/points/signin?month=YYYY-MM``: the month as a calendar
  grid (the days signed in with their points), the streak, what today and
  tomorrow give, and the sign-in button.
- ``POST /account/points/signin``: sign in for today (CSRF token like every
  form); then back to the calendar with a message. Signing in twice the
  same day says so and gives nothing more.

The buyer is the signed-in user; an anonymous visitor is sent to sign in.
"""

from __future__ import annotations

import calendar as pycalendar

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from jishi.db import commit, rollback
from jishi.errors import DomainError
from jishi.forms import flash_error
from jishi.i18n import gettext as _

from jishi_points import earning, signin

bp = Blueprint("points_signin", __name__)


@bp.get("/account/points/signin")
@login_required
def page():
    """The month's calendar (a bad ``month`` shows this month, 422, naming it)."""
    status = 200
    try:
        year, month = signin.parse_month(request.args.get("month"))
    except DomainError as exc:
        flash_error(exc)
        status = 422
        year, month = signin.parse_month(None)
    cal = signin.calendar(current_user.id, year, month)
    weeks = pycalendar.Calendar(firstweekday=0).monthdatescalendar(year, month)
    rule = {
        "points": earning.setting(earning.SIGNIN_POINTS),
        "step": earning.setting(earning.SIGNIN_STEP),
        "cap": earning.setting(earning.SIGNIN_STEP_CAP),
        "week": earning.setting(earning.SIGNIN_WEEK_BONUS),
    }
    return render_template("points/signin.html", cal=cal, weeks=weeks, signed=cal.by_day, rule=rule), status


@bp.post("/account/points/signin")
@login_required
def sign_in():
    try:
        row, created = signin.sign_in(current_user.id)
    except DomainError as exc:
        rollback()
        flash_error(exc)
        return redirect(url_for("points_signin.page"))
    commit()
    if created:
        flash(
            _("Signed in: +%(points)d points, day %(days)d in a row.", points=row.points, days=row.streak),
            "success",
        )
    else:
        flash(_("You have already signed in today. Come back tomorrow."), "info")
    return redirect(url_for("points_signin.page"))
