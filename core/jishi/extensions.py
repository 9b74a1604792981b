"""Flask extensions, created unbound and initialised in ``create_app``."""

from __future__ import annotations

from flask import request, session
from flask.globals import request_ctx
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect


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
        return super()._check_request_limit(callable_name=callable_name, in_middleware=in_middleware)

    def init_app(self, app) -> None:
        super().init_app(app)
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


def _when_limiter_context(func, *, pass_through: bool):
    def hook(arg=None):
        if hasattr(request_ctx._get_current_object(), "_limiter_request_context"):
            return func(arg)
        return arg if pass_through else None

    hook.__wrapped__ = func
    return hook


login_manager = LoginManager()
login_manager.login_view = "shop.login"
csrf = CSRFProtect()
limiter = JishiLimiter(key_func=get_remote_address, default_limits=[])


def select_locale():
    """The request's locale as a Babel ``Locale`` named by its code.

    ``Locale.parse("zh_CN")`` expands to ``zh_Hans_CN`` and gettext would
    then look for ``translations/zh_Hans_CN``; dropping the implied script
    keeps the name ``zh_CN`` (the locale data stays zh_Hans_CN's).
    """
    from babel import Locale

    code = select_locale_code()
    locale = Locale.parse(code)
    if locale.script and locale.script not in code:
        locale.script = None
    return locale


def select_locale_code() -> str:
    """The user's choice (account, then session), then Accept-Language."""
    from flask import current_app, has_request_context
    from flask_login import current_user

    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    locales = current_app.config["JISHI_LOCALES"]
    user = getattr(current_user, "locale", None) if current_user else None
    chosen = user or session.get("locale")
    if chosen in locales:
        return chosen
    best = request.accept_languages.best_match(list(locales) + ["zh", "en-US", "zh-CN"])
    if best in ("zh", "zh-CN"):
        return "zh_CN"
    if best == "en-US":
        return "en"
    return best or current_app.config["BABEL_DEFAULT_LOCALE"]
