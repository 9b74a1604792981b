"""K12: themes — discovery, inheritance with fallback, the ``kernel:`` and
``<theme>:`` prefixes, switching in settings with no restart, static files
through the parent chain."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import render_template
from flask.cli import ScriptInfo
from jishi import settings
from jishi.cli import make_cli
from jishi.db import db
from jishi.themes import KERNEL_TEMPLATES, ThemeError, builtin_themes_dir, discover


def _theme(root: Path, name: str, parent: str | None = None, templates: dict | None = None, static: dict | None = None):
    folder = root / name
    (folder / "templates").mkdir(parents=True)
    (folder / "static").mkdir()
    manifest = f'name = "{name}"\ntitle = "{name.title()} theme"\n'
    if parent:
        manifest += f'parent = "{parent}"\n'
    (folder / "theme.toml").write_text(manifest, encoding="utf-8")
    for rel, text in (templates or {}).items():
        path = folder / "templates" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for rel, text in (static or {}).items():
        (folder / "static" / rel).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def theme_root(tmp_path):
    root = tmp_path / "themes"
    _theme(
        root,
        "base",
        templates={
            "probe.html": "{% block who %}base{% endblock %}",
            "only_base.html": "from base",
            "shop/index.html": "BASE INDEX",
        },
        static={"base.css": "/* base */", "both.css": "/* base both */"},
    )
    _theme(
        root,
        "child",
        parent="base",
        templates={
            "probe.html": '{% extends "base:probe.html" %}{% block who %}child+{{ super() }}{% endblock %}',
            "shop/index.html": "CHILD INDEX",
            "base.html": "child base",
        },
        static={"both.css": "/* child both */"},
    )
    return root


@pytest.fixture
def app_config(theme_root):
    return {"JISHI_THEMES_DIRS": [str(theme_root)], "JISHI_THEME": "base"}


def test_discovery_includes_configured_and_bundled_themes(app):
    """K12: themes/<name>/theme.toml from the configured folders and the repo."""
    themes = app.extensions["jishi"].themes
    assert {"base", "child", "default"} <= set(themes)
    assert themes["child"].parent == "base" and themes["child"].title == "Child theme"


def test_themes_list_command(app):
    """K12/K13: ``jishi themes list`` shows name, title, parent and the active one."""
    result = CliRunner().invoke(make_cli(), ["themes", "list"], obj=ScriptInfo(create_app=lambda: app))
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line for line in result.output.splitlines()[1:]}
    assert "Child theme" in rows["child"] and " base " in rows["child"]
    assert rows["base"].split()[4] == "yes"  # NAME TITLE(2 words) PARENT ACTIVE
    assert rows["child"].split()[4] == "no"


def test_parent_chain_and_fallback(app):
    """K12: a child overrides, missing templates come from its parent, then
    the kernel; ``base:`` lets an override extend what it replaces."""
    with app.test_request_context("/"):
        settings.set_many({"theme.active": "child"})
        db.session.commit()
    with app.test_request_context("/"):
        assert render_template("probe.html") == "child+base"
        assert render_template("only_base.html") == "from base"
        _src, path, _up = app.jinja_env.loader.get_source(app.jinja_env, "console/dashboard.html")
        assert Path(path).is_relative_to(KERNEL_TEMPLATES)


def test_kernel_prefix(app):
    """K12: ``kernel:name`` is always the kernel's template, even when the
    active theme overrides ``name``."""
    with app.test_request_context("/"):
        settings.set_many({"theme.active": "child"})
        db.session.commit()
    with app.test_request_context("/"):
        loader = app.jinja_env.loader
        assert loader.get_source(app.jinja_env, "base.html")[0] == "child base"
        _src, path, _up = loader.get_source(app.jinja_env, "kernel:base.html")
        assert Path(path) == KERNEL_TEMPLATES / "base.html"


def test_switching_theme_needs_no_restart(app, client):
    """K12: storing ``theme.active`` changes the very next request's pages."""
    assert client.get("/").get_data(as_text=True).strip() == "BASE INDEX"
    with app.test_request_context("/"):
        settings.set_many({"theme.active": "child"})
        db.session.commit()
    assert client.get("/").get_data(as_text=True).strip() == "CHILD INDEX"
    with app.test_request_context("/"):
        settings.set_many({"theme.active": "base"})
        db.session.commit()
    assert client.get("/").get_data(as_text=True).strip() == "BASE INDEX"


def test_switching_theme_needs_no_restart_outside_debug(app, client):
    """Issue 13 A8 (K12): as under ``jishi demo`` (``app.run(debug=False)``
    turns Jinja's auto_reload off, so cached templates are never checked),
    storing ``theme.active`` still changes the next request's templates:
    the template cache is keyed by the active theme."""
    reload_before = app.jinja_env.auto_reload
    app.debug = False  # what app.run(debug=False) does: auto_reload follows TEMPLATES_AUTO_RELOAD / debug
    try:
        assert app.jinja_env.auto_reload is False
        assert client.get("/").get_data(as_text=True).strip() == "BASE INDEX"
        with app.test_request_context("/"):
            settings.set_many({"theme.active": "child"})
            db.session.commit()
        assert client.get("/").get_data(as_text=True).strip() == "CHILD INDEX"
        with app.test_request_context("/"):
            settings.set_many({"theme.active": "base"})
            db.session.commit()
        assert client.get("/").get_data(as_text=True).strip() == "BASE INDEX"
    finally:
        app.jinja_env.auto_reload = reload_before


def _static(client, url):
    with client.get(url) as resp:  # file responses must be closed
        return resp.status_code, resp.get_data(as_text=True)


def test_static_files_through_the_chain(client):
    """K12: /themes/<name>/static/ serves the theme's file, else its parent's."""
    assert _static(client, "/themes/child/static/both.css") == (200, "/* child both */")
    assert _static(client, "/themes/child/static/base.css") == (200, "/* base */")
    assert _static(client, "/themes/base/static/both.css") == (200, "/* base both */")
    assert _static(client, "/themes/base/static/nothing.css")[0] == 404
    assert _static(client, "/themes/nosuch/static/base.css")[0] == 404


def test_missing_parent_is_an_error(tmp_path):
    """K12: a theme whose parent is not installed is refused, naming both."""
    _theme(tmp_path, "orphan", parent="ghost")
    with pytest.raises(ThemeError, match=r"'orphan'.*'ghost'"):
        discover([tmp_path])


def test_parent_loop_is_an_error(tmp_path):
    """K12: a parent chain that loops is refused."""
    _theme(tmp_path, "a", parent="b")
    _theme(tmp_path, "b", parent="a")
    with pytest.raises(ThemeError, match="loops"):
        discover([tmp_path])


def test_bundled_jade_inherits_default():
    """K12: the built-in themes, shipped in the package, form a valid chain
    (jade -> default)."""
    builtin = builtin_themes_dir()
    assert builtin == KERNEL_TEMPLATES.parent / "themes_builtin"
    themes = discover([builtin])
    assert themes["default"].parent is None
    assert themes.get("jade") is None or themes["jade"].parent == "default"
    assert set(themes) == {"default", "jade"}


def test_theme_saved_within_a_request_applies_to_its_next_template(app):
    """K12 (issue 20: the active theme is memoised per request on the
    settings it read): a request that saves ``theme.active`` and then renders
    renders in the new theme, not the one it memoised before saving."""
    with app.test_request_context("/"):
        assert render_template("probe.html") != "child+base"  # memoises the base theme
        settings.set_many({"theme.active": "child"})
        db.session.commit()
        assert render_template("probe.html") == "child+base"
        settings.set_many({"theme.active": "base"})
        db.session.commit()


def test_a_template_is_looked_up_once_per_settings_read(app, monkeypatch):
    """Issue 20: a template name is resolved once per settings read (kept
    with them: a page loads a dozen templates, its own, the bases, macros,
    the header); a theme switch saved in the same request resolves it again
    in the new theme, and the other requests keep the old one."""
    from jishi.themes import ThemedEnvironment

    calls: list[str] = []
    real = ThemedEnvironment._load_template_keyed

    def spy(self, name, globals):
        calls.append(name)
        return real(self, name, globals)

    monkeypatch.setattr(ThemedEnvironment, "_load_template_keyed", spy)
    with app.test_request_context("/"):
        assert render_template("shop/index.html").strip() == "BASE INDEX"
        assert render_template("shop/index.html").strip() == "BASE INDEX"
        assert render_template("shop/index.html").strip() == "BASE INDEX"
        assert calls.count("shop/index.html") <= 2  # the first, maybe once more as the settings are first read
        settings.set_many({"theme.active": "child"})
        assert render_template("shop/index.html").strip() == "CHILD INDEX"
        db.session.rollback()
    with app.test_request_context("/"):
        assert render_template("shop/index.html").strip() == "BASE INDEX"
