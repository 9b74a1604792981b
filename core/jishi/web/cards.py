"""Product cards, rendered as a list (issue 20).

A storefront grid used to ``{% include "shop/_product_card.html" %}`` once
per product: each include looked the template up again (the theme and the
settings asked each time), copied the whole template context, and the card
built its link with ``url_for`` (a route map walk) per product. The home
page's 40 cards spent most of the page's time there (bench/designer.py
``--profile home``).

:func:`product_cards` renders the same theme-overridable card template with
the same context an include gives it (the caller's context and ``product``),
but looks the template up once per list, builds the context once, and
answers ``url_for(endpoint, one_int=...)`` from a URL template made by
Flask's own ``url_for`` for that list (a rule with one plain ``<int:…>``
converter only; anything else goes to ``url_for`` itself).

A card's HTML is also kept between requests (issue 20, the home page's
twelve cards were most of its rendering), when it is exactly a function of
what its key holds:

- the card template reads nothing but ``product`` and the pure globals of
  :data:`CARD_NAMES` (each the environment's own object in the caller's
  context), uses only the pure filters and tests of :data:`CARD_FILTERS`
  and Jinja's own tests, and includes, imports or extends nothing
  (checked once per template object, so per file and theme);
- ``product`` is a row of plain values (``Row``, as the catalog's listings
  give, or a ``dict``, as the designer's product lists) whose values are
  all ``int``, ``bool``, ``str`` or None (each value's type is part of the
  key, so ``1`` and ``True`` are told apart); an ORM instance or any other
  value is rendered every time;
- the key: the template's file, the language, what ``url_for`` builds
  against (server name, script root, subdomain, scheme), the row's field
  names, values and their types. The kept cards live with the request's
  settings (:func:`jishi.settings.kept`): saving any setting (the
  theme, the shop's name a card might show) starts them over.

So a changed price, name, image or sales count is another key and renders
at once: nothing a buyer sees is ever stale. Not kept in debug (templates
reload) or with ``JISHI_FRAGMENT_CACHE = False``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from flask import current_app
from flask.globals import _cv_app, _cv_request
from jinja2 import meta, nodes, pass_context
from jinja2.defaults import DEFAULT_TESTS
from jinja2.runtime import Context
from markupsafe import Markup
from sqlalchemy.engine import Row
from werkzeug.routing import IntegerConverter

from jishi import settings

CARD = "shop/_product_card.html"
#: globals a kept card may read: translation, URLs, settings, theme assets
#: (each a pure function of the key and the settings' version)
CARD_NAMES = frozenset(
    {"url_for", "_", "gettext", "ngettext", "pgettext", "npgettext", "setting", "theme_static", "active_theme"}
)
#: filters a kept card may use (Jinja's own that answer the same for the
#: same input, and the kernel's money and percent)
CARD_FILTERS = frozenset(
    {
        "money",
        "percent",
        "abs",
        "capitalize",
        "center",
        "default",
        "d",
        "e",
        "escape",
        "first",
        "float",
        "format",
        "int",
        "join",
        "last",
        "length",
        "count",
        "list",
        "lower",
        "replace",
        "round",
        "safe",
        "string",
        "striptags",
        "title",
        "trim",
        "truncate",
        "upper",
        "wordcount",
    }
)
#: Jinja's constants and loop helpers a kept card may name
_JINJA_NAMES = frozenset({"loop", "range", "true", "false", "none", "True", "False", "None"})
_PLAIN = frozenset({int, bool, str, type(None)})
_DERIVED = "jishi.web.cards"
_LIMIT = 4096  # cards kept per settings version: then start over
_SENTINEL = 7310000000000001  # a number no id of a test or a shop reaches; found once in the built URL


class UrlTemplates:
    """``url_for`` for one list of cards: a call with one keyword argument,
    a plain non-negative int, for an endpoint whose only rule takes it
    through an unbounded ``int`` converter, is answered from the URL Flask
    built for a sentinel value (the same prefix, script root and defaults);
    every other call goes to ``url_for``."""

    def __init__(self, url_for: Callable[..., str]):
        self.url_for = url_for
        self.templates: dict[tuple[str, str], tuple[str, str] | None] = {}

    def _template(self, endpoint: str, key: str) -> tuple[str, str] | None:
        rules = current_app.url_map._rules_by_endpoint.get(endpoint) or []
        if len(rules) != 1:
            return None
        conv = rules[0]._converters.get(key)
        if (
            type(conv) is not IntegerConverter
            or conv.fixed_digits
            or conv.min is not None
            or conv.max is not None
            or set(rules[0].arguments) != {key}
        ):
            return None
        built = self.url_for(endpoint, **{key: _SENTINEL})
        mark = str(_SENTINEL)
        if built.count(mark) != 1:
            return None
        prefix, _mark, suffix = built.partition(mark)
        return prefix, suffix

    def __call__(self, endpoint: str, **values) -> str:
        if len(values) == 1:
            ((key, value),) = values.items()
            if type(value) is int and value >= 0 and not key.startswith("_"):
                k = (endpoint, key)
                if k not in self.templates:
                    self.templates[k] = self._template(endpoint, key)
                found = self.templates[k]
                if found is not None:
                    return f"{found[0]}{value}{found[1]}"
        return self.url_for(endpoint, **values)


def pure(template, own: frozenset = frozenset({"product"})) -> bool:
    """Whether ``template`` reads only the variables ``own`` and
    :data:`CARD_NAMES`, filters with :data:`CARD_FILTERS` only, tests with
    Jinja's own only, and uses no other template: its HTML is then a
    function of those variables, the language, the address and the
    settings (decided once per template object and ``own``)."""
    memo = template.__dict__.setdefault("_jishi_pure", {})
    found = memo.get(own)
    if found is None:
        env = template.environment
        try:
            ast = env.parse(env.loader.get_source(env, template.name)[0])
            stored = {n.name for n in ast.find_all(nodes.Name) if n.ctx in ("store", "param")}
            loaded = {n.name for n in ast.find_all(nodes.Name) if n.ctx == "load"} - stored
            found = (
                not (loaded - CARD_NAMES - _JINJA_NAMES - own)
                and all(f.name in CARD_FILTERS for f in ast.find_all(nodes.Filter))
                and all(t.name in DEFAULT_TESTS for t in ast.find_all(nodes.Test))
                and not list(meta.find_referenced_templates(ast))
                and not list(ast.find_all(nodes.Extends))
            )
        except Exception:  # not analysable: rendered every time
            found = False
        memo[own] = found
    return found


_LAST_LOCALE: tuple = (None, "")  # the last Babel Locale seen and its code (str() of it is not free)


def _locale_code() -> str:
    """``str(flask_babel.get_locale())``, reading flask_babel's kept choice
    on ``g`` without its proxies (chosen by ``get_locale`` the first time)."""
    global _LAST_LOCALE
    app_ctx = _cv_app.get(None)
    chosen = getattr(app_ctx.g, "_flask_babel", None) if app_ctx is not None else None
    locale = getattr(chosen, "babel_locale", None)
    if locale is None:
        from flask_babel import get_locale

        locale = get_locale()
    last = _LAST_LOCALE
    if locale is last[0]:
        return last[1]
    code = str(locale)
    _LAST_LOCALE = (locale, code)
    return code


def request_key(template) -> tuple | None:
    """What a kept rendering of ``template`` is keyed by besides its own
    variables — its file, the language, what ``url_for`` builds against
    (server name, script root, subdomain, scheme) — or None when nothing is
    kept (no request, debug, ``JISHI_FRAGMENT_CACHE = False``). Keep what
    is rendered with :func:`jishi.settings.kept` (the settings' version),
    and only for a :func:`pure` template."""
    app_ctx = _cv_app.get(None)
    if app_ctx is None:
        return None
    app = app_ctx.app
    if app.debug or not app.config.get("JISHI_FRAGMENT_CACHE", True) or not template.filename:
        return None
    req_ctx = _cv_request.get(None)
    if req_ctx is None or req_ctx.url_adapter is None:
        return None
    adapter = req_ctx.url_adapter
    return (
        template.filename,
        _locale_code(),
        adapter.server_name,
        adapter.script_name,
        adapter.subdomain,
        adapter.url_scheme,
    )


def _list_key(template, vars: dict) -> tuple | None:
    """What every card of this list is keyed by besides its row, or None
    when the cards are not kept (module docstring)."""
    base = request_key(template)
    if base is None or not pure(template):
        return None
    env = template.environment
    for name in CARD_NAMES:  # the caller's context must not shadow a global the card reads
        if vars.get(name, env.globals.get(name)) is not env.globals.get(name):
            return None
    return base


def _row_key(product, fields_of: dict) -> tuple | None:
    """``product``'s fields, values and their types, or None when it is not
    a row of plain values. ``fields_of``: the field names of the rows'
    results already seen in this list (a listing's rows share theirs)."""
    if isinstance(product, Row):
        parent = product._parent
        fields = fields_of.get(parent)
        if fields is None:
            fields = fields_of[parent] = product._fields
        values = tuple(product)
    elif type(product) is dict:
        fields, values = tuple(product), tuple(product.values())
    else:
        return None
    types = tuple(map(type, values))
    if not _PLAIN.issuperset(types):
        return None
    return fields, values, types


@pass_context
def product_cards(context: Context, products: Iterable) -> list[Markup]:
    """Each of ``products`` through the active theme's card template, as
    ``{% include "shop/_product_card.html" %}`` in the caller would render
    it (the caller's variables and ``product``), in order; a card kept from
    an earlier rendering when that is exact (module docstring)."""
    env = context.environment
    template = env.get_template(CARD)
    vars = dict(context.get_all())
    base = _list_key(template, vars)
    kept = settings.kept(_DERIVED, _LIMIT) if base is not None else None
    if "url_for" in vars:
        vars["url_for"] = UrlTemplates(vars["url_for"])
    out = []
    fields_of: dict = {}
    for product in products:
        key = None
        if kept is not None:
            row = _row_key(product, fields_of)
            if row is not None:
                key = (base, row)
                found = kept.get(key)
                if found is not None:
                    out.append(found)
                    continue
        vars["product"] = product
        ctx = env.context_class(env, vars, template.name, template.blocks, globals=template.globals)
        try:
            html = Markup("".join(template.root_render_func(ctx)))
        except Exception:
            env.handle_exception()
        out.append(html)
        if key is not None and kept is not None:
            kept.put(key, html)
    return out


_KEPT_RENDERINGS = "jishi.web.cards.kept_renderings"  # settings.derived name of render_kept's store
_KEPT_RENDERINGS_LIMIT = 4096  # renderings kept per settings version: then start over


def render_kept(template_name: str, args: dict) -> Markup:
    """``template_name`` rendered with ``args`` as its one variable (by the
    template itself, without ``render_template``'s context processors: it
    may use ``url_for``, ``_`` and ``args``), kept between requests with
    the settings' version when that is exact: the template is :func:`pure`
    in ``args``, every value of ``args`` an int (ids), and a request is
    there to key it (:func:`request_key`: the file, the language, the
    address served under). A theme's override reading anything else (the
    buyer, the request) is rendered every time. The public form of this is
    ``jishi.forms.render_kept``."""
    template = current_app.jinja_env.get_template(template_name)
    base = request_key(template) if pure(template, frozenset({"args"})) else None
    if base is not None:
        values = tuple(sorted(args.items()))
        if all(type(v) is int for _k, v in values):
            kept = settings.kept(_KEPT_RENDERINGS, _KEPT_RENDERINGS_LIMIT)
            key = (base, values)
            found = kept.get(key)
            if found is None:
                found = kept.put(key, Markup(template.render(args=args)))
            return found
    return Markup(template.render(args=args))


_KEPT_CATEGORY_HTML_LIMIT = 64  # renderings of the kept categories per settings version (files × languages × addresses)


@pass_context
def category_links(context: Context, template_name: str, categories) -> Markup:
    """``template_name`` rendered with ``categories`` (the home page's
    category shortcuts), as ``{% include %}`` in the caller would render it
    with that variable; kept while ``categories`` is the tree the catalog
    keeps (``catalog.service.category_tree(kept=True)``), keyed by
    :func:`request_key` (file, language, address), when the template is
    :func:`pure` in ``categories`` and the caller shadows none of the
    globals it reads. A category's write starts the kept tree over, and
    this HTML with it (the same store)."""
    from jishi.catalog import service as catalog

    env = context.environment
    template = env.get_template(template_name)
    base = request_key(template) if pure(template, frozenset({"categories"})) else None
    if base is not None:
        globals_ = env.globals
        for name in CARD_NAMES:  # the caller's context must not shadow a global the template reads
            mine = globals_.get(name)
            if context.get(name, mine) is not mine:
                base = None
                break
    store = catalog.kept_categories() if base is not None else None
    tree = store.get("tree") if store is not None else None
    if store is None or tree is None or tree[1] is not categories:
        return _include(template, context.get_all(), categories)
    key = ("html", base)
    found = store.get(key)
    if found is not None and found[0] is categories:
        return found[1]  # (the caller's variables copied only to render)
    html = _include(template, context.get_all(), categories)
    store.put(key, (categories, html))
    return html


def _include(template, vars: dict, categories) -> Markup:
    env = template.environment
    ctx = env.context_class(
        env, {**vars, "categories": categories}, template.name, template.blocks, globals=template.globals
    )
    try:
        return Markup("".join(template.root_render_func(ctx)))
    except Exception:
        env.handle_exception()
        raise  # pragma: no cover - handle_exception raises
