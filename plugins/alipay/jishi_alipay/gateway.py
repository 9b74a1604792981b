"""The Alipay gateway on the kernel's payment contract
(:class:`jishi.gateways.PaymentGateway`).

Channels: ``pc`` (``alipay.trade.page.pay``: the browser goes to Alipay's
cashier), ``h5`` (``alipay.trade.wap.pay``), ``mini_program``
(``alipay.trade.create`` for the buyer's Alipay user id, passed as
``Payer.openid``: ``client_params`` ``{"tradeNO": ...}`` for
``my.tradePay``), ``native`` (``alipay.trade.precreate``: the QR code).

Notifications are form POSTs to ``/payments/notify/alipay`` (Alipay sends
refunds' notifications to the same URL, with ``out_biz_no``): verified
with Alipay's public key over the sorted parameters without ``sign`` and
``sign_type``, then the app id, the seller id (when configured), the
notification's age and the amount's form are checked here; the payment,
the trade and the amount against the payment are the kernel's checks.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from jishi import settings
from jishi.gateways import (
    GatewayNotification,
    GatewayResult,
    NotificationRefused,
    PaymentError,
    PaymentGateway,
    PaymentStart,
    ProfitShareRequest,
    RefundRequest,
    amount_to_fen,
    fen_to_amount,
    notify_url,
    return_url,
    trade_number,
)
from jishi.i18n import gettext as _
from jishi.i18n import lazy_gettext as _l

from jishi_alipay import client, config, wire
from jishi_alipay.client import Answer

PAID = ("TRADE_SUCCESS", "TRADE_FINISHED")
#: A buyer id of the user-id mode (2088 and 12 digits); others are OpenIDs.
USER_ID = re.compile(r"2088\d{12}")


def _not_configured() -> GatewayResult:
    return GatewayResult("failed", message="Alipay is not configured", retryable=True)


def _failure(answer: Answer, what: str) -> GatewayResult:
    return GatewayResult(
        "failed", message=f"{what}: {answer.message}"[:300], retryable=answer.retryable, raw=answer.body
    )


def _fen(text: Any, name: str) -> int:
    """An amount Alipay sent ("12.30") as fen, strictly; ValueError names it."""
    try:
        return amount_to_fen(str(text if text is not None else ""))
    except ValueError:
        raise ValueError(f"{name}: not an amount: {text!r}") from None


def _subject(payment) -> str:
    shop = str(settings.get("shop.name", "") or "Jishi")
    return f"{shop} {payment.number}"[:256]


class AlipayGateway(PaymentGateway):
    code = "alipay"
    label = _l("Alipay")
    channels = ("pc", "h5", "mini_program", "native")
    sort = 20

    # -- what the kernel reads ---------------------------------------------------

    @property
    def test_mode(self) -> bool:  # type: ignore[override]
        """Pointed at Alipay's sandbox or a local fake (buyers see 测试模式)."""
        return config.gateway_url() != config.PRODUCTION_URL

    @property
    def profit_sharing(self) -> bool:  # type: ignore[override]
        cfg = config.current()
        return bool(cfg and cfg.profit_sharing)

    def available(self, channel: str | None = None) -> bool:
        return config.current() is not None and super().available(channel)

    # -- starting ------------------------------------------------------------------

    def start(self, payment, channel, payer):
        cfg = config.current()
        if cfg is None:
            raise PaymentError(_("Alipay is not configured."), field="method")
        if channel not in self.channels:
            raise PaymentError(_("Alipay cannot be paid this way (%(channel)s).", channel=channel), field="channel")
        expire_minutes = int(current_app.config.get("JISHI_ALIPAY_TRADE_MINUTES", 30))
        biz: dict[str, Any] = {
            "out_trade_no": trade_number(payment),
            "total_amount": fen_to_amount(payment.amount),
            "subject": _subject(payment),
            # a cashier page left open takes no money after this
            "time_expire": wire.now_text(datetime.now(UTC) + timedelta(minutes=expire_minutes)),
        }
        if cfg.profit_sharing:  # kept frozen for 分账 until settled or finished
            biz["extend_params"] = {"royalty_freeze": "true"}
        notify = notify_url(self.code)
        if channel in ("pc", "h5"):
            back = return_url(payment)
            if channel == "pc":
                biz["product_code"] = "FAST_INSTANT_TRADE_PAY"
                method = "alipay.trade.page.pay"
            else:
                biz["product_code"] = "QUICK_WAP_WAY"
                biz["quit_url"] = back
                method = "alipay.trade.wap.pay"
            return PaymentStart(redirect_url=client.page_url(cfg, method, biz, notify_url=notify, return_url=back))
        if channel == "native":
            answer = client.call(cfg, "alipay.trade.precreate", biz, notify_url=notify)
            self._refuse_start(answer)
            qr = str(answer.body.get("qr_code") or "")
            if not qr:
                raise PaymentError(_("Alipay did not answer a QR code; try again."), field="method", status=502)
            return PaymentStart(qr_code=qr)
        # mini_program: the trade is created for the buyer, my.tradePay pays it
        buyer = (payer.openid or "").strip()
        if not buyer:
            raise PaymentError(_("Paying in the Alipay mini-program needs the buyer's Alipay user id."), field="openid")
        biz["product_code"] = "JSAPI_PAY"
        biz["buyer_id" if USER_ID.fullmatch(buyer) else "buyer_open_id"] = buyer
        if cfg.mini_program_app_id:
            biz["op_app_id"] = cfg.mini_program_app_id
        answer = client.call(cfg, "alipay.trade.create", biz, notify_url=notify)
        self._refuse_start(answer)
        trade_no = str(answer.body.get("trade_no") or "")
        if not trade_no:
            raise PaymentError(_("Alipay did not answer a trade number; try again."), field="method", status=502)
        return PaymentStart(client_params={"tradeNO": trade_no}, gateway_trade_no=trade_no)

    @staticmethod
    def _refuse_start(answer: Answer) -> None:
        if answer.ok:
            return
        if answer.says("ACQ.TRADE_HAS_SUCCESS"):
            raise PaymentError(_("This payment was made already; reload the order."), field="payment", status=409)
        if answer.says("ACQ.TRADE_HAS_CLOSE"):
            raise PaymentError(_("This payment was closed at Alipay."), field="payment", status=409)
        if answer.retryable:
            raise PaymentError(_("Alipay could not be reached; try again."), field="method", status=502)
        raise PaymentError(
            _("Alipay refused the payment: %(reason)s", reason=answer.message), field="method", status=502
        )

    # -- notifications -------------------------------------------------------------

    def verify_notification(self, request, kind):
        return self.notification_from(request.form.to_dict())

    def reply(self, ok: bool, message: str = ""):
        """Alipay stops retrying on the plain text ``success`` only; anything
        else (``fail``) makes it send again (8 times over 25 hours)."""
        if ok:
            return "success", 200, {"Content-Type": "text/plain; charset=utf-8"}
        return "fail", 200, {"Content-Type": "text/plain; charset=utf-8"}

    def notification_from(self, params: Mapping[str, Any]) -> GatewayNotification | None:
        """Verify a notification's parameters and decode them."""
        cfg = config.current()
        if cfg is None:
            raise NotificationRefused("Alipay is not configured", "app_id")
        p = {str(k): str(v) for k, v in params.items()}
        if not p.get("sign"):
            raise NotificationRefused("missing signature", "sign")
        if p.get("sign_type", "RSA2") != "RSA2":
            raise NotificationRefused("only RSA2 signatures are accepted", "sign_type")
        if not wire.verify_notification(cfg.public_key, p):
            raise NotificationRefused("bad signature", "sign")
        if p.get("app_id") != cfg.app_id:
            raise NotificationRefused("a notification of another app", "app_id")
        if cfg.seller_id and p.get("seller_id") != cfg.seller_id:
            raise NotificationRefused("a notification of another seller", "seller_id")
        for name in ("notify_id", "out_trade_no", "trade_no"):
            if not p.get(name):
                raise NotificationRefused(f"missing {name}", name)
        sent = wire.parse_time(p.get("notify_time"))
        if sent is None:
            raise NotificationRefused("missing or malformed notify_time", "notify_time")
        now = datetime.now(UTC).replace(tzinfo=None)
        max_age = timedelta(hours=int(current_app.config.get("JISHI_ALIPAY_NOTIFY_MAX_AGE_HOURS", 48)))
        if sent < now - max_age or sent > now + timedelta(minutes=10):
            raise NotificationRefused("notification outside the time window", "notify_time")
        if p.get("out_biz_no") and (p.get("refund_fee") or p.get("gmt_refund")):
            return self._refund_notification(cfg, p)
        try:
            amount = _fen(p.get("total_amount"), "total_amount")
        except ValueError as exc:
            raise NotificationRefused(str(exc), "total_amount") from None
        status = p.get("trade_status", "")
        if status in PAID:
            state = "paid"
        elif status == "TRADE_CLOSED":
            state = "closed"
        elif status == "WAIT_BUYER_PAY":
            state = "pending"
        else:
            raise NotificationRefused(f"unknown trade_status {status!r}", "trade_status")
        return GatewayNotification(
            kind="payment",
            reference=p["notify_id"],
            payment_number=p["out_trade_no"],
            gateway_trade_no=p["trade_no"],
            amount=amount,
            status=state,
            paid_at=wire.parse_time(p.get("gmt_payment")),
            raw=p,
        )

    def _refund_notification(self, cfg: config.AlipayConfig, p: dict[str, str]) -> GatewayNotification | None:
        """A refund's notification (``out_biz_no`` = our ``out_request_no``)
        carries the trade's *total* refunded (``refund_fee``), not this
        refund's amount: the refund itself is asked for
        (``alipay.trade.fastpay.refund.query``). Unanswered, the notification
        is refused so that Alipay sends it again."""
        try:
            _fen(p.get("refund_fee", "0") or "0", "refund_fee")
        except ValueError as exc:
            raise NotificationRefused(str(exc), "refund_fee") from None
        result = self._query_refund(cfg, p["out_trade_no"], p["out_biz_no"], p["trade_no"])
        if result.status == "failed" and result.retryable:
            raise NotificationRefused(f"the refund is not confirmed yet: {result.message}", "out_biz_no")
        if result.status == "succeeded" and result.amount == 0:
            return None  # a royalty return (profit_return): nothing of the buyer's moved
        return GatewayNotification(
            kind="refund",
            reference=p["notify_id"],
            payment_number=p["out_trade_no"],
            gateway_trade_no=p["trade_no"],
            amount=result.amount,
            status=result.status if result.status in ("succeeded", "failed") else "pending",
            refund_number=p["out_biz_no"],
            gateway_refund_no=p["trade_no"],
            paid_at=wire.parse_time(p.get("gmt_refund")),
            raw=p,
        )

    # -- trades ------------------------------------------------------------------------

    def query(self, payment):
        cfg = config.current()
        if cfg is None:
            return _not_configured()
        number = trade_number(payment)
        answer = client.call(cfg, "alipay.trade.query", {"out_trade_no": number})
        if answer.says("ACQ.TRADE_NOT_EXIST"):
            return GatewayResult("not_paid", message="no trade at Alipay yet")
        if not answer.ok:
            return _failure(answer, "alipay.trade.query")
        return self._trade_state(answer.body, number)

    @staticmethod
    def _trade_state(body: Mapping[str, Any], number: str) -> GatewayResult:
        if body.get("out_trade_no") not in (None, number):
            return GatewayResult("failed", message="Alipay answered about another trade", retryable=True)
        status = body.get("trade_status")
        trade_no = str(body.get("trade_no") or "")
        if status in PAID:
            try:
                amount = _fen(body.get("total_amount"), "total_amount")
            except ValueError as exc:
                return GatewayResult("failed", message=str(exc), raw=body)
            return GatewayResult(
                "succeeded",
                amount=amount,
                reference=trade_no,
                paid_at=wire.parse_time(body.get("send_pay_date")),
                raw=body,
            )
        if status == "TRADE_CLOSED":
            return GatewayResult("closed", reference=trade_no, raw=body)
        return GatewayResult("not_paid", reference=trade_no, raw=body)

    def close(self, payment):
        cfg = config.current()
        if cfg is None:
            return _not_configured()
        number = trade_number(payment)
        answer = client.call(cfg, "alipay.trade.close", {"out_trade_no": number})
        if answer.ok:
            return GatewayResult("closed", reference=str(answer.body.get("trade_no") or ""))
        if answer.says("ACQ.TRADE_NOT_EXIST"):
            # The buyer never opened the cashier: nothing to close at Alipay
            # (and the cashier URL expires at time_expire).
            return GatewayResult("closed", message="no trade at Alipay")
        if answer.says("ACQ.TRADE_STATUS_ERROR"):
            # paid or closed already: ask which
            state = self.query(payment)
            if state.status in ("succeeded", "closed"):
                return state
            return GatewayResult("failed", message=f"alipay.trade.close: {answer.message}", retryable=True)
        return _failure(answer, "alipay.trade.close")

    # -- refunds -------------------------------------------------------------------------

    def refund(self, refund: RefundRequest) -> GatewayResult:
        """``alipay.trade.refund`` under our number (``out_request_no``: Alipay
        refunds once per number, whatever is retried). Done only when
        ``fund_change`` is ``Y``; otherwise (a repeat of a refund done
        before answers ``N`` too) the refund is asked for."""
        cfg = config.current()
        if cfg is None:
            return _not_configured()
        biz: dict[str, Any] = {
            "out_trade_no": refund.payment_number,
            "refund_amount": fen_to_amount(refund.amount),
            "out_request_no": refund.number,
            "refund_reason": (refund.reason or "")[:80],
        }
        if refund.gateway_trade_no:
            biz["trade_no"] = refund.gateway_trade_no
        answer = client.call(cfg, "alipay.trade.refund", biz)
        if not answer.ok:
            return _failure(answer, "alipay.trade.refund")
        if answer.body.get("fund_change") == "Y":
            return GatewayResult(
                "succeeded", amount=refund.amount, reference=str(answer.body.get("trade_no") or ""), raw=answer.body
            )
        state = self._query_refund(cfg, refund.payment_number, refund.number, refund.gateway_trade_no)
        if state.status == "failed" and state.retryable:
            # accepted, not yet seen by the query: wait for it
            return GatewayResult("pending", amount=refund.amount, reference=str(answer.body.get("trade_no") or ""))
        return state

    def query_refund(self, refund: RefundRequest) -> GatewayResult:
        cfg = config.current()
        if cfg is None:
            return _not_configured()
        return self._query_refund(cfg, refund.payment_number, refund.number, refund.gateway_trade_no)

    @staticmethod
    def _query_refund(cfg: config.AlipayConfig, out_trade_no: str, number: str, trade_no: str = "") -> GatewayResult:
        biz: dict[str, Any] = {"out_trade_no": out_trade_no, "out_request_no": number}
        if trade_no:
            biz["trade_no"] = trade_no
        answer = client.call(cfg, "alipay.trade.fastpay.refund.query", biz)
        if not answer.ok:
            return _failure(answer, "alipay.trade.fastpay.refund.query")
        body = answer.body
        reference = str(body.get("trade_no") or trade_no or "")
        if body.get("refund_status") == "REFUND_SUCCESS":
            try:
                amount = _fen(body.get("refund_amount"), "refund_amount")
            except ValueError as exc:
                return GatewayResult("failed", message=str(exc), retryable=True, raw=body)
            return GatewayResult("succeeded", amount=amount, reference=reference, raw=body)
        if not body.get("refund_status") and not body.get("refund_amount"):
            # Alipay: no status = the request was not received (or failed);
            # sending it again under the same number is safe.
            return GatewayResult("failed", message="Alipay has no such refund", retryable=True, raw=body)
        return GatewayResult("pending", reference=reference, raw=body)

    # -- profit sharing (分账) ---------------------------------------------------------

    @staticmethod
    def _account(receiver: Mapping[str, str]) -> tuple[str, str]:
        kind = receiver.get("type") or "userId"
        return kind, str(receiver.get("account") or "")

    def add_receiver(self, receiver: Mapping[str, str]) -> GatewayResult:
        """``alipay.trade.royalty.relation.bind``: the receiver joins the
        app's royalty relations (the request number is the receiver's own,
        so binding it again is one request)."""
        cfg = config.current()
        if cfg is None:
            return _not_configured()
        kind, account = self._account(receiver)
        if not account:
            return GatewayResult("failed", message="the receiver has no account")
        entry = {"type": kind, "account": account}
        if receiver.get("name"):
            entry["name"] = receiver["name"]
        number = "RB" + hashlib.sha256(f"{kind}:{account}".encode()).hexdigest()[:30]
        answer = client.call(
            cfg, "alipay.trade.royalty.relation.bind", {"receiver_list": [entry], "out_request_no": number}
        )
        if not answer.ok:
            return _failure(answer, "alipay.trade.royalty.relation.bind")
        return GatewayResult("succeeded", reference=account, raw=answer.body)

    def profit_share(self, share: ProfitShareRequest) -> GatewayResult:
        """``alipay.trade.order.settle``: ``share.amount`` of the trade to the
        receiver, under our number (``out_request_no``)."""
        cfg = config.current()
        if cfg is None:
            return _not_configured()
        kind, account = self._account(share.receiver)
        biz = {
            "out_request_no": share.number,
            "trade_no": share.gateway_trade_no,
            "royalty_parameters": [
                {
                    "royalty_type": "transfer",
                    "trans_in_type": kind,
                    "trans_in": account,
                    "amount": fen_to_amount(share.amount),
                    "desc": (share.description or "")[:100],
                }
            ],
        }
        answer = client.call(cfg, "alipay.trade.order.settle", biz)
        if not answer.ok:
            return _failure(answer, "alipay.trade.order.settle")
        return GatewayResult(
            "succeeded",
            amount=share.amount,
            reference=str(answer.body.get("settle_no") or answer.body.get("trade_no") or ""),
            raw=answer.body,
        )

    def profit_return(self, share: ProfitShareRequest) -> GatewayResult:
        """Return (退分账) a sharing: Alipay has no return API of its own for
        ``alipay.trade.order.settle``; its refund API returns royalty from a
        receiver (``refund_royalty_parameters``, ``trans_out`` = the
        receiver) and may refund nothing to the buyer (``refund_amount``
        0). A refusal (the receiver's balance short, the account without
        it) answers ``failed``: the kernel records a debt."""
        cfg = config.current()
        if cfg is None:
            return _not_configured()
        kind, account = self._account(share.receiver)
        biz = {
            "trade_no": share.gateway_trade_no,
            "out_trade_no": share.payment_number,
            "out_request_no": share.number,
            "refund_amount": "0.00",
            "refund_reason": (share.description or "royalty return")[:80],
            "refund_royalty_parameters": [
                {
                    "royalty_type": "transfer",
                    "trans_out_type": kind,
                    "trans_out": account,
                    "amount": fen_to_amount(share.amount),
                }
            ],
        }
        answer = client.call(cfg, "alipay.trade.refund", biz)
        if not answer.ok:
            result = _failure(answer, "alipay.trade.refund (royalty return)")
            return GatewayResult(
                "failed",
                message=f"Alipay did not return the royalty; record it as the merchant's debt. {result.message}"[:300],
                retryable=result.retryable,
                raw=result.raw,
            )
        return GatewayResult(
            "succeeded", amount=share.amount, reference=str(answer.body.get("trade_no") or ""), raw=answer.body
        )

    def finish_sharing(self, payment, number: str) -> GatewayResult:
        """Unfreeze what is left of the trade for the platform: a settle with
        ``royalty_finish`` and no royalty of its own."""
        cfg = config.current()
        if cfg is None:
            return _not_configured()
        if not payment.gateway_trade_no:
            return GatewayResult("failed", message="the payment has no Alipay trade")
        biz = {
            "out_request_no": number,
            "trade_no": payment.gateway_trade_no,
            "royalty_parameters": [],
            "extend_params": {"royalty_finish": "true"},
        }
        answer = client.call(cfg, "alipay.trade.order.settle", biz)
        if not answer.ok:
            return _failure(answer, "alipay.trade.order.settle (royalty_finish)")
        return GatewayResult("succeeded", reference=str(answer.body.get("settle_no") or ""), raw=answer.body)
