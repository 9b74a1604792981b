"""WeChat Pay API v3 cryptography, with ``cryptography`` directly.

- Requests: ``Authorization: WECHATPAY2-SHA256-RSA2048 mchid="...",
  nonce_str="...",signature="...",timestamp="...",serial_no="..."``, the
  signature SHA256-RSA (PKCS#1 v1.5) with the merchant's private key over
  ``METHOD\\nPATH?QUERY\\nTIMESTAMP\\nNONCE\\nBODY\\n`` (:func:`request_message`).
- Responses and notifications: ``Wechatpay-Timestamp``, ``-Nonce``,
  ``-Signature``, ``-Serial`` headers; the signature over
  ``TIMESTAMP\\nNONCE\\nBODY\\n`` (:func:`response_message`) verified with the
  platform certificate's key or the WeChat Pay public key, whichever
  ``Wechatpay-Serial`` names (a public key id starts ``PUB_KEY_ID_``).
- Notification resources: AEAD_AES_256_GCM with the 32-byte APIv3 key, the
  resource's ``nonce`` and ``associated_data`` (:func:`aead_decrypt`).
- ``wx.requestPayment``'s ``paySign``: the merchant key over
  ``APPID\\nTIMESTAMP\\nNONCE\\nPACKAGE\\n`` (:func:`pay_sign`).
- Sensitive fields (a receiver's name): RSA-OAEP (SHA-1, MGF1-SHA-1) with
  the platform key (:func:`oaep_encrypt`).
"""

from __future__ import annotations

import base64
import re
import secrets
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SCHEMA = "WECHATPAY2-SHA256-RSA2048"


class CryptoError(ValueError):
    """A key, signature or ciphertext that does not load or check out."""


def nonce(length: int = 32) -> str:
    """A random upper-case alphanumeric string (the SDKs' nonce_str)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(length))


def load_private_key(pem: str) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(pem.strip().encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise CryptoError("not a PEM private key") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CryptoError("not an RSA private key")
    return key


def load_public_key(pem: str) -> rsa.RSAPublicKey:
    """An RSA public key from a PEM public key or a PEM certificate."""
    data = pem.strip().encode()
    try:
        if b"CERTIFICATE" in data:
            key: Any = x509.load_pem_x509_certificate(data).public_key()
        else:
            key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise CryptoError("not a PEM public key or certificate") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise CryptoError("not an RSA public key")
    return key


def certificate_serial(pem: str) -> str:
    """A certificate's serial number as WeChat Pay writes it (upper-case hex)."""
    try:
        cert = x509.load_pem_x509_certificate(pem.strip().encode())
    except ValueError as exc:
        raise CryptoError("not a PEM certificate") from exc
    return format(cert.serial_number, "X")


def sign(key: rsa.RSAPrivateKey, message: str) -> str:
    """SHA256 with RSA (PKCS#1 v1.5), base64."""
    return base64.b64encode(key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


def verify(key: rsa.RSAPublicKey, message: str | bytes, signature: str) -> bool:
    data = message.encode() if isinstance(message, str) else message
    try:
        raw = base64.b64decode(signature, validate=True)
        key.verify(raw, data, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def request_message(method: str, url: str, timestamp: str, nonce_str: str, body: str) -> str:
    """The string a request signature covers: ``url`` is the path with its
    query string, without scheme and host; ``body`` empty for a GET."""
    return f"{method.upper()}\n{url}\n{timestamp}\n{nonce_str}\n{body}\n"


def response_message(timestamp: str, nonce_str: str, body: str | bytes) -> bytes:
    """The bytes a response or notification signature covers."""
    raw = body.encode() if isinstance(body, str) else body
    return f"{timestamp}\n{nonce_str}\n".encode() + raw + b"\n"


def authorization(
    key: rsa.RSAPrivateKey, mchid: str, serial_no: str, method: str, url: str, body: str, timestamp: str, nonce_str: str
) -> str:
    signature = sign(key, request_message(method, url, timestamp, nonce_str, body))
    return (
        f'{SCHEMA} mchid="{mchid}",nonce_str="{nonce_str}",signature="{signature}",'
        f'timestamp="{timestamp}",serial_no="{serial_no}"'
    )


_PARAM = re.compile(r'(\w+)="([^"]*)"')


def parse_authorization(header: str) -> dict[str, str]:
    """The parameters of an ``Authorization`` header (the fake's side);
    empty when it is not WeChat Pay's schema."""
    schema, _, rest = (header or "").partition(" ")
    if schema != SCHEMA:
        return {}
    return dict(_PARAM.findall(rest))


def pay_sign(key: rsa.RSAPrivateKey, appid: str, timestamp: str, nonce_str: str, package: str) -> str:
    """``paySign`` of ``wx.requestPayment`` (signType ``RSA``)."""
    return sign(key, f"{appid}\n{timestamp}\n{nonce_str}\n{package}\n")


def aead_decrypt(apiv3_key: str, nonce_str: str, ciphertext: str, associated_data: str) -> bytes:
    """A notification resource's plaintext; CryptoError when the key, nonce,
    associated data or ciphertext do not check out (GCM's tag)."""
    key = apiv3_key.encode()
    if len(key) != 32:
        raise CryptoError("the APIv3 key must be 32 bytes")
    try:
        return AESGCM(key).decrypt(
            nonce_str.encode(), base64.b64decode(ciphertext, validate=True), associated_data.encode()
        )
    except (InvalidTag, ValueError, TypeError) as exc:
        raise CryptoError("resource does not decrypt") from exc


def aead_encrypt(apiv3_key: str, nonce_str: str, plaintext: bytes, associated_data: str) -> str:
    """The gateway's side (the fake): base64 of ciphertext and tag."""
    return base64.b64encode(
        AESGCM(apiv3_key.encode()).encrypt(nonce_str.encode(), plaintext, associated_data.encode())
    ).decode()


def oaep_encrypt(key: rsa.RSAPublicKey, text: str) -> str:
    """A sensitive field for WeChat Pay (RSA-OAEP, SHA-1), base64."""
    oaep = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None)
    return base64.b64encode(key.encrypt(text.encode(), oaep)).decode()


def oaep_decrypt(key: rsa.RSAPrivateKey, text: str) -> str:
    """The gateway's side (the fake)."""
    oaep = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None)
    try:
        return key.decrypt(base64.b64decode(text, validate=True), oaep).decode()
    except ValueError as exc:
        raise CryptoError("does not decrypt") from exc


def public_pem(key: rsa.RSAPrivateKey | rsa.RSAPublicKey) -> str:
    pub = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    return pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
