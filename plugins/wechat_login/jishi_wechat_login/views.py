"""Website QR sign-in (WeChat OAuth2 ``qrconnect``) and the account's
WeChat bindings. Errors answer as pages."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from jishi.access import login_redirect, rate_limit
from jishi.accounts import external
from jishi.db import rollback
from jishi.forms import safe_next
from jishi.i18n import gettext as _

from jishi_wechat_login import client, service
from jishi_wechat_login.blueprints import web
from jishi_wechat_login.models import MINI_PROGRAM

SESSION_KEY = "wechat_login_nonce"
_limit = rate_limit(lambda: current_app.config["JISHI_LOGIN_RATE_LIMIT"], scope="wechat-login-web")


def _local(target: str) -> str:
    parts = urlsplit(target or "")
    if target and not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
        return target
    return ""


def is_staff_path(target: str) -> bool:
    """Whether ``next`` is a console page (a merchant member signing in, seed 001 §3.2)."""
    path = urlsplit(target or "").path
    return any(
        path == p or path.startswith(p.rstrip("/") + "/") for p in current_app.config["JISHI_WECHAT_LOGIN_STAFF_PATHS"]
    )


def _message(title: str, message: str, status: int):
    return render_template("wechat_login/message.html", title=title, message=message), status


def _unavailable(exc: Exception):
    current_app.logger.warning("WeChat sign-in: %s", exc)
    if isinstance(exc, client.WeChatUnavailable) and exc.bad_gateway:
        status = 502
    elif isinstance(exc, client.WeChatError) and not exc.busy:
        status = 502
    else:
        status = 503
    return _message(_("WeChat sign-in"), _("WeChat is not answering right now. Please try again in a moment."), status)


def _start(purpose: str, next_url: str):
    try:
        application = service.app("web")
    except service.NotConfigured:
        return _message(_("WeChat sign-in"), _("WeChat sign-in is not set up on this site."), 503)
    state = service.new_state(purpose, next_url, current_user if purpose == "bind" else None)
    session[SESSION_KEY] = service.nonce_of(state)
    redirect_uri = url_for("wechat_login.callback", _external=True)
    return redirect(client.qrconnect_url(application.appid, redirect_uri, state))


@web.get("/wechat/login")
@_limit
def start():
    """Go to WeChat's QR page; back at :func:`callback`. A ``next`` inside a
    console (``JISHI_WECHAT_LOGIN_STAFF_PATHS``) signs in bound accounts only."""
    next_url = safe_next("")
    purpose = "staff" if is_staff_path(next_url) or request.args.get("as") == "staff" else "login"
    return _start(purpose, next_url)


@web.get("/wechat/callback")
@_limit
def callback():
    """WeChat sends the visitor back with ``code`` and ``state`` (no
    ``code`` when they refused)."""
    expected = session.pop(SESSION_KEY, None)
    row = service.use_state(request.args.get("state", ""), expected)
    if row is None:
        return _message(_("WeChat sign-in"), _("This sign-in link is invalid or has expired. Please start again."), 400)
    code = request.args.get("code", "")
    if not code:
        return _message(_("WeChat sign-in"), _("WeChat sign-in was cancelled."), 400)
    try:
        application = service.app("web")
        token = client.oauth_access_token(application.appid, application.secret, code)
        info = client.userinfo(token["access_token"], token["openid"])
    except service.NotConfigured:
        return _message(_("WeChat sign-in"), _("WeChat sign-in is not set up on this site."), 503)
    except client.WeChatError as exc:
        if exc.bad_code:
            return _message(
                _("WeChat sign-in"), _("This sign-in link is invalid or has expired. Please start again."), 400
            )
        return _unavailable(exc)
    except client.WeChatUnavailable as exc:
        return _unavailable(exc)
    openid = token["openid"]
    unionid = token.get("unionid") or info.get("unionid") or None
    nickname = str(info.get("nickname") or "")[:60]
    next_url = _local(row.next_url)
    try:
        if row.purpose == "bind":
            if not current_user.is_authenticated or current_user.id != row.user_id:
                return _message(_("WeChat sign-in"), _("Sign in to the account you started binding from."), 403)
            service.bind(current_user, application, openid, unionid)
            flash(_("Your account is now bound to WeChat."), "success")
            return redirect(url_for("wechat_login.account"))
        if row.purpose == "staff":
            user = service.find_user(application, openid, unionid)
            if user is None:
                return _message(
                    _("WeChat sign-in"),
                    _(
                        "This WeChat account is not bound to any account. Sign in with your phone number, "
                        "then bind WeChat from your account page."
                    ),
                    403,
                )
        else:
            user, _new = service.sign_in_or_register(application, openid, unionid, nickname)
    except service.WeChatLoginError as exc:
        rollback()
        return _message(_("WeChat sign-in"), exc.message, exc.status)
    external.sign_in(user)
    return redirect(next_url or url_for("shop.index"))


# --- The account's bindings ---------------------------------------------------------


@web.get("/wechat/account")
def account():
    if not current_user.is_authenticated:
        return login_redirect()
    return render_template(
        "wechat_login/account.html",
        identities=service.identities(current_user),
        web_ready=service.configured("web"),
        has_phone=external.has_phone(current_user),
        MINI_PROGRAM=MINI_PROGRAM,
    )


@web.post("/wechat/account/bind")
@_limit
def bind():
    if not current_user.is_authenticated:
        return login_redirect()
    return _start("bind", url_for("wechat_login.account"))


@web.post("/wechat/account/<int:identity_id>/unbind")
def unbind(identity_id: int):
    if not current_user.is_authenticated:
        return login_redirect()
    try:
        done = service.unbind(current_user, identity_id)
    except service.WeChatLoginError as exc:
        rollback()
        flash(exc.message, "error")
        return redirect(url_for("wechat_login.account"))
    if not done:
        return _message(_("WeChat sign-in"), _("Not found."), 404)
    flash(_("The WeChat binding was removed."), "success")
    return redirect(url_for("wechat_login.account"))
