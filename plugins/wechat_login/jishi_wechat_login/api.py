"""Mini-program sign-in: ``wx.login``'s code for a bearer token, and
``getPhoneNumber``'s code for the account's phone number.

WeChat refusing the code answers 422 naming ``code``; WeChat down, timing
out or answering nonsense answers 503 / 502 (``wechat_unavailable`` /
``wechat_bad_gateway``), never a 500.
"""

from __future__ import annotations

from flask import current_app
from flask_login import current_user
from jishi.access import rate_limit
from jishi.accounts import external
from jishi.api.common import ErrorSchema, fail, login_required
from jishi.db import commit, rollback
from jishi.i18n import gettext as _
from marshmallow import Schema, fields, validate

from jishi_wechat_login import client, service
from jishi_wechat_login.blueprints import api

_limit = rate_limit(lambda: current_app.config["JISHI_LOGIN_RATE_LIMIT"], scope="wechat-login-api")


class WeChatCodeArgsSchema(Schema):
    code = fields.String(
        required=True,
        validate=validate.Length(min=1, max=256),
        metadata={"description": "the code of `wx.login` (login) or of the `getPhoneNumber` button (phone)"},
    )


class WeChatLoginSchema(external.TokenSchema):
    is_new = fields.Boolean(metadata={"description": "a new account was created for this WeChat user"})
    has_phone = fields.Boolean(metadata={"description": "the account has a phone number (else offer getPhoneNumber)"})


class WeChatPhoneSchema(Schema):
    token = fields.String(
        allow_none=True,
        metadata={
            "description": "a new bearer token when the sign-in switched to the account that already had this "
            "phone number (use it from now on: the old one is revoked); null when the signed-in account kept it"
        },
    )
    switched = fields.Boolean()
    user = fields.Nested(external.UserSchema)


def _documented(view):
    """The statuses of WeChat failing, in the API document."""
    view = api.alt_response(
        502, schema=ErrorSchema, description="WeChat refused the platform's credentials or answered nonsense"
    )(view)
    return api.alt_response(
        503, schema=ErrorSchema, description="WeChat down, busy or rate limiting; or WeChat login not set up"
    )(view)


def _wechat_failed(exc: Exception):
    rollback()
    if isinstance(exc, client.WeChatError):
        if exc.bad_code:
            fail(422, "invalid_code", _("WeChat did not accept this code (invalid, expired or used)."), "code")
        current_app.logger.warning("WeChat refused: %s", exc)
        if exc.busy:
            fail(503, "wechat_busy", _("WeChat is busy. Please try again in a moment."))
        fail(502, "wechat_bad_gateway", _("WeChat refused the request. Please try again later."))
    current_app.logger.warning("WeChat unavailable: %s", exc)
    if getattr(exc, "bad_gateway", False):
        fail(502, "wechat_bad_gateway", _("WeChat answered something unexpected. Please try again later."))
    fail(503, "wechat_unavailable", _("WeChat is not answering right now. Please try again in a moment."))


def _app():
    try:
        return service.app("mp")
    except service.NotConfigured:
        fail(503, "wechat_not_configured", _("WeChat sign-in is not set up on this site."))


@api.post("/wechat/login")
@_limit
@api.arguments(WeChatCodeArgsSchema)
@api.response(200, WeChatLoginSchema)
@api.alt_response(422, response="UNPROCESSABLE_ENTITY")
@_documented
def wechat_login(data):
    """Sign in with the code of `wx.login` (jscode2session): the account
    bound to this WeChat user (openid, or unionid from another of the
    platform's applications), or a new buyer account. Answers a bearer token
    like `POST /auth/login`."""
    application = _app()
    try:
        session = client.code2session(application.appid, application.secret, data["code"])
    except (client.WeChatError, client.WeChatUnavailable) as exc:
        _wechat_failed(exc)
    user, is_new = service.sign_in_or_register(application, session["openid"], session.get("unionid") or None)
    answer = external.token_answer(user)
    commit()
    return {**answer, "is_new": is_new, "has_phone": external.has_phone(user)}


@api.post("/wechat/phone")
@_limit
@login_required
@api.arguments(WeChatCodeArgsSchema)
@api.response(200, WeChatPhoneSchema)
@api.alt_response(409, response="CONFLICT")
@api.alt_response(422, response="UNPROCESSABLE_ENTITY")
@_documented
def wechat_phone(data):
    """Bind the phone number of the `getPhoneNumber` button
    (getuserphonenumber) to the signed-in account. When another account
    already has this number, the sign-in switches to it: the WeChat binding,
    cart and addresses move there, this account is retired and a new token
    is answered. An account that has placed orders is not merged (409
    `has_orders`)."""
    application = _app()
    try:
        phone = client.phone_number(application.appid, application.secret, data["code"])
    except (client.WeChatError, client.WeChatUnavailable) as exc:
        _wechat_failed(exc)
    user, switched = service.bind_phone(current_user._get_current_object(), phone)
    token = None
    if switched:
        token = external.token_answer(user)["token"]
        commit()
    return {"token": token, "switched": switched, "user": user}
