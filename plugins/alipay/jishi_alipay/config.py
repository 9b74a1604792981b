"""The Alipay account the platform configured (its console page,
``/console/alipay``), read from the platform settings.

Settings (``jishi.settings``; each also falls back to the app config key
``SETTING_ALIPAY_<NAME>``, so a deployment or the demo may set them there):

- ``alipay.enabled`` — offered to buyers (with everything below valid);
- ``alipay.app_id`` — the open-platform application (APPID);
- ``alipay.app_private_key`` — the application's RSA2 private key (PEM or
  the bare base64 Alipay's key tool writes); a secret, never shown back;
- ``alipay.alipay_public_key`` — Alipay's public key (支付宝公钥) of that app;
- ``alipay.seller_id`` — the merchant's PID (2088…): notifications for
  another seller are refused (optional);
- ``alipay.mini_program_app_id`` — the Alipay mini-program's app id sent as
  ``op_app_id`` with ``alipay.trade.create`` (optional: without it the
  mini-program channel is not offered);
- ``alipay.gateway_url`` — the gateway; empty: the app config
  ``JISHI_ALIPAY_GATEWAY_URL`` (default production,
  ``https://openapi.alipay.com/gateway.do``);
- ``alipay.profit_sharing`` — the account has 分账 (royalty) signed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives.asymmetric import rsa
from flask import current_app
from jishi import settings

from jishi_alipay import wire

PRODUCTION_URL = "https://openapi.alipay.com/gateway.do"
SANDBOX_URL = "https://openapi-sandbox.dl.alipaydev.com/gateway.do"

ENABLED = "alipay.enabled"
APP_ID = "alipay.app_id"
PRIVATE_KEY = "alipay.app_private_key"
PUBLIC_KEY = "alipay.alipay_public_key"
SELLER_ID = "alipay.seller_id"
MINI_APP_ID = "alipay.mini_program_app_id"
GATEWAY_URL = "alipay.gateway_url"
PROFIT_SHARING = "alipay.profit_sharing"

KEYS = (ENABLED, APP_ID, PRIVATE_KEY, PUBLIC_KEY, SELLER_ID, MINI_APP_ID, GATEWAY_URL, PROFIT_SHARING)
SECRETS = (PRIVATE_KEY,)


@dataclass(frozen=True)
class AlipayConfig:
    app_id: str
    private_key: rsa.RSAPrivateKey
    public_key: rsa.RSAPublicKey
    seller_id: str
    mini_program_app_id: str
    gateway_url: str
    profit_sharing: bool
    timeout: float

    @property
    def test_mode(self) -> bool:
        """Pointed anywhere but Alipay's production gateway (its sandbox or
        a local fake)."""
        return self.gateway_url != PRODUCTION_URL


@lru_cache(maxsize=8)
def _private(text: str) -> rsa.RSAPrivateKey:
    return wire.load_private_key(text)


@lru_cache(maxsize=8)
def _public(text: str) -> rsa.RSAPublicKey:
    return wire.load_public_key(text)


def raw(key: str) -> str:
    value = settings.get(key, None)
    return "" if value is None else str(value).strip()


def gateway_url() -> str:
    return raw(GATEWAY_URL) or str(current_app.config.get("JISHI_ALIPAY_GATEWAY_URL") or PRODUCTION_URL)


def current() -> AlipayConfig | None:
    """The configuration when Alipay is enabled and complete (keys that
    read), else None (the gateway is then not offered)."""
    if not settings.get(ENABLED, False):
        return None
    app_id = raw(APP_ID)
    if not app_id:
        return None
    try:
        private_key, public_key = _private(raw(PRIVATE_KEY)), _public(raw(PUBLIC_KEY))
    except wire.BadKey:
        return None
    return AlipayConfig(
        app_id=app_id,
        private_key=private_key,
        public_key=public_key,
        seller_id=raw(SELLER_ID),
        mini_program_app_id=raw(MINI_APP_ID),
        gateway_url=gateway_url(),
        profit_sharing=bool(settings.get(PROFIT_SHARING, False)),
        timeout=float(current_app.config.get("JISHI_ALIPAY_TIMEOUT_SECONDS", 10)),
    )


def masked(key: str) -> str:
    """What the console shows of a stored private key: that it is set, and
    the fingerprint of its *public* half (to compare with the one uploaded
    to Alipay), never a character of the secret."""
    text = raw(key)
    if not text:
        return ""
    try:
        pem = wire.public_pem(_private(text))
    except wire.BadKey:
        return "••••••"
    import hashlib

    return "•••••• " + hashlib.sha256(pem.encode()).hexdigest()[:12]
