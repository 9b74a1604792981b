"""A local fake of the WeChat Pay API v3 (tests and the demo).

A WSGI app served on 127.0.0.1 (:meth:`FakeWechatPay.serve`: werkzeug's
``make_server`` on port 0, in a thread) that speaks the real wire format
with real cryptography, so the plugin cannot tell it from
``api.mch.weixin.qq.com`` except by its URL:

- it checks every request's ``Authorization`` (``WECHATPAY2-SHA256-RSA2048``)
  with the merchant's PUBLIC key and serial, and the timestamp (5 minutes);
  a bad one is ``401 SIGN_ERROR``;
- it signs every answer and notification with its own platform key, named
  in ``Wechatpay-Serial`` by a public key id (``PUB_KEY_ID_...``, the
  public-key mode of new merchants) or a certificate serial (``mode=
  "certificate"``: a self-signed platform certificate);
- it encrypts notification resources with the APIv3 key (AEAD_AES_256_GCM);
- it keeps trades, refunds, receivers and profit sharings in memory and
  answers like the real API (same JSON shapes and error codes);
- Native's ``code_url`` and H5's ``h5_url`` open its buyer page, where "the
  buyer" confirms; JSAPI / mini-program payments are confirmed with
  :meth:`FakeWechatPay.request_payment` (what ``wx.requestPayment`` does:
  it checks ``paySign``);
- refunds answer ``PROCESSING``; :meth:`finish_refund` settles one (SUCCESS,
  ABNORMAL or CLOSED) and sends its notification.

Notifications go to the trade's ``notify_url`` over HTTP (in a thread, with
retries), or to ``deliver`` when a test sets it (``deliver(url, headers,
body)``; e.g. through Flask's test client).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import re
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from werkzeug.routing import Map, Rule
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from jishi_wechatpay import crypto

CST = dt.timezone(dt.timedelta(hours=8))
_OUT_NO = re.compile(r"[0-9A-Za-z_\-|*@]{6,64}")


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _now_text() -> str:
    return dt.datetime.now(CST).replace(microsecond=0).isoformat()


@dataclass
class Merchant:
    """What a merchant gives the fake: its id, its API certificate's serial
    and public key (never the private key), its APIv3 key and app ids."""

    mchid: str
    serial_no: str
    public_key_pem: str
    apiv3_key: str
    appids: tuple[str, ...]


@dataclass
class Notification:
    url: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Trade:
    appid: str
    mchid: str
    out_trade_no: str
    trade_type: str
    total: int
    notify_url: str
    description: str
    prepay_id: str
    openid: str = ""
    profit_sharing: bool = False
    trade_state: str = "NOTPAY"
    transaction_id: str = ""
    success_time: str = ""
    refunded: int = 0
    shared: int = 0
    unfrozen: bool = False
    params: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        data: dict[str, Any] = {
            "appid": self.appid,
            "mchid": self.mchid,
            "out_trade_no": self.out_trade_no,
            "trade_type": self.trade_type,
            "trade_state": self.trade_state,
            "trade_state_desc": {
                "SUCCESS": "支付成功",
                "NOTPAY": "未支付",
                "CLOSED": "已关闭",
                "REFUND": "转入退款",
            }.get(self.trade_state, self.trade_state),
            "attach": "",
            "amount": {"total": self.total, "currency": "CNY"},
        }
        if self.transaction_id:
            data.update(
                transaction_id=self.transaction_id,
                bank_type="OTHERS",
                success_time=self.success_time,
                payer={"openid": self.openid or "oFAKE" + self.out_trade_no[-8:]},
            )
            data["amount"].update(payer_total=self.total, payer_currency="CNY")
        return data


class FakeWechatPay:
    """The fake service for one merchant. ``mode``: ``"public_key"`` (the
    WeChat Pay public key, id ``PUB_KEY_ID_...``) or ``"certificate"`` (a
    platform certificate, named by its serial)."""

    def __init__(self, merchant: Merchant, *, mode: str = "public_key", max_share_bp: int = 3000):
        self.merchant = merchant
        self.mode = mode
        self.platform_key = new_key()
        if mode == "certificate":
            cert = _self_signed(self.platform_key)
            self.platform_key_pem = cert.public_bytes(_pem()).decode()
            self.platform_key_id = format(cert.serial_number, "X")
        else:
            self.platform_key_pem = crypto.public_pem(self.platform_key)
            self.platform_key_id = "PUB_KEY_ID_" + "".join(secrets.choice("0123456789") for _ in range(32))
        self.max_share_bp = max_share_bp
        self.trades: dict[str, Trade] = {}
        self.refunds: dict[str, dict] = {}
        self.receivers: dict[str, dict] = {}
        self.sharings: dict[str, dict] = {}
        self.returns: dict[str, dict] = {}
        self.unfreezes: dict[str, dict] = {}
        self.bills: dict[str, bytes] = {}
        self.requests: list[tuple[str, str, int]] = []  # (method, path, status) answered
        self.sent: list[Notification] = []
        self.deliver: Callable[[str, dict[str, str], bytes], Any] | None = None
        self.return_failure: str | None = None  # e.g. "BALANCE_NOT_ENOUGH" to refuse returns
        self.down = False  # answer 500 SYSTEM_ERROR to everything
        self.lock = threading.RLock()
        self.base = ""
        self._server: Any = None
        self.url_map = Map(
            [
                Rule("/v3/pay/transactions/jsapi", endpoint="prepay_jsapi", methods=["POST"]),
                Rule("/v3/pay/transactions/native", endpoint="prepay_native", methods=["POST"]),
                Rule("/v3/pay/transactions/h5", endpoint="prepay_h5", methods=["POST"]),
                Rule("/v3/pay/transactions/out-trade-no/<no>", endpoint="query", methods=["GET"]),
                Rule("/v3/pay/transactions/out-trade-no/<no>/close", endpoint="close", methods=["POST"]),
                Rule("/v3/refund/domestic/refunds", endpoint="refund", methods=["POST"]),
                Rule("/v3/refund/domestic/refunds/<no>", endpoint="query_refund", methods=["GET"]),
                Rule("/v3/profitsharing/receivers/add", endpoint="add_receiver", methods=["POST"]),
                Rule("/v3/profitsharing/orders", endpoint="share", methods=["POST"]),
                Rule("/v3/profitsharing/orders/unfreeze", endpoint="unfreeze", methods=["POST"]),
                Rule("/v3/profitsharing/return-orders", endpoint="share_return", methods=["POST"]),
                Rule("/v3/bill/tradebill", endpoint="tradebill", methods=["GET"]),
                Rule("/v3/billdownload/file", endpoint="bill_file", methods=["GET"]),
                Rule("/pay/<prepay_id>", endpoint="pay_page", methods=["GET", "POST"]),
                Rule("/cgi-bin/mmpayweb-bin/checkmweb", endpoint="h5_page", methods=["GET", "POST"]),
            ]
        )

    # -- serving ---------------------------------------------------------------------

    def serve(self) -> str:
        """Start on 127.0.0.1, a free port, in a thread; answer the base URL."""
        self._server = make_server("127.0.0.1", 0, self, threaded=True)
        self.base = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self.base

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __call__(self, environ, start_response):
        request = Request(environ)
        adapter = self.url_map.bind_to_environ(environ)
        try:
            endpoint, args = adapter.match()
        except Exception:
            return self._answer(request, 404, {"code": "NOT_FOUND", "message": "no such API"})(environ, start_response)
        if endpoint in ("pay_page", "h5_page"):
            return getattr(self, endpoint)(request, **args)(environ, start_response)
        if self.down:
            return self._answer(request, 500, {"code": "SYSTEM_ERROR", "message": "系统错误"})(environ, start_response)
        problem = self._check_authorization(request)
        if problem:
            return self._answer(request, 401, {"code": "SIGN_ERROR", "message": problem})(environ, start_response)
        body: dict = {}
        if request.method == "POST":
            try:
                body = json.loads(request.get_data() or b"{}")
            except ValueError:
                return self._answer(request, 400, {"code": "PARAM_ERROR", "message": "body is not JSON"})(
                    environ, start_response
                )
        if endpoint == "bill_file":
            return self.bill_file(request)(environ, start_response)
        with self.lock:
            status, data = getattr(self, "api_" + endpoint)(request, body, **args)
        return self._answer(request, status, data)(environ, start_response)

    def _check_authorization(self, request: Request) -> str:
        params = crypto.parse_authorization(request.headers.get("Authorization", ""))
        if not params:
            return "Authorization is not WECHATPAY2-SHA256-RSA2048"
        if params.get("mchid") != self.merchant.mchid:
            return "mchid does not match"
        if params.get("serial_no", "").upper() != self.merchant.serial_no.upper():
            return "serial_no is not the merchant's certificate"
        ts = params.get("timestamp", "")
        if not ts.isdigit() or abs(time.time() - int(ts)) > 300:
            return "timestamp expired"
        url = request.environ.get("RAW_URI") or (request.full_path if request.query_string else request.path)
        message = crypto.request_message(
            request.method, url, ts, params.get("nonce_str", ""), request.get_data(as_text=True)
        )
        key = crypto.load_public_key(self.merchant.public_key_pem)
        if not crypto.verify(key, message, params.get("signature", "")):
            return "signature does not verify"
        return ""

    def signed_headers(self, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        nonce_str = crypto.nonce()
        sig = crypto.sign(self.platform_key, crypto.response_message(ts, nonce_str, body).decode())
        return {
            "Wechatpay-Timestamp": ts,
            "Wechatpay-Nonce": nonce_str,
            "Wechatpay-Signature": sig,
            "Wechatpay-Serial": self.platform_key_id,
            "Wechatpay-Signature-Type": crypto.SCHEMA,
            "Request-ID": uuid.uuid4().hex,
        }

    def _answer(self, request: Request, status: int, data: dict | None) -> Response:
        body = b"" if status == 204 or data is None else json.dumps(data, ensure_ascii=False).encode()
        self.requests.append((request.method, request.path, status))
        headers = self.signed_headers(body)
        return Response(body, status=status, headers=headers, content_type="application/json")

    # -- the payment APIs ----------------------------------------------------------------

    def _prepay(self, body: dict, trade_type: str) -> tuple[int, dict | Trade]:
        amount = body.get("amount") or {}
        total = amount.get("total")
        notify = str(body.get("notify_url") or "")
        no = str(body.get("out_trade_no") or "")
        if body.get("mchid") != self.merchant.mchid:
            return 400, {"code": "MCH_NOT_EXISTS", "message": "商户号不存在"}
        if body.get("appid") not in self.merchant.appids:
            return 400, {"code": "APPID_MCHID_NOT_MATCH", "message": "appid和mch_id不匹配"}
        if not _OUT_NO.fullmatch(no) or len(no) > 32:
            return 400, {"code": "PARAM_ERROR", "message": "out_trade_no 格式错误"}
        if isinstance(total, bool) or not isinstance(total, int) or total <= 0:
            return 400, {"code": "PARAM_ERROR", "message": "amount.total 必须为正整数（分）"}
        if not notify.startswith(("http://", "https://")) or "?" in notify:
            return 400, {"code": "PARAM_ERROR", "message": "notify_url 格式错误：不能携带参数"}
        if not body.get("description"):
            return 400, {"code": "PARAM_ERROR", "message": "description 不能为空"}
        openid = str((body.get("payer") or {}).get("openid") or "")
        if trade_type == "JSAPI" and not openid:
            return 400, {"code": "PARAM_ERROR", "message": "JSAPI 支付必须传 openid"}
        if trade_type == "MWEB" and not (body.get("scene_info") or {}).get("payer_client_ip"):
            return 400, {"code": "PARAM_ERROR", "message": "H5 支付必须传 scene_info.payer_client_ip"}
        old = self.trades.get(no)
        if old is not None:
            if old.trade_state in ("SUCCESS", "REFUND"):
                return 400, {"code": "ORDERPAID", "message": "该订单已支付"}
            if old.trade_state == "CLOSED":
                return 400, {"code": "ORDER_CLOSED", "message": "订单已关闭"}
            if old.total != total or old.appid != body.get("appid"):
                return 400, {"code": "INVALID_REQUEST", "message": "201 商户订单号重复"}
        trade = Trade(
            appid=str(body["appid"]),
            mchid=self.merchant.mchid,
            out_trade_no=no,
            trade_type=trade_type,
            total=total,
            notify_url=notify,
            description=str(body["description"]),
            prepay_id="wx" + dt.datetime.now().strftime("%d%H%M%S") + secrets.token_hex(12),
            openid=openid,
            profit_sharing=bool((body.get("settle_info") or {}).get("profit_sharing")),
            params=body,
        )
        self.trades[no] = trade
        return 200, trade

    def api_prepay_jsapi(self, request, body):
        status, trade = self._prepay(body, "JSAPI")
        return (status, trade) if not isinstance(trade, Trade) else (200, {"prepay_id": trade.prepay_id})

    def api_prepay_native(self, request, body):
        status, trade = self._prepay(body, "NATIVE")
        if not isinstance(trade, Trade):
            return status, trade
        return 200, {"code_url": f"{self.base}/pay/{trade.prepay_id}"}

    def api_prepay_h5(self, request, body):
        status, trade = self._prepay(body, "MWEB")
        if not isinstance(trade, Trade):
            return status, trade
        return 200, {"h5_url": f"{self.base}/cgi-bin/mmpayweb-bin/checkmweb?prepay_id={trade.prepay_id}&package=1"}

    def api_query(self, request, body, no):
        if request.args.get("mchid") != self.merchant.mchid:
            return 400, {"code": "PARAM_ERROR", "message": "mchid 与请求方不一致"}
        trade = self.trades.get(no)
        if trade is None:
            return 404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"}
        return 200, trade.as_json()

    def api_close(self, request, body, no):
        if body.get("mchid") != self.merchant.mchid:
            return 400, {"code": "PARAM_ERROR", "message": "mchid 与请求方不一致"}
        trade = self.trades.get(no)
        if trade is None:
            return 404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"}
        if trade.trade_state in ("SUCCESS", "REFUND"):
            return 400, {"code": "ORDERPAID", "message": "订单已支付"}
        trade.trade_state = "CLOSED"
        return 204, None

    def _trade_by(self, body: dict) -> Trade | None:
        if body.get("transaction_id"):
            return next((t for t in self.trades.values() if t.transaction_id == body["transaction_id"]), None)
        return self.trades.get(str(body.get("out_trade_no") or ""))

    def api_refund(self, request, body):
        amount = body.get("amount") or {}
        number = str(body.get("out_refund_no") or "")
        refund, total = amount.get("refund"), amount.get("total")
        if not _OUT_NO.fullmatch(number):
            return 400, {"code": "PARAM_ERROR", "message": "out_refund_no 格式错误"}
        if not (_positive(refund) and _positive(total)):
            return 400, {"code": "PARAM_ERROR", "message": "amount 必须为正整数（分）"}
        assert isinstance(refund, int) and isinstance(total, int)
        if amount.get("currency") != "CNY":
            return 400, {"code": "PARAM_ERROR", "message": "currency 必须为 CNY"}
        notify = str(body.get("notify_url") or "")
        if notify and "?" in notify:
            return 400, {"code": "PARAM_ERROR", "message": "notify_url 不能携带参数"}
        trade = self._trade_by(body)
        if trade is None or not trade.transaction_id:
            return 404, {"code": "RESOURCE_NOT_EXISTS", "message": "订单不存在"}
        old = self.refunds.get(number)
        if old is not None:
            if old["amount"]["refund"] != refund or old["out_trade_no"] != trade.out_trade_no:
                return 400, {"code": "INVALID_REQUEST", "message": "退款单号重复，请求参数与原请求不一致"}
            return 200, _refund_view(old)
        if total != trade.total:
            return 400, {"code": "PARAM_ERROR", "message": "订单金额与原订单不一致"}
        if trade.refunded + refund > trade.total:
            return 403, {"code": "NOT_ENOUGH", "message": "申请退款金额超过订单可退金额"}
        now = _now_text()
        record = {
            "refund_id": "50000" + "".join(secrets.choice("0123456789") for _ in range(24)),
            "out_refund_no": number,
            "transaction_id": trade.transaction_id,
            "out_trade_no": trade.out_trade_no,
            "channel": "ORIGINAL",
            "user_received_account": "支付用户零钱",
            "create_time": now,
            "status": "PROCESSING",
            "funds_account": "AVAILABLE",
            "notify_url": notify,
            "amount": {
                "total": trade.total,
                "refund": refund,
                "payer_total": trade.total,
                "payer_refund": refund,
                "settlement_refund": refund,
                "settlement_total": trade.total,
                "discount_refund": 0,
                "currency": "CNY",
            },
        }
        trade.refunded += refund
        trade.trade_state = "REFUND"
        self.refunds[number] = record
        return 200, _refund_view(record)

    def api_query_refund(self, request, body, no):
        record = self.refunds.get(no)
        if record is None:
            return 404, {"code": "RESOURCE_NOT_EXISTS", "message": "退款单不存在"}
        return 200, _refund_view(record)

    # -- profit sharing ------------------------------------------------------------------

    def _decrypt_name(self, request: Request, value: str) -> str | None:
        if request.headers.get("Wechatpay-Serial") != self.platform_key_id:
            return None
        try:
            return crypto.oaep_decrypt(self.platform_key, value)
        except crypto.CryptoError:
            return None

    def api_add_receiver(self, request, body):
        if body.get("appid") not in self.merchant.appids:
            return 400, {"code": "PARAM_ERROR", "message": "appid 与商户号不匹配"}
        if body.get("type") not in ("MERCHANT_ID", "PERSONAL_OPENID") or not body.get("account"):
            return 400, {"code": "PARAM_ERROR", "message": "type/account 错误"}
        name = None
        if body.get("name"):
            name = self._decrypt_name(request, str(body["name"]))
            if name is None:
                return 400, {"code": "PARAM_ERROR", "message": "name 解密失败"}
        elif body["type"] == "MERCHANT_ID":
            return 400, {"code": "PARAM_ERROR", "message": "商户接收方必须传 name"}
        self.receivers[str(body["account"])] = {"type": body["type"], "account": body["account"], "name": name}
        return 200, {"type": body["type"], "account": body["account"], "relation_type": body.get("relation_type")}

    def api_share(self, request, body):
        number = str(body.get("out_order_no") or "")
        if number in self.sharings:
            return 200, self.sharings[number]
        trade = self._trade_by({"transaction_id": body.get("transaction_id")})
        if trade is None:
            return 404, {"code": "RESOURCE_NOT_EXISTS", "message": "订单不存在"}
        if not trade.profit_sharing:
            return 403, {"code": "NO_AUTH", "message": "该订单未设置分账标识"}
        if trade.unfrozen:
            return 400, {"code": "INVALID_REQUEST", "message": "订单已完结分账"}
        rows = []
        for item in body.get("receivers") or []:
            account, amount = str(item.get("account") or ""), item.get("amount")
            if account not in self.receivers:
                return 400, {"code": "RECEIVER_INVALID", "message": "分账接收方未添加"}
            if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
                return 400, {"code": "PARAM_ERROR", "message": "amount 必须为正整数（分）"}
            if item.get("name") and self._decrypt_name(request, str(item["name"])) != self.receivers[account]["name"]:
                return 400, {"code": "PARAM_ERROR", "message": "name 与接收方不一致"}
            rows.append((item, account, amount))
        asked = sum(a for _, _, a in rows)
        if not rows or trade.shared + asked > trade.total * self.max_share_bp // 10000:
            return 400, {"code": "INVALID_REQUEST", "message": "分账金额超出最大分账比例"}
        trade.shared += asked
        now = _now_text()
        record = {
            "transaction_id": trade.transaction_id,
            "out_order_no": number,
            "order_id": "3008" + "".join(secrets.choice("0123456789") for _ in range(26)),
            "state": "FINISHED",
            "receivers": [
                {
                    "amount": amount,
                    "description": item.get("description", ""),
                    "type": item.get("type"),
                    "account": account,
                    "result": "SUCCESS",
                    "detail_id": "3600" + "".join(secrets.choice("0123456789") for _ in range(26)),
                    "create_time": now,
                    "finish_time": now,
                }
                for item, account, amount in rows
            ],
        }
        if body.get("unfreeze_unsplit"):
            trade.unfrozen = True
        self.sharings[number] = record
        return 200, record

    def api_share_return(self, request, body):
        number = str(body.get("out_return_no") or "")
        if number in self.returns:
            return 200, self.returns[number]
        sharing = next(
            (
                s
                for s in self.sharings.values()
                if s["order_id"] == body.get("order_id") or s["out_order_no"] == body.get("out_order_no")
            ),
            None,
        )
        if sharing is None:
            return 404, {"code": "RESOURCE_NOT_EXISTS", "message": "分账单不存在"}
        account, amount = str(body.get("return_mchid") or ""), body.get("amount")
        row = next((r for r in sharing["receivers"] if r["account"] == account), None)
        if row is None:
            return 400, {"code": "PARAM_ERROR", "message": "回退商户号不是该分账单的接收方"}
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            return 400, {"code": "PARAM_ERROR", "message": "amount 必须为正整数（分）"}
        returned = sum(
            r["amount"]
            for r in self.returns.values()
            if r["order_id"] == sharing["order_id"] and r["result"] == "SUCCESS"
        )
        failure = self.return_failure
        if returned + amount > row["amount"]:
            failure = "回退金额超过分账金额"
        now = _now_text()
        record = {
            "order_id": sharing["order_id"],
            "out_order_no": sharing["out_order_no"],
            "out_return_no": number,
            "return_id": "3008" + "".join(secrets.choice("0123456789") for _ in range(26)),
            "return_mchid": account,
            "amount": amount,
            "description": body.get("description", ""),
            "result": "FAILED" if failure else "SUCCESS",
            "create_time": now,
            "finish_time": now,
        }
        if failure:
            record["fail_reason"] = failure
        self.returns[number] = record
        return 200, record

    def api_unfreeze(self, request, body):
        number = str(body.get("out_order_no") or "")
        if number in self.unfreezes:
            return 200, self.unfreezes[number]
        trade = self._trade_by({"transaction_id": body.get("transaction_id")})
        if trade is None:
            return 404, {"code": "RESOURCE_NOT_EXISTS", "message": "订单不存在"}
        trade.unfrozen = True
        record = {
            "transaction_id": trade.transaction_id,
            "out_order_no": number,
            "order_id": "3008" + "".join(secrets.choice("0123456789") for _ in range(26)),
            "state": "FINISHED",
            "receivers": [],
        }
        self.unfreezes[number] = record
        return 200, record

    # -- the trade bill (对账单) --------------------------------------------------------------

    BILL_HEADER = (
        "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,"
        "货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,"
        "商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
    )

    def bill_text(self, day: str) -> str:
        """The ALL trade bill of ``day`` (YYYY-MM-DD, China time): paid trades
        on the day they were paid, successful refunds on the day they were
        done; fields prefixed with a backtick, a summary at the end."""

        def yuan(fen: int) -> str:
            return f"{fen // 100}.{fen % 100:02d}"

        def line(values: list) -> str:
            return ",".join("`" + str(v) for v in values)

        rows = []
        for t in self.trades.values():
            if t.transaction_id and t.success_time.startswith(day):
                rows.append(
                    line(
                        [t.success_time.replace("T", " ")[:19], t.appid, t.mchid, "0", "", t.transaction_id]
                        + [t.out_trade_no, t.openid, t.trade_type, "SUCCESS", "OTHERS", "CNY", yuan(t.total), "0.00"]
                        + [
                            "0",
                            "",
                            "0.00",
                            "0.00",
                            "",
                            "",
                            t.description,
                            "",
                            "0.00",
                            "0.60%",
                            yuan(t.total),
                            "0.00",
                            "",
                        ]
                    )
                )
        for r in self.refunds.values():
            if r["status"] == "SUCCESS" and r.get("success_time", "").startswith(day):
                trade = self.trades[r["out_trade_no"]]
                amount = yuan(r["amount"]["refund"])
                rows.append(
                    line(
                        [r["success_time"].replace("T", " ")[:19], trade.appid, trade.mchid, "0", ""]
                        + [trade.transaction_id, trade.out_trade_no, trade.openid, trade.trade_type, "REFUND"]
                        + ["OTHERS", "CNY", "0.00", "0.00", r["refund_id"], r["out_refund_no"], amount, "0.00"]
                        + ["ORIGINAL", "SUCCESS", trade.description, "", "0.00", "0.60%", yuan(trade.total), amount, ""]
                    )
                )
        summary = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
        return (
            "\n".join(
                [self.BILL_HEADER, *rows, summary, line([len(rows), "0.00", "0.00", "0.00", "0.00", "0.00", "0.00"])]
            )
            + "\n"
        )

    def api_tradebill(self, request, body):
        day = request.args.get("bill_date", "")
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", day):
            return 400, {"code": "PARAM_ERROR", "message": "bill_date 格式错误"}
        text = self.bill_text(day)
        if text.count("\n") <= 3:  # the header and the summary only
            return 400, {"code": "NO_STATEMENT_EXIST", "message": "账单文件不存在"}
        token = secrets.token_urlsafe(16)
        self.bills[token] = text.encode()
        return 200, {
            "hash_type": "SHA1",
            "hash_value": hashlib.sha1(self.bills[token]).hexdigest(),
            "download_url": f"https://api.mch.weixin.qq.com/v3/billdownload/file?token={token}",
        }

    def bill_file(self, request: Request) -> Response:
        """The file stream: the request is signed, the answer is not."""
        problem = self._check_authorization(request)
        if problem:
            return self._answer(request, 401, {"code": "SIGN_ERROR", "message": problem})
        data = self.bills.get(request.args.get("token", ""))
        self.requests.append((request.method, request.path, 200 if data is not None else 404))
        if data is None:
            return Response(b'{"code":"RESOURCE_NOT_EXISTS"}', status=404, content_type="application/json")
        return Response(data, content_type="application/octet-stream")

    # -- the buyer's side --------------------------------------------------------------

    def _trade_of_prepay(self, prepay_id: str) -> Trade | None:
        return next((t for t in self.trades.values() if t.prepay_id == prepay_id), None)

    def pay_page(self, request: Request, prepay_id: str) -> Response:
        """Native: the page the QR code opens (the buyer "scans" it)."""
        return self._page(request, self._trade_of_prepay(prepay_id), "")

    def h5_page(self, request: Request) -> Response:
        """H5: the cashier a phone browser is sent to; back to redirect_url."""
        trade = self._trade_of_prepay(request.args.get("prepay_id", ""))
        return self._page(request, trade, request.args.get("redirect_url", ""))

    def _page(self, request: Request, trade: Trade | None, back: str) -> Response:
        if trade is None:
            return Response("<h1>订单不存在</h1>", status=404, content_type="text/html; charset=utf-8")
        if request.method == "POST":
            with self.lock:
                note = self.pay(trade.out_trade_no)
            if note is not None:
                self.send(note)
            if back:
                return Response(status=302, headers={"Location": back})
        yuan = f"{trade.total // 100}.{trade.total % 100:02d}"
        paid = trade.trade_state in ("SUCCESS", "REFUND")
        body = f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>微信支付（测试）</title>
<style>body{{font-family:sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem;text-align:center}}
.amount{{font-size:2rem;margin:1rem 0}}button{{background:#07c160;color:#fff;border:0;border-radius:.4rem;
padding:.8rem 2rem;font-size:1.1rem;width:100%}}.test{{color:#b00;font-weight:bold}}</style></head><body>
<p class="test">测试环境 · 本地模拟的微信支付（不会扣款）</p>
<h1>微信支付</h1><p>{html.escape(trade.description)}</p>
<p class="amount" id="amount">¥{yuan}</p>
{'<p id="paid">支付成功</p>' if paid else '<form method="post"><button id="pay" type="submit">确认支付</button></form>'}
{f'<p><a id="back" href="{html.escape(back)}">返回商家</a></p>' if back else ""}
</body></html>"""
        return Response(body, content_type="text/html; charset=utf-8")

    def request_payment(self, params: dict) -> Notification:
        """What ``wx.requestPayment(params)`` does in the WeChat client: the
        ``paySign`` is checked with the merchant's public key, the trade of
        ``package`` is paid, its notification built (not sent)."""
        message = f"{params['appId']}\n{params['timeStamp']}\n{params['nonceStr']}\n{params['package']}\n"
        key = crypto.load_public_key(self.merchant.public_key_pem)
        if params.get("signType") != "RSA" or not crypto.verify(key, message, params.get("paySign", "")):
            raise ValueError("paySign does not verify")
        trade = self._trade_of_prepay(params["package"].removeprefix("prepay_id="))
        if trade is None or trade.appid != params["appId"]:
            raise ValueError("no such prepay_id for this appId")
        with self.lock:
            note = self.pay(trade.out_trade_no)
        if note is None:
            raise ValueError("trade is not payable")
        return note

    def pay(self, out_trade_no: str) -> Notification | None:
        """The buyer pays: the trade succeeds; its notification (built, not
        sent; None when the trade is not payable)."""
        trade = self.trades[out_trade_no]
        if trade.trade_state != "NOTPAY":
            return None
        trade.trade_state = "SUCCESS"
        trade.transaction_id = "4200" + "".join(secrets.choice("0123456789") for _ in range(24))
        trade.success_time = _now_text()
        return self.payment_notification(trade)

    def payment_notification(self, trade: Trade, **changes: Any) -> Notification:
        """The TRANSACTION.SUCCESS notification of ``trade`` (``changes``
        override fields of the decrypted resource: a test's forgeries)."""
        data = {**trade.as_json(), **changes}
        return self.notification(trade.notify_url, "TRANSACTION.SUCCESS", "transaction", data, "支付成功")

    def finish_refund(self, out_refund_no: str, status: str = "SUCCESS") -> Notification:
        """WeChat Pay settles a PROCESSING refund: ``SUCCESS``, ``ABNORMAL``
        (退款异常) or ``CLOSED``; its notification (built, not sent)."""
        with self.lock:
            record = self.refunds[out_refund_no]
            record["status"] = status
            if status == "SUCCESS":
                record["success_time"] = _now_text()
            if status == "CLOSED":
                trade = self.trades[record["out_trade_no"]]
                trade.refunded -= record["amount"]["refund"]
        return self.refund_notification(record)

    def refund_notification(self, record: dict, **changes: Any) -> Notification:
        data = {
            "mchid": self.merchant.mchid,
            "out_trade_no": record["out_trade_no"],
            "transaction_id": record["transaction_id"],
            "out_refund_no": record["out_refund_no"],
            "refund_id": record["refund_id"],
            "refund_status": record["status"],
            "user_received_account": record["user_received_account"],
            "amount": {k: record["amount"][k] for k in ("total", "refund", "payer_total", "payer_refund")},
        }
        if record.get("success_time"):
            data["success_time"] = record["success_time"]
        data.update(changes)
        summary = {"SUCCESS": "退款成功", "ABNORMAL": "退款异常", "CLOSED": "退款关闭"}[record["status"]]
        return self.notification(record["notify_url"], f"REFUND.{record['status']}", "refund", data, summary)

    def notification(
        self, url: str, event_type: str, original_type: str, data: dict, summary: str, *, timestamp: int | None = None
    ) -> Notification:
        nonce_str = secrets.token_hex(6)
        body = {
            "id": str(uuid.uuid4()),
            "create_time": _now_text(),
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": summary,
            "resource": {
                "original_type": original_type,
                "algorithm": "AEAD_AES_256_GCM",
                "ciphertext": crypto.aead_encrypt(
                    self.merchant.apiv3_key, nonce_str, json.dumps(data, ensure_ascii=False).encode(), original_type
                ),
                "associated_data": original_type,
                "nonce": nonce_str,
            },
        }
        raw = json.dumps(body, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", **self.signed_headers(raw, timestamp=timestamp)}
        return Notification(url, headers, raw)

    def send(self, note: Notification) -> None:
        """Deliver: to ``deliver`` when set, else an HTTP POST from a thread
        with retries until it is answered 200/204, as WeChat Pay does."""
        self.sent.append(note)
        if self.deliver is not None:
            self.deliver(note.url, note.headers, note.body)
            return

        def post():
            for attempt in range(5):
                request = urllib.request.Request(note.url, data=note.body, headers=note.headers, method="POST")
                try:
                    with urllib.request.urlopen(request, timeout=10) as resp:
                        if resp.status in (200, 204):
                            return
                except (urllib.error.URLError, OSError):
                    pass
                time.sleep(0.5 * 2**attempt)

        threading.Thread(target=post, daemon=True).start()


def _positive(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _refund_view(record: dict) -> dict:
    return {k: v for k, v in record.items() if k != "notify_url"}


def _pem():
    from cryptography.hazmat.primitives.serialization import Encoding

    return Encoding.PEM


def _self_signed(key: rsa.RSAPrivateKey) -> x509.Certificate:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "Tenpay.com Root CA (fake)"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Tenpay.com"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )


def merchant_keys(mchid: str = "1900000109", appids: tuple[str, ...] = ("wxd678efh567hg6787",)) -> tuple[Merchant, str]:
    """A fresh merchant (keys generated now) and its private key PEM: what a
    test or the demo configures the plugin with."""
    key = new_key()
    merchant = Merchant(
        mchid=mchid,
        serial_no=secrets.token_hex(20).upper(),
        public_key_pem=crypto.public_pem(key),
        apiv3_key=secrets.token_urlsafe(24)[:32],
        appids=appids,
    )
    return merchant, crypto.private_pem(key)
