"""Issue 20: the template machinery every HTML page runs (the chrome's
``url_for``, ``_()``, the storefront links) remembers what does not change
between requests, and answers exactly as before for every request."""

from __future__ import annotations

import pytest
from flask import g, render_template_string, url_for
from jishi.db import db
from jishi.testing import make_app


def test_template_url_for_answers_as_flask_and_keys_by_served_address(app):
    """The templates' url_for gives Flask's own answer, remembered per app by
    endpoint, values and the address the request is served under: another
    script root or host builds its own; values of other types, ``_``
    options and relative endpoints are built every call."""
    cached = app.jinja_env.globals["url_for"]
    assert cached is not app.url_for
    calls = [
        ("shop.index", {}),
        ("shop.cart", {}),
        ("static", {"filename": "jishi/kernel.css"}),
        ("shop.category", {"category_id": 3}),
        ("shop.search", {"sort": "sales", "q": "茶 & 酒"}),
        ("shop.search", {"sort": None}),
        ("shop.product", {"product_id": 7, "_anchor": "reviews"}),
        ("shop.product", {"product_id": 7, "_external": True}),
        ("shop.search", {"q": ["a", "b"]}),  # a list: not a key, built every call
    ]
    for base in ("http://shop.test", "http://shop.test/sub", "http://other.example/deep/root"):
        with app.app_context(), app.test_request_context("/", base_url=base):
            for _round in range(2):  # built, then remembered
                for endpoint, values in calls:
                    assert cached(endpoint, **values) == url_for(endpoint, **values), (base, endpoint)
        with app.app_context(), app.test_request_context("/", base_url=base):
            assert render_template_string("{{ url_for('shop.cart') }}") == url_for("shop.cart")
    with app.app_context(), app.test_request_context("/", base_url="http://shop.test/sub"):
        assert cached("shop.cart") == "/sub/cart"
    with app.app_context(), app.test_request_context("/", base_url="http://shop.test"):
        assert cached("shop.cart") == "/cart"
        # the same number as an int, a bool and a float are three keys
        assert cached("shop.search", page=1) == url_for("shop.search", page=1)
        assert cached("shop.search", page=True) == url_for("shop.search", page=True)
        assert cached("shop.search", page=1.0) == url_for("shop.search", page=1.0)


def test_template_url_for_leaves_url_defaults_to_flask(tmp_path):
    """An app with a ``url_defaults`` function (it may answer per request)
    has every URL built by Flask, never remembered."""
    app = make_app(tmp_path)

    @app.url_defaults
    def carry_channel(endpoint, values):
        channel = g.get("channel")
        if channel and endpoint == "shop.search":
            values.setdefault("channel", channel)

    cached = app.jinja_env.globals["url_for"]
    try:
        with app.app_context(), app.test_request_context("/"):
            g.channel = "a"
            assert cached("shop.search") == "/search?channel=a"
        with app.app_context(), app.test_request_context("/"):
            g.channel = "b"
            assert cached("shop.search") == "/search?channel=b"
    finally:
        with app.app_context():  # its pool closed now, not by the collector in a later test
            db.engine.dispose()


def test_template_gettext_is_jinja_newstyle(app):
    """``_``, ``gettext``, ``ngettext``, ``pgettext`` and ``{% trans %}`` in a
    template behave as Jinja's newstyle callables: always a ``%`` format
    (``%%`` is one percent sign), variables escaped under autoescape, the
    count as ``num``, in the request's language."""
    with app.app_context(), app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert render_template_string("{{ _('Cart') }}") == "Cart"
        assert render_template_string("{{ _('100%%') }}") == "100%"
        assert render_template_string("{{ _('%(n)s sold', n='<b>') }}") == "&lt;b&gt; sold"
        assert render_template_string("{{ gettext('%(n)s sold', n=3) }}") == "3 sold"
        assert render_template_string("{{ ngettext('%(num)s item', '%(num)s items', 2) }}") == "2 items"
        assert render_template_string("{{ pgettext('merchant status', 'Open') }}") == "Open"
        assert render_template_string("{% trans n=4 %}{{ n }} left{% endtrans %}") == "4 left"
        assert render_template_string("{% autoescape false %}{{ _('%(n)s sold', n='<b>') }}{% endautoescape %}") == (
            "<b> sold"
        )
    with app.app_context(), app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        assert render_template_string("{{ _('Cart') }}") == "购物车"
        assert render_template_string("{{ _('%(n)s sold', n=3) }}") == "已售 3"


@pytest.mark.jishi_plugins("multistore", "flashsale")
def test_storefront_links_once_per_place(app, monkeypatch):
    """The hook is asked once per request; each place's list (with URLs)
    is the same on every call, and a caller changing its copy changes
    nothing."""
    calls = []
    hook = app.extensions["jishi"].hook
    real = hook.storefront_links

    def counted():
        calls.append(1)
        return real()

    monkeypatch.setattr(hook, "storefront_links", counted)
    helpers = app.jinja_env.globals
    with app.app_context(), app.test_request_context("/"):
        header = helpers["storefront_links"]("header")
        assert [url for _link, url in header] == [url_for("flashsale.listing"), "/shops"]
        header.clear()
        assert helpers["storefront_links"]("header") == helpers["storefront_links"]("header") != []
        home = helpers["storefront_links"]("home")
        assert [link.endpoint for link, _url in home] == ["flashsale.listing", "multistore.shops"]
        assert [url for _link, url in home] == [url_for("flashsale.listing"), "/shops"]
        assert len(calls) == 1
    with app.app_context(), app.test_request_context("/"):
        helpers["storefront_links"]("tabbar")
        assert len(calls) == 2


def test_template_context_made_once_per_app_and_locale_per_request(app):
    """The shop's context processor answers the same ``current_locale`` and
    ``jishi_locales`` every render (made once per app), and
    ``current_locale()`` still names each request's own language: a
    request in English after one in Chinese, then Chinese again, and the
    enabled locales as configured when the config changes."""
    template = "{{ current_locale() }} {{ jishi_locales|join(',') }}"
    seen = []
    for accept, code in (("zh-CN", "zh_CN"), ("en", "en"), ("zh-CN", "zh_CN")):
        with app.app_context(), app.test_request_context("/", headers={"Accept-Language": accept}):
            assert render_template_string(template) == f"{code} {','.join(app.config['JISHI_LOCALES'])}"
            assert render_template_string("{{ current_locale() }}") == code  # twice in a request
            processors = app.template_context_processors[None]
            seen.append(next(p() for p in processors if p.__name__ == "_template_context"))
    assert seen[0] is seen[1] is seen[2]
    app.config["JISHI_LOCALES"] = ["en"]
    with app.app_context(), app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert render_template_string(template) == "en en"
