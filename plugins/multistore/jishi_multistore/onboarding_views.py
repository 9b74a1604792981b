"""Onboarding pages (MS2, MS3): the member's application page
(``/shops/apply``, linked from the account page) and the platform's
applications and rules pages (``/console/multistore/...``)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from jishi.access import requires
from jishi.db import commit, rollback
from jishi.errors import DomainError
from jishi.forms import form_int, form_outcome
from jishi.i18n import gettext as _

from jishi_multistore import onboarding as service
from jishi_multistore.blueprints import admin, shop
from jishi_multistore.models import REVIEW_STATUSES


@shop.route("/shops/apply", methods=["GET", "POST"], endpoint="apply")
@login_required
def apply_page():
    """Apply to open a shop; afterwards the page shows the review result."""
    m = service.application_of(current_user)
    error = None
    form = {}
    status = 200
    if request.method == "POST":
        form = request.form
        data = {
            "name": form.get("name", ""),
            "category": form.get("category", ""),
            "agree": form.get("agree") == "1",
            "fields": {f.key: form.get(f"field_{f.key}", "") for f in service.fields()},
        }
        try:
            m = service.apply(current_user, data)
            commit()
        except DomainError as exc:
            rollback()
            error, status = exc, (exc.status if exc.status < 500 else 422)
            m = service.application_of(current_user)
        else:
            flash(
                _("Your application has been submitted.") if m.review_status == "pending" else _("Your shop is open."),
                "success",
            )
            return redirect(url_for("multistore.apply"))
    can_apply = m is None or m.review_status == "rejected"
    return render_template(
        "multistore/onboarding/apply.html",
        application=m,
        can_apply=can_apply,
        fields=service.fields(),
        agreement=service.agreement(),
        error=error,
        form=form,
        labels=service.review_status_labels(),
    ), status


# --- Platform: applications --------------------------------------------------------


@admin.get("/applications", endpoint="applications")
@requires("merchants")
def applications():
    status = request.args.get("status", "pending")
    if status not in REVIEW_STATUSES:
        status = ""
    items, next_id = service.list_applications(status or None, request.args.get("q"), form_int("after_id", minimum=1))
    more_url = (
        url_for("multistore_admin.applications", status=status, q=request.args.get("q", ""), after_id=next_id)
        if next_id
        else None
    )
    return render_template(
        "multistore/onboarding/applications.html",
        items=items,
        status=status,
        q=request.args.get("q", ""),
        more_url=more_url,
        labels=service.review_status_labels(),
    )


def _application(merchant_id: int):
    m = service.get_application(merchant_id)
    if m is None:
        abort(404)
    return m


@admin.get("/applications/<int:merchant_id>", endpoint="application")
@requires("merchants")
def application(merchant_id):
    return render_template(
        "multistore/onboarding/application.html",
        m=_application(merchant_id),
        fields=service.fields(),
        labels=service.review_status_labels(),
    )


@admin.post("/applications/<int:merchant_id>/approve", endpoint="application_approve")
@requires("merchants")
def application_approve(merchant_id):
    m = _application(merchant_id)
    with form_outcome(_("Approved.")):
        service.approve(m, current_user)
    return redirect(url_for("multistore_admin.application", merchant_id=merchant_id))


@admin.post("/applications/<int:merchant_id>/reject", endpoint="application_reject")
@requires("merchants")
def application_reject(merchant_id):
    m = _application(merchant_id)
    with form_outcome(_("Rejected.")):
        service.reject(m, request.form.get("reason", ""), current_user)
    return redirect(url_for("multistore_admin.application", merchant_id=merchant_id))


# --- Platform: rules ---------------------------------------------------------------


@admin.route("/onboarding", methods=["GET", "POST"], endpoint="onboarding_rules")
@requires("merchants")
def onboarding_rules():
    if request.method == "POST":
        with form_outcome():
            service.set_rules(
                agreement_text=request.form.get("agreement", ""), review=request.form.get("review") == "1"
            )
        return redirect(url_for("multistore_admin.onboarding_rules"))
    return render_template(
        "multistore/onboarding/rules.html",
        agreement=service.agreement(),
        review=service.review_enabled(),
        fields=service.fields(),
        kinds=service.field_kind_labels(),
    )


def _field_form() -> dict:
    f = request.form
    data = {
        "key": f.get("key", "").strip(),
        "label": f.get("label", ""),
        "kind": f.get("kind", "text"),
        "required": f.get("required") == "1",
        "editable": f.get("editable") == "1",
    }
    data["sort"] = form_int("sort", 0, source=f)
    return data


@admin.post("/onboarding/fields", endpoint="field_create")
@requires("merchants")
def field_create():
    with form_outcome(_("Field added.")):
        service.save_field(_field_form())
    return redirect(url_for("multistore_admin.onboarding_rules"))


def _field(field_id: int):
    field = service.get_field(field_id)
    if field is None:
        abort(404)
    return field


@admin.post("/onboarding/fields/<int:field_id>", endpoint="field_update")
@requires("merchants")
def field_update(field_id):
    field = _field(field_id)
    with form_outcome():
        service.save_field(_field_form(), field)
    return redirect(url_for("multistore_admin.onboarding_rules"))


@admin.post("/onboarding/fields/<int:field_id>/delete", endpoint="field_delete")
@requires("merchants")
def field_delete(field_id):
    field = _field(field_id)
    with form_outcome(_("Field deleted.")):
        service.delete_field(field)
    return redirect(url_for("multistore_admin.onboarding_rules"))
