"""Themes: ``<dir>/<name>/theme.toml`` (name, title, parent), ``templates/``,
``static/``.

Template lookup for a name: the active theme, then its parents, then plugin
template folders, then the kernel's templates. A prefix picks a place
explicitly: ``"kernel:base.html"`` is the kernel's, ``"default:base.html"`` is
the ``default`` theme's chain, so an override can extend what it replaces.

The active theme is read per request (setting ``theme.active``, else
``JISHI_THEME``) and the template cache is keyed by it
(:class:`ThemedEnvironment`), so a switch in the console takes effect on the
next request with no restart, with or without debug (Jinja's
``auto_reload``, which Flask turns off outside debug, only decides whether
a changed file is read again).

The first-party themes (``default``, ``jade``) are package data in
``jishi/themes_builtin/``, found with :mod:`importlib.resources`, so an
installed wheel has them; other themes come from the folders listed in
``JISHI_THEMES_DIRS`` and the instance's ``themes/`` folder, which win over a
built-in theme of the same name.
"""

from __future__ import annotations

import os
import tomllib
import weakref
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from flask import current_app, g, has_request_context
from flask.globals import _cv_app, _cv_request
from flask.templating import Environment
from jinja2 import BaseLoader, TemplateNotFound
from jinja2.utils import internalcode

from jishi.web.jinja import JishiContext, JishiTemplate

KERNEL_TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class Theme:
    name: str
    title: str
    path: Path
    parent: str | None = None
    description: str = ""

    @property
    def templates(self) -> Path:
        return self.path / "templates"

    @property
    def static(self) -> Path:
        return self.path / "static"


class ThemeError(RuntimeError):
    pass


def builtin_themes_dir() -> Path:
    """The folder of the themes shipped in the ``jishi`` package."""
    root = resources.files("jishi") / "themes_builtin"
    if not isinstance(root, Path):
        # Templates and static files are served from disk (Jinja, send_from_directory).
        raise ThemeError(f"jishi is not installed as files on disk ({root}): its themes cannot be served")
    return root


def discover(dirs) -> dict[str, Theme]:
    themes: dict[str, Theme] = {}
    for base in dirs:
        base = Path(base)
        if not base.is_dir():
            continue
        for child in sorted(base.iterdir()):
            manifest = child / "theme.toml"
            if not manifest.is_file():
                continue
            with manifest.open("rb") as fh:
                data = tomllib.load(fh)
            name = data.get("name", child.name)
            themes.setdefault(
                name,
                Theme(name, data.get("title", name), child, data.get("parent"), data.get("description", "")),
            )
    for theme in themes.values():
        seen = {theme.name}
        parent = theme.parent
        while parent:
            if parent not in themes:
                raise ThemeError(f"theme {theme.name!r}: parent {parent!r} is not installed")
            if parent in seen:
                raise ThemeError(f"theme {theme.name!r}: parent chain loops at {parent!r}")
            seen.add(parent)
            parent = themes[parent].parent
    return themes


def chain(themes: dict[str, Theme], name: str) -> list[Theme]:
    out = []
    while name and name in themes:
        out.append(themes[name])
        name = themes[name].parent
    return out


def active_theme_name() -> str:
    """The theme templates resolve in now: the site's setting in a request,
    else the config's. Asked for every template a page loads (a dozen);
    memoised per request on the settings it read (saving settings reads
    them anew, and the memo with them). The memo is checked on the app
    context's ``g`` directly (no ``LocalProxy`` lookups: three per call,
    a third of its time)."""
    app_ctx = _cv_app.get(None)
    if app_ctx is not None and _cv_request.get(None) is not None:
        known = app_ctx.g.__dict__
        memo = known.get("jishi_theme")
        snap = known.get("jishi_settings")  # the request's settings snapshot (its values: memo[0])
        if memo is not None and snap is not None and memo[0] is snap.values:
            return memo[1]
    from jishi import settings

    ext = current_app.extensions["jishi"]
    name = current_app.config["JISHI_THEME"]
    if has_request_context():
        stored = settings._stored()  # the request's settings (one dict per read: g.jishi_settings.values)
        memo = g.get("jishi_theme")
        if memo is not None and memo[0] is stored:
            return memo[1]
        name = settings.get("theme.active") or name
        name = name if name in ext.themes else next(iter(ext.themes), "")
        g.jishi_theme = (stored, name)
        return name
    return name if name in ext.themes else next(iter(ext.themes), "")


def _split(template: str) -> tuple[str | None, str]:
    """``"jade:shop/x.html"`` -> ``("jade", "shop/x.html")``; no prefix -> ``(None, template)``."""
    prefix, _, rest = template.partition(":")
    if rest and "/" not in prefix:
        return prefix, rest
    return None, template


_TEMPLATES = "jishi.themes.templates"  # the settings' derived value: (environment, {name: template})


class ThemedEnvironment(Environment):
    """Flask's Jinja environment whose template cache is keyed by the theme
    a name resolves in as well as by the name: ``shop/product.html`` loaded
    while ``jade`` is active is another entry than while ``default`` is, so
    switching the active theme renders the new theme's templates at once,
    also when ``auto_reload`` is off (``jishi demo``, production), and
    switching back finds the first ones still cached."""

    #: Jinja's, with a page's per-render work made cheaper (:mod:`jishi.web.jinja`)
    context_class = JishiContext
    template_class = JishiTemplate

    @internalcode
    def _load_template(self, name, globals):
        if self.loader is None:
            raise TypeError("no loader for this environment specified")
        # A page loads a dozen templates (its own, the bases, macros, the
        # header...), each asking the active theme and the template cache:
        # kept instead with the settings the request read (the theme is one
        # of them), shared by the process's requests until the settings
        # change (issue 20). A changed file still shows in debug.
        memo = None
        if not globals and _cv_request.get(None) is not None:
            app_ctx = _cv_app.get(None)
            snap = app_ctx.g.__dict__.get("jishi_settings") if app_ctx is not None else None
            if (
                snap is None
                and app_ctx is not None
                and _split(name)[0] is None
                and isinstance(self.loader, ThemeLoader)
            ):
                # the request's first template (a page's own, before anything
                # read a setting): the theme it resolves in reads them anyway
                from jishi import settings

                snap = settings._snapshot()
            if snap is not None:
                memo = snap.derived.get(_TEMPLATES)
                if memo is None or memo[0] is not self:
                    memo = snap.derived[_TEMPLATES] = (self, {})
                found = memo[1].get(name)
                if found is not None and found.is_up_to_date:
                    return found
        template = self._load_template_keyed(name, globals)
        if memo is not None:
            memo[1][name] = template
        return template

    def _load_template_keyed(self, name, globals):
        theme_key = self.loader.cache_key(name) if isinstance(self.loader, ThemeLoader) else None
        cache_key = (weakref.ref(self.loader), theme_key, name)
        if self.cache is not None:
            template = self.cache.get(cache_key)
            if template is not None and (not self.auto_reload or template.is_up_to_date):
                if globals:
                    template.globals.update(globals)
                return template
        template = self.loader.load(self, name, self.make_globals(globals))
        if self.cache is not None:
            self.cache[cache_key] = template
        return template


class ThemeLoader(BaseLoader):
    def __init__(self, ext):
        self.ext = ext

    def cache_key(self, template: str) -> str | None:
        """The theme ``template`` resolves in now: the active theme for a
        name without a prefix, None for a prefixed one (always the same place)."""
        prefix, _name = _split(template)
        return active_theme_name() if prefix is None else None

    def search_path(self, prefix: str | None) -> tuple[str, list[Path]]:
        themes = self.ext.themes
        if prefix == "kernel":
            return "kernel", [KERNEL_TEMPLATES]
        if prefix is not None:
            if prefix not in themes:
                return prefix, []
            return prefix, [t.templates for t in chain(themes, prefix)]
        theme = active_theme_name()
        dirs = [t.templates for t in chain(themes, theme)]
        dirs += [Path(d) for d in self.ext.plugin_template_dirs]
        dirs.append(KERNEL_TEMPLATES)
        return theme, dirs

    def get_source(self, environment, template):
        prefix, name = _split(template)
        _key, dirs = self.search_path(prefix)
        for d in dirs:
            path = d / name
            if path.is_file():
                source = path.read_text(encoding="utf-8")
                mtime = os.path.getmtime(path)
                debug = current_app.debug

                # The cache is keyed by theme (ThemedEnvironment); in debug a
                # changed file is read again.
                def uptodate(path=path, mtime=mtime, debug=debug):
                    if debug:
                        try:
                            return os.path.getmtime(path) == mtime
                        except OSError:
                            return False
                    return True

                return source, str(path), uptodate
        raise TemplateNotFound(template)

    def list_templates(self):
        found = set()
        for d in [KERNEL_TEMPLATES, *map(Path, self.ext.plugin_template_dirs)]:
            for p in d.rglob("*.html"):
                found.add(str(p.relative_to(d)))
        return sorted(found)
