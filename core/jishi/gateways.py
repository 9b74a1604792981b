"""What a payment gateway plugin uses (the public API of the gateway
contract; the guide is ``docs/writing-a-payment-plugin.md``).

- The contract's types (also in :mod:`jishi.hookspecs`): subclass
  :class:`PaymentGateway`, answer :class:`PaymentStart`,
  :class:`GatewayNotification`, :class:`GatewayResult`; read
  :class:`Payer`, :class:`RefundRequest`, :class:`ProfitShareRequest`.
- :class:`NotificationRefused`: raise it from ``verify_notification``.
- :class:`PaymentError`: a refusal the buyer reads (from ``start``).
- :func:`trade_number` (the ``out_trade_no`` to send), :func:`notify_url`
  (where the gateway posts notifications), :func:`return_url` (where its
  page sends the buyer back).
- :func:`gateway` (an installed gateway by code, None without it) and
  :func:`gateways`: for a plugin that drives a gateway itself (profit
  sharing after an order completes).
- :func:`fen_to_amount` / :func:`amount_to_fen`: the two-decimal yuan
  strings gateways speak, from and to integer fen, exactly (no float).
"""

from __future__ import annotations

import re

from jishi.hookspecs import (
    PAYMENT_CHANNELS,
    GatewayNotification,
    GatewayResult,
    Payer,
    PaymentGateway,
    PaymentStart,
    ProfitShareRequest,
    RefundRequest,
)
from jishi.payments.service import (
    NotificationRefused,
    PaymentError,
    gateway,
    gateways,
    notify_url,
    return_url,
    trade_number,
)

__all__ = [
    "PAYMENT_CHANNELS",
    "GatewayNotification",
    "GatewayResult",
    "NotificationRefused",
    "Payer",
    "PaymentError",
    "PaymentGateway",
    "PaymentStart",
    "ProfitShareRequest",
    "RefundRequest",
    "amount_to_fen",
    "fen_to_amount",
    "gateway",
    "gateways",
    "notify_url",
    "return_url",
    "trade_number",
]

_AMOUNT = re.compile(r"(0|[1-9][0-9]{0,11})(?:\.([0-9]{1,2}))?")


def fen_to_amount(fen: int) -> str:
    """1230 → ``"12.30"`` (Alipay's ``total_amount``)."""
    if isinstance(fen, bool) or not isinstance(fen, int) or fen < 0:
        raise ValueError(f"not an amount in fen: {fen!r}")
    return f"{fen // 100}.{fen % 100:02d}"


def amount_to_fen(text: str) -> int:
    """``"12.3"`` / ``"12.30"`` / ``"12"`` → 1230; ValueError for anything
    else (a sign, an exponent, three decimals, spaces)."""
    m = _AMOUNT.fullmatch(text or "")
    if m is None:
        raise ValueError(f"not an amount: {text!r}")
    return int(m.group(1)) * 100 + int((m.group(2) or "0").ljust(2, "0"))
