"""Where WeChat Pay's configuration lives.

Platform settings (``jishi.settings``), set in the platform console: the
plain ones in the "WeChat Pay" settings panel, the secrets (merchant private
key, APIv3 key) on the plugin's own keys page, which never shows them back
in full. The API host is the config key ``JISHI_WECHATPAY_API_BASE`` (tests
and the demo point it at :mod:`jishi_wechatpay.fake`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from flask import current_app
from jishi import settings

from jishi_wechatpay import crypto

PRODUCTION_BASE = "https://api.mch.weixin.qq.com"

CONFIG_DEFAULTS = {
    # the API host (no trailing slash); anything else is test mode
    "JISHI_WECHATPAY_API_BASE": PRODUCTION_BASE,
    # seconds a call to the API may take
    "JISHI_WECHATPAY_TIMEOUT": 10,
    # a notification's Wechatpay-Timestamp must be this close to now
    "JISHI_WECHATPAY_NOTIFY_WINDOW_SECONDS": 300,
}

# settings keys
ENABLED = "wechatpay.enabled"
MCHID = "wechatpay.mchid"
SERIAL_NO = "wechatpay.serial_no"
APPID = "wechatpay.appid"  # 公众号 / website app: JSAPI, Native, H5
MINI_APPID = "wechatpay.mini_appid"  # 小程序
VERIFY_MODE = "wechatpay.verify_mode"  # "public_key" | "certificate"
PLATFORM_KEY_ID = "wechatpay.platform_key_id"  # PUB_KEY_ID_... or the certificate's serial
PLATFORM_KEY = "wechatpay.platform_key"  # PEM: WeChat Pay public key or platform certificate
PROFIT_SHARING = "wechatpay.profit_sharing"  # prepay with settle_info.profit_sharing
PRIVATE_KEY = "wechatpay.private_key"  # secret
APIV3_KEY = "wechatpay.apiv3_key"  # secret

DEMO = "wechatpay.demo"  # configured by ``jishi demo`` with a fake's keys

SECRETS = (PRIVATE_KEY, APIV3_KEY)


@dataclass(frozen=True)
class Config:
    mchid: str
    serial_no: str
    appid: str
    mini_appid: str
    verify_mode: str
    platform_key_id: str
    platform_key_pem: str
    private_key_pem: str
    apiv3_key: str
    profit_sharing: bool
    base: str
    timeout: float
    window: int

    @property
    def complete(self) -> bool:
        return bool(
            self.mchid
            and self.serial_no
            and (self.appid or self.mini_appid)
            and self.platform_key_id
            and self.platform_key_pem
            and self.private_key_pem
            and len(self.apiv3_key.encode()) == 32
        )

    @property
    def appids(self) -> set[str]:
        return {a for a in (self.appid, self.mini_appid) if a}

    def private_key(self) -> Any:
        return _private_key(self.private_key_pem)

    def platform_key(self) -> Any:
        return _public_key(self.platform_key_pem)


@lru_cache(maxsize=8)
def _private_key(pem: str) -> Any:
    return crypto.load_private_key(pem)


@lru_cache(maxsize=8)
def _public_key(pem: str) -> Any:
    return crypto.load_public_key(pem)


def _text(key: str) -> str:
    return str(settings.get(key, "") or "").strip()


def load() -> Config:
    cfg = current_app.config
    return Config(
        mchid=_text(MCHID),
        serial_no=_text(SERIAL_NO).upper(),
        appid=_text(APPID),
        mini_appid=_text(MINI_APPID),
        verify_mode=_text(VERIFY_MODE) or "public_key",
        platform_key_id=_text(PLATFORM_KEY_ID),
        platform_key_pem=_text(PLATFORM_KEY),
        private_key_pem=_text(PRIVATE_KEY),
        apiv3_key=str(settings.get(APIV3_KEY, "") or ""),
        profit_sharing=bool(settings.get(PROFIT_SHARING, False)),
        base=str(cfg["JISHI_WECHATPAY_API_BASE"]).rstrip("/"),
        timeout=float(cfg["JISHI_WECHATPAY_TIMEOUT"]),
        window=int(cfg["JISHI_WECHATPAY_NOTIFY_WINDOW_SECONDS"]),
    )


def enabled() -> bool:
    return bool(settings.get(ENABLED, False))


def masked(value: str) -> str:
    """A secret as the console shows it: its length and last four characters."""
    value = (value or "").strip()
    if not value:
        return ""
    return f"•••• {value[-4:]} ({len(value)})" if len(value) > 8 else "••••"


def key_hint(pem: str) -> str:
    """A stored private key as the console shows it: never the key, its
    size and the start of its public key's SHA-256 (to compare with the
    merchant platform's certificate)."""
    if not (pem or "").strip():
        return ""
    import hashlib

    from cryptography.hazmat.primitives import serialization

    try:
        key = _private_key(pem.strip())
    except crypto.CryptoError:
        return "••••"
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return f"RSA {key.key_size}, SHA-256 {hashlib.sha256(der).hexdigest()[:16]}…"
