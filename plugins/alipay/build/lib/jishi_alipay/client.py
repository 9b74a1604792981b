"""Calling the Alipay gateway: the common parameters, the RSA2 signature,
the POST, and the verification of the signed answer.

Nothing raises out for the network: an unreachable or unreadable gateway
is an :class:`Answer` with ``retryable`` set. A success (``code`` 10000) is
believed only with a valid signature; a business error (``40004``) is acted
upon (e.g. ``ACQ.TRADE_NOT_EXIST``) only when signed too.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from jishi_alipay import wire
from jishi_alipay.config import AlipayConfig

log = logging.getLogger("jishi.alipay")

#: Business errors that may pass when the same request is sent again.
RETRYABLE_SUB_CODES = frozenset(
    {
        "ACQ.SYSTEM_ERROR",
        "aop.ACQ.SYSTEM_ERROR",
        "ACQ.TRADE_STATUS_UNKNOWN",
        "ACQ.REFUND_STATUS_UNKNOWN",
        "ACQ.CONCURRENT_OPERATION",  # another request of the same trade is running
        "ACQ.ROYALTY_PROCESSING",
        "isp.unknow-error",
        "isp.unknown-error",
    }
)


@dataclass(frozen=True)
class Answer:
    """What the gateway answered to one request.

    ``ok``: code 10000 with a valid signature. ``signed``: the answer's
    signature checked out (a refusal can be trusted). ``body``: the response
    object. ``retryable``: sending the same request again may succeed."""

    ok: bool
    body: dict[str, Any] = field(default_factory=dict)
    code: str = ""
    sub_code: str = ""
    message: str = ""
    signed: bool = False
    retryable: bool = False

    def says(self, *sub_codes: str) -> bool:
        """A signed refusal with one of ``sub_codes``."""
        return self.signed and self.sub_code in sub_codes


def params_for(cfg: AlipayConfig, method: str, biz: dict[str, Any], **extra: str | None) -> dict[str, str]:
    """The signed parameters of a request (common ones, ``biz_content``,
    ``extra`` such as ``notify_url`` / ``return_url``)."""
    params: dict[str, str] = {
        "app_id": cfg.app_id,
        "method": method,
        "format": "JSON",
        "charset": "utf-8",
        "sign_type": "RSA2",
        "timestamp": wire.now_text(),
        "version": "1.0",
        "biz_content": json.dumps(biz, ensure_ascii=False, separators=(",", ":")),
    }
    params.update({k: v for k, v in extra.items() if v})
    return wire.sign_request(cfg.private_key, params)


def page_url(cfg: AlipayConfig, method: str, biz: dict[str, Any], **extra: str | None) -> str:
    """The cashier URL a browser is sent to (page pay, wap pay): the gateway
    with the signed parameters as its query string."""
    query = urllib.parse.urlencode(params_for(cfg, method, biz, **extra))
    return f"{cfg.gateway_url}?{query}"


def call(cfg: AlipayConfig, method: str, biz: dict[str, Any], **extra: str | None) -> Answer:
    """POST one request and read the answer (never raises for the network)."""
    body = urllib.parse.urlencode(params_for(cfg, method, biz, **extra)).encode()
    req = urllib.request.Request(
        cfg.gateway_url,
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded;charset=utf-8", "Accept": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=cfg.timeout) as resp:
            raw = resp.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return Answer(False, code="http", message=f"Alipay answered HTTP {exc.code}", retryable=True)
    except (OSError, ValueError) as exc:  # URLError, timeouts, refused connections, bad URL
        return Answer(False, code="network", message=f"Alipay could not be reached: {exc}", retryable=True)
    return read_answer(cfg, method, raw)


def read_answer(cfg: AlipayConfig, method: str, raw: str) -> Answer:
    """Verify and decode the text of an answer to ``method``."""
    name = method.replace(".", "_") + "_response"
    text = wire.response_object_text(raw, name) or wire.response_object_text(raw, "error_response")
    try:
        whole = json.loads(raw)
        body = json.loads(text) if text is not None else None
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(whole, dict):
        return Answer(False, code="format", message="Alipay's answer is not a response object", retryable=True)
    sign = whole.get("sign")
    signed = isinstance(sign, str) and text is not None and wire.rsa2_verify(cfg.public_key, text, sign)
    code = str(body.get("code", ""))
    sub_code = str(body.get("sub_code", ""))
    message = " ".join(str(body.get(k, "")) for k in ("sub_code", "sub_msg") if body.get(k)) or str(body.get("msg", ""))
    if code == "10000":
        if not signed:
            log.warning("alipay %s: a success whose signature does not check out", method)
            return Answer(False, body, code, "", "the answer's signature does not check out", False, True)
        return Answer(True, body, code, "", "", True, False)
    # 20000: the service is unavailable; 40001/40002/40006 (missing or
    # invalid parameters, a bad signature, no permission) come unsigned and
    # are configuration problems: not retried, the message says which.
    retryable = code == "20000" or sub_code in RETRYABLE_SUB_CODES
    return Answer(False, body, code, sub_code, f"{code} {message}".strip(), signed, retryable)
