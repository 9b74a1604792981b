"""The platform's member level ladder in the console (``/console/points/levels``):
list, create, edit and delete levels (permission ``marketing``). A refused
form answers 422 with the page, the error naming its field; nothing is
written. Every change re-levels the buyers it concerns (see :mod:`.levels`)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from jishi.access import guard_platform, requires
from jishi.db import commit, rollback
from jishi.errors import DomainError
from jishi.i18n import gettext as _

from jishi_points import levels

admin = Blueprint("points_levels_admin", __name__, url_prefix="/console/points/levels")
guard_platform(admin)

FIELDS = ("name", "threshold", "discount", "points_percent", "member_price")
FORM_FIELD = {"discount_bp": "discount"}  # the service's field -> the form's input


def _values(level) -> dict:
    if level is None:
        return {"name": "", "threshold": "", "discount": "0", "points_percent": "100", "member_price": False}
    return {
        "name": level.name,
        "threshold": str(level.threshold),
        "discount": _percent_text(level.discount_bp),
        "points_percent": str(level.points_percent),
        "member_price": level.member_price,
    }


def _percent_text(bp: int) -> str:
    return levels.number_text(bp)


def _form_data(form) -> dict:
    return {
        "name": form.get("name", ""),
        "threshold": form.get("threshold", ""),
        "discount_bp": levels.parse_percent_bp(form.get("discount", ""), "discount_bp"),
        "points_percent": form.get("points_percent", ""),
        "member_price": form.get("member_price") in ("1", "on", "true"),
    }


def _level_or_404(level_id: int):
    level = levels.get_level(level_id)
    if level is None:
        abort(404)
    return level


@admin.route("")
@requires("marketing")
def index():
    return render_template("points/levels_admin.html", ladder=levels.ladder(), percent_text=_percent_text)


@admin.route("/new", methods=["GET", "POST"])
@requires("marketing")
def new():
    return _form(None)


@admin.route("/<int:level_id>", methods=["GET", "POST"])
@requires("marketing")
def edit(level_id: int):
    return _form(_level_or_404(level_id))


def _form(level):
    values, error = _values(level), None
    if request.method == "POST":
        try:
            levels.save_level(_form_data(request.form), level)
        except DomainError as exc:
            rollback()
            error = DomainError(FORM_FIELD.get(exc.field or "", exc.field), exc.message, exc.code)
            values = {k: request.form.get(k, "") for k in FIELDS}
            values["member_price"] = request.form.get("member_price") in ("1", "on", "true")
        else:
            commit()
            flash(_("Saved."), "success")
            return redirect(url_for("points_levels_admin.index"))
    return render_template("points/levels_form.html", level=level, values=values, error=error), (422 if error else 200)


@admin.route("/<int:level_id>/delete", methods=["POST"])
@requires("marketing")
def delete(level_id: int):
    try:
        levels.delete_level(_level_or_404(level_id))
    except DomainError as exc:
        rollback()
        flash(exc.message, "error")
        return redirect(url_for("points_levels_admin.index"))
    commit()
    flash(_("Deleted."), "success")
    return redirect(url_for("points_levels_admin.index"))
