"""The WeChat servers, over HTTPS with ``requests``: every base URL comes
from the config (``JISHI_WECHAT_LOGIN_API_BASE``, ``JISHI_WECHAT_LOGIN_OPEN_BASE``), so
a deployment (or a test's local fake) points the plugin anywhere.

WeChat answers HTTP 200 with JSON; a failure carries ``errcode`` (non-zero)
and ``errmsg``. :class:`WeChatError` keeps them; anything that is not such
an answer (no connection, a timeout, an HTTP error, not JSON) is
:class:`WeChatUnavailable`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import requests
from flask import current_app
from jishi.db import db, utcnow
from sqlalchemy import delete

from jishi_wechat_login.models import WeChatAccessToken

#: errcodes of an access_token that is invalid or expired: fetch a new one and retry once.
TOKEN_ERRORS = (40001, 42001, 40014)
#: errcodes of a code the user sent (invalid, used, risky user, expired).
CODE_ERRORS = (40029, 40163, 40226, 41008, 42003)
#: errcodes of WeChat refusing for now (busy, rate limited, quota).
BUSY_ERRORS = (-1, 45009, 45011)
# Renew a cached access_token this long before WeChat says it expires.
EARLY = timedelta(minutes=5)


class WeChatUnavailable(Exception):
    """No usable answer from WeChat (down, timed out, not JSON)."""

    def __init__(self, detail: str, bad_gateway: bool = False):
        super().__init__(detail)
        self.bad_gateway = bad_gateway


class WeChatError(Exception):
    """WeChat answered ``errcode`` (non-zero) and ``errmsg``."""

    def __init__(self, errcode: int, errmsg: str):
        super().__init__(f"{errcode} {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg

    @property
    def bad_code(self) -> bool:
        return self.errcode in CODE_ERRORS

    @property
    def busy(self) -> bool:
        return self.errcode in BUSY_ERRORS


def _base(kind: str) -> str:
    return current_app.config[f"JISHI_WECHAT_LOGIN_{kind}_BASE"].rstrip("/")


def _call(method: str, path: str, params: dict[str, Any], json: dict | None = None) -> dict:
    url = _base("API") + path
    try:
        resp = requests.request(
            method, url, params=params, json=json, timeout=current_app.config["JISHI_WECHAT_LOGIN_TIMEOUT"]
        )
    except requests.RequestException as exc:
        raise WeChatUnavailable(f"{path}: {exc.__class__.__name__}") from None
    if resp.status_code != 200:
        raise WeChatUnavailable(f"{path}: HTTP {resp.status_code}", bad_gateway=resp.status_code < 500)
    try:
        data = resp.json()
    except ValueError:
        raise WeChatUnavailable(f"{path}: not JSON", bad_gateway=True) from None
    if not isinstance(data, dict):
        raise WeChatUnavailable(f"{path}: not a JSON object", bad_gateway=True)
    errcode = data.get("errcode") or 0
    if errcode:
        try:
            errcode = int(errcode)
        except (TypeError, ValueError):
            raise WeChatUnavailable(f"{path}: errcode {errcode!r}", bad_gateway=True) from None
        raise WeChatError(errcode, str(data.get("errmsg", "")))
    return data


def _need(data: dict, *keys: str) -> dict:
    for key in keys:
        if not isinstance(data.get(key), str) or not data[key]:
            raise WeChatUnavailable(f"answer without {key}", bad_gateway=True)
    return data


# --- Mini-program -------------------------------------------------------------


def code2session(appid: str, secret: str, code: str) -> dict:
    """``wx.login``'s code → ``{"openid", "session_key", "unionid"?}``."""
    data = _call(
        "GET",
        "/sns/jscode2session",
        {"appid": appid, "secret": secret, "js_code": code, "grant_type": "authorization_code"},
    )
    return _need(data, "openid")


def _fetch_access_token(appid: str, secret: str) -> str:
    data = _call("GET", "/cgi-bin/token", {"grant_type": "client_credential", "appid": appid, "secret": secret})
    _need(data, "access_token")
    try:
        expires_in = int(data.get("expires_in", 7200))
    except (TypeError, ValueError):
        expires_in = 7200
    expires_at = utcnow() + timedelta(seconds=expires_in) - EARLY
    row = db.session.get(WeChatAccessToken, appid)
    if row is None:
        db.session.add(WeChatAccessToken(appid=appid, token=data["access_token"], expires_at=expires_at))
    else:
        row.token, row.expires_at = data["access_token"], expires_at
    db.session.commit()
    return data["access_token"]


def access_token(appid: str, secret: str, *, fresh: bool = False) -> str:
    """The cached ``access_token`` of ``appid``, fetched again when it has
    expired (or ``fresh``: WeChat said it is no longer valid)."""
    row = db.session.get(WeChatAccessToken, appid)
    if row is not None and not fresh and row.expires_at > utcnow():
        return row.token
    return _fetch_access_token(appid, secret)


def forget_access_token(appid: str) -> None:
    db.session.execute(delete(WeChatAccessToken).where(WeChatAccessToken.appid == appid))
    db.session.commit()


def phone_number(appid: str, secret: str, code: str) -> str:
    """``getPhoneNumber``'s code → the phone number without country code
    (``phone_info.purePhoneNumber``). An access_token WeChat calls invalid
    or expired (40001, 42001) is fetched again and the call retried once."""
    for attempt in (0, 1):
        token = access_token(appid, secret, fresh=attempt == 1)
        try:
            data = _call("POST", "/wxa/business/getuserphonenumber", {"access_token": token}, json={"code": code})
        except WeChatError as exc:
            if exc.errcode in TOKEN_ERRORS and attempt == 0:
                continue
            raise
        info = data.get("phone_info")
        if not isinstance(info, dict):
            raise WeChatUnavailable("answer without phone_info", bad_gateway=True)
        return str(info.get("purePhoneNumber") or "")
    raise AssertionError("unreachable")  # pragma: no cover


# --- Website application (OAuth2) ----------------------------------------------


def qrconnect_url(appid: str, redirect_uri: str, state: str) -> str:
    """The page showing the QR code the visitor scans."""
    from urllib.parse import urlencode

    query = urlencode(
        {"appid": appid, "redirect_uri": redirect_uri, "response_type": "code", "scope": "snsapi_login", "state": state}
    )
    return f"{_base('OPEN')}/connect/qrconnect?{query}#wechat_redirect"


def oauth_access_token(appid: str, secret: str, code: str) -> dict:
    """The callback's code → ``{"access_token", "openid", "unionid"?, ...}``."""
    data = _call(
        "GET",
        "/sns/oauth2/access_token",
        {"appid": appid, "secret": secret, "code": code, "grant_type": "authorization_code"},
    )
    return _need(data, "access_token", "openid")


def userinfo(token: str, openid: str) -> dict:
    """``{"openid", "nickname", "headimgurl", "unionid"?, ...}``."""
    data = _call("GET", "/sns/userinfo", {"access_token": token, "openid": openid, "lang": "zh_CN"})
    return _need(data, "openid")
