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
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from flask import current_app
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup
from werkzeug.routing import IntegerConverter

CARD = "shop/_product_card.html"
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


@pass_context
def product_cards(context: Context, products: Iterable) -> list[Markup]:
    """Each of ``products`` through the active theme's card template, as
    ``{% include "shop/_product_card.html" %}`` in the caller would render
    it (the caller's variables and ``product``), in order."""
    env = context.environment
    template = env.get_template(CARD)
    vars = dict(context.get_all())
    if "url_for" in vars:
        vars["url_for"] = UrlTemplates(vars["url_for"])
    out = []
    for product in products:
        vars["product"] = product
        ctx = env.context_class(env, vars, template.name, template.blocks, globals=template.globals)
        try:
            out.append(Markup("".join(template.root_render_func(ctx))))
        except Exception:
            env.handle_exception()
    return out
