"""Rendered page fragments kept between requests (issue 20).

The storefront's header, footer and tab bar (``shop/_header.html``,
``shop/_footer.html``, ``shop/_tabbar.html``, each overridable by a theme)
were rendered again on every page, although for a visitor who is not signed
in they change only with the settings, the theme, the language and the
address the app answers under. :func:`fragment` (a template global, used by
``base.html``'s ``header``, ``footer`` and ``bottom_bar`` blocks) renders
such a template as ``{% include %}`` would and keeps the HTML, for visitors
who are not signed in, keyed by

- the template file the name resolves to now (so the active theme),
- the language (the request's locale),
- what ``url_for`` builds against (server name, script root, subdomain,
  scheme) and the request's query arguments (the header shows the search
  words),

in a store kept with the request's settings (:func:`jishi.settings.kept`):
saving any setting, and the settings' periodic re-read, start it over.
The home pages render their plugin entrances (``shop/_entrances.html``)
the same way.

What is kept is only what those inputs decide. A template is never kept
when its source names anything but the variables listed in :data:`KNOWN`,
or includes, imports or extends another template (checked once per file).
A rendering that calls ``slot``, ``csrf_token`` or ``get_flashed_messages``,
touches ``session`` or ``g``, or reads anything of ``request`` but its
``args``, is answered but not kept (the next request renders again). For a
signed-in visitor the template is rendered every time (their name, cart
badge, plugins' ``header_user_nav`` slot, the language form's CSRF token),
and in debug (a changed file shows at once).

``JISHI_FRAGMENT_CACHE = False`` turns the keeping off.
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask.globals import _cv_app, _cv_request
from flask_login import current_user
from jinja2 import meta, nodes, pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from jishi import settings

#: names a kept fragment's source may use (globals and context variables
#: whose value the key above decides); anything else: rendered every time
KNOWN = frozenset(
    {
        "url_for",
        "setting",
        "_",
        "gettext",
        "ngettext",
        "pgettext",
        "npgettext",
        "current_user",
        "current_locale",
        "jishi_locales",
        "theme_static",
        "active_theme",
        "storefront_links",
        "cart_badge",
        "request",
        # allowed in the source, but a rendering that calls one is not kept:
        "slot",
        "csrf_token",
        "get_flashed_messages",
        "session",
        "g",
        # Jinja's own
        "range",
        "dict",
        "namespace",
        "true",
        "false",
        "none",
        "True",
        "False",
        "None",
    }
)
_DERIVED = "jishi.web.fragments"
_LIMIT = 512  # entries per settings version (distinct search words mostly): then start over


class _Render:
    """One rendering being watched: ``volatile`` once it used something
    per-request."""

    __slots__ = ("volatile",)

    def __init__(self) -> None:
        self.volatile = False


class _WatchedRequest:
    """``request`` for a watched rendering: ``args`` (part of the key) is
    free, anything else marks the rendering volatile."""

    __slots__ = ("_render", "_request")

    def __init__(self, render: _Render, req: Any):
        self._render = render
        self._request = req

    def __getattr__(self, name: str) -> Any:
        if name != "args":
            self._render.volatile = True
        return getattr(self._request, name)


class _WatchedObject:
    """``session`` or ``g``: any use marks the rendering volatile."""

    __slots__ = ("_render", "_target")

    def __init__(self, render: _Render, target: Any):
        self._render = render
        self._target = target

    def __getattr__(self, name: str) -> Any:
        self._render.volatile = True
        return getattr(self._target, name)

    def __getitem__(self, key: Any) -> Any:
        self._render.volatile = True
        return self._target[key]

    def __contains__(self, key: Any) -> bool:
        self._render.volatile = True
        return key in self._target

    def __iter__(self):
        self._render.volatile = True
        return iter(self._target)


def _watched_call(render: _Render, fn: Any):
    def call(*args, **kwargs):
        render.volatile = True
        return fn(*args, **kwargs)

    return call


def _names(ast) -> set[str]:
    """The names ``ast`` reads that it does not set itself (globals too:
    Jinja's own ``find_undeclared_variables`` leaves the environment's
    globals out)."""
    stored = {n.name for n in ast.find_all(nodes.Name) if n.ctx in ("store", "param")}
    return {n.name for n in ast.find_all(nodes.Name) if n.ctx == "load"} - stored - {"loop"}


def _keepable(env, template) -> bool:
    """Whether ``template``'s source uses only :data:`KNOWN` names and no
    other template (decided once per template object, so per app and file)."""
    found = template.__dict__.get("_jishi_keepable")
    if found is None:
        try:
            ast = env.parse(env.loader.get_source(env, template.name)[0])
            found = not (_names(ast) - KNOWN) and not list(meta.find_referenced_templates(ast))
        except Exception:  # not analysable: rendered every time
            found = False
        template.__dict__["_jishi_keepable"] = found
    return found


def _render(template, variables: dict) -> Markup:
    env = template.environment
    ctx = template.new_context(variables, shared=True)
    try:
        return Markup("".join(template.root_render_func(ctx)))
    except Exception:
        env.handle_exception()
        raise  # pragma: no cover - handle_exception raises


def _key(template, context: Context) -> tuple | None:
    req_ctx = _cv_request.get(None)
    if req_ctx is None or req_ctx.url_adapter is None:
        return None
    adapter = req_ctx.url_adapter
    locale = context.get("current_locale")
    if locale is not None:
        code = locale()
    else:
        from flask_babel import get_locale

        code = str(get_locale())
    args = req_ctx.request.args
    return (
        template.filename,
        code,
        adapter.server_name,
        adapter.script_name,
        adapter.subdomain,
        adapter.url_scheme,
        tuple(args.items(multi=True)) if args else (),
    )


@pass_context
def fragment(context: Context, name: str) -> Markup:
    """``name`` rendered with the caller's variables, as ``{% include name %}``
    would, kept between requests where that is safe (module docstring)."""
    env = context.environment
    template = env.get_template(name)
    app_ctx = _cv_app.get()  # (no proxies: three fragments on every storefront page)
    app = app_ctx.app
    user = getattr(app_ctx.g, "_login_user", None)  # as current_user: loaded once per request
    if user is None:
        user = current_user._get_current_object()
    if (
        not app.config.get("JISHI_FRAGMENT_CACHE", True)
        or app.debug
        or user.is_authenticated
        or not _keepable(env, template)
    ):
        return _render(template, context.get_all())
    key = _key(template, context)
    if key is None:
        return _render(template, context.get_all())
    kept = settings.kept(_DERIVED, _LIMIT)
    found = kept.get(key)
    if found is not None:
        return found  # (the caller's variables copied only to render)
    variables = context.get_all()
    watch = _Render()
    watched = dict(variables)
    watched["request"] = _WatchedRequest(watch, request._get_current_object())
    for name_ in ("session", "g"):
        if name_ in watched:
            watched[name_] = _WatchedObject(watch, watched[name_])
    for name_ in ("slot", "csrf_token", "get_flashed_messages"):
        fn = watched.get(name_)
        if fn is not None:
            watched[name_] = _watched_call(watch, fn)
    html = _render(template, watched)
    if not watch.volatile:
        kept.put(key, html)
    return html
