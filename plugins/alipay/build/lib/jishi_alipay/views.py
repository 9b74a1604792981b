"""The platform console's Alipay page (``/console/alipay``, platform admins
only): the account's configuration. The private key is never shown back
(only the fingerprint of its public half); an empty submit keeps it."""

from __future__ import annotations

import re

from flask import Blueprint, flash, redirect, render_template, request, url_for
from jishi import settings
from jishi.access import ADMIN_ONLY, guard_platform, requires
from jishi.db import db
from jishi.i18n import gettext as _

from jishi_alipay import config, wire

admin = Blueprint("alipay_admin", __name__, url_prefix="/console/alipay")
guard_platform(admin)

APP_ID = re.compile(r"[0-9]{8,32}")
SELLER_ID = re.compile(r"2088[0-9]{12}")


def _form_values() -> dict:
    return {
        "enabled": bool(settings.get(config.ENABLED, False)),
        "app_id": config.raw(config.APP_ID),
        "alipay_public_key": config.raw(config.PUBLIC_KEY),
        "seller_id": config.raw(config.SELLER_ID),
        "mini_program_app_id": config.raw(config.MINI_APP_ID),
        "gateway_url": config.raw(config.GATEWAY_URL),
        "profit_sharing": bool(settings.get(config.PROFIT_SHARING, False)),
    }


def validate(form) -> tuple[dict, dict]:
    """The posted configuration → (settings to store, errors by field)."""
    errors: dict[str, str] = {}
    values: dict = {}
    enabled = bool(form.get("enabled"))
    app_id = (form.get("app_id") or "").strip()
    if app_id and not APP_ID.fullmatch(app_id):
        errors["app_id"] = _("The APPID is the digits Alipay's open platform shows for the application.")
    values[config.APP_ID] = app_id
    mini = (form.get("mini_program_app_id") or "").strip()
    if mini and not APP_ID.fullmatch(mini):
        errors["mini_program_app_id"] = _("The mini-program's app id is digits, like the APPID.")
    values[config.MINI_APP_ID] = mini
    seller = (form.get("seller_id") or "").strip()
    if seller and not SELLER_ID.fullmatch(seller):
        errors["seller_id"] = _("The seller id (PID) is 16 digits starting with 2088.")
    values[config.SELLER_ID] = seller
    url = (form.get("gateway_url") or "").strip()
    if url and not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", url):
        errors["gateway_url"] = _("Enter the gateway's URL, such as %(url)s.", url=config.PRODUCTION_URL)
    values[config.GATEWAY_URL] = url
    private = (form.get("app_private_key") or "").strip()
    if private:  # empty: keep the stored key
        try:
            wire.load_private_key(private)
            values[config.PRIVATE_KEY] = private
        except wire.BadKey as exc:
            errors["app_private_key"] = _("The application private key cannot be read: %(reason)s", reason=str(exc))
    public = (form.get("alipay_public_key") or "").strip()
    if public:
        try:
            wire.load_public_key(public)
        except wire.BadKey as exc:
            errors["alipay_public_key"] = _("Alipay's public key cannot be read: %(reason)s", reason=str(exc))
    values[config.PUBLIC_KEY] = public
    values[config.PROFIT_SHARING] = bool(form.get("profit_sharing"))
    values[config.ENABLED] = enabled
    if enabled and not errors:
        missing = [
            name
            for name, present in (
                ("app_id", app_id),
                ("app_private_key", private or config.raw(config.PRIVATE_KEY)),
                ("alipay_public_key", public),
            )
            if not present
        ]
        for name in missing:
            errors[name] = _("Needed to turn Alipay on.")
    return values, errors


@admin.route("/", methods=["GET", "POST"], endpoint="settings")
@requires(ADMIN_ONLY)
def settings_page():
    errors: dict = {}
    form = _form_values()
    if request.method == "POST":
        values, errors = validate(request.form)
        if not errors:
            settings.set_many(values)
            db.session.commit()
            flash(_("Alipay settings saved."), "success")
            return redirect(url_for("alipay_admin.settings"))
        db.session.rollback()
        form = {k: request.form.get(k, "") for k in form}
        form["enabled"] = bool(request.form.get("enabled"))
        form["profit_sharing"] = bool(request.form.get("profit_sharing"))
    return render_template(
        "alipay/settings.html",
        form=form,
        errors=errors,
        private_key=config.masked(config.PRIVATE_KEY),
        effective_url=config.gateway_url(),
        production_url=config.PRODUCTION_URL,
        sandbox_url=config.SANDBOX_URL,
        test_mode=config.gateway_url() != config.PRODUCTION_URL,
        ready=config.current() is not None,
    ), (422 if errors else 200)
