"""The application factory."""

from __future__ import annotations

import inspect
import logging
import re
import secrets
import sys
from collections.abc import Iterable
from pathlib import Path
from types import FunctionType, MethodType
from typing import Any

from flask import Flask, abort, current_app, g, redirect, send_from_directory
from flask.ctx import AppContext
from flask.globals import _cv_app, _cv_request
from flask.json.provider import DefaultJSONProvider
from flask.sansio.scaffold import _sentinel
from flask.sessions import SecureCookieSessionInterface
from flask.signals import (
    appcontext_popped,
    appcontext_pushed,
    appcontext_tearing_down,
    request_finished,
    request_started,
    request_tearing_down,
)
from markupsafe import Markup
from werkzeug.datastructures import Headers
from werkzeug.exceptions import NotFound

from jishi import schema, serving
from jishi import themes as themes_mod
from jishi.api.common import MAX_ID
from jishi.config import DefaultConfig, check_secret_key, check_secrets, from_environ
from jishi.db import apply_engine_config, db
from jishi.jsonprovider import JishiJSONProvider
from jishi.plugins import PluginError, load_plugins

log = logging.getLogger("jishi")


class Jishi:
    """What the kernel keeps in ``app.extensions["jishi"]``."""

    def __init__(self, app: Flask, pm, infos):
        self.app = app
        self.pm = pm
        self.hook = pm.hook
        self.plugins = infos
        self.setting_defaults: dict | None = None
        self.plugin_template_dirs: list[str] = []
        self.themes: dict[str, themes_mod.Theme] = {}
        #: names of the JSON API blueprints (CSRF-exempt: see extensions.api_cookie_writes_need_csrf_token)
        self.api_blueprint_names: set[str] = set()
        #: slot name -> (the template_slot implementations, those it calls): see _slot_callees
        self.slot_callees: dict[str, tuple[list, list | None]] = {}
        self._payment_gateways = None
        #: the translation domains (jishi.i18n.Domains), set with the templates
        self.i18n = None

    @property
    def default_delivery(self) -> bool:
        """Whether the kernel's flat-rate delivery is offered:
        ``JISHI_DEFAULT_DELIVERY`` true or false, or ``"auto"`` (the default):
        only while no enabled plugin that ships anywhere (express) offers its
        own methods. Plugins that only add a way to receive goods (pickup,
        local delivery) declare ``replaces_default_delivery = False``."""
        value = self.app.config["JISHI_DEFAULT_DELIVERY"]
        if value == "auto":
            return not any(
                i.enabled and "delivery_options" in i.hooks and i.replaces_default_delivery for i in self.plugins
            )
        return bool(value)

    def settings_panels(self):
        panels = [p for result in self.hook.settings_panels() for p in (result or [])]
        return sorted(panels, key=lambda p: (p.sort, p.key))

    def payment_gateways(self):
        """Every gateway by code, in ``sort`` order (the ``payment_gateways`` hook)."""
        if self._payment_gateways is None:
            found = [g for r in self.hook.payment_gateways() for g in (r or [])]
            self._payment_gateways = {g.code: g for g in sorted(found, key=lambda g: (g.sort, g.code))}
        return self._payment_gateways

    def enabled_plugin_names(self) -> list[str]:
        return [p.name for p in self.plugins if p.enabled]


_CO_COROUTINE = inspect.CO_COROUTINE


class JishiFlask(Flask):
    """The kernel's Flask: the same as Flask, with less fixed work per request."""

    json_provider_class = JishiJSONProvider

    def ensure_sync(self, func):
        """Flask's, with a shortcut for what every request passes it (each
        ``before_request``/``after_request``/teardown function and the view,
        a dozen or more a request): a plain function, or a method of one,
        that is not a coroutine function comes back as it is, without
        ``inspect.iscoroutinefunction``'s unwrapping (what Flask answers too);
        anything else (a partial, a callable object, ``async def``) goes
        through Flask's own check."""
        f = func.__func__ if type(func) is MethodType else func
        if (
            type(f) is FunctionType
            and not f.__code__.co_flags & _CO_COROUTINE
            and "_is_coroutine_marker" not in f.__dict__
        ):
            return func
        return super().ensure_sync(func)

    def _sync(self, func):
        """``ensure_sync(func)``, remembered per function for the request
        steps below (the same answer each time: a plain function is itself,
        a coroutine function Flask's wrapper; anything unhashable is asked
        each time)."""
        try:
            return self._jishi_sync[func]
        except KeyError:
            sync = self._jishi_sync[func] = self.ensure_sync(func)
            return sync
        except AttributeError:
            self._jishi_sync: dict = {}
            return self._sync(func)
        except TypeError:
            return self.ensure_sync(func)

    def app_context(self) -> AppContext:
        return _AppContext(self)

    # -- the request's fixed steps, as Flask's (flask.app.Flask, 3.x), with
    # less work in each: the blueprint chain of the request computed once
    # (``request.blueprints`` is three properties deep and Flask asks for it
    # three times a request), the proxies looked up once, and a signal with
    # no receivers not sent (blinker would find none to call). The function
    # lists are read at each request, as Flask does, so a function added or
    # removed at any time (tests do) takes effect at the next request.

    def _blueprint_chain(self, req) -> tuple[str, ...]:
        """``request.blueprints`` as a tuple (innermost first), by endpoint."""
        rule = req.url_rule
        endpoint = rule.endpoint if rule is not None else None
        try:
            return self._jishi_chains[endpoint]
        except KeyError:
            pass
        except AttributeError:
            self._jishi_chains: dict[str | None, tuple[str, ...]] = {}
        names = tuple(req.blueprints)
        if len(self._jishi_chains) < 10_000:
            self._jishi_chains[endpoint] = names
        return names

    def full_dispatch_request(self):
        self._got_first_request = True
        try:
            if request_started.receivers:
                request_started.send(self, _async_wrapper=self.ensure_sync)
            rv = self.preprocess_request()
            if rv is None:
                rv = self.dispatch_request()
        except Exception as e:
            rv = self.handle_user_exception(e)
        return self.finalize_request(rv)

    def finalize_request(self, rv, from_error_handler: bool = False):
        response = self.make_response(rv)
        try:
            response = self.process_response(response)
            if request_finished.receivers:
                request_finished.send(self, _async_wrapper=self.ensure_sync, response=response)
        except Exception:
            if not from_error_handler:
                raise
            self.logger.exception("Request finalizing failed with an error while handling an error")
        return response

    def preprocess_request(self):
        req = _cv_request.get().request
        view_args = req.view_args
        if view_args:
            for value in view_args.values():
                # every <int:...> of a route is an id: one beyond the database's
                # integer is found nowhere (the OpenAPI document says 1..2**31-1);
                # a view reading it with db.session.get was a 500 on SQLite
                if value.__class__ is int and value > MAX_ID:
                    raise NotFound()
        chain = self._blueprint_chain(req)
        preprocessors = self.url_value_preprocessors
        if preprocessors:
            for name in (None, *reversed(chain)):
                if name in preprocessors:
                    for url_func in preprocessors[name]:
                        url_func(req.endpoint, req.view_args)
        before = self.before_request_funcs
        sync = self._sync
        for name in (None, *reversed(chain)):
            if name in before:
                for before_func in before[name]:
                    rv = sync(before_func)()
                    if rv is not None:
                        return rv
        return None

    def process_response(self, response):
        ctx = _cv_request.get()
        for func in ctx._after_request_functions:
            response = self.ensure_sync(func)(response)
        after = self.after_request_funcs
        sync = self._sync
        for name in (*self._blueprint_chain(ctx.request), None):
            if name in after:
                for func in reversed(after[name]):
                    response = sync(func)(response)
        interface = self.session_interface
        if not interface.is_null_session(ctx._session):
            interface.save_session(self, ctx._session, response)
        return response

    def do_teardown_request(self, exc=_sentinel):
        if exc is _sentinel:
            exc = sys.exc_info()[1]
        teardown = self.teardown_request_funcs
        if teardown:
            for name in (*self._blueprint_chain(_cv_request.get().request), None):
                if name in teardown:
                    for func in reversed(teardown[name]):
                        self._sync(func)(exc)
        if request_tearing_down.receivers:
            request_tearing_down.send(self, _async_wrapper=self.ensure_sync, exc=exc)

    def do_teardown_appcontext(self, exc=_sentinel):
        if exc is _sentinel:
            exc = sys.exc_info()[1]
        for func in reversed(self.teardown_appcontext_funcs):
            self._sync(func)(exc)
        if appcontext_tearing_down.receivers:
            appcontext_tearing_down.send(self, _async_wrapper=self.ensure_sync, exc=exc)


class _AppContext(AppContext):
    """Flask's app context (``flask.ctx.AppContext``, 3.x), step for step,
    except that ``appcontext_pushed`` and ``appcontext_popped`` are sent only
    when something receives them (every request pushes and pops one)."""

    def push(self) -> None:
        self._cv_tokens.append(_cv_app.set(self))
        if appcontext_pushed.receivers:
            appcontext_pushed.send(self.app, _async_wrapper=self.app.ensure_sync)

    def pop(self, exc: BaseException | None = _sentinel) -> None:  # type: ignore[assignment]
        try:
            if len(self._cv_tokens) == 1:
                if exc is _sentinel:
                    exc = sys.exc_info()[1]
                self.app.do_teardown_appcontext(exc)
        finally:
            ctx = _cv_app.get()
            _cv_app.reset(self._cv_tokens.pop())
        if ctx is not self:
            raise AssertionError(f"Popped wrong app context. ({ctx!r} instead of {self!r})")
        if appcontext_popped.receivers:
            appcontext_popped.send(self.app, _async_wrapper=self.app.ensure_sync)


class _CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, minus the work a request without a
    session cookie (an API client, a first visit) does not need: building
    the signing serializer to open it, and the cookie settings to save it
    when it stays empty. Same results as the parent in every case."""

    def open_session(self, app, request):
        # No Cookie header at all (an API client): no cookie of ours, without
        # parsing the header into ``request.cookies``.
        if app.secret_key and (
            "HTTP_COOKIE" not in request.environ or not request.cookies.get(self.get_cookie_name(app))
        ):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app, session, response):
        if not session and not session.modified:
            if session.accessed:
                headers = response.headers
                if type(headers) is not Headers or any(k.lower() == "vary" for k, _ in headers._list):
                    response.vary.add("Cookie")  # ("Vary" in headers, without the KeyError it raises inside)
                else:  # what vary.add gives here, without parsing and rewriting the header:
                    headers._list.append(("Vary", "Cookie"))  # headers["Vary"] = "Cookie", there being none
            return None
        return super().save_session(app, session, response)

    def get_cookie_secure(self, app) -> bool:
        from jishi.extensions import cookie_secure

        return cookie_secure("SESSION_COOKIE_SECURE")


def _layered_config(app: Flask, config: dict | None) -> dict:
    """Instance file, then environment, then the explicit mapping."""
    layered: dict[str, Any] = {}
    cfg = Path(app.instance_path) / "jishi.cfg"
    if cfg.is_file():
        scratch = Flask("scratch", instance_path=app.instance_path)
        scratch.config.from_pyfile(str(cfg))
        layered.update({k: v for k, v in scratch.config.items() if k.isupper() and k in _user_keys(cfg)})
    layered.update(from_environ())
    layered.update(config or {})
    return layered


def _user_keys(cfg: Path) -> set[str]:
    ns: dict[str, Any] = {}
    exec(compile(cfg.read_text(encoding="utf-8"), str(cfg), "exec"), ns)
    return {k for k in ns if k.isupper()}


def create_app(config: dict | None = None, plugins: Iterable[object] = (), instance_path: str | None = None) -> Flask:
    """Build a configured app.

    :param config: overrides applied last (tests, embedding).
    :param plugins: extra plugin objects registered after the installed ones.
    :param instance_path: the instance folder (default ``./instance``).
    """
    instance_path = instance_path or (config or {}).get("INSTANCE_PATH") or str(Path.cwd() / "instance")
    app = JishiFlask("jishi", instance_path=instance_path, instance_relative_config=True)
    app.jinja_environment = themes_mod.ThemedEnvironment  # before anything builds app.jinja_env
    app.session_interface = _CookieSessions()
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_object(DefaultConfig)
    layered = _layered_config(app, config)

    pm, infos = load_plugins(layered.get("JISHI_PLUGINS", app.config["JISHI_PLUGINS"]), extra_modules=plugins)
    plugin_defaults: dict[str, Any] = {}
    for result in pm.hook.config_defaults():
        for key, value in (result or {}).items():
            if key in plugin_defaults:
                raise PluginError(f"config default {key!r} is declared by two plugins")
            plugin_defaults[key] = value
    app.config.update(plugin_defaults)
    app.config.update(layered)

    check_secrets(app.config, debug=app.debug, testing=app.testing)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + str(Path(app.instance_path) / "jishi.db")
    if not app.config.get("SECRET_KEY"):
        check_secret_key(app.config, debug=app.debug, testing=app.testing)
        app.config["SECRET_KEY"] = _instance_secret(app)
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgres://"):
        app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://" + uri[len("postgres://") :]
    elif uri.startswith("postgresql://"):
        app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://" + uri[len("postgresql://") :]
    if uri.startswith("sqlite"):
        opts = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        opts.setdefault("connect_args", {}).setdefault("timeout", 15)
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = opts
    apply_engine_config(app.config)
    if app.config.get("JISHI_REDIS_URL") and app.config["RATELIMIT_STORAGE_URI"] == "memory://":
        app.config["RATELIMIT_STORAGE_URI"] = app.config["JISHI_REDIS_URL"]
    serving.configure(app)  # rate-limit storage timeouts, JSON logs (jishi.serving)

    app.json.ensure_ascii = False  # UTF-8 JSON: Chinese text is a third of the bytes of \uXXXX escapes
    ext = Jishi(app, pm, infos)
    app.extensions["jishi"] = ext

    _init_extensions(app)
    _init_templates(app, ext)
    _register_blueprints(app, ext)
    schema.init_app(app)

    from jishi.reports import tracking

    tracking.install(app)  # visits buffered after each response (issue 19)
    pm.hook.app_ready(app=app)
    serving.init_app(app)  # proxies (outermost), request ids, logs, health, metrics (jishi.serving)
    return app


def _instance_secret(app: Flask) -> str:
    path = Path(app.instance_path) / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _init_extensions(app: Flask) -> None:
    from flask_babel import Babel

    import jishi.models  # noqa: F401 - every kernel table on the metadata
    from jishi.accounts import auth
    from jishi.api.common import JishiApi
    from jishi.extensions import csrf, limiter, login_manager, select_locale

    db.init_app(app)
    from jishi.db import (
        PING_IDLE_SECONDS,
        check_liveness_at_checkout,
        close_session_safely,
        keep_prepared_statements,
        libpq_reads,
        plan_with_page_cost,
        read_autocommit,
        sqlite_write_lock,
    )

    keep = app.config.get("JISHI_DB_KEEP_PREPARED", True)
    libpq = app.config.get("JISHI_DB_LIBPQ_READS", True)
    write_lock = app.config.get("JISHI_DB_SQLITE_WRITE_LOCK", True)
    idle = app.config.get("JISHI_DB_PING_IDLE_SECONDS")
    idle = PING_IDLE_SECONDS if idle is None or idle == "" else float(idle)
    reading = app.config.get("JISHI_DB_READ_AUTOCOMMIT", True)
    pre_ping = bool(app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("pool_pre_ping"))
    page_cost = app.config.get("JISHI_DB_RANDOM_PAGE_COST")
    with app.app_context():
        for engine in db.engines.values():
            if page_cost is not None and page_cost != "":
                plan_with_page_cost(engine, page_cost)
            if keep:
                keep_prepared_statements(engine)
            if libpq:
                libpq_reads(engine)
            if pre_ping:
                check_liveness_at_checkout(engine, idle)
            if reading:
                read_autocommit(engine)
            if write_lock:
                sqlite_write_lock(engine)

    # It ends the request's session in every case (a dead connection
    # included), so Flask-SQLAlchemy's own teardown, which would run after
    # it and remove the session again, never has anything left to do: ours
    # takes its place (one call less per request).
    app.teardown_appcontext_funcs.remove(db._teardown_session)
    app.teardown_appcontext(close_session_safely)
    login_manager.init_app(app)
    login_manager.user_loader(auth.load_session_user)
    login_manager.request_loader(auth.load_bearer_user)
    csrf.init_app(app)
    # Flask-Babel's own catalog is the kernel's; each enabled plugin
    # translates in a domain of its own (jishi.i18n.Domains, set up with the
    # templates), so no plugin changes what another's or the kernel's text reads.
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(Path(__file__).parent / "translations")
    # One Babel per app: Flask-Babel caches merged catalogs on the Babel
    # object's domain, and apps with different plugins (tests, several apps
    # in one process) have different catalogs.
    Babel().init_app(app, locale_selector=select_locale)
    limiter.init_app(app)
    app.extensions["jishi"].api = JishiApi(app)


def _init_templates(app: Flask, ext: Jishi) -> None:
    from jishi import i18n, settings, web_helpers

    dirs = [
        *app.config.get("JISHI_THEMES_DIRS", []),
        str(Path(app.instance_path) / "themes"),
        str(themes_mod.builtin_themes_dir()),
    ]
    ext.themes = themes_mod.discover(dirs)
    for info in ext.plugins:
        if info.enabled and info.templates_dir:
            ext.plugin_template_dirs.append(str(info.templates_dir))
    for result in ext.hook.template_dirs():
        ext.plugin_template_dirs.extend(str(d) for d in (result or []))
    app.jinja_env.auto_reload = True
    app.jinja_loader  # noqa: B018 - force Flask to build its env before we replace the loader
    app.jinja_env.loader = themes_mod.ThemeLoader(ext)
    ext.i18n = i18n.Domains(
        Path(__file__).parent / "translations",
        [(info.name, info.path) for info in ext.plugins if info.enabled and info.path is not None],
        [theme.templates for theme in ext.themes.values()],
    )
    i18n.install_jinja(app)
    web_helpers.install(app)

    @app.route("/favicon.ico")
    def favicon():
        """What a browser asks for on a first visit: the shop.icon setting
        (a redirect), else Jishi's icon."""
        icon = settings.get("shop.icon")
        if icon:
            response = redirect(icon, 302)
            response.cache_control.max_age = 3600
            return response
        return send_from_directory(Path(__file__).parent / "static" / "jishi", "favicon.ico", max_age=86400)

    @app.route("/themes/<name>/static/<path:filename>")
    def theme_static(name: str, filename: str):
        if name not in ext.themes:
            abort(404)
        for theme in themes_mod.chain(ext.themes, name):
            if (theme.static / filename).is_file():
                return send_from_directory(theme.static, filename, max_age=3600)
        abort(404)


def _refuse_nul() -> None:
    """Answer 422 naming the field for a NUL character in any query or form
    value or JSON body: no database stores it (PostgreSQL refuses it, SQLite
    cuts the string there), so it would be a 500 or a silent truncation;
    likewise a lone surrogate in a JSON string (the driver cannot encode it).
    The six characters ``\\u0000`` in a string are text, not a NUL."""
    req = _cv_request.get().request  # (the request without its proxy: read six times here)
    if not _may_hold_nul(req.environ):
        return
    from jishi.errors import DomainError
    from jishi.i18n import gettext as _

    for source in (
        req.args,
        req.form if req.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data") else {},
    ):
        for key, value in source.items(multi=True) if source else ():
            # (a multipart part without a name is listed under None)
            if "\x00" in value or (key is not None and "\x00" in key):
                raise DomainError(key, _("Must not contain NUL characters."), code="invalid", status=422)
    if req.is_json and _json_may_be_unstorable(req.get_data(cache=True)):
        bad = _unstorable_text(req.get_json(silent=True))
        if bad is not None:
            field, nul = bad
            message = _("Must not contain NUL characters.") if nul else _("Not valid text (a lone surrogate).")
            raise DomainError(field, message, code="invalid", status=422)


def _may_hold_nul(environ) -> bool:
    """False when :func:`_refuse_nul` has nothing to look at: no body type
    (so no form, no JSON) and no NUL in the query string's raw text (a NUL
    in an argument or its name is ``%00`` or a raw NUL there): the common
    case, a GET, told without parsing ``request.args``."""
    if environ.get("CONTENT_TYPE"):
        return True
    query = environ.get("QUERY_STRING", "")
    return "%00" in query or "\x00" in query


#: what a JSON body's raw bytes hold when its parsed value may hold a NUL or
#: a lone surrogate: a NUL byte (also in every UTF-16/32 body: any JSON text
#: has an ASCII character), a ``\u`` escape of U+0000 or of a surrogate
#: (``\ud83d\ude00`` pairs included), a ``\u`` not followed by four hex
#: digits (the pure-Python scanner's ``int(esc, 16)`` takes ``" 000"``), or a
#: UTF-8-encoded surrogate (``json.loads`` decodes bytes with
#: ``surrogatepass``)
_MAY_BE_UNSTORABLE = re.compile(rb"\x00|\\u(?:0000|[dD][89a-fA-F]|(?![0-9a-fA-F]{4}))|\xed[\xa0-\xbf]")


def _json_may_be_unstorable(data: bytes) -> bool:
    """False when the JSON body ``data`` cannot parse to a string with a NUL
    or a lone surrogate, told from its bytes (issue 20: parsing and walking
    every body was ~4 % of a checkout preview; views parse it themselves
    through webargs). Only for the standard library's parser (Flask's
    provider): with another ``loads`` the body is always walked."""
    if (b"\\u" in data or b"\x00" in data or b"\xed" in data) and _MAY_BE_UNSTORABLE.search(data):
        return True
    return type(current_app.json).loads is not DefaultJSONProvider.loads


def _unstorable_text(value, path: str = "") -> tuple[str | None, bool] | None:
    """The first string (key or value) of a parsed JSON body no database
    stores, as ``(field, is_nul)``: one with a NUL, or with a lone surrogate
    (``"\\ud800x"`` parses to text no UTF-8 can encode); its field is the dotted
    path (``items.0.note``), None for the body itself."""
    if isinstance(value, str):
        if "\x00" in value:
            return (path or None, True)
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return (path or None, False)
        return None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        key_text = key.encode("utf-8", "backslashreplace").decode() if isinstance(key, str) else str(key)
        name = f"{path}.{key_text}" if path else key_text  # a lone surrogate named by its escape
        bad = _unstorable_text(key, name) if isinstance(key, str) else None
        if bad is None:
            bad = _unstorable_text(item, name)
        if bad is not None:
            return bad
    return None


def _register_blueprints(app: Flask, ext: Jishi) -> None:
    from werkzeug.exceptions import HTTPException

    from jishi.api.common import domain_error
    from jishi.errors import DomainError
    from jishi.extensions import api_cookie_writes_need_csrf_token, csrf
    from jishi.web.errors import http_error

    app.register_error_handler(DomainError, domain_error)
    # Replaces flask-smorest's JSON-for-everything handler: pages get pages.
    app.register_error_handler(HTTPException, http_error)
    from sqlalchemy.exc import InterfaceError, OperationalError

    from jishi.web.errors import database_unavailable

    # A connection dropped mid-request (failover, a restart), a statement
    # timeout, SQLite busy: a clear 503 with Retry-After, never a 500.
    app.register_error_handler(OperationalError, database_unavailable)
    app.register_error_handler(InterfaceError, database_unavailable)

    config = app.config

    def request_checks() -> None:
        """The kernel's checks of every request, one ``before_request``
        function (one call instead of two): NUL characters
        (:func:`_refuse_nul`), then a cookie-authenticated API write's CSRF
        token (:func:`~jishi.extensions.api_cookie_writes_need_csrf_token`),
        each called only when its first test, made here on the WSGI environ,
        does not already settle it."""
        environ = _cv_request.get().request.environ
        if _may_hold_nul(environ):
            _refuse_nul()
        # (request.method is REQUEST_METHOD upper-cased)
        if environ.get("REQUEST_METHOD", "GET").upper() in config["WTF_CSRF_METHODS"]:
            api_cookie_writes_need_csrf_token()

    app.before_request(request_checks)
    api = ext.api
    for result in ext.hook.blueprints():
        for bp in result or []:
            app.register_blueprint(bp)
    for result in ext.hook.api_blueprints():
        for bp in result or []:
            api.register_blueprint(bp)
            csrf.exempt(bp)
            ext.api_blueprint_names.add(bp.name)


def _slot_callees(ext: Jishi, name: str) -> list | None:
    """The ``template_slot`` implementations slot ``name`` calls, in
    pluggy's calling order, as ``(function, argument names)``: those that
    declared the slot (:func:`jishi.hookspecs.slots`) or declared none.
    Kept per app and slot, and made again when the implementations change
    (a plugin registered or removed). None when one of them is a wrapper:
    then the hook is called as pluggy calls it."""
    hook = ext.hook.template_slot
    impls = hook.get_hookimpls()
    kept = ext.slot_callees.get(name)
    if kept is not None and kept[0] == impls:
        return kept[1]
    if any(impl.wrapper or impl.hookwrapper for impl in impls):
        callees = None
    else:
        callees = []
        for impl in reversed(impls):  # pluggy calls the last registered first
            declared = getattr(impl.function, "jishi_slots", None)
            if declared is None or name in declared:
                callees.append((impl.function, tuple(impl.argnames)))
    ext.slot_callees[name] = (impls, callees)
    return callees


def slot(name: str, **context) -> Markup:
    """Render a template slot: the markup of every plugin's ``template_slot``
    that answers it, joined in plugin order. An implementation declaring its
    slots (:func:`jishi.hookspecs.slots`) is called for those only."""
    ext = current_app.extensions["jishi"]
    callees = _slot_callees(ext, name)
    if callees is None:
        parts = ext.hook.template_slot(slot=name, context=context)
    elif not callees:
        return Markup("")  # nobody answers this slot
    else:
        args = {"slot": name, "context": context}
        parts = [function(*[args[a] for a in argnames]) for function, argnames in callees]
    return Markup("").join(Markup(p) if not isinstance(p, Markup) else p for p in parts if p)


__all__ = ["create_app", "g", "slot"]
