"""The sandbox gateway: a fake third-party payment service that behaves like
a real one (Alipay/WeChat Pay style).

The merchant side (the kernel) creates a trade and sends the buyer to the
gateway's page; when the buyer pays there, the gateway signs an asynchronous
notification (HMAC-SHA256 over the sorted ``key=value`` pairs) and posts it to
the kernel's notify URL. The kernel must verify the signature, the app id,
the amount and the timestamp window, and must treat duplicates and replays
as no-ops: :func:`jishi.payments.service.handle_notification` does.

The gateway keeps its own table (``sandbox_trades``) as a real one would keep
its own database; in a real deployment it is another service.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
import urllib.parse
import urllib.request

from flask import current_app, url_for

from jishi.db import db
from jishi.payments.models import SandboxTrade


def sign(params: dict, secret: str) -> str:
    message = "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "sign" and params[k] not in (None, ""))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def verify(params: dict, secret: str) -> bool:
    given = str(params.get("sign", ""))
    return bool(given) and hmac.compare_digest(given, sign(params, secret))


def create_trade(payment) -> SandboxTrade:
    trade = db.session.execute(
        db.select(SandboxTrade).where(SandboxTrade.out_trade_no == payment.number, SandboxTrade.status == "created")
    ).scalar_one_or_none()
    if trade is not None and trade.amount == payment.amount:
        return trade
    if trade is not None:  # started for an amount the payment no longer asks
        trade.status = "closed"
    trade = SandboxTrade(
        trade_no="SBX" + secrets.token_hex(10),
        out_trade_no=payment.number,
        amount=payment.amount,
        subject=f"Jishi {payment.number}",
        notify_url=url_for("payments.notify", gateway="sandbox", _external=True),
        return_url=url_for("shop.payment_return", number=payment.number, _external=True),
    )
    db.session.add(trade)
    return trade


def close_trades(payment_id: int) -> int:
    """Close the payment's trades not paid yet (the gateway's "close trade"
    call, made when the amount a payment asks changes): their page no longer
    takes money. Returns how many were closed."""
    from sqlalchemy import CursorResult, select, update

    from jishi.orders.models import PaymentOrder

    number = select(PaymentOrder.number).where(PaymentOrder.id == payment_id).scalar_subquery()
    result = db.session.execute(
        update(SandboxTrade)
        .where(SandboxTrade.out_trade_no == number, SandboxTrade.status == "created")
        .values(status="closed")
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount if isinstance(result, CursorResult) else 0


def notification_for(trade: SandboxTrade, *, status: str = "TRADE_SUCCESS") -> dict:
    cfg = current_app.config
    params = {
        "notify_id": secrets.token_hex(16),
        "app_id": cfg["JISHI_SANDBOX_APP_ID"],
        "trade_no": trade.trade_no,
        "out_trade_no": trade.out_trade_no,
        "total_amount": str(trade.amount),
        "trade_status": status,
        "timestamp": str(int(time.time())),
    }
    params["sign"] = sign(params, cfg["JISHI_SANDBOX_SECRET"])
    return params


def deliver(trade: SandboxTrade, params: dict) -> None:
    """Send the notification: in-process in the embedded setup (still going
    through verification of the serialized form), else an HTTP POST from a
    thread with retries, as a real gateway does."""
    if current_app.config["JISHI_SANDBOX_NOTIFY_INLINE"]:
        from jishi.payments.service import PaymentError, handle_notification

        try:
            handle_notification("sandbox", {k: str(v) for k, v in params.items()})
        except PaymentError:
            db.session.rollback()  # refused, as the kernel's 4xx answer would be over HTTP
        return
    body = urllib.parse.urlencode(params).encode()
    url = trade.notify_url

    def post():  # pragma: no cover - exercised by the multi-process benchmark
        for attempt in range(5):
            try:
                with urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=10) as resp:
                    if resp.read().strip() == b"success":
                        return
            except OSError:
                pass
            time.sleep(2**attempt)

    threading.Thread(target=post, daemon=True).start()


def refund(trade_no: str, amount: int) -> bool:
    """The gateway's refund API: refunds at most what was paid."""
    trade = db.session.execute(db.select(SandboxTrade).where(SandboxTrade.trade_no == trade_no)).scalar_one_or_none()
    if trade is None or trade.status not in ("paid", "refunded") or trade.refunded_amount + amount > trade.amount:
        return False
    trade.refunded_amount += amount
    if trade.refunded_amount == trade.amount:
        trade.status = "refunded"
    return True
