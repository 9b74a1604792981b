"""The platform console (blueprint "console", /console): dashboard, reports,
users and settings here; catalog and sales pages in their own modules."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import abort, current_app, flash, redirect, render_template, request, url_for

from jishi import roles as roles_mod
from jishi import settings
from jishi.access import platform_can
from jishi.accounts.models import ROLES, MemberLevel, User
from jishi.console.common import admin_only, bp, developer_page, requires
from jishi.db import db, utcnow
from jishi.i18n import gettext as _
from jishi.i18n import shop_day_bounds, to_shop_time
from jishi.money import MoneyError, parse_percent, parse_yuan
from jishi.web.common import form_int, form_outcome


def _reports():
    from jishi.reports import service

    return service


def _range() -> tuple[date, date]:
    """The report range from ?start=YYYY-MM-DD&end=YYYY-MM-DD (default: the last 30 days)."""
    today = to_shop_time(utcnow()).date()
    try:
        end = date.fromisoformat(request.args.get("end", "")) if request.args.get("end") else today
        start = (
            date.fromisoformat(request.args.get("start", "")) if request.args.get("start") else end - timedelta(days=29)
        )
    except ValueError:
        flash(_("Dates look like 2026-01-31."), "error")
        end, start = today, today - timedelta(days=29)
    if start > end:
        start, end = end, start
    return start, end


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    lo, hi = shop_day_bounds(start, end)
    assert lo is not None and hi is not None
    return lo, hi


@bp.get("/")
@requires(None)
def dashboard():
    """The platform's home: today's and the last 7 days' figures and the
    to-do counts (``console_todos``)."""
    from jishi.models import SignalFailure

    failures = (
        db.session.execute(db.select(db.func.count(SignalFailure.id))).scalar_one()
        if current_app.config.get("JISHI_DEVELOPER_PAGES")
        else 0
    )
    service = _reports()
    start, end = service.report_range()
    return render_template(
        "console/dashboard.html",
        figures=service.home_figures(),
        failures=failures,
        trend=service.report_trend(start, end) if platform_can("data") else None,
    )


def _grain() -> str:
    grain = request.args.get("grain", "day")
    return grain if grain in ("day", "week", "month") else "day"


@bp.get("/reports")
@requires("data")
def reports():
    """Issue 19: overview with the previous period, trend, funnel by unique
    visitor, products and the plugins' sections, from the daily aggregates."""
    start, end = _range()
    grain = _grain()
    return render_template(
        "console/reports.html",
        start=start,
        end=end,
        grain=grain,
        r=_reports().report_data(start, end, 0, grain),
    )


@bp.get("/reports/<section>.<fmt>")
@requires("data")
def report_section_export(section: str, fmt: str):
    """One report section as CSV or XLSX (issue 19)."""
    start, end = _range()
    service = _reports()
    table = service.report_table(section, start, end, 0, _grain()) if fmt in ("csv", "xlsx") else None
    if table is None:
        abort(404)
    name = f"jishi-{table.key}-{start.isoformat()}-{end.isoformat()}"
    if fmt == "xlsx":
        return current_app.response_class(
            service.table_xlsx(table),
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": f"attachment; filename={name}.xlsx"},
        )
    return current_app.response_class(
        service.table_csv(table),
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": f"attachment; filename={name}.csv"},
    )


@bp.get("/reports/export.<fmt>")
@requires("data")
def reports_export(fmt: str):
    start, end = _range()
    service = _reports()
    lo, hi = _bounds(start, end)
    name = f"jishi-report-{start.isoformat()}-{end.isoformat()}"
    if fmt == "csv":
        body = service.export_csv(lo, hi)
        return current_app.response_class(
            body,
            mimetype="text/csv; charset=utf-8",
            headers={"Content-Disposition": f"attachment; filename={name}.csv"},
        )
    if fmt == "xlsx":
        body = service.export_xlsx(lo, hi)
        return current_app.response_class(
            body,
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": f"attachment; filename={name}.xlsx"},
        )
    abort(404)


# -- failed signal receivers ---------------------------------------------------


@bp.get("/signal-failures")
@admin_only
@developer_page
def signal_failures():
    """Receivers of domain events that raised (see :mod:`jishi.signals`):
    the event happened, a plugin's reaction to it did not."""
    from jishi.models import SignalFailure

    rows = db.session.execute(db.select(SignalFailure).order_by(SignalFailure.id.desc()).limit(200)).scalars().all()
    return render_template("console/signal_failures.html", failures=rows)


@bp.post("/signal-failures/<int:failure_id>/dismiss")
@admin_only
@developer_page
def signal_failure_dismiss(failure_id: int):
    from jishi.models import SignalFailure

    row = db.session.get(SignalFailure, failure_id)
    if row is None:
        abort(404)
    db.session.delete(row)
    db.session.commit()
    flash(_("Dismissed."), "success")
    return redirect(url_for("console.signal_failures"))


# -- timed jobs ----------------------------------------------------------------


@bp.get("/jobs")
@admin_only
def jobs():
    """Every timed job (``periodic_jobs``) with its durable schedule: last
    start, success, duration, error, next due (see :mod:`jishi.jobs`)."""
    from jishi.jobs import job_statuses

    statuses = job_statuses(current_app)
    return render_template("console/jobs.html", jobs=statuses, overdue=sum(1 for j in statuses if j.overdue))


# -- users -------------------------------------------------------------------


@bp.get("/users")
@admin_only
def users():
    q = (request.args.get("q") or "").strip()
    role = request.args.get("role", "")
    before = form_int("before", source=request.args)
    query = db.select(User)
    if q:
        query = query.where(User.phone.contains(q) | User.name.contains(q))
    if role in ROLES:
        query = query.where(User.role == role)
    if before:
        query = query.where(User.id < before)
    rows = db.session.execute(query.order_by(User.id.desc()).limit(51)).scalars().all()
    more_url = url_for("console.users", q=q, role=role, before=rows[49].id) if len(rows) > 50 else None
    levels = db.session.execute(db.select(MemberLevel).order_by(MemberLevel.rank)).scalars().all()
    return render_template(
        "console/users.html",
        users=rows[:50],
        q=q,
        role=role,
        roles=ROLES,
        levels=levels,
        more_url=more_url,
        staff_roles=roles_mod.roles_of(None),
    )


@bp.post("/users/<int:user_id>")
@admin_only
def user_save(user_id: int):
    from flask_login import current_user

    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    role = request.form.get("role", user.role)
    if role not in ROLES:
        abort(400)
    if user.id == current_user.id and role != user.role:
        flash(_("You cannot change your own role."), "error")
        return redirect(url_for("console.users"))
    level_id = form_int("member_level_id")
    if level_id is not None and db.session.get(MemberLevel, level_id) is None:
        abort(400)
    staff_role_id = form_int("staff_role_id")
    if staff_role_id is not None and roles_mod.get_role(staff_role_id, None) is None:
        abort(400)
    if "staff_role_id" in request.form:
        user.staff_role_id = staff_role_id if role == "platform_staff" else None
    user.role = role
    user.member_level_id = level_id
    user.is_active = bool(request.form.get("is_active")) or user.id == current_user.id
    db.session.commit()
    flash(_("Saved."), "success")
    return redirect(request.referrer or url_for("console.users"))


# -- staff roles (seed 000 §9 多层级权限) -------------------------------------------


def _role_or_404(role_id: int):
    role = roles_mod.get_role(role_id, None)
    if role is None:
        abort(404)
    return role


@bp.get("/roles")
@admin_only
def roles():
    return render_template(
        "console/roles.html",
        roles=roles_mod.roles_of(None),
        permissions=roles_mod.declared("platform"),
        holders=roles_mod.role_holders(),
    )


@bp.post("/roles")
@admin_only
def role_create():
    with form_outcome():
        roles_mod.save_role(None, request.form.get("name"), request.form.getlist("permissions"))
    return redirect(url_for("console.roles"))


@bp.post("/roles/<int:role_id>")
@admin_only
def role_save(role_id: int):
    role = _role_or_404(role_id)
    with form_outcome():
        roles_mod.save_role(None, request.form.get("name"), request.form.getlist("permissions"), role=role)
    return redirect(url_for("console.roles"))


@bp.post("/roles/<int:role_id>/delete")
@admin_only
def role_delete(role_id: int):
    role = _role_or_404(role_id)
    with form_outcome(_("Role deleted.")):
        roles_mod.delete_role(role, roles_mod.role_holders().get(role.id, 0))
    return redirect(url_for("console.roles"))


@bp.post("/member-levels")
@admin_only
def member_level_save():
    name = (request.form.get("name") or "").strip()
    if not name or len(name) > 40:
        flash(_("A member level needs a name of at most 40 characters."), "error")
    else:
        db.session.add(MemberLevel(name=name, rank=form_int("rank", 1) or 1))
        db.session.commit()
        flash(_("Saved."), "success")
    return redirect(url_for("console.users"))


# -- settings ----------------------------------------------------------------


def _field_value(field, errors: dict):
    """A posted value converted to the setting's kind (money: yuan text ->
    fen; percent: a percentage -> basis points)."""
    raw = request.form.get(field.key)
    if field.kind == "bool":
        return bool(raw)
    raw = (raw or "").strip()
    if field.kind == "int":
        if not raw.removeprefix("-").isdecimal() or len(raw) > 19:  # (int() of 4,301 digits raises)
            errors[field.key] = _("Enter a whole number.")
            return None
        return int(raw)
    if field.kind == "money":
        try:
            return parse_yuan(raw or "0")
        except MoneyError:
            errors[field.key] = _("Prices are amounts in yuan such as 12.50.")
            return None
    if field.kind == "percent":
        try:
            return parse_percent(raw or "0")
        except MoneyError:
            errors[field.key] = _("Enter a percentage from 0 to 100 with at most two decimals, such as 5 or 2.5.")
            return None
    if field.kind == "theme":
        if raw not in current_app.extensions["jishi"].themes:
            errors[field.key] = _("Unknown theme.")
            return None
        return raw
    if field.kind == "image":
        return _image_setting(field.key, raw, errors)
    if field.kind == "choice" and field.choices and raw not in {c[0] for c in field.choices}:
        errors[field.key] = _("Choose one of the options.")
        return None
    return raw


def _image_setting(key: str, raw: str, errors: dict) -> str | None:
    """An image setting's address: the media library's (``media:<id>`` or
    its address) must be the platform's own and is stored as its large
    image's address; any other must be ``http(s)://`` or a path on this
    site (never ``javascript:`` or ``data:``)."""
    from jishi import media

    if not raw:
        return ""
    if len(raw) > 300:
        errors[key] = _("At most %(n)d characters.", n=300)
        return None
    try:
        url = media.resolve_urls([raw], None, key)[0]
    except media.MediaError as exc:
        errors[key] = exc.message
        return None
    if not (url.startswith(("https://", "http://")) or (url.startswith("/") and not url.startswith("//"))):
        errors[key] = _("Pick an image, or enter an address starting with https:// or /.")
        return None
    return url


@bp.route("/settings", methods=["GET", "POST"], endpoint="settings")
@requires("settings")
def settings_page():
    ext = current_app.extensions["jishi"]
    panels = ext.settings_panels()
    errors: dict = {}
    if request.method == "POST":
        panel_key = request.form.get("panel")
        values = {}
        for panel in panels:
            if panel_key and panel.key != panel_key:
                continue
            for field in panel.fields:
                if field.kind == "secret" and not (request.form.get(field.key) or "").strip():
                    continue  # a secret is never shown back: left empty, it keeps its value
                value = _field_value(field, errors)
                if field.key not in errors:
                    values[field.key] = value
            if panel.validate is not None and not any(f.key in errors for f in panel.fields):
                own = {f.key: values[f.key] if f.key in values else settings.get(f.key) for f in panel.fields}
                errors.update(panel.validate(own) or {})
        if not errors:
            settings.set_many(values)
            db.session.commit()
            flash(_("Settings saved."), "success")
            return redirect(url_for("console.settings"))
        db.session.rollback()
    themes = sorted(ext.themes.values(), key=lambda t: t.name)
    return render_template("console/settings.html", panels=panels, themes=themes, errors=errors, value=settings.get), (
        422 if errors else 200
    )


# Register the other console pages on the blueprint.
from jishi.console import catalog, sales  # noqa: E402, F401
