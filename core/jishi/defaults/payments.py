"""Default ways to pay, written on the public gateway contract like any
plugin's: the sandbox gateway (the kernel's local fake of an online
gateway, with its own pages and records) and cash on delivery."""

from __future__ import annotations

import time

from flask import current_app, url_for

from jishi import settings
from jishi.db import db
from jishi.hookspecs import GatewayNotification, GatewayResult, PaymentGateway, PaymentStart, hookimpl
from jishi.i18n import lazy_gettext as _l


class SandboxGateway(PaymentGateway):
    """The sandbox: signed (HMAC-SHA256) notifications with an app id and a
    timestamp window, trades and refunds kept in its own tables, a cashier
    page. Refunds answer as ``JISHI_SANDBOX_REFUND_MODE`` says: ``sync``
    (done at once), ``async`` (accepted; a signed refund notification
    follows), ``fail`` (refused), ``down`` (unreachable: retried later)."""

    code = "sandbox"
    label = _l("Online payment (sandbox)")
    channels = ("pc", "h5", "jsapi", "native")
    sort = 10
    test_mode = True
    profit_sharing = True

    def start(self, payment, channel, payer):
        from jishi.payments import sandbox, service

        trade = sandbox.create_trade(
            service.trade_number(payment), payment.amount, service.notify_url(self.code), service.return_url(payment)
        )
        db.session.flush()
        page = url_for("payments.gateway_page", trade_no=trade.trade_no)
        if channel == "native":
            return PaymentStart(qr_code=url_for("payments.gateway_page", trade_no=trade.trade_no, _external=True))
        return PaymentStart(redirect_url=page)

    def verify_notification(self, request, kind):
        return self.notification_from(request.form.to_dict() or (request.get_json(silent=True) or {}))

    def notification_from(self, params: dict) -> GatewayNotification | None:
        """Verify the sandbox's signed parameters and decode them."""
        from jishi.payments import sandbox
        from jishi.payments.models import SandboxTrade
        from jishi.payments.service import NotificationRefused

        cfg = current_app.config
        params = {k: str(v) for k, v in params.items()}
        if not sandbox.verify(params, cfg["JISHI_SANDBOX_SECRET"]):
            raise NotificationRefused("bad signature", "sign")
        if params.get("app_id") != cfg["JISHI_SANDBOX_APP_ID"]:
            raise NotificationRefused("wrong app_id", "app_id")
        try:
            ts = int(params.get("timestamp", ""))
        except ValueError:
            raise NotificationRefused("bad timestamp", "timestamp") from None
        if abs(time.time() - ts) > int(cfg["JISHI_SANDBOX_NOTIFY_WINDOW_SECONDS"]):
            raise NotificationRefused("notification outside the time window", "timestamp")
        if not params.get("notify_id"):
            raise NotificationRefused("missing notify_id", "notify_id")
        amount_field = "refund_amount" if params.get("notify_type") == "refund" else "total_amount"
        raw_amount = params.get(amount_field, "")
        if not raw_amount.isdecimal():
            raise NotificationRefused("bad amount", amount_field)
        # The gateway's own books: the trade it names is of this out_trade_no.
        trade = db.session.execute(
            SandboxTrade.__table__.select().where(SandboxTrade.trade_no == params.get("trade_no", ""))
        ).first()
        if trade is None or trade.out_trade_no != params.get("out_trade_no"):
            raise NotificationRefused("trade_no is not a trade of this payment", "trade_no")
        if params.get("notify_type") != "refund" and trade.status == "closed":
            # The gateway closed it (its payment asked another amount since):
            # it takes no money, and says so for none.
            raise NotificationRefused("the trade was closed: its amount is no longer asked", "total_amount")
        if params.get("notify_type") == "refund":
            return GatewayNotification(
                kind="refund",
                reference=params["notify_id"],
                payment_number=params.get("out_trade_no", ""),
                gateway_trade_no=params["trade_no"],
                amount=int(raw_amount),
                status="succeeded" if params.get("refund_status") == "REFUND_SUCCESS" else "failed",
                refund_number=params.get("out_refund_no"),
                gateway_refund_no=params.get("refund_no"),
                raw=params,
            )
        if int(raw_amount) != trade.amount:
            raise NotificationRefused("amount does not match the trade", "total_amount")
        return GatewayNotification(
            kind="payment",
            reference=params["notify_id"],
            payment_number=params.get("out_trade_no", ""),
            gateway_trade_no=params["trade_no"],
            amount=int(raw_amount),
            status="paid" if params.get("trade_status") == "TRADE_SUCCESS" else "pending",
            raw=params,
        )

    def query(self, payment):
        from jishi.payments import sandbox, service

        for trade in sandbox.trades_of(service.trade_number(payment)):
            if trade.status in ("paid", "refunded"):
                return GatewayResult("succeeded", amount=trade.amount, reference=trade.trade_no)
        return GatewayResult("not_paid")

    def close(self, payment):
        from jishi.payments import sandbox, service

        number = service.trade_number(payment)
        for trade in sandbox.trades_of(number):
            if trade.status in ("paid", "refunded"):
                return GatewayResult("succeeded", amount=trade.amount, reference=trade.trade_no)
        sandbox.close_trades(number)
        return GatewayResult("closed")

    def refund(self, refund):
        from jishi.payments import sandbox, service
        from jishi.payments.models import SandboxTrade

        mode = current_app.config.get("JISHI_SANDBOX_REFUND_MODE", "sync")
        if mode == "down":
            return GatewayResult("failed", message="sandbox gateway unreachable", retryable=True)
        op = sandbox.refund(refund.gateway_trade_no, refund.amount, refund.number, mode=mode)
        db.session.flush()
        if op.status == "pending":
            trade = db.session.execute(
                SandboxTrade.__table__.select().where(SandboxTrade.trade_no == op.trade_no)
            ).first()
            url = service.notify_url(self.code, "refund")
            op.status = "succeeded"  # the gateway finishes it and tells us
            params = sandbox.refund_notification(op, trade)
            op.status = "pending"
            after_commit_deliver(url, params, op.number)
            return GatewayResult("pending", amount=op.amount, reference=op.reference)
        return _result(op, "refund was refused by the sandbox")

    def query_refund(self, refund):
        from jishi.payments.models import SandboxOperation

        op = db.session.execute(
            SandboxOperation.__table__.select().where(SandboxOperation.number == refund.number)
        ).first()
        if op is None:
            return GatewayResult("failed", message="no such refund", retryable=True)
        return _result(op, "refund was refused by the sandbox")

    def bill(self, day):
        """The sandbox's books of ``day``: its trades paid and refunds done."""
        from jishi.hookspecs import BillEntry
        from jishi.i18n import shop_day_bounds
        from jishi.payments.models import SandboxOperation, SandboxTrade

        start, end = shop_day_bounds(day, day)
        trades = db.session.execute(
            db.select(SandboxTrade).where(
                SandboxTrade.status.in_(("paid", "refunded")),
                SandboxTrade.created_at >= start,
                SandboxTrade.created_at < end,
            )
        ).scalars()
        refunds = db.session.execute(
            db.select(SandboxOperation).where(
                SandboxOperation.kind == "refund",
                SandboxOperation.status == "succeeded",
                SandboxOperation.created_at >= start,
                SandboxOperation.created_at < end,
            )
        ).scalars()
        return [BillEntry("charge", t.trade_no, t.amount, t.out_trade_no) for t in trades] + [
            BillEntry("refund", op.number, op.amount) for op in refunds
        ]

    def add_receiver(self, receiver):
        return GatewayResult("succeeded", reference=receiver.get("account", ""))

    def profit_share(self, share):
        from jishi.payments import sandbox

        op = sandbox.share(share.gateway_trade_no, share.amount, share.number, share.receiver.get("account", ""))
        return _result(op, "sharing refused: more than is left of the trade")

    def profit_return(self, share):
        from jishi.payments import sandbox

        op = sandbox.share_return(share.share_number or "", share.amount, share.number)
        return _result(op, "return refused: more than was shared")

    def finish_sharing(self, payment, number):
        """Unfreeze the rest of the trade for the platform: recorded once per number."""
        from jishi.payments import sandbox

        op = sandbox.finish(payment.gateway_trade_no or "", number)
        return _result(op, "no such trade")


def _result(op, refusal: str) -> GatewayResult:
    if op.status == "succeeded":
        return GatewayResult("succeeded", amount=op.amount, reference=op.reference)
    if op.status == "pending":
        return GatewayResult("pending", amount=op.amount, reference=op.reference)
    return GatewayResult("failed", message=refusal)


def after_commit_deliver(url: str, params: dict, number: str) -> None:
    """The sandbox finishes an accepted refund once our side has recorded
    its answer: it marks its own record done and sends the notification."""
    from jishi.db import after_commit, commit
    from jishi.payments import sandbox
    from jishi.payments.models import SandboxOperation

    def finish():
        db.session.execute(
            SandboxOperation.__table__.update().where(SandboxOperation.number == number).values(status="succeeded")
        )
        commit()
        sandbox.deliver(url, params)

    after_commit(finish)


class CashOnDelivery(PaymentGateway):
    """Cash on delivery (货到付款): no money moves online; the kernel sends
    the orders to shipping and the money is collected on receipt. A refund
    of collected cash is handed back by the shop (recorded as done)."""

    code = "cod"
    label = _l("Cash on delivery")
    channels = ("offline",)
    online = False
    sort = 90

    def available(self, channel=None):
        return bool(settings.get("payment.cod_enabled", True))

    def start(self, payment, channel, payer):
        from jishi.i18n import gettext as _
        from jishi.payments.service import PaymentError

        if not settings.get("payment.cod_enabled", True):
            raise PaymentError(_("Cash on delivery is turned off."), field="method")
        if any(o.is_virtual for o in payment.orders):
            raise PaymentError(_("Virtual goods cannot be paid on delivery."), field="method")
        return PaymentStart(offline=True)

    def refund(self, refund):
        return GatewayResult("succeeded", amount=refund.amount, reference=f"cash:{refund.number}")


class FreeGateway(PaymentGateway):
    """免支付 (0元支付): the kernel's internal gateway for a payment that asks
    0 (a points-only exchange, an order a coupon or points paid in full).
    It is never offered to buyers: the placement pays such a payment at once
    (:func:`jishi.payments.service.pay_free`). No money moves, so nothing is
    refunded through it; an after-sales refund of such an order still runs
    ``settle_refund`` (plugins give points and stock back)."""

    code = "free"
    label = _l("No payment needed")
    channels = ("offline",)
    online = False
    sort = 99

    def available(self, channel=None):
        return False  # never chosen: the kernel applies it to a payment of 0

    def start(self, payment, channel, payer):
        from jishi.i18n import gettext as _
        from jishi.payments.service import PaymentError

        raise PaymentError(_("This payment method is not offered here."), field="method")

    def refund(self, refund):
        return GatewayResult("succeeded", amount=refund.amount, reference=f"free:{refund.number}")


@hookimpl
def payment_gateways():
    return [SandboxGateway(), CashOnDelivery(), FreeGateway()]
