"""A local fake of the WeChat servers for tests (and nothing else).

:class:`FakeWeChat` is a WSGI app speaking WeChat's wire format: HTTP 200
with JSON, ``errcode``/``errmsg`` on failure with the real codes (40029
invalid code, 40163 code been used, 40125 invalid appsecret, 40001 invalid
access_token, 42001 access_token expired, 45011 rate limit, -1 system busy).
:func:`serve` runs it on 127.0.0.1 (werkzeug ``make_server`` on port 0, in
a thread); point ``JISHI_WECHAT_LOGIN_API_BASE`` and
``JISHI_WECHAT_LOGIN_OPEN_BASE`` at its ``url``.

A test plays the WeChat user: :meth:`FakeWeChat.login_code` is what
``wx.login`` gives the mini-program, :meth:`FakeWeChat.phone_code` what the
``getPhoneNumber`` button gives, :meth:`FakeWeChat.scan` what the QR page
gives the browser after the visitor scans and confirms (a code for the
callback). Codes are single-use and expire after five minutes, as WeChat's do.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

CODE_LIFETIME = 300


@dataclass
class WeChatUser:
    openid: str
    unionid: str | None = None
    nickname: str = "微信用户"
    phone: str = ""


@dataclass
class FakeWeChat:
    """The fake's state: the applications it knows, the codes it issued."""

    apps: dict[str, str] = field(default_factory=dict)  # appid -> secret
    url: str = ""
    # Failure modes a test switches on: "down" (HTTP 503), "busy" (45011),
    # "system" (-1), "garbage" (200 but not JSON), "slow" (sleeps past the timeout).
    mode: str = ""
    slow_seconds: float = 1.5  # "slow": longer than the client's timeout
    calls: Counter = field(default_factory=Counter)
    _codes: dict[str, tuple[str, str, WeChatUser, float]] = field(default_factory=dict)  # code -> kind, appid, user, at
    _used: set[str] = field(default_factory=set)
    _tokens: dict[str, tuple[str, str]] = field(default_factory=dict)  # access_token -> appid, state
    _oauth: dict[str, tuple[str, WeChatUser]] = field(default_factory=dict)  # oauth access_token -> appid, user
    redirects: list[str] = field(default_factory=list)

    # --- what the WeChat client gives the user -------------------------------

    def _code(self, kind: str, appid: str, user: WeChatUser) -> str:
        code = secrets.token_hex(16)
        self._codes[code] = (kind, appid, user, time.time())
        return code

    def login_code(self, appid: str, user: WeChatUser) -> str:
        """``wx.login()``'s code."""
        return self._code("login", appid, user)

    def phone_code(self, appid: str, user: WeChatUser) -> str:
        """The ``getPhoneNumber`` button's code (the user has a phone)."""
        return self._code("phone", appid, user)

    def scan(self, appid: str, user: WeChatUser) -> str:
        """The code the QR page sends back to ``redirect_uri`` once ``user`` confirmed."""
        return self._code("oauth", appid, user)

    def expire_tokens(self, errcode: int = 42001) -> None:
        """Every access_token issued so far stops working (42001 expired, 40001 invalid)."""
        for token, (appid, _state) in list(self._tokens.items()):
            self._tokens[token] = (appid, "expired" if errcode == 42001 else "invalid")

    # --- the wire -------------------------------------------------------------

    def __call__(self, environ, start_response):
        request = Request(environ)
        self.calls[request.path] += 1
        if self.mode == "down":
            return Response("<html>502 Bad Gateway</html>", status=503, mimetype="text/html")(environ, start_response)
        if self.mode == "garbage":
            return Response("<html>oops</html>", mimetype="text/html")(environ, start_response)
        if self.mode == "slow":
            time.sleep(self.slow_seconds)
        if self.mode == "busy":
            return self._error(45011, "api minute-quota reach limit  mustslower  retry next minute")(
                environ, start_response
            )
        if self.mode == "system":
            return self._error(-1, "system error")(environ, start_response)
        handler = {
            "/sns/jscode2session": self._jscode2session,
            "/cgi-bin/token": self._token,
            "/wxa/business/getuserphonenumber": self._phone,
            "/connect/qrconnect": self._qrconnect,
            "/sns/oauth2/access_token": self._oauth_token,
            "/sns/userinfo": self._userinfo,
        }.get(request.path)
        if handler is None:
            return Response("not found", status=404)(environ, start_response)
        return handler(request)(environ, start_response)

    @staticmethod
    def _json(data: dict) -> Response:
        # WeChat answers text/plain JSON on some endpoints; the client must not care.
        return Response(json.dumps(data, ensure_ascii=False), mimetype="text/plain")

    def _error(self, errcode: int, errmsg: str) -> Response:
        return self._json({"errcode": errcode, "errmsg": f"{errmsg} rid: {secrets.token_hex(4)}"})

    def _check_app(self, args) -> Response | None:
        appid, secret = args.get("appid", ""), args.get("secret", "")
        if appid not in self.apps:
            return self._error(40013, "invalid appid")
        if not secrets.compare_digest(self.apps[appid], secret):
            return self._error(40125, "invalid appsecret")
        return None

    def _take_code(self, code: str, kind: str, appid: str) -> WeChatUser | Response:
        if code in self._used:
            return self._error(40163, "code been used")
        issued = self._codes.get(code)
        if issued is None or issued[0] != kind or issued[1] != appid or time.time() - issued[3] > CODE_LIFETIME:
            return self._error(40029, "invalid code")
        self._used.add(code)
        return issued[2]

    def _jscode2session(self, request: Request) -> Response:
        args = request.args
        if args.get("grant_type") != "authorization_code":
            return self._error(40002, "invalid grant_type")
        refused = self._check_app(args)
        if refused:
            return refused
        user = self._take_code(args.get("js_code", ""), "login", args["appid"])
        if isinstance(user, Response):
            return user
        answer = {"openid": user.openid, "session_key": secrets.token_urlsafe(16)}
        if user.unionid:
            answer["unionid"] = user.unionid
        return self._json(answer)

    def _token(self, request: Request) -> Response:
        args = request.args
        if args.get("grant_type") != "client_credential":
            return self._error(40002, "invalid grant_type")
        refused = self._check_app(args)
        if refused:
            return refused
        token = secrets.token_urlsafe(48)
        self._tokens[token] = (args["appid"], "ok")
        return self._json({"access_token": token, "expires_in": 7200})

    def _phone(self, request: Request) -> Response:
        if request.method != "POST":
            return self._error(43002, "require POST method")
        issued = self._tokens.get(request.args.get("access_token", ""))
        if issued is None or issued[1] == "invalid":
            return self._error(40001, "invalid credential, access_token is invalid or not latest")
        if issued[1] == "expired":
            return self._error(42001, "access_token expired")
        try:
            body = json.loads(request.get_data() or b"{}")
        except ValueError:
            return self._error(47001, "data format error")
        user = self._take_code(str(body.get("code", "")), "phone", issued[0])
        if isinstance(user, Response):
            return user
        return self._json(
            {
                "errcode": 0,
                "errmsg": "ok",
                "phone_info": {
                    "phoneNumber": user.phone,
                    "purePhoneNumber": user.phone,
                    "countryCode": "86",
                    "watermark": {"timestamp": int(time.time()), "appid": issued[0]},
                },
            }
        )

    def _qrconnect(self, request: Request) -> Response:
        """WeChat's QR page: the browser lands here; the test scans with :meth:`scan`."""
        self.redirects.append(request.url)
        if request.args.get("appid") not in self.apps:
            return Response("<p>参数错误 appid</p>", mimetype="text/html")
        return Response(
            "<html><body><p>微信登录 (test fake)</p><div class='qrcode'></div></body></html>", mimetype="text/html"
        )

    def _oauth_token(self, request: Request) -> Response:
        args = request.args
        if args.get("grant_type") != "authorization_code":
            return self._error(40002, "invalid grant_type")
        refused = self._check_app(args)
        if refused:
            return refused
        user = self._take_code(args.get("code", ""), "oauth", args["appid"])
        if isinstance(user, Response):
            return user
        token = secrets.token_urlsafe(32)
        self._oauth[token] = (args["appid"], user)
        answer = {
            "access_token": token,
            "expires_in": 7200,
            "refresh_token": secrets.token_urlsafe(32),
            "openid": user.openid,
            "scope": "snsapi_login",
        }
        if user.unionid:
            answer["unionid"] = user.unionid
        return self._json(answer)

    def _userinfo(self, request: Request) -> Response:
        issued = self._oauth.get(request.args.get("access_token", ""))
        if issued is None:
            return self._error(40001, "invalid credential, access_token is invalid or not latest")
        user = issued[1]
        if request.args.get("openid") != user.openid:
            return self._error(40003, "invalid openid")
        answer = {
            "openid": user.openid,
            "nickname": user.nickname,
            "sex": 0,
            "province": "",
            "city": "",
            "country": "CN",
            "headimgurl": "",
            "privilege": [],
        }
        if user.unionid:
            answer["unionid"] = user.unionid
        return self._json(answer)


def parse_state(location: str) -> tuple[str, str]:
    """``(redirect_uri, state)`` of the ``qrconnect`` URL the plugin redirected to."""
    query = parse_qs(location.split("?", 1)[1].split("#", 1)[0])
    return query["redirect_uri"][0], query["state"][0]


@contextlib.contextmanager
def serve(fake: FakeWeChat) -> Iterator[FakeWeChat]:
    """Run ``fake`` on 127.0.0.1 (a free port) while the block runs; sets ``fake.url``."""
    server = make_server("127.0.0.1", 0, fake, threaded=True)
    fake.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        thread.join(5)
