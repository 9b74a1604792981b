"""Issue 13 A4: translations don't overwrite each other.

The kernel and each plugin translate in their own domain (jishi.i18n): for
every msgid of every catalog, what it reads in the kernel's code and
templates, and in each plugin's, is the same with every plugin enabled as
with that plugin alone (or none). Notes stored with ``N_`` read the same
whatever else is enabled.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from jishi import i18n
from jishi.plugins import installed_plugins
from jishi.testing import make_app
from jishi.testing.i18n import package_dir, read_catalog

LOCALES = ("zh_CN", "en")
KERNEL_DIR = Path(i18n.__file__).parent


def _package(plugin: str) -> Path:
    module = dict(installed_plugins())[plugin].value
    return package_dir(importlib.import_module(module.split(".")[0]))


#: the installed plugins that ship catalogs (first-party and the example)
PLUGINS = [name for name, _ep in installed_plugins() if (_package(name) / "translations" / "zh_CN").is_dir()]


def _msgids() -> set[tuple[str | None, str]]:
    """(context, msgid) of every message of every catalog, kernel and plugins."""
    found = set()
    for folder in [KERNEL_DIR, *map(_package, PLUGINS)]:
        for locale in LOCALES:
            for m in read_catalog(folder, locale):
                if m.id:
                    found.add((m.context, m.id if isinstance(m.id, str) else m.id[0]))
    return found


MSGIDS = sorted(_msgids(), key=lambda k: (k[0] or "", k[1]))


@pytest.fixture(scope="module")
def apps(tmp_path_factory):
    built = {}

    def app_with(*plugins):
        key = tuple(sorted(plugins))
        if key not in built:
            tmp = tmp_path_factory.mktemp("i18n")
            built[key] = make_app(tmp, key, {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/t.db"})
        return built[key]

    return app_with


def _placeholders(msgid: str) -> dict:
    """A value for each ``%(name)s`` of a msgid (Jinja's ``_()`` fills them)."""
    return {name: 7 if kind in "di" else f"<{name}>" for name, kind in re.findall(r"%\((\w+)\)([a-z])", msgid)}


def _formats(msgid: str) -> bool:
    try:
        msgid % _placeholders(msgid)
    except (ValueError, TypeError, KeyError):
        return False  # a Python-only message with a bare "%": no template could show it
    return True


TEMPLATE_MSGIDS = [key for key in MSGIDS if _formats(key[1])]


def _readings(app, source: Path, locale: str) -> dict:
    """What each msgid reads in ``source``'s code (a Python file: its
    ``_``/``pgettext`` calls) and in a template written at ``source``."""
    python = compile("out = [(pgettext(c, m) if c else _(m)) for c, m in MSGIDS]", str(source), "exec")
    env = app.jinja_env
    template = env.template_class.from_code(
        env,
        env.compile(
            "{% for c, m, v in msgids %}{{ (pgettext(c, m, **v) if c else _(m, **v))|safe }}\x1f{% endfor %}",
            filename=str(source.with_suffix(".html")),
        ),
        env.make_globals(None),
    )
    with app.test_request_context("/", headers={"Accept-Language": locale.replace("_", "-")}):
        scope = {"_": i18n.gettext, "pgettext": i18n.pgettext, "MSGIDS": MSGIDS}
        exec(python, scope)
        rendered = template.render(msgids=[(c, m, _placeholders(m)) for c, m in TEMPLATE_MSGIDS]).split("\x1f")[:-1]
    return {"code": dict(zip(MSGIDS, scope["out"])), "template": dict(zip(TEMPLATE_MSGIDS, rendered))}


def _differences(one: dict, other: dict) -> list:
    return [
        (where, key, one[where][key], other[where][key])
        for where in one
        for key in one[where]
        if one[where][key] != other[where][key]
    ]


@pytest.mark.parametrize("locale", LOCALES)
def test_kernel_strings_read_the_same_whatever_plugins_are_enabled(apps, locale):
    """A4: the kernel's code and templates read every msgid the same with no
    plugin and with all of them (商品分类 stays 商品分类 next to coupons)."""
    kernel_file = KERNEL_DIR / "app.py"
    alone = _readings(apps(), kernel_file, locale)
    together = _readings(apps(*PLUGINS), kernel_file, locale)
    assert not _differences(alone, together)
    if locale == "zh_CN":
        assert together["code"][(None, "Categories")] == "商品分类"


@pytest.mark.parametrize("plugin", PLUGINS)
@pytest.mark.parametrize("locale", LOCALES)
def test_plugin_strings_read_the_same_whatever_else_is_enabled(apps, plugin, locale):
    """A4: a plugin's code and templates read every msgid (its own and the
    kernel's) the same alone as next to every other plugin."""
    source = _package(plugin) / "plugin.py"
    alone = _readings(apps(plugin), source, locale)
    together = _readings(apps(*PLUGINS), source, locale)
    assert not _differences(alone, together)


def _stored_notes(plugin: str) -> set[str]:
    """The msgids a plugin marks with ``N_`` (text stored, translated when shown)."""
    return {
        msg[2]
        for msg in extract_from_dir(str(_package(plugin)), [("**.py", "python")], keywords={"N_": None})
        if isinstance(msg[2], str)
    }


@pytest.mark.parametrize("plugin", PLUGINS)
def test_stored_notes_read_the_same_whatever_else_is_enabled(apps, plugin):
    """A4: an order's history note a plugin wrote (``N_``) reads as that
    plugin translates it, with or without the other plugins."""
    notes = sorted(_stored_notes(plugin))
    readings = []
    for app in (apps(plugin), apps(*PLUGINS)):
        with app.test_request_context("/"):
            readings.append([i18n.note_text(n) for n in notes])
    assert readings[0] == readings[1]
    kernel, own = read_catalog(KERNEL_DIR, "zh_CN"), read_catalog(_package(plugin), "zh_CN")
    for note, text in zip(notes, readings[0]):
        expected = kernel.get(note) or own.get(note)
        assert text == (expected.string if expected else note), note


@pytest.mark.jishi_plugins(*PLUGINS)
def test_named_collisions_read_as_meant(app, client, factory, login):
    """A4: with every plugin enabled the storefront's categories page says
    商品分类 (coupons says 指定分类 for its own scope), and the flash-sale list's
    link to an activity says 编辑 (not multistore's 营业中)."""
    from datetime import timedelta

    from jishi.db import commit, utcnow
    from jishi_flashsale import service as flashsale

    page = client.get("/categories").get_data(as_text=True)
    assert "<h1>商品分类</h1>" in page and "指定分类" not in page
    product = factory.product(price=1000)
    flashsale.save_activity(
        {
            "product_id": product.id,
            "title": "秒杀",
            "per_user_limit": 1,
            "starts_at": utcnow() + timedelta(hours=1),
            "ends_at": utcnow() + timedelta(days=1),
            "skus": [{"sku_id": s.id, "flash_price": 500, "stock": 5} for s in product.skus],
        },
        seller_id=None,
        platform=True,
    )
    commit()
    login(factory.admin())
    page = client.get("/seller/flashsale/activities").get_data(as_text=True)
    assert ">编辑</a>" in page and "营业中" not in page


def test_which_files_translate_in_which_domain(tmp_path):
    """A4: a plugin's modules and templates are in its domain; kernel files
    and a theme's own templates in the kernel's; a theme's override of a
    plugin's template (``<theme>/templates/<plugin folder>/...``) keeps the
    plugin's domain, so its strings still read as the plugin translates them."""
    plugin = tmp_path / "jishi_gifts"
    (plugin / "templates" / "gifts").mkdir(parents=True)
    theme = tmp_path / "themes" / "red" / "templates"
    (theme / "gifts").mkdir(parents=True)
    domains = i18n.Domains(KERNEL_DIR / "translations", [("gifts", plugin)], [theme])
    assert domains.domain_of_file(str(plugin / "views.py")) == "gifts"
    assert domains.domain_of_file(str(plugin / "templates" / "gifts" / "box.html")) == "gifts"
    assert domains.domain_of_file(str(theme / "gifts" / "box.html")) == "gifts"
    assert domains.domain_of_file(str(theme / "base.html")) == i18n.KERNEL
    assert domains.domain_of_file(str(KERNEL_DIR / "templates" / "base.html")) == i18n.KERNEL
    assert domains.domain_of_file("<template>") == i18n.KERNEL


def test_a_locale_forced_within_a_request_is_used_at_once(app):
    """K14 (issue 20: catalogs are memoised per request by file and locale):
    ``force_locale`` inside a request translates code and templates in the
    forced locale, and the request's own locale again after it."""
    from flask import render_template_string
    from flask_babel import force_locale

    template = "{{ _('Cart') }}"
    with app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        assert i18n.gettext("Cart") == "购物车" and render_template_string(template) == "购物车"
        with force_locale("en"):
            assert i18n.gettext("Cart") == "Cart" and render_template_string(template) == "Cart"
        assert i18n.gettext("Cart") == "购物车" and render_template_string(template) == "购物车"
