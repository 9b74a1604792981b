"""WeChat Pay API v3 on the kernel's gateway contract (direct merchant mode).

Channels: ``jsapi`` (公众号) and ``mini_program`` (小程序) prepay through
``/v3/pay/transactions/jsapi`` and answer the signed ``wx.requestPayment``
parameters; ``native`` (and ``pc``: a desktop browser) answers the ``code_url`` to show
as a QR code; ``h5``
sends the phone browser to ``h5_url`` (with ``redirect_url`` back to the
shop). Notifications are verified (headers' signature with the configured
platform key, the timestamp window), decrypted (AEAD_AES_256_GCM with the
APIv3 key) and checked (our mchid and appid, the trade's state) here; the
kernel checks the amount against the payment, the trade and replays.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from datetime import UTC, datetime
from typing import Any

from jishi import settings
from jishi.gateways import (
    GatewayNotification,
    GatewayResult,
    NotificationRefused,
    PaymentError,
    PaymentGateway,
    PaymentStart,
    amount_to_fen,
    notify_url,
    return_url,
    trade_number,
)
from jishi.hookspecs import BillEntry
from jishi.i18n import gettext as _
from jishi.i18n import lazy_gettext as _l

from jishi_wechatpay import client, config, crypto

CODE = "wechatpay"
CHANNELS = ("pc", "jsapi", "mini_program", "native", "h5")

# a notification's event_type -> (kind, status)
PAYMENT_EVENTS = {"TRANSACTION.SUCCESS"}
REFUND_EVENTS = {"REFUND.SUCCESS": "succeeded", "REFUND.ABNORMAL": "abnormal", "REFUND.CLOSED": "failed"}
# a refund's status (answer or query) -> GatewayResult status
REFUND_STATUS = {"SUCCESS": "succeeded", "PROCESSING": "pending", "ABNORMAL": "abnormal", "CLOSED": "failed"}


def _q(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def parse_time(value: Any) -> datetime | None:
    """``2018-06-08T10:34:56+08:00`` → an aware datetime (None if absent or bad)."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _fen(value: Any) -> int | None:
    """An integer fen amount from JSON (refuse floats, booleans, strings)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def _error(data: dict, status: int) -> str:
    return f"{data.get('code') or status}: {data.get('message') or ''}".strip()


class WechatPay(PaymentGateway):
    """WeChat Pay (微信支付) API v3, direct merchant."""

    code = CODE
    label = _l("WeChat Pay")
    channels = CHANNELS
    sort = 20
    profit_sharing = True

    @property
    def test_mode(self) -> bool:  # type: ignore[override]
        from flask import current_app

        return str(current_app.config["JISHI_WECHATPAY_API_BASE"]).rstrip("/") != config.PRODUCTION_BASE

    # -- offering and starting ---------------------------------------------------

    def available(self, channel: str | None = None) -> bool:
        if not config.enabled():
            return False
        cfg = config.load()
        if not cfg.complete:
            return False
        if cfg.base == config.PRODUCTION_BASE and settings.get(config.DEMO, False):
            return False  # the demo's keys belong to a fake that is not running
        if channel is None:
            return True
        if channel not in self.channels:
            return False
        return bool(self._appid(cfg, channel))

    @staticmethod
    def _appid(cfg: config.Config, channel: str) -> str:
        return cfg.mini_appid if channel == "mini_program" else cfg.appid

    def start(self, payment, channel, payer):
        cfg = config.load()
        if channel not in self.channels or not cfg.complete or not self._appid(cfg, channel):
            raise PaymentError(_("WeChat Pay is not offered on this client."), field="channel")
        appid = self._appid(cfg, channel)
        body: dict[str, Any] = {
            "appid": appid,
            "mchid": cfg.mchid,
            "description": _description(payment),
            "out_trade_no": trade_number(payment),
            "notify_url": notify_url(self.code),
            "amount": {"total": int(payment.amount), "currency": "CNY"},
        }
        if cfg.profit_sharing:
            body["settle_info"] = {"profit_sharing": True}
        if channel in ("jsapi", "mini_program"):
            if not payer.openid:
                raise PaymentError(_("WeChat Pay needs the buyer's WeChat identity (openid)."), field="openid")
            body["payer"] = {"openid": payer.openid}
            data = self._start_call(cfg, "/v3/pay/transactions/jsapi", body, "prepay_id")
            return PaymentStart(client_params=request_payment_params(cfg, appid, data["prepay_id"]))
        if channel in ("native", "pc"):  # a desktop browser shows the QR code
            data = self._start_call(cfg, "/v3/pay/transactions/native", body, "code_url")
            return PaymentStart(qr_code=data["code_url"])
        # h5: the payer's address is required, the page comes back to the shop
        if not payer.client_ip:
            raise PaymentError(_("WeChat Pay H5 needs the buyer's IP address."), field="client_ip")
        body["scene_info"] = {"payer_client_ip": payer.client_ip, "h5_info": {"type": "Wap"}}
        data = self._start_call(cfg, "/v3/pay/transactions/h5", body, "h5_url")
        separator = "&" if "?" in data["h5_url"] else "?"
        return PaymentStart(redirect_url=f"{data['h5_url']}{separator}redirect_url={_q(return_url(payment))}")

    def _start_call(self, cfg: config.Config, path: str, body: dict, field: str) -> dict:
        try:
            status, data = client.call(cfg, "POST", path, body)
        except client.Unreachable as exc:
            raise PaymentError(
                _("WeChat Pay cannot be reached now, please try again."), field="method", status=503
            ) from exc
        if status != 200 or not isinstance(data.get(field), str) or not data[field]:
            raise PaymentError(
                _("WeChat Pay refused the payment: %(message)s", message=_error(data, status)), field="method"
            )
        return data

    # -- notifications -------------------------------------------------------------

    def reply(self, ok: bool, message: str = "") -> Any:
        """WeChat Pay v3: 204 stops its retries; a 4xx/5xx with
        ``{"code": "FAIL", "message": ...}`` makes it retry."""
        if ok:
            return "", 204
        body = json.dumps({"code": "FAIL", "message": message or "failed"}, ensure_ascii=False)
        status = 500 if message == "internal error" else 400
        return body, status, {"Content-Type": "application/json"}

    def verify_notification(self, request, kind):
        cfg = config.load()
        if not cfg.complete:
            raise NotificationRefused("WeChat Pay is not configured", "mchid")
        body = request.get_data(cache=True)
        problem = client.verify_headers(cfg, request.headers, body, window=cfg.window)
        if problem is not None:
            raise NotificationRefused(problem, "Wechatpay-Signature")
        return self.decode_notification(cfg, body, kind)

    def decode_notification(self, cfg: config.Config, body: bytes, kind: str) -> GatewayNotification | None:
        """A verified notification body → decrypted, checked, typed."""
        try:
            envelope = json.loads(body)
            resource = envelope["resource"]
            event_type = str(envelope["event_type"])
            reference = str(envelope["id"])
        except (ValueError, KeyError, TypeError):
            raise NotificationRefused("not a WeChat Pay notification", "resource") from None
        if not isinstance(resource, dict) or resource.get("algorithm") != "AEAD_AES_256_GCM":
            raise NotificationRefused("unsupported resource algorithm", "resource.algorithm")
        try:
            plain = crypto.aead_decrypt(
                cfg.apiv3_key,
                str(resource.get("nonce", "")),
                str(resource.get("ciphertext", "")),
                str(resource.get("associated_data", "")),
            )
            data = json.loads(plain)
        except (crypto.CryptoError, ValueError):
            raise NotificationRefused("resource does not decrypt with the APIv3 key", "resource") from None
        if not isinstance(data, dict):
            raise NotificationRefused("resource is not an object", "resource")
        if data.get("mchid") != cfg.mchid:
            raise NotificationRefused("not our merchant id", "mchid")
        raw_amount = data.get("amount")
        amount: dict = raw_amount if isinstance(raw_amount, dict) else {}
        if kind == "refund" or event_type.startswith("REFUND."):
            if kind != "refund":
                raise NotificationRefused("a refund notification on the payment path", "event_type")
            status = REFUND_EVENTS.get(event_type)
            if status is None:
                return None
            refund = _fen(amount.get("refund"))
            if refund is None or not data.get("out_refund_no") or not data.get("out_trade_no"):
                raise NotificationRefused("refund without out_refund_no, out_trade_no or amount", "amount.refund")
            return GatewayNotification(
                kind="refund",
                reference=reference,
                payment_number=str(data["out_trade_no"]),
                gateway_trade_no=str(data.get("transaction_id") or ""),
                amount=refund,
                status=status,
                refund_number=str(data["out_refund_no"]),
                gateway_refund_no=str(data.get("refund_id") or ""),
                paid_at=parse_time(data.get("success_time")),
                raw=data,
            )
        if kind != "payment":
            raise NotificationRefused("a payment notification on the refund path", "event_type")
        if data.get("appid") not in cfg.appids:
            raise NotificationRefused("not one of our app ids", "appid")
        if event_type not in PAYMENT_EVENTS or data.get("trade_state") != "SUCCESS":
            return None
        total = _fen(amount.get("total"))
        if total is None or not data.get("out_trade_no") or not data.get("transaction_id"):
            raise NotificationRefused("transaction without out_trade_no, transaction_id or amount", "amount.total")
        if amount.get("currency", "CNY") != "CNY":
            raise NotificationRefused("not in CNY", "amount.currency")
        return GatewayNotification(
            kind="payment",
            reference=reference,
            payment_number=str(data["out_trade_no"]),
            gateway_trade_no=str(data["transaction_id"]),
            amount=total,
            status="paid",
            paid_at=parse_time(data.get("success_time")),
            raw=data,
        )

    # -- query, close, refunds ------------------------------------------------------

    def _call(self, method: str, path: str, body: dict | None = None, **kw: Any) -> tuple[int, dict] | GatewayResult:
        cfg = config.load()
        if not cfg.complete:
            return GatewayResult("failed", message="WeChat Pay is not configured", retryable=True)
        try:
            return client.call(cfg, method, path, body, **kw)
        except client.Unreachable as exc:
            return GatewayResult("failed", message=str(exc), retryable=True)
        except crypto.CryptoError as exc:
            return GatewayResult("failed", message=f"WeChat Pay keys: {exc}", retryable=True)

    def query(self, payment):
        cfg = config.load()
        answer = self._call("GET", f"/v3/pay/transactions/out-trade-no/{_q(trade_number(payment))}?mchid={cfg.mchid}")
        if isinstance(answer, GatewayResult):
            return answer
        status, data = answer
        if status == 404:
            return GatewayResult("not_paid", raw=data)
        if status != 200:
            return GatewayResult("failed", message=_error(data, status), raw=data)
        if data.get("mchid") != cfg.mchid or data.get("appid") not in cfg.appids:
            return GatewayResult("failed", message="answer names another merchant or app", raw=data)
        if data.get("out_trade_no") != trade_number(payment):
            return GatewayResult("failed", message="answer names another trade", raw=data)
        state = data.get("trade_state")
        total = _fen((data.get("amount") or {}).get("total")) or 0
        reference = str(data.get("transaction_id") or "")
        if state in ("SUCCESS", "REFUND"):
            return GatewayResult(
                "succeeded",
                amount=total,
                reference=reference,
                paid_at=parse_time(data.get("success_time")),
                raw=data,
            )
        if state in ("CLOSED", "REVOKED"):
            return GatewayResult("closed", raw=data)
        return GatewayResult("not_paid", raw=data)  # NOTPAY, USERPAYING, PAYERROR

    def close(self, payment):
        cfg = config.load()
        answer = self._call(
            "POST", f"/v3/pay/transactions/out-trade-no/{_q(trade_number(payment))}/close", {"mchid": cfg.mchid}
        )
        if isinstance(answer, GatewayResult):
            return answer
        status, data = answer
        if status in (200, 204):
            return GatewayResult("closed")
        if data.get("code") == "ORDERPAID":
            # paid meanwhile: the kernel records it from the query's answer
            return self.query(payment)
        if data.get("code") in ("ORDER_NOT_EXIST", "ORDERCLOSED") or status == 404:
            return GatewayResult("closed", raw=data)
        return GatewayResult("failed", message=_error(data, status), raw=data)

    def refund(self, refund):
        body: dict[str, Any] = {
            "out_trade_no": refund.payment_number,
            "out_refund_no": refund.number,
            "notify_url": notify_url(self.code, "refund"),
            "amount": {"refund": int(refund.amount), "total": int(refund.payment_amount), "currency": "CNY"},
        }
        if refund.gateway_trade_no:
            body = {"transaction_id": refund.gateway_trade_no, **body}
            body.pop("out_trade_no")
        if refund.reason:
            body["reason"] = refund.reason[:80]
        answer = self._call("POST", "/v3/refund/domestic/refunds", body)
        if isinstance(answer, GatewayResult):
            return answer
        return self._refund_result(refund, *answer)

    def query_refund(self, refund):
        answer = self._call("GET", f"/v3/refund/domestic/refunds/{_q(refund.number)}")
        if isinstance(answer, GatewayResult):
            return answer
        status, data = answer
        if status == 404:
            # never reached WeChat Pay: the kernel sends it again (same number)
            return GatewayResult("failed", message=_error(data, status), retryable=True, raw=data)
        return self._refund_result(refund, status, data)

    @staticmethod
    def _refund_result(refund, status: int, data: dict) -> GatewayResult:
        if status != 200:
            code = str(data.get("code") or "")
            # SYSTEM_ERROR / FREQUENCY_LIMITED: the same number again later
            retryable = code in ("SYSTEM_ERROR", "FREQUENCY_LIMITED", "RESOURCE_ALREADY_EXISTS")
            return GatewayResult("failed", message=_error(data, status), retryable=retryable, raw=data)
        if data.get("out_refund_no") != refund.number:
            return GatewayResult("failed", message="answer names another refund", retryable=True, raw=data)
        result = REFUND_STATUS.get(str(data.get("status")), "pending")
        amount = _fen((data.get("amount") or {}).get("refund"))
        if amount is None:
            return GatewayResult("failed", message="answer without a refund amount", retryable=True, raw=data)
        message = ""
        if result == "abnormal":
            message = "退款异常: the buyer's card or account refused it; follow up in the WeChat Pay merchant platform"
        elif result == "failed":
            message = "WeChat Pay closed the refund"
        return GatewayResult(
            result, amount=amount, reference=str(data.get("refund_id") or ""), message=message, raw=data
        )

    # -- the daily bill (对账单) ------------------------------------------------------------

    def bill(self, day):
        """The trade bill of ``day`` (``GET /v3/bill/tradebill``, type ALL),
        downloaded and checked against its SHA1: a paid trade is a charge
        (``transaction_id``, 订单金额), a successful refund a refund (our
        ``out_refund_no``, 申请退款金额). No bill for the day
        (``NO_STATEMENT_EXIST``): nothing settled. A failure raises (the
        kernel lists the gateway's comparison as failed, not as differences)."""
        cfg = config.load()
        if not cfg.complete:
            return None
        status, data = client.call(cfg, "GET", f"/v3/bill/tradebill?bill_date={day.isoformat()}&bill_type=ALL")
        if status != 200:
            if data.get("code") == "NO_STATEMENT_EXIST":
                return []
            raise client.Unreachable(f"bill of {day}: {_error(data, status)}")
        if str(data.get("hash_type") or "SHA1").upper() != "SHA1" or not data.get("download_url"):
            raise client.Unreachable(f"bill of {day}: unexpected answer")
        raw = client.download(cfg, str(data["download_url"]), str(data.get("hash_value") or ""))
        return parse_trade_bill(raw.decode("utf-8-sig"))

    # -- profit sharing (分账) -----------------------------------------------------------

    def add_receiver(self, receiver):
        cfg = config.load()
        body: dict[str, Any] = {
            "appid": cfg.appid or cfg.mini_appid,
            "type": receiver.get("type", "MERCHANT_ID"),
            "account": receiver.get("account", ""),
            "relation_type": receiver.get("relation_type", "PARTNER"),
        }
        if receiver.get("relation_type") == "CUSTOM":
            body["custom_relation"] = receiver.get("custom_relation", "")
        encrypted = False
        if receiver.get("name"):
            try:
                body["name"] = crypto.oaep_encrypt(cfg.platform_key(), receiver["name"])
            except crypto.CryptoError as exc:
                return GatewayResult("failed", message=f"WeChat Pay keys: {exc}", retryable=True)
            encrypted = True
        answer = self._call("POST", "/v3/profitsharing/receivers/add", body, encrypted=encrypted)
        if isinstance(answer, GatewayResult):
            return answer
        status, data = answer
        if status != 200:
            return GatewayResult("failed", message=_error(data, status), raw=data)
        return GatewayResult("succeeded", reference=str(data.get("account") or body["account"]), raw=data)

    def profit_share(self, share):
        cfg = config.load()
        receiver: dict[str, Any] = {
            "type": share.receiver.get("type", "MERCHANT_ID"),
            "account": share.receiver.get("account", ""),
            "amount": int(share.amount),
            "description": (share.description or "分账")[:80],
        }
        encrypted = False
        if share.receiver.get("name"):
            try:
                receiver["name"] = crypto.oaep_encrypt(cfg.platform_key(), share.receiver["name"])
            except crypto.CryptoError as exc:
                return GatewayResult("failed", message=f"WeChat Pay keys: {exc}", retryable=True)
            encrypted = True
        body = {
            "appid": cfg.appid or cfg.mini_appid,
            "transaction_id": share.gateway_trade_no,
            "out_order_no": share.number,
            "receivers": [receiver],
            "unfreeze_unsplit": False,
        }
        answer = self._call("POST", "/v3/profitsharing/orders", body, encrypted=encrypted)
        if isinstance(answer, GatewayResult):
            return answer
        status, data = answer
        if status != 200:
            code = str(data.get("code") or "")
            return GatewayResult(
                "failed",
                message=_error(data, status),
                retryable=code in ("SYSTEM_ERROR", "FREQUENCY_LIMITED"),
                raw=data,
            )
        results = [r for r in data.get("receivers") or [] if r.get("account") == receiver["account"]]
        result = str(results[0].get("result")) if results else ""
        reference = str(data.get("order_id") or "")
        if result == "SUCCESS":
            return GatewayResult("succeeded", amount=int(share.amount), reference=reference, raw=data)
        if result == "CLOSED":
            reason = str(results[0].get("fail_reason") or "CLOSED")
            return GatewayResult("failed", message=f"sharing closed: {reason}", reference=reference, raw=data)
        return GatewayResult("pending", amount=int(share.amount), reference=reference, raw=data)

    def profit_return(self, share):
        body: dict[str, Any] = {
            "out_return_no": share.number,
            "return_mchid": share.receiver.get("account", ""),
            "amount": int(share.amount),
            "description": (share.description or "分账回退")[:80],
        }
        if share.gateway_share_no:
            body["order_id"] = share.gateway_share_no
        else:
            body["out_order_no"] = share.share_number or ""
        answer = self._call("POST", "/v3/profitsharing/return-orders", body)
        if isinstance(answer, GatewayResult):
            return answer
        status, data = answer
        if status != 200:
            code = str(data.get("code") or "")
            return GatewayResult(
                "failed",
                message=_error(data, status),
                retryable=code in ("SYSTEM_ERROR", "FREQUENCY_LIMITED"),
                raw=data,
            )
        result = str(data.get("result") or "")
        reference = str(data.get("return_id") or "")
        if result == "SUCCESS":
            return GatewayResult("succeeded", amount=int(share.amount), reference=reference, raw=data)
        if result == "FAILED":
            return GatewayResult("failed", message=f"return failed: {data.get('fail_reason')}", raw=data)
        return GatewayResult("pending", amount=int(share.amount), reference=reference, raw=data)

    def finish_sharing(self, payment, number):
        if not payment.gateway_trade_no:
            return GatewayResult("failed", message="the payment has no WeChat Pay transaction_id")
        body = {"transaction_id": payment.gateway_trade_no, "out_order_no": number, "description": "解冻全部剩余资金"}
        answer = self._call("POST", "/v3/profitsharing/orders/unfreeze", body)
        if isinstance(answer, GatewayResult):
            return answer
        status, data = answer
        if status != 200:
            return GatewayResult("failed", message=_error(data, status), raw=data)
        state = data.get("state")
        return GatewayResult(
            "succeeded" if state == "FINISHED" else "pending", reference=str(data.get("order_id") or ""), raw=data
        )


def _description(payment) -> str:
    """The trade's description (WeChat Pay: at most 127 bytes)."""
    text = f"订单 {payment.number}"
    return text.encode()[:127].decode(errors="ignore")


def request_payment_params(cfg: config.Config, appid: str, prepay_id: str) -> dict[str, str]:
    """The parameters of ``wx.requestPayment`` (JSAPI: ``WeixinJSBridge``'s
    ``getBrandWCPayRequest`` takes the same with ``appId``)."""
    timestamp = str(int(time.time()))
    nonce_str = crypto.nonce()
    package = f"prepay_id={prepay_id}"
    return {
        "appId": appid,
        "timeStamp": timestamp,
        "nonceStr": nonce_str,
        "package": package,
        "signType": "RSA",
        "paySign": crypto.pay_sign(cfg.private_key(), appid, timestamp, nonce_str, package),
    }


def parse_trade_bill(text: str) -> list[BillEntry]:
    """The rows of a trade bill (CSV, each field prefixed with a backtick,
    then a summary after a line starting 总交易单数) as bill entries."""
    import csv
    import io

    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return []
    header = [h.strip() for h in rows[0]]
    entries: list[BillEntry] = []
    for row in rows[1:]:
        if not row or row[0].startswith("总"):
            break
        rec = dict(zip(header, (v.strip().lstrip("`") for v in row), strict=False))
        state = rec.get("交易状态", "")
        if state == "SUCCESS":
            entries.append(
                BillEntry(
                    "charge",
                    rec["微信订单号"],
                    amount_to_fen(rec.get("订单金额") or rec["应结订单金额"]),
                    rec["商户订单号"],
                )
            )
        elif state == "REFUND" and rec.get("退款状态") == "SUCCESS":
            amount = rec.get("申请退款金额") or rec["退款金额"]
            entries.append(BillEntry("refund", rec["商户退款单号"], amount_to_fen(amount), rec["商户订单号"]))
    return entries
