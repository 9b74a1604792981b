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

from flask import current_app

from jishi.db import db
from jishi.payments.models import SandboxOperation, SandboxTrade


def sign(params: dict, secret: str) -> str:
    message = "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "sign" and params[k] not in (None, ""))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def verify(params: dict, secret: str) -> bool:
    given = str(params.get("sign", ""))
    return bool(given) and hmac.compare_digest(given, sign(params, secret))


def create_trade(out_trade_no: str, amount: int, notify_url: str, return_url: str) -> SandboxTrade:
    """The gateway's "create trade" API: one open trade per out_trade_no and
    amount (asked again, the same trade)."""
    trade = db.session.execute(
        db.select(SandboxTrade).where(SandboxTrade.out_trade_no == out_trade_no, SandboxTrade.status == "created")
    ).scalar_one_or_none()
    if trade is not None and trade.amount == amount:
        return trade
    if trade is not None:  # another amount for one out_trade_no: the old one is closed
        trade.status = "closed"
    trade = SandboxTrade(
        trade_no="SBX" + secrets.token_hex(10),
        out_trade_no=out_trade_no,
        amount=amount,
        subject=f"Jishi {out_trade_no}",
        notify_url=notify_url,
        return_url=return_url,
    )
    db.session.add(trade)
    return trade


def trade_for(payment) -> SandboxTrade:
    """The buyer chooses the sandbox for ``payment`` (the kernel's
    ``start``, through the gateway contract; commits): its open trade."""
    from jishi.payments import service

    service.start(payment, "sandbox", "pc")
    return db.session.execute(
        db.select(SandboxTrade).where(
            SandboxTrade.out_trade_no == service.trade_number(payment), SandboxTrade.status == "created"
        )
    ).scalar_one()


def trades_of(out_trade_no: str) -> list[SandboxTrade]:
    return list(db.session.execute(db.select(SandboxTrade).where(SandboxTrade.out_trade_no == out_trade_no)).scalars())


def close_trades(out_trade_no: str) -> str:
    """The gateway's "close trade" API: ``closed``, or ``paid`` (with the
    paid trade) when the buyer paid it already. Conditional, like the
    gateway's own books: a trade paid meanwhile stays paid."""
    db.session.execute(
        db.update(SandboxTrade)
        .where(SandboxTrade.out_trade_no == out_trade_no, SandboxTrade.status == "created")
        .values(status="closed")
    )
    return "closed"


def notification_for(trade: SandboxTrade, *, status: str = "TRADE_SUCCESS") -> dict:
    """The signed notification of ``trade`` (a success marks an open trade
    paid in the gateway's own books: it tells what it did)."""
    cfg = current_app.config
    if status == "TRADE_SUCCESS" and trade.status == "created":
        # Conditional: a trade closed meanwhile takes no money (its
        # notification is then refused as a closed trade's).
        paid = db.session.execute(
            db.update(SandboxTrade)
            .where(SandboxTrade.id == trade.id, SandboxTrade.status == "created")
            .values(status="paid")
        )
        if not paid.rowcount:
            db.session.refresh(trade)
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


def deliver(url: str, params: dict) -> None:
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


def refund(trade_no: str, amount: int, number: str, *, mode: str = "sync") -> SandboxOperation:
    """The gateway's refund API, idempotent by our ``number``: refunds at
    most what is left of the trade. ``mode``: ``sync`` (done at once),
    ``async`` (accepted; a signed refund notification follows), ``fail``
    (refused)."""
    op = db.session.execute(db.select(SandboxOperation).where(SandboxOperation.number == number)).scalar_one_or_none()
    if op is not None and op.status != "failed":
        return op  # the same number again: what it did the first time
    trade = db.session.execute(db.select(SandboxTrade).where(SandboxTrade.trade_no == trade_no)).scalar_one_or_none()
    ok = (
        mode != "fail"
        and trade is not None
        and trade.status in ("paid", "refunded")
        and trade.refunded_amount + amount <= trade.amount
    )
    status = "failed" if not ok else ("succeeded" if mode == "sync" else "pending")
    if op is not None:  # a refused one asked again: tried anew under its number
        op.status = status
    else:
        op = SandboxOperation(
            kind="refund",
            number=number,
            trade_no=trade_no,
            amount=amount,
            status=status,
            reference="SBR" + secrets.token_hex(8),
        )
        db.session.add(op)
    if ok and trade is not None:
        trade.refunded_amount += amount
        if trade.refunded_amount == trade.amount:
            trade.status = "refunded"
    return op


def refund_notification(op: SandboxOperation, trade: SandboxTrade) -> dict:
    """The signed notification of a refund the gateway finished."""
    cfg = current_app.config
    params = {
        "notify_id": secrets.token_hex(16),
        "notify_type": "refund",
        "app_id": cfg["JISHI_SANDBOX_APP_ID"],
        "trade_no": trade.trade_no,
        "out_trade_no": trade.out_trade_no,
        "out_refund_no": op.number,
        "refund_no": op.reference,
        "refund_amount": str(op.amount),
        "refund_status": "REFUND_SUCCESS" if op.status == "succeeded" else "REFUND_FAILED",
        "timestamp": str(int(time.time())),
    }
    params["sign"] = sign(params, cfg["JISHI_SANDBOX_SECRET"])
    return params


def share(trade_no: str, amount: int, number: str, receiver: str) -> SandboxOperation:
    """The gateway's profit-sharing API (分账), idempotent by ``number``:
    shares at most what is left of the trade after refunds and sharings."""
    op = db.session.execute(db.select(SandboxOperation).where(SandboxOperation.number == number)).scalar_one_or_none()
    if op is not None:
        return op
    trade = db.session.execute(db.select(SandboxTrade).where(SandboxTrade.trade_no == trade_no)).scalar_one_or_none()
    shared = db.session.execute(
        db.select(db.func.coalesce(db.func.sum(SandboxOperation.amount), 0)).where(
            SandboxOperation.trade_no == trade_no,
            SandboxOperation.kind == "share",
            SandboxOperation.status == "succeeded",
        )
    ).scalar_one()
    ok = (
        trade is not None
        and trade.status in ("paid", "refunded")
        and shared + amount <= trade.amount - trade.refunded_amount
    )
    op = SandboxOperation(
        kind="share",
        number=number,
        trade_no=trade_no,
        amount=amount,
        receiver=receiver[:120],
        status="succeeded" if ok else "failed",
        reference="SBS" + secrets.token_hex(8),
    )
    db.session.add(op)
    return op


def share_return(share_number: str, amount: int, number: str) -> SandboxOperation:
    """Return (分账回退) part of a sharing from its receiver."""
    op = db.session.execute(db.select(SandboxOperation).where(SandboxOperation.number == number)).scalar_one_or_none()
    if op is not None:
        return op
    original = db.session.execute(
        db.select(SandboxOperation).where(SandboxOperation.number == share_number, SandboxOperation.kind == "share")
    ).scalar_one_or_none()
    returned = db.session.execute(
        db.select(db.func.coalesce(db.func.sum(SandboxOperation.amount), 0)).where(
            SandboxOperation.kind == "share_return",
            SandboxOperation.receiver == share_number,
            SandboxOperation.status == "succeeded",
        )
    ).scalar_one()
    ok = original is not None and original.status == "succeeded" and returned + amount <= original.amount
    op = SandboxOperation(
        kind="share_return",
        number=number,
        trade_no=original.trade_no if original is not None else "",
        amount=amount,
        receiver=share_number,
        status="succeeded" if ok else "failed",
        reference="SBB" + secrets.token_hex(8),
    )
    db.session.add(op)
    return op


def finish(trade_no: str, number: str) -> SandboxOperation:
    """The gateway's "unfreeze the rest" of a shared trade, once per ``number``."""
    op = db.session.execute(db.select(SandboxOperation).where(SandboxOperation.number == number)).scalar_one_or_none()
    if op is not None:
        return op
    trade = db.session.execute(db.select(SandboxTrade).where(SandboxTrade.trade_no == trade_no)).scalar_one_or_none()
    op = SandboxOperation(
        kind="finish",
        number=number,
        trade_no=trade_no,
        amount=0,
        status="succeeded" if trade is not None else "failed",
        reference="SBF" + secrets.token_hex(8),
    )
    db.session.add(op)
    return op
