"""Authorization rows of profit sharing (issue 14): the merchant's receiver
accounts and records need ``money`` (merchant admins; clerks are 403) and
act on the signed-in merchant only (the gateway code is the only path
part); the platform's list, retry and release are platform only."""

from __future__ import annotations

from . import Row

RECEIVER = {"type": "PERSONAL_OPENID", "account": "o-new"}

ROWS = [
    # Merchant API
    Row("GET", "/api/v1/merchant/profit-sharing", "merchant:money"),
    Row("PUT", "/api/v1/merchant/profit-sharing/receivers/sandbox", "merchant:money", json=RECEIVER),
    Row("DELETE", "/api/v1/merchant/profit-sharing/receivers/sandbox", "merchant:money", note="409 while one is open"),
    Row("GET", "/api/v1/merchant/profit-sharing/records", "merchant:money"),
    # Platform API
    Row("GET", "/api/v1/admin/multistore/profit-sharing", "platform"),
    Row("POST", "/api/v1/admin/multistore/profit-sharing/{obj}/retry", "platform", obj="profit_share"),
    Row("POST", "/api/v1/admin/multistore/profit-sharing/{obj}/release", "platform", obj="profit_share"),
    # Merchant console
    Row("GET", "/merchant/finance/sharing", "merchant:money"),
    Row("POST", "/merchant/finance/sharing/sandbox/bind", "merchant:money", data=RECEIVER),
    Row("POST", "/merchant/finance/sharing/sandbox/unbind", "merchant:money"),
    # Platform console
    Row("GET", "/console/multistore/profit-sharing", "platform"),
    Row("POST", "/console/multistore/profit-sharing/{obj}/retry", "platform", obj="profit_share"),
    Row("POST", "/console/multistore/profit-sharing/{obj}/release", "platform", obj="profit_share"),
]
