"""Flask extensions, created unbound and initialised in ``create_app``."""

from __future__ import annotations

import logging

from flask import current_app, has_request_context, request
from flask.globals import _cv_request, request_ctx
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_login.utils import _get_user
from flask_wtf.csrf import CSRFProtect

from jishi.flaskctx import current_app_object


class JishiLimiter(Limiter):
    """Flask-Limiter whose ``before_request`` pass returns at once when it
    has nothing to check.

    That pass only enforces application, default, blueprint and meta
    limits (and limits hinted for an endpoint at run time); a route's own
    ``@limiter.limit`` is checked by the decorator's wrapper. The kernel
    sets none of the former, so every request (the product list first)
    paid ~0.05 ms to find no limit. As soon as any is configured, or the
    storage is down (in-memory fallback), the full check runs as before.
    """

    def _check_request_limit(self, callable_name: str | None = None, in_middleware: bool = True) -> None:
        if in_middleware and callable_name is None and self._middleware_idle():
            return None
        was_dead = getattr(self, "_storage_dead", False)
        try:
            return super()._check_request_limit(callable_name=callable_name, in_middleware=in_middleware)
        finally:
            _log_storage_change(was_dead, getattr(self, "_storage_dead", False))

    def init_app(self, app) -> None:
        super().init_app(app)
        # A new storage for this app: not "dead" because an earlier app's was.
        self._storage_dead = False
        # Its after_request (headers, conditional deductions) and teardown
        # (context reset) only act on the per-request limiter context; skip
        # them for a request that never made one (no limit was checked).
        after = app.after_request_funcs.get(None, [])
        for i, func in enumerate(after):
            if getattr(func, "func", None) is getattr(Limiter, "_Limiter__inject_headers", object()) and func.args == (
                self,
            ):
                after[i] = _when_limiter_context(func, pass_through=True)
        teardown = app.teardown_request_funcs.get(None, [])
        for i, func in enumerate(teardown):
            if (
                getattr(func, "__func__", None) is getattr(Limiter, "_Limiter__release_context", object())
                and func.__self__ is self
            ):
                teardown[i] = _when_limiter_context(func, pass_through=False)

    def _middleware_idle(self) -> bool:
        try:
            manager = self.limit_manager
            return not (
                manager._application_limits
                or manager._default_limits
                or manager._blueprint_limits
                or manager._endpoint_hints
                or self._meta_limits
                or self._storage_dead
            )
        except AttributeError:  # a Flask-Limiter whose internals moved: always check
            return False


def _log_storage_change(was_dead: bool, dead: bool) -> None:
    """Issue 15 (5): a rate-limit storage (Redis) that stops answering is
    not an error for the request: Flask-Limiter counts in this process
    (``RATELIMIT_IN_MEMORY_FALLBACK_ENABLED``) until it answers again."""
    if dead and not was_dead:
        logging.getLogger("jishi").warning(
            "rate limits: the storage (Redis) is unreachable; counting in this process until it answers again"
        )
    elif was_dead and not dead:
        logging.getLogger("jishi").warning("rate limits: the storage (Redis) answers again")


def _when_limiter_context(func, *, pass_through: bool):
    def hook(arg=None):
        if hasattr(request_ctx._get_current_object(), "_limiter_request_context"):
            return func(arg)
        return arg if pass_through else None

    hook.__wrapped__ = func
    return hook


class JishiCSRFProtect(CSRFProtect):
    """Flask-WTF's CSRF protection, with a request whose method it never
    checks (GET, HEAD, OPTIONS: not in ``WTF_CSRF_METHODS``) let through
    first: Flask-WTF would look up its blueprint's and view's exemptions
    and then let it through all the same."""

    def __init__(self, app=None):
        #: endpoints a visitor who is not signed in may post to without a
        #: token (:meth:`exempt_when_signed_out`)
        self.signed_out_endpoints: set[str] = set()
        super().__init__(app)

    def exempt_when_signed_out(self, endpoint: str) -> None:
        """Let a form post to ``endpoint`` without a token through the check
        when the visitor is not signed in, for a view that then only sends
        them to sign in (``login_required``): such a post has no one's
        authority to misuse, and the page that shows the form to a visitor
        not signed in then makes no token, so no session and no cookie (the
        product page's add-to-cart form: an Enter in its quantity field
        submits it even without a button). A signed-in visitor (session or
        remember cookie) is checked as always; so is everyone while
        ``LOGIN_DISABLED`` is set (``login_required`` lets them in)."""
        self.signed_out_endpoints.add(endpoint)

    def protect(self, apply_exemptions=False):
        # (the request and the app without their proxies)
        if _cv_request.get().request.method not in current_app_object().config["WTF_CSRF_METHODS"]:
            return None
        return super().protect(apply_exemptions)

    def init_app(self, app) -> None:
        super().init_app(app)
        # Flask-WTF's ``before_request`` function (``csrf_protect``) reads two
        # settings and calls :meth:`protect`, which lets a GET through: the
        # same here, with the method (the cheapest test, and the one that
        # settles every read) looked at first, on the request itself.
        before = app.before_request_funcs.get(None, [])
        for i, func in enumerate(before):
            if getattr(func, "__qualname__", "") == "CSRFProtect.init_app.<locals>.csrf_protect":
                before[i] = self._before_request(app, func)

    def _before_request(self, app, flask_wtf_func):
        config = app.config
        signed_out = self.signed_out_endpoints

        def csrf_protect():
            req = _cv_request.get().request
            if req.method not in config["WTF_CSRF_METHODS"]:
                return None  # what protect() answers after the settings' tests
            if req.endpoint in signed_out and not config.get("LOGIN_DISABLED"):
                from flask_login import current_user

                if not current_user.is_authenticated:
                    return None  # the view sends them to sign in (exempt_when_signed_out)
            return flask_wtf_func()

        csrf_protect.__wrapped__ = flask_wtf_func  # type: ignore[attr-defined]
        return csrf_protect


class JishiLoginManager(LoginManager):
    """Flask-Login, except that a request sending ``Authorization: Bearer``
    is authenticated by that token alone: Flask-Login would try a
    ``remember_token`` cookie first and never ask the request loader, so a
    client holding both was anonymous (and the cookie's user id was
    written into its session)."""

    def _load_user(self):
        req_ctx = _cv_request.get()
        req = req_ctx.request
        if req.headers.get("Authorization", "").startswith("Bearer "):
            return self._update_request_context_with_user(self._load_user_from_request(req))
        if not req_ctx.session and self._nobody_to_load(req):
            # What Flask-Login concludes for an empty session (a visitor with
            # no cookie: most storefront pages' visitors), without its
            # session-protection identifier (a SHA-512 of the address and
            # agent) and look-ups: no user id to load, no remember cookie, a
            # request loader that answers bearer requests only. Its read of
            # the session is made all the same (Vary: Cookie).
            req_ctx.session.get("_user_id")
            return self._update_request_context_with_user(None)
        return super()._load_user()

    def _nobody_to_load(self, req) -> bool:
        """Whether Flask-Login's own ``_load_user`` could only find nobody for
        a request with an empty session and no bearer token: the kernel's
        loaders, no ``user_accessed`` receiver, no remember cookie."""
        kernel = _KERNEL_LOADERS
        if not kernel:
            from flask_login.config import COOKIE_NAME
            from flask_login.signals import user_accessed

            from jishi.accounts.auth import load_bearer_user, load_session_user

            kernel.extend((load_bearer_user, load_session_user, user_accessed, COOKIE_NAME))
        bearer, session_user, accessed, cookie_name = kernel
        return (
            self._request_callback is bearer
            and self._user_callback is session_user
            and not accessed.receivers
            and current_app_object().config.get("REMEMBER_COOKIE_NAME", cookie_name) not in req.cookies
        )

    def _update_remember_cookie(self, response):
        """Flask-Login's ``after_request`` function, step for step, with the
        request's session fetched through the ``session`` proxy once instead
        of at each of its tests (it runs for every request)."""
        s = _cv_request.get().session  # (the property the proxy reads: it marks the session accessed)
        if "_remember" not in s and current_app_object().config.get("REMEMBER_COOKIE_REFRESH_EACH_REQUEST"):
            s["_remember"] = "set"
        if "_remember" in s:
            operation = s.pop("_remember", None)
            if operation == "set" and "_user_id" in s:
                self._set_cookie(response)
            elif operation == "clear":
                self._clear_cookie(response)
        return response

    def _set_cookie(self, response):
        """The ``remember_token`` cookie, ``Secure`` as :func:`cookie_secure`
        decides (Flask-Login reads only a fixed ``REMEMBER_COOKIE_SECURE``)."""
        super()._set_cookie(response)
        if not cookie_secure("REMEMBER_COOKIE_SECURE"):
            return
        from flask import current_app

        name = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
        headers = response.headers.getlist("Set-Cookie")
        response.headers.remove("Set-Cookie")
        for header in headers:
            if header.startswith(f"{name}=") and "; Secure" not in header:
                header += "; Secure"
            response.headers.add("Set-Cookie", header)


#: (the kernel's request loader, its user loader, Flask-Login's ``user_accessed``
#: signal, its default remember cookie name), for ``JishiLoginManager._nobody_to_load``
_KERNEL_LOADERS: list = []


def cookie_secure(key: str) -> bool:
    """Whether the session or remember cookie is ``Secure``: ``key``
    (``SESSION_COOKIE_SECURE`` / ``REMEMBER_COOKIE_SECURE``) when set to
    true or false; when ``None`` (the default), whenever the site is served
    over HTTPS: ``PREFERRED_URL_SCHEME = "https"`` or the request itself
    came over HTTPS."""
    value = current_app.config.get(key)
    if value is not None:
        return bool(value)
    return current_app.config.get("PREFERRED_URL_SCHEME") == "https" or (has_request_context() and request.is_secure)


def is_api_request() -> bool:
    """Whether the current request is routed to a JSON API blueprint (one
    registered through the ``api_blueprints`` hook, so CSRF-exempt)."""
    from flask import current_app

    names = getattr(current_app.extensions.get("jishi"), "api_blueprint_names", None)
    return bool(names) and any(name in names for name in request.blueprints)


def api_cookie_writes_need_csrf_token() -> None:
    """``before_request``: a write to the JSON API authenticated by a cookie
    (the web session or ``remember_token``) must carry the page's CSRF
    token in an ``X-CSRFToken`` header, else 403 ``csrf_failed``.

    The API blueprints are CSRF-exempt because their clients (apps,
    mini-programs, scripts) authenticate with a bearer token, which no
    other site can make a browser send. A cookie is sent by the browser on
    its own, so without this check any site's form could cancel the
    signed-in buyer's orders or approve withdrawals with an admin's
    cookie. Reads (GET, HEAD, OPTIONS) and bearer requests are not
    affected; nor is anything while ``WTF_CSRF_ENABLED`` is off.
    """
    config = current_app_object().config  # (the app and the request without their proxies)
    request = _cv_request.get().request
    if (
        request.method not in config["WTF_CSRF_METHODS"]
        or not config["WTF_CSRF_ENABLED"]
        or request.headers.get("Authorization", "").startswith("Bearer ")
        or not is_api_request()
    ):
        return
    from flask_login import current_user
    from flask_wtf.csrf import CSRFError

    if not current_user.is_authenticated:
        return
    try:
        csrf.protect()
    except CSRFError:
        from jishi.api.common import fail
        from jishi.i18n import gettext as _

        fail(
            403,
            "csrf_failed",
            _("A cookie-authenticated API write needs the X-CSRFToken header; API clients send a bearer token."),
        )


login_manager = JishiLoginManager()
login_manager.login_view = "shop.login"
csrf = JishiCSRFProtect()
limiter = JishiLimiter(key_func=get_remote_address, default_limits=[])


def select_locale():
    """The request's locale as a Babel ``Locale`` named by its code.

    ``Locale.parse("zh_CN")`` expands to ``zh_Hans_CN`` and gettext would
    then look for ``translations/zh_Hans_CN``; dropping the implied script
    keeps the name ``zh_CN`` (the locale data stays zh_Hans_CN's). One
    ``Locale`` per code is made per process (a request's first translated
    string paid for ``Locale.parse``: issue 20).
    """
    code = select_locale_code()
    found = _LOCALES.get(code)
    if found is None:
        from babel import Locale

        found = Locale.parse(code)
        if found.script and found.script not in code:
            found.script = None
        if len(_LOCALES) < 64:  # codes come from the settings (JISHI_LOCALES, the default)
            _LOCALES[code] = found
    return found


#: code -> its ``Locale`` (:func:`select_locale`)
_LOCALES: dict = {}
#: (Accept-Language header, locales, default) -> the code it chooses (:func:`_accepted`)
_ACCEPTED: dict = {}


def select_locale_code() -> str:
    """The user's choice (account, then session), then Accept-Language."""
    config = current_app_object().config
    if not has_request_context():
        return config["BABEL_DEFAULT_LOCALE"]
    locales = config["JISHI_LOCALES"]
    user = _get_user()
    chosen = (getattr(user, "locale", None) if user else None) or _cv_request.get().session.get("locale")
    if chosen in locales:
        return chosen
    return _accepted(request.headers.get("Accept-Language"), locales, config["BABEL_DEFAULT_LOCALE"])


def _accepted(header: str | None, locales, default: str) -> str:
    """The code ``Accept-Language: header`` chooses among ``locales``,
    decided once per distinct header (and settings) per process."""
    key = (header, locales if isinstance(locales, tuple) else tuple(locales), default)
    found = _ACCEPTED.get(key)
    if found is None:
        from werkzeug.datastructures import LanguageAccept
        from werkzeug.http import parse_accept_header

        best = parse_accept_header(header, LanguageAccept).best_match(list(locales) + ["zh", "en-US", "zh-CN"])
        if best in ("zh", "zh-CN"):
            found = "zh_CN"
        elif best == "en-US":
            found = "en"
        else:
            found = best or default
        if len(_ACCEPTED) >= 1024:  # distinct headers (browsers send a handful): start over
            _ACCEPTED.clear()
        _ACCEPTED[key] = found
    return found
