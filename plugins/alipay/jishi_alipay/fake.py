"""A local fake of the Alipay open-platform gateway, for tests and the demo.

It speaks the real wire format with real cryptography: it checks every
request's RSA2 signature with the *app's public key*, answers
``{"<method>_response": {...}, "sign": "..."}`` signed with its own Alipay
private key, shows a cashier page for page pay / wap pay (the buyer clicks
"pay"), answers precreate with a QR code (the cashier page's URL), keeps
trades, refunds (``fund_change``) and royalty settlements in memory, and
posts signed notifications (form data) to each trade's ``notify_url``,
again until answered ``success``.

Run it in a thread on 127.0.0.1 (port 0)::

    fake = FakeAlipay(app_id="2021000000000001", app_public_key=pem).start()
    ...  # point the gateway at fake.gateway_url, trust fake.alipay_public_pem
    fake.stop()

Notifications wait in ``outbox`` (``delivery="queue"``, tests: send them
with :meth:`deliver`) or are posted by a thread with retries
(``delivery="thread"``, the demo and browser tests).
"""

from __future__ import annotations

import html
import json
import secrets
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from jishi_alipay import wire

SIGNED_METHODS = (
    "alipay.trade.precreate",
    "alipay.trade.create",
    "alipay.trade.query",
    "alipay.trade.close",
    "alipay.trade.refund",
    "alipay.trade.fastpay.refund.query",
    "alipay.trade.order.settle",
    "alipay.trade.royalty.relation.bind",
)
PAGE_METHODS = ("alipay.trade.page.pay", "alipay.trade.wap.pay")


def fen(fen_: int) -> str:
    return f"{fen_ // 100}.{fen_ % 100:02d}"


def parse_amount(text: Any) -> int | None:
    import re

    m = re.fullmatch(r"(0|[1-9][0-9]{0,9})(?:\.([0-9]{1,2}))?", str(text or ""))
    if m is None:
        return None
    return int(m.group(1)) * 100 + int((m.group(2) or "0").ljust(2, "0"))


class Refusal(Exception):
    def __init__(self, code: str, sub_code: str, sub_msg: str, msg: str = "Business Failed"):
        self.body = {"code": code, "msg": msg, "sub_code": sub_code, "sub_msg": sub_msg}
        super().__init__(sub_code)


@dataclass
class Trade:
    trade_no: str
    out_trade_no: str
    total: int
    subject: str
    product_code: str
    notify_url: str = ""
    return_url: str = ""
    buyer_id: str = ""
    status: str = "WAIT_BUYER_PAY"
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    expires: datetime | None = None
    paid_at: datetime | None = None
    refunded: int = 0
    frozen: bool = False
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    settles: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Delivery:
    url: str
    params: dict[str, str]
    attempts: int = 0
    answers: list[str] = field(default_factory=list)


class FakeAlipay:
    """The fake gateway. ``refund_mode``: ``sync`` (money moves at once,
    ``fund_change`` Y) or ``async`` (``fund_change`` N; :meth:`finish_refunds`
    completes them and notifies)."""

    def __init__(
        self,
        app_id: str,
        app_public_key: str,
        *,
        seller_id: str = "2088000000000001",
        alipay_private_key: str | None = None,
        delivery: str = "queue",
        retry_delays: tuple[float, ...] = (0.2, 1, 2, 5, 10, 30, 60, 120),
    ):
        self.app_id = app_id
        self.app_public_key = wire.load_public_key(app_public_key)
        self.seller_id = seller_id
        self.key = wire.load_private_key(alipay_private_key) if alipay_private_key else wire.new_key()
        self.alipay_public_pem = wire.public_pem(self.key)
        self.delivery = delivery
        self.retry_delays = retry_delays
        self.refund_mode = "sync"
        self.trades: dict[str, Trade] = {}
        self.relations: set[tuple[str, str]] = set()
        self.outbox: list[Delivery] = []
        self.delivered: list[Delivery] = []
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.fail_next: dict[str, tuple[str, str, str]] = {}
        self.lock = threading.RLock()
        self.url = ""
        self._server: Any = None
        self._thread: threading.Thread | None = None

    # -- running -------------------------------------------------------------------

    @property
    def gateway_url(self) -> str:
        return f"{self.url}/gateway.do"

    def start(self) -> FakeAlipay:
        self._server = make_server("127.0.0.1", 0, self.wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None

    # -- the buyer's side (tests drive it) ---------------------------------------------

    def trade(self, out_trade_no: str) -> Trade:
        return self.trades[out_trade_no]

    def pay(self, out_trade_no: str, buyer_id: str = "2088102146225135") -> dict[str, str]:
        """The buyer pays the trade (at the cashier, by scanning, in the
        mini-program): it is paid and its notification queued. Returns the
        notification's parameters."""
        with self.lock:
            trade = self.trades[out_trade_no]
            if trade.status != "WAIT_BUYER_PAY":
                raise ValueError(f"trade {out_trade_no} is {trade.status}")
            if trade.expires is not None and datetime.now(UTC) > trade.expires:
                raise ValueError(f"trade {out_trade_no} expired")
            trade.status = "TRADE_SUCCESS"
            trade.paid_at = datetime.now(UTC)
            trade.buyer_id = trade.buyer_id or buyer_id
            params = self.payment_notification(trade)
            self._queue(trade.notify_url, params)
            return params

    def finish_refunds(self) -> int:
        """Complete the refunds accepted in ``async`` mode (and notify)."""
        done = 0
        with self.lock:
            for trade in self.trades.values():
                for number, r in trade.refunds.items():
                    if r["status"] == "PROCESSING":
                        self._refund_done(trade, number, r)
                        done += 1
        return done

    # -- notifications ----------------------------------------------------------------

    def sign(self, params: dict[str, str]) -> dict[str, str]:
        """Sign notification parameters as Alipay does (for tests that forge
        or alter one: re-signed with this fake's key)."""
        return wire.sign_notification(self.key, params)

    def payment_notification(self, trade: Trade, **changes: str) -> dict[str, str]:
        now = datetime.now(UTC)
        params = {
            "notify_time": wire.now_text(now),
            "notify_type": "trade_status_sync",
            "notify_id": secrets.token_hex(17),
            "charset": "utf-8",
            "version": "1.0",
            "app_id": self.app_id,
            "auth_app_id": self.app_id,
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "buyer_id": trade.buyer_id,
            "buyer_logon_id": "buy***@example.com",
            "seller_id": self.seller_id,
            "seller_email": "seller@example.com",
            "trade_status": trade.status,
            "total_amount": fen(trade.total),
            "receipt_amount": fen(trade.total),
            "invoice_amount": fen(trade.total),
            "buyer_pay_amount": fen(trade.total),
            "point_amount": "0.00",
            "subject": trade.subject,
            "gmt_create": wire.now_text(trade.created),
            "gmt_payment": wire.now_text(trade.paid_at or now),
            "fund_bill_list": json.dumps([{"amount": fen(trade.total), "fundChannel": "ALIPAYACCOUNT"}]),
        }
        params.update(changes)
        return self.sign(params)

    def refund_notification(self, trade: Trade, number: str) -> dict[str, str]:
        r = trade.refunds[number]
        changes = {
            "out_biz_no": number,
            "refund_fee": fen(trade.refunded),
            "gmt_refund": wire.now_text(r["at"]) + ".000",
        }
        if trade.status == "TRADE_CLOSED":
            changes["gmt_close"] = wire.now_text(r["at"])
        return self.payment_notification(trade, **changes)

    def _queue(self, url: str, params: dict[str, str]) -> None:
        if not url:
            return
        item = Delivery(url, params)
        with self.lock:
            self.outbox.append(item)
        if self.delivery == "thread":
            threading.Thread(target=self._post_with_retries, args=(item,), daemon=True).start()

    def _post_with_retries(self, item: Delivery) -> None:
        for delay in (0.0,) + self.retry_delays:
            time.sleep(delay)
            try:
                req = urllib.request.Request(
                    item.url,
                    data=urllib.parse.urlencode(item.params).encode(),
                    headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
                )
                with urllib.request.urlopen(req, timeout=10) as resp:
                    answer = resp.read().decode("utf-8", "replace").strip()
            except OSError as exc:
                answer = f"error: {exc}"
            if self._answered(item, answer):
                return

    def _answered(self, item: Delivery, answer: str) -> bool:
        with self.lock:
            item.attempts += 1
            item.answers.append(answer)
            if answer == "success" or item.attempts >= 1 + len(self.retry_delays):
                if item in self.outbox:
                    self.outbox.remove(item)
                self.delivered.append(item)
                return True
        return False

    def deliver(self, post: Callable[[str, dict[str, str]], str]) -> list[str]:
        """Send each queued notification once through ``post(url, params)``
        (which answers the body): answered ``success`` it leaves the queue,
        otherwise it stays for the next round (Alipay retries). Returns the
        answers."""
        with self.lock:
            items = list(self.outbox)
        answers = []
        for item in items:
            answer = post(item.url, item.params).strip()
            answers.append(answer)
            self._answered(item, answer)
        return answers

    # -- the gateway ----------------------------------------------------------------------

    def wsgi(self, environ, start_response):
        request = Request(environ)
        path = request.path.rstrip("/")
        if path.endswith("/gateway.do"):
            response = self._gateway(request)
        elif path.startswith("/cashier/"):
            response = self._cashier(request, path.split("/")[2])
        else:
            response = Response("not found", 404)
        return response(environ, start_response)

    def _error(self, method: str, code: str, sub_code: str, sub_msg: str) -> Response:
        """A refusal before the request is trusted: unsigned, as Alipay's."""
        name = method.replace(".", "_") + "_response" if method else "error_response"
        body = {"code": code, "msg": "Invalid Arguments", "sub_code": sub_code, "sub_msg": sub_msg}
        return Response(json.dumps({name: body}, ensure_ascii=False), content_type="text/html;charset=utf-8")

    def _gateway(self, request: Request) -> Response:
        params = dict(request.values.items())
        method = params.get("method", "")
        page = method in PAGE_METHODS
        if method not in SIGNED_METHODS and not page:
            return self._error(method, "40001", "isv.invalid-method", "不存在的方法名")
        if params.get("app_id") != self.app_id:
            return (
                self._page_error("isv.invalid-app-id")
                if page
                else self._error(method, "40002", "isv.invalid-app-id", "无效的AppID参数")
            )
        if params.get("sign_type") != "RSA2" or not wire.verify_request(self.app_public_key, params):
            return (
                self._page_error("isv.invalid-signature")
                if page
                else self._error(method, "40002", "isv.invalid-signature", "验签出错")
            )
        sent = wire.parse_time(params.get("timestamp"))
        now = datetime.now(UTC).replace(tzinfo=None)
        if sent is None or abs((now - sent).total_seconds()) > 15 * 60:
            return (
                self._page_error("isv.invalid-timestamp")
                if page
                else self._error(method, "40002", "isv.invalid-timestamp", "非法的时间戳参数")
            )
        if params.get("charset", "utf-8").lower() != "utf-8" or params.get("version") != "1.0":
            return self._error(method, "40002", "isv.invalid-parameter", "charset/version")
        try:
            biz = json.loads(params.get("biz_content") or "{}")
        except ValueError:
            return self._error(method, "40002", "isv.invalid-parameter", "biz_content")
        with self.lock:
            self.requests.append((method, biz))
            if page:
                return self._page_pay(method, params, biz)
            failure = self.fail_next.pop(method, None)
            try:
                if failure is not None:
                    raise Refusal(*failure)
                body = getattr(self, "_" + method.replace(".", "_"))(params, biz)
                body = {"code": "10000", "msg": "Success", **body}
            except Refusal as refusal:
                body = refusal.body
        return Response(wire.signed_response(self.key, method, body), content_type="text/html;charset=utf-8")

    # trades

    def _new_trade(self, params: dict[str, str], biz: dict[str, Any], product_code: str) -> Trade:
        number = str(biz.get("out_trade_no") or "")
        total = parse_amount(biz.get("total_amount"))
        if not number or total is None or total <= 0 or not biz.get("subject"):
            raise Refusal("40004", "ACQ.INVALID_PARAMETER", "out_trade_no, total_amount and subject are required")
        trade = self.trades.get(number)
        if trade is not None:
            if trade.status == "TRADE_CLOSED":
                raise Refusal("40004", "ACQ.TRADE_HAS_CLOSE", "交易已经关闭")
            if trade.status in ("TRADE_SUCCESS", "TRADE_FINISHED"):
                raise Refusal("40004", "ACQ.TRADE_HAS_SUCCESS", "交易已被支付")
            if trade.total != total:
                raise Refusal("40004", "ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改")
            return trade
        expires = None
        if biz.get("time_expire"):
            parsed = wire.parse_time(str(biz["time_expire"]))
            if parsed is None:
                raise Refusal("40004", "ACQ.INVALID_PARAMETER", "time_expire")
            expires = parsed.replace(tzinfo=UTC)
        trade = Trade(
            trade_no=datetime.now().strftime("%Y%m%d") + "22001" + str(secrets.randbelow(10**16)).zfill(16),
            out_trade_no=number,
            total=total,
            subject=str(biz["subject"]),
            product_code=product_code,
            notify_url=params.get("notify_url", ""),
            return_url=params.get("return_url", ""),
            expires=expires,
            frozen=(biz.get("extend_params") or {}).get("royalty_freeze") == "true",
        )
        self.trades[number] = trade
        return trade

    def _find(self, biz: dict[str, Any]) -> Trade:
        trade = self.trades.get(str(biz.get("out_trade_no") or ""))
        if trade is None and biz.get("trade_no"):
            trade = next((t for t in self.trades.values() if t.trade_no == biz["trade_no"]), None)
        if trade is None or (biz.get("trade_no") and trade.trade_no != biz["trade_no"]):
            raise Refusal("40004", "ACQ.TRADE_NOT_EXIST", "交易不存在")
        return trade

    def _alipay_trade_precreate(self, params, biz):
        trade = self._new_trade(params, biz, "FACE_TO_FACE_PAYMENT")
        return {"out_trade_no": trade.out_trade_no, "qr_code": f"{self.url}/cashier/{trade.trade_no}"}

    def _alipay_trade_create(self, params, biz):
        buyer = biz.get("buyer_id") or biz.get("buyer_open_id")
        if not buyer:
            raise Refusal("40004", "ACQ.INVALID_PARAMETER", "buyer_id or buyer_open_id is required")
        trade = self._new_trade(params, biz, str(biz.get("product_code") or "JSAPI_PAY"))
        trade.buyer_id = str(buyer)
        return {"out_trade_no": trade.out_trade_no, "trade_no": trade.trade_no}

    def _alipay_trade_query(self, params, biz):
        trade = self._find(biz)
        body = {
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "trade_status": trade.status,
            "total_amount": fen(trade.total),
            "buyer_logon_id": "buy***@example.com",
        }
        if trade.buyer_id:
            body["buyer_user_id"] = trade.buyer_id
        if trade.paid_at is not None:
            body["send_pay_date"] = wire.now_text(trade.paid_at)
            body["receipt_amount"] = fen(trade.total)
        return body

    def _alipay_trade_close(self, params, biz):
        trade = self._find(biz)
        if trade.status != "WAIT_BUYER_PAY":
            raise Refusal("40004", "ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
        trade.status = "TRADE_CLOSED"
        return {"trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no}

    # refunds

    def _alipay_trade_refund(self, params, biz):
        trade = self._find(biz)
        amount = parse_amount(biz.get("refund_amount"))
        number = str(biz.get("out_request_no") or trade.out_trade_no)
        royalty = biz.get("refund_royalty_parameters") or []
        if amount is None:
            raise Refusal("40004", "ACQ.INVALID_PARAMETER", "refund_amount")
        if trade.status not in ("TRADE_SUCCESS", "TRADE_CLOSED") or trade.paid_at is None:
            raise Refusal("40004", "ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
        earlier = trade.refunds.get(number)
        if earlier is not None:  # the same request again: nothing moves twice
            if earlier["amount"] != amount:
                raise Refusal("40004", "ACQ.DISCORDANT_REPEAT_REQUEST", "请求信息不一致")
            return self._refund_body(trade, "N")
        if amount == 0:
            if not royalty:
                raise Refusal("40004", "ACQ.INVALID_PARAMETER", "refund_amount must be positive")
            self._return_royalty(trade, royalty)
            trade.refunds[number] = {"amount": 0, "status": "REFUND_SUCCESS", "at": datetime.now(UTC)}
            return self._refund_body(trade, "N")
        if trade.status == "TRADE_CLOSED" or trade.refunded + amount > trade.total:
            raise Refusal("40004", "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限")
        if royalty:
            self._return_royalty(trade, royalty)
        refund = {"amount": amount, "status": "PROCESSING", "at": datetime.now(UTC)}
        trade.refunds[number] = refund
        if self.refund_mode == "async":
            return self._refund_body(trade, "N")
        self._refund_done(trade, number, refund)
        return self._refund_body(trade, "Y")

    def _refund_done(self, trade: Trade, number: str, refund: dict[str, Any]) -> None:
        refund["status"] = "REFUND_SUCCESS"
        refund["at"] = datetime.now(UTC)
        trade.refunded += refund["amount"]
        if trade.refunded >= trade.total:
            trade.status = "TRADE_CLOSED"
        self._queue(trade.notify_url, self.refund_notification(trade, number))

    @staticmethod
    def _refund_body(trade: Trade, fund_change: str) -> dict[str, Any]:
        return {
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "buyer_logon_id": "buy***@example.com",
            "fund_change": fund_change,
            "refund_fee": fen(trade.refunded),
        }

    def _return_royalty(self, trade: Trade, royalty: list[dict[str, Any]]) -> None:
        for item in royalty:
            account, amount = str(item.get("trans_out") or ""), parse_amount(item.get("amount"))
            shared = sum(s["amount"] for s in trade.settles.values() if s.get("trans_in") == account)
            returned = sum(s.get("returned", 0) for s in trade.settles.values() if s.get("trans_in") == account)
            if amount is None or amount <= 0 or returned + amount > shared:
                raise Refusal("40004", "ACQ.REFUND_ROYALTY_AMOUNT_ERROR", "退分账金额超限")
        for item in royalty:
            account, amount = str(item.get("trans_out")), parse_amount(item.get("amount")) or 0
            for s in trade.settles.values():
                if s.get("trans_in") == account and amount:
                    take = min(amount, s["amount"] - s.get("returned", 0))
                    s["returned"] = s.get("returned", 0) + take
                    amount -= take

    def _alipay_trade_fastpay_refund_query(self, params, biz):
        trade = self._find(biz)
        number = str(biz.get("out_request_no") or trade.out_trade_no)
        body: dict[str, Any] = {"trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no}
        refund = trade.refunds.get(number)
        if refund is not None:
            body.update(out_request_no=number, total_amount=fen(trade.total), refund_amount=fen(refund["amount"]))
            if refund["status"] == "REFUND_SUCCESS":
                body["refund_status"] = "REFUND_SUCCESS"
                body["gmt_refund_pay"] = wire.now_text(refund["at"])
        return body

    # royalty (分账)

    def _alipay_trade_royalty_relation_bind(self, params, biz):
        receivers = biz.get("receiver_list") or []
        if not receivers or not biz.get("out_request_no"):
            raise Refusal("40004", "ACQ.INVALID_PARAMETER", "receiver_list and out_request_no are required")
        for r in receivers:
            if r.get("type") not in ("userId", "loginName", "openId") or not r.get("account"):
                raise Refusal("40004", "ACQ.INVALID_PARAMETER", "receiver type/account")
            self.relations.add((str(r["type"]), str(r["account"])))
        return {"result_code": "SUCCESS"}

    def _alipay_trade_order_settle(self, params, biz):
        trade = self._find(biz)
        number = str(biz.get("out_request_no") or "")
        if not number:
            raise Refusal("40004", "ACQ.INVALID_PARAMETER", "out_request_no is required")
        if number in trade.settles:
            return {"trade_no": trade.trade_no, "settle_no": trade.settles[number]["settle_no"]}
        if trade.status not in ("TRADE_SUCCESS", "TRADE_FINISHED"):
            raise Refusal("40004", "ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
        royalty = biz.get("royalty_parameters") or []
        finish = (biz.get("extend_params") or {}).get("royalty_finish") == "true"
        if not royalty and not finish:
            raise Refusal("40004", "ACQ.INVALID_PARAMETER", "royalty_parameters")
        if not trade.frozen:
            raise Refusal("40004", "ACQ.TRADE_SETTLE_ERROR", "交易未冻结或分账已完结")
        settled = sum(s["amount"] - s.get("returned", 0) for s in trade.settles.values())
        total = 0
        for item in royalty:
            amount = parse_amount(item.get("amount"))
            key = (str(item.get("trans_in_type") or "userId"), str(item.get("trans_in") or ""))
            if amount is None or amount <= 0:
                raise Refusal("40004", "ACQ.INVALID_PARAMETER", "amount")
            if key not in self.relations:
                raise Refusal("40004", "ACQ.INVALID_PARAMETER", "分账关系未绑定")
            total += amount
        if settled + total > trade.total - trade.refunded:
            raise Refusal("40004", "ACQ.ALLOC_AMOUNT_VALIDATE_ERROR", "分账金额超过最大可分账金额")
        settle_no = "2024" + str(secrets.randbelow(10**16)).zfill(16)
        trade.settles[number] = {
            "settle_no": settle_no,
            "amount": total,
            "trans_in": str(royalty[0].get("trans_in")) if royalty else "",
        }
        if finish:
            trade.frozen = False
        return {"trade_no": trade.trade_no, "settle_no": settle_no}

    # -- the cashier (page pay / wap pay / QR) -----------------------------------------------

    def _page_error(self, sub_code: str) -> Response:
        return self._html(f"<h1>支付宝 · 错误</h1><p class='error'>{html.escape(sub_code)}</p>", 400)

    @staticmethod
    def _html(body: str, status: int = 200) -> Response:
        page = (
            "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width,initial-scale=1'>"
            "<title>支付宝 收银台 (测试)</title></head><body style='font-family:sans-serif;max-width:36em;"
            "margin:2em auto;padding:0 1em'>" + body + "</body></html>"
        )
        return Response(page, status, content_type="text/html; charset=utf-8")

    def _page_pay(self, method: str, params: dict[str, str], biz: dict[str, Any]) -> Response:
        code = "FAST_INSTANT_TRADE_PAY" if method == "alipay.trade.page.pay" else "QUICK_WAP_WAY"
        if biz.get("product_code") != code:
            return self._page_error("ACQ.INVALID_PARAMETER product_code")
        try:
            trade = self._new_trade(params, biz, code)
        except Refusal as refusal:
            return self._page_error(refusal.body["sub_code"])
        return self._cashier_page(trade)

    def _cashier_page(self, trade: Trade) -> Response:
        return self._html(
            "<h1>支付宝 · 收银台 <small>(测试 fake)</small></h1>"
            f"<p class='subject'>{html.escape(trade.subject)}</p>"
            f"<p class='amount'>¥ <strong id='amount'>{fen(trade.total)}</strong></p>"
            f"<form method='post' action='/cashier/{trade.trade_no}'>"
            "<button type='submit' name='action' value='pay' id='pay'>确认付款</button> "
            "<button type='submit' name='action' value='cancel' id='cancel'>取消</button></form>"
        )

    def _cashier(self, request: Request, trade_no: str) -> Response:
        with self.lock:
            trade = next((t for t in self.trades.values() if t.trade_no == trade_no), None)
            if trade is None:
                return self._page_error("ACQ.TRADE_NOT_EXIST")
            if request.method == "GET":
                if trade.status != "WAIT_BUYER_PAY":
                    return self._page_error(trade.status)
                return self._cashier_page(trade)
            if request.form.get("action") == "pay":
                try:
                    self.pay(trade.out_trade_no)
                except ValueError as exc:
                    return self._page_error(str(exc))
            if not trade.return_url:
                return self._html("<h1>支付成功</h1>" if trade.status == "TRADE_SUCCESS" else "<h1>已取消</h1>")
            back = {
                "charset": "utf-8",
                "out_trade_no": trade.out_trade_no,
                "method": "alipay.trade.page.pay.return",
                "total_amount": fen(trade.total),
                "trade_no": trade.trade_no,
                "auth_app_id": self.app_id,
                "version": "1.0",
                "app_id": self.app_id,
                "seller_id": self.seller_id,
                "timestamp": wire.now_text(),
            }
            signed = self.sign(back) if trade.status == "TRADE_SUCCESS" else {}
            sep = "&" if "?" in trade.return_url else "?"
            target = trade.return_url + (sep + urllib.parse.urlencode(signed) if signed else "")
            return Response("", 302, headers={"Location": target})


def expire(trade: Trade, minutes_ago: int = 1) -> None:
    """Make a trade's cashier time run out (tests)."""
    trade.expires = datetime.now(UTC) - timedelta(minutes=minutes_ago)
