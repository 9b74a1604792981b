"""The platform console's WeChat Pay keys page (``/console/wechatpay/keys``).

The secrets (the merchant's private key, the APIv3 key) are never shown
back: the page shows a masked hint, and an empty field keeps the stored
value. Platform admins only (the keys move money). The plain settings
(mchid, app ids...) are in the "WeChat Pay" settings panel.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from jishi import settings
from jishi.access import ADMIN_ONLY, guard_platform, requires
from jishi.db import db
from jishi.errors import DomainError
from jishi.i18n import gettext as _

from jishi_wechatpay import config, crypto

admin = Blueprint("wechatpay_admin", __name__, url_prefix="/console/wechatpay")
guard_platform(admin)


def missing(cfg: config.Config) -> list[str]:
    """What keeps WeChat Pay from being offered, in words."""
    out = []
    if not config.enabled():
        out.append(_("WeChat Pay is turned off in the settings."))
    for value, label in (
        (cfg.mchid, _("Merchant ID (mchid)")),
        (cfg.serial_no, _("Merchant API certificate serial number")),
        (cfg.appid or cfg.mini_appid, _("An AppID")),
        (cfg.platform_key_id, _("Public key ID or platform certificate serial number")),
        (cfg.private_key_pem, _("Merchant private key")),
        (cfg.apiv3_key, _("APIv3 key")),
        (cfg.platform_key_pem, _("WeChat Pay public key or platform certificate")),
    ):
        if not value:
            out.append(_("Missing: %(what)s.", what=label))
    return out


def save_keys(form) -> None:
    """Check and store what was typed; an empty secret keeps the old one."""
    values: dict[str, str] = {}
    private = (form.get("private_key") or "").strip()
    if private:
        try:
            crypto.load_private_key(private)
        except crypto.CryptoError:
            raise DomainError("private_key", _("Not an RSA private key in PEM form (apiclient_key.pem).")) from None
        values[config.PRIVATE_KEY] = private
    apiv3 = form.get("apiv3_key") or ""
    if apiv3.strip():
        if len(apiv3.strip().encode()) != 32:
            raise DomainError("apiv3_key", _("The APIv3 key is 32 characters long."))
        values[config.APIV3_KEY] = apiv3.strip()
    platform = (form.get("platform_key") or "").strip()
    if platform:
        try:
            crypto.load_public_key(platform)
        except crypto.CryptoError:
            raise DomainError(
                "platform_key", _("Not a WeChat Pay public key or platform certificate in PEM form.")
            ) from None
        values[config.PLATFORM_KEY] = platform
        if "CERTIFICATE" in platform and not settings.get(config.PLATFORM_KEY_ID, ""):
            values[config.PLATFORM_KEY_ID] = crypto.certificate_serial(platform)
    elif "platform_key" in form:
        values[config.PLATFORM_KEY] = ""
    settings.set_many(values)


@admin.route("/keys", methods=["GET", "POST"])
@requires(ADMIN_ONLY)
def keys():
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            save_keys(request.form)
        except DomainError as exc:
            db.session.rollback()
            errors[exc.field or "form"] = exc.message
        else:
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("wechatpay_admin.keys"))
    cfg = config.load()
    page = render_template(
        "wechatpay/keys.html",
        cfg=cfg,
        errors=errors,
        missing=missing(cfg),
        private_hint=config.key_hint(cfg.private_key_pem),
        apiv3_hint=config.masked(cfg.apiv3_key),
        test_mode=cfg.base != config.PRODUCTION_BASE,
    )
    return page, (422 if errors else 200)
