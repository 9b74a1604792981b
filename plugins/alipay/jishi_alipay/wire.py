"""The Alipay open platform's wire format (RSA2), shared by the gateway and
the local fake: keys, the string to sign, signatures, the raw text of a
signed response object, timestamps in Asia/Shanghai.

- A **request** is signed over its parameters except ``sign``, sorted by
  name, ``key=value`` joined with ``&``, empty values left out (``sign_type``
  is signed).
- A **notification** is verified over every parameter it carries (empty
  ones too) except ``sign`` and ``sign_type``.
- A **response** ``{"<method>_response": {...}, "sign": "..."}`` is signed
  over the raw JSON text of the response object exactly as it was sent
  (not a re-serialisation: spaces and ``\\/`` escapes count).

RSA2 is SHA256withRSA (PKCS#1 v1.5), signatures in base64.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

#: Alipay's times are Beijing time (UTC+8, no daylight saving).
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


class BadKey(ValueError):
    """A key that cannot be read (the message names what is wrong)."""


def _body(text: str) -> str:
    """The base64 body of a key given bare (as Alipay's console shows it)."""
    return "".join(text.split())


def load_private_key(text: str) -> rsa.RSAPrivateKey:
    """An RSA private key from PEM (PKCS#8 or PKCS#1) or the bare base64
    body Alipay's key tool writes."""
    text = (text or "").strip()
    if not text:
        raise BadKey("empty private key")
    try:
        if "-----BEGIN" in text:
            key = serialization.load_pem_private_key(text.encode(), password=None)
        else:
            key = serialization.load_der_private_key(base64.b64decode(_body(text), validate=True), password=None)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise BadKey(f"not an RSA private key: {exc}") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise BadKey("not an RSA private key")
    if key.key_size < 2048:
        raise BadKey("RSA2 needs a key of at least 2048 bits")
    return key


def load_public_key(text: str) -> rsa.RSAPublicKey:
    """An RSA public key from PEM or the bare base64 body (SubjectPublicKeyInfo)."""
    text = (text or "").strip()
    if not text:
        raise BadKey("empty public key")
    try:
        if "-----BEGIN" in text:
            key = serialization.load_pem_public_key(text.encode())
        else:
            key = serialization.load_der_public_key(base64.b64decode(_body(text), validate=True))
    except (ValueError, TypeError, binascii.Error) as exc:
        raise BadKey(f"not an RSA public key: {exc}") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise BadKey("not an RSA public key")
    return key


def public_pem(key: rsa.RSAPrivateKey | rsa.RSAPublicKey) -> str:
    pub = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    return pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def new_key() -> rsa.RSAPrivateKey:
    """A fresh 2048-bit key pair (tests and the demo's fake; never committed)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def sign_content(
    params: Mapping[str, object], exclude: tuple[str, ...] = ("sign",), *, keep_empty: bool = False
) -> str:
    """The string to sign: sorted ``key=value`` pairs joined with ``&``,
    ``exclude``d names left out; values as sent (not URL-encoded). A
    request leaves empty values out; a notification is checked with them
    (``keep_empty``: Alipay's SDKs verify every parameter it sent)."""
    return "&".join(
        f"{k}={'' if params[k] is None else params[k]}"
        for k in sorted(params)
        if k not in exclude and (keep_empty or params[k] not in (None, ""))
    )


def rsa2_sign(key: rsa.RSAPrivateKey, content: str) -> str:
    return base64.b64encode(key.sign(content.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())).decode()


def rsa2_verify(key: rsa.RSAPublicKey, content: str, signature: str) -> bool:
    try:
        raw = base64.b64decode(signature or "", validate=True)
    except (binascii.Error, ValueError):
        return False
    if not raw:
        return False
    try:
        key.verify(raw, content.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def sign_request(key: rsa.RSAPrivateKey, params: dict[str, str]) -> dict[str, str]:
    """``params`` with its ``sign`` (empty values dropped, as signed)."""
    out = {k: v for k, v in params.items() if v not in (None, "") and k != "sign"}
    out["sign"] = rsa2_sign(key, sign_content(out))
    return out


def verify_request(key: rsa.RSAPublicKey, params: Mapping[str, str]) -> bool:
    return rsa2_verify(key, sign_content(params), str(params.get("sign", "")))


def verify_notification(key: rsa.RSAPublicKey, params: Mapping[str, str]) -> bool:
    """A notification's signature: over every parameter but ``sign`` and
    ``sign_type``."""
    content = sign_content(params, ("sign", "sign_type"), keep_empty=True)
    return rsa2_verify(key, content, str(params.get("sign", "")))


def sign_notification(key: rsa.RSAPrivateKey, params: dict[str, str]) -> dict[str, str]:
    out = {k: "" if v is None else v for k, v in params.items() if k != "sign"}
    out["sign_type"] = "RSA2"
    out["sign"] = rsa2_sign(key, sign_content(out, ("sign", "sign_type"), keep_empty=True))
    return out


_DECODER = json.JSONDecoder()


def response_object_text(raw: str, name: str) -> str | None:
    """The raw JSON text of the member ``name`` (``alipay_trade_query_response``
    or ``error_response``) of a response, exactly as sent: what Alipay
    signs. None when the member is missing or is not an object."""
    for m in re.finditer(r'"' + re.escape(name) + r'"\s*:\s*', raw):
        # the key itself, not the same words inside a value: the member
        # must start an object, and what precedes the key is { or ,
        before = raw[: m.start()].rstrip()
        if not before.endswith(("{", ",")):
            continue
        start = m.end()
        if start >= len(raw) or raw[start] != "{":
            return None
        try:
            _, end = _DECODER.raw_decode(raw, start)
        except ValueError:
            return None
        return raw[start:end]
    return None


def signed_response(key: rsa.RSAPrivateKey, method: str, body: Mapping[str, object]) -> str:
    """The fake's answer: ``{"<method>_response": {...}, "sign": "..."}``
    signed over the object's text (with Alipay's ``\\/`` escapes)."""
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":")).replace("/", "\\/")
    name = method.replace(".", "_") + "_response"
    return '{"' + name + '":' + text + ',"sign":"' + rsa2_sign(key, text) + '"}'


def now_text(now: datetime | None = None) -> str:
    """``YYYY-MM-DD HH:MM:SS`` in Beijing time (the ``timestamp`` parameter)."""
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return now.astimezone(SHANGHAI).strftime(TIME_FORMAT)


def parse_time(text: str | None) -> datetime | None:
    """An Alipay time (Beijing) as naive UTC; None when missing or malformed."""
    try:
        local = datetime.strptime((text or "").strip().split(".")[0], TIME_FORMAT).replace(tzinfo=SHANGHAI)
    except ValueError:
        return None
    return local.astimezone(UTC).replace(tzinfo=None)
