"""The wechat_login plugin object (entry point ``wechat_login``).

Hooks: ``config_defaults`` (WeChat's base URLs, the timeout, the console
paths whose sign-in is for staff), ``settings_panels`` (the mini-program's
and the website application's appid and secret), ``blueprints`` /
``api_blueprints``, ``login_providers`` (the storefront login page's
"WeChat" button, carrying ``next``), ``template_slot`` (``account_links``:
the account page's link to the bindings), ``periodic_jobs`` (old states
purged).
"""

from __future__ import annotations

from typing import Any

from flask import has_request_context, url_for
from jishi.hookspecs import LoginProvider, PeriodicJob, SettingField, SettingsPanel, hookimpl, slots
from jishi.i18n import gettext as _
from jishi.i18n import lazy_gettext as _l
from markupsafe import Markup, escape

from jishi_wechat_login import api as _api  # noqa: F401 - registers the API views
from jishi_wechat_login import (
    models,  # noqa: F401 - the plugin's tables
    service,
)
from jishi_wechat_login import views as _views  # noqa: F401 - registers the pages
from jishi_wechat_login.blueprints import api, web

requires = ()


@hookimpl
def config_defaults():
    return {
        "JISHI_WECHAT_LOGIN_API_BASE": "https://api.weixin.qq.com",
        "JISHI_WECHAT_LOGIN_OPEN_BASE": "https://open.weixin.qq.com",
        "JISHI_WECHAT_LOGIN_TIMEOUT": 5,
        # A sign-in whose ``next`` is under one of these paths is a staff
        # member's (the merchant console): it signs in bound accounts only.
        "JISHI_WECHAT_LOGIN_STAFF_PATHS": ("/merchant", "/seller", "/console"),
    }


@hookimpl
def settings_panels():
    return [
        SettingsPanel(
            "wechat_login",
            _l("WeChat login"),
            (
                SettingField("wechat_login.mp_appid", _l("Mini-program AppID"), help=_l("From mp.weixin.qq.com.")),
                SettingField("wechat_login.mp_secret", _l("Mini-program AppSecret"), kind="secret"),
                SettingField(
                    "wechat_login.web_appid",
                    _l("Website application AppID"),
                    help=_l("The website application of open.weixin.qq.com (QR code sign-in)."),
                ),
                SettingField("wechat_login.web_secret", _l("Website application AppSecret"), kind="secret"),
            ),
            sort=60,
        )
    ]


@hookimpl
def blueprints():
    return [web]


@hookimpl
def api_blueprints():
    return [api]


@hookimpl
def login_providers():
    if not service.configured("web"):
        return []
    args: dict[str, Any] = {}
    if has_request_context():
        from jishi.forms import safe_next

        target = safe_next("")
        if target:
            args["next"] = target
    return [LoginProvider("wechat", _("WeChat"), url=url_for("wechat_login.start", **args))]


@hookimpl
def payer_openid(user, channel):
    """The buyer's openid under the mini-program, for WeChat Pay's
    mini-program payments (the identity its sign-in bound)."""
    if channel != "mini_program" or user is None or getattr(user, "id", None) is None:
        return None
    from jishi import settings
    from jishi.db import db
    from sqlalchemy import select

    from jishi_wechat_login.models import WeChatIdentity

    appid = (settings.get("wechat_login.mp_appid") or "").strip()
    if not appid:
        return None
    return db.session.execute(
        select(WeChatIdentity.openid).where(
            WeChatIdentity.user_id == user.id, WeChatIdentity.app_kind == "mp", WeChatIdentity.appid == appid
        )
    ).scalar()


@hookimpl
@slots("account_links")
def template_slot(slot, context):
    if slot != "account_links":
        return None
    return Markup('<a href="{}">{}</a>').format(url_for("wechat_login.account"), escape(_("WeChat binding")))


@hookimpl
def periodic_jobs():
    return [PeriodicJob("wechat_login.purge_states", service.purge_states, every_seconds=3600)]
