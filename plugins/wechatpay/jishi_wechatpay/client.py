"""Calls to the WeChat Pay API v3: signed requests, verified responses.

:func:`call` signs the request with the merchant's key, sends it to the
configured host and verifies the answer's ``Wechatpay-Signature`` with the
platform key named by ``Wechatpay-Serial``. It raises :class:`Unreachable`
for a network error, a 5xx / 429 answer or an answer whose signature does
not verify (the caller answers "failed, retryable"), and returns
``(status, data)`` for any other answer.
"""

from __future__ import annotations

import hashlib
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from jishi_wechatpay import crypto
from jishi_wechatpay.config import Config

USER_AGENT = "jishi-wechatpay/0.1"


class Unreachable(Exception):
    """The API could not be reached or its answer cannot be trusted."""


def verify_headers(cfg: Config, headers: Any, body: bytes, *, window: int | None = None) -> str | None:
    """Why a response's or notification's signature headers do not check
    out (None when they do). ``window``: the seconds ``Wechatpay-Timestamp``
    may be from now (notifications)."""
    signature = headers.get("Wechatpay-Signature") or ""
    timestamp = headers.get("Wechatpay-Timestamp") or ""
    nonce_str = headers.get("Wechatpay-Nonce") or ""
    serial = headers.get("Wechatpay-Serial") or ""
    if not (signature and timestamp and nonce_str and serial):
        return "missing Wechatpay signature headers"
    if signature.startswith("WECHATPAY/SIGNTEST/"):
        return "a signature probe (WECHATPAY/SIGNTEST)"
    sig_type = headers.get("Wechatpay-Signature-Type") or crypto.SCHEMA
    if sig_type != crypto.SCHEMA:
        return f"unsupported signature type {sig_type}"
    if serial != cfg.platform_key_id:
        return f"unknown Wechatpay-Serial {serial}"
    if window is not None:
        if not timestamp.isdigit():
            return "bad Wechatpay-Timestamp"
        if abs(time.time() - int(timestamp)) > window:
            return "Wechatpay-Timestamp outside the time window"
    try:
        key = cfg.platform_key()
    except crypto.CryptoError:
        return "the configured platform key does not load"
    if not crypto.verify(key, crypto.response_message(timestamp, nonce_str, body), signature):
        return "bad signature"
    return None


def _send(cfg: Config, method: str, path: str, text: str | None) -> tuple[int, bytes, Any]:
    """One signed request; (status, body, headers). Unreachable for a
    network error, a 5xx or a 429."""
    auth = crypto.authorization(
        cfg.private_key(), cfg.mchid, cfg.serial_no, method, path, text or "", str(int(time.time())), crypto.nonce()
    )
    headers = {
        "Authorization": auth,
        "Accept": "application/json",
        "User-Agent": USER_AGENT,
        # the public-key mode's id (PUB_KEY_ID_...) or the certificate's
        # serial: which key WeChat Pay signs its answer with
        "Wechatpay-Serial": cfg.platform_key_id,
    }
    if text is not None:
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(
        cfg.base + path, data=text.encode() if text is not None else None, headers=headers, method=method
    )
    try:
        with urllib.request.urlopen(request, timeout=cfg.timeout) as resp:
            status, raw, answer_headers = resp.status, resp.read(), resp.headers
    except urllib.error.HTTPError as exc:
        status, raw, answer_headers = exc.code, exc.read(), exc.headers
    except (OSError, ValueError) as exc:
        raise Unreachable(f"WeChat Pay unreachable: {exc}") from exc
    if status >= 500 or status == 429:
        raise Unreachable(f"WeChat Pay answered {status}: {_message(raw)}")
    return status, raw, answer_headers


def call(cfg: Config, method: str, path: str, body: dict | None = None, *, encrypted: bool = False) -> tuple[int, dict]:
    """Send one request (``path`` with its query string) and verify the
    answer's signature. ``encrypted``: the body carries a field encrypted
    with the platform key (its id goes in ``Wechatpay-Serial``, sent always)."""
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":")) if body is not None else None
    status, raw, answer_headers = _send(cfg, method, path, text)
    problem = verify_headers(cfg, answer_headers, raw)
    if problem is not None:
        raise Unreachable(f"WeChat Pay's answer does not verify: {problem}")
    try:
        data = json.loads(raw) if raw else {}
    except ValueError as exc:
        raise Unreachable("WeChat Pay answered something that is not JSON") from exc
    if not isinstance(data, dict):
        raise Unreachable("WeChat Pay answered something that is not a JSON object")
    return status, data


def download(cfg: Config, url: str, sha1: str) -> bytes:
    """A bill file (``download_url`` of a bill API): the file stream is not
    signed by WeChat Pay, so it is checked against the SHA1 the signed bill
    answer gave. Only the path and query of ``url`` are used, on the
    configured host: our Authorization never goes to another host."""
    parts = urllib.parse.urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    status, raw, _headers = _send(cfg, "GET", path, None)
    if status != 200:
        raise Unreachable(f"WeChat Pay's bill download answered {status}: {_message(raw)}")
    if hashlib.sha1(raw).hexdigest().lower() != sha1.lower():
        raise Unreachable("the bill file does not match its SHA1")
    return raw


def _message(raw: bytes) -> str:
    try:
        data = json.loads(raw)
        return f"{data.get('code')}: {data.get('message')}"
    except (ValueError, AttributeError):
        return raw[:200].decode(errors="replace")
