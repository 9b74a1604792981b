"""Themes: ``<dir>/<name>/theme.toml`` (name, title, parent), ``templates/``,
``static/``.

Template lookup for a name: the active theme, then its parents, then plugin
template folders, then the kernel's templates. A prefix picks a place
explicitly: ``"kernel:base.html"`` is the kernel's, ``"default:base.html"`` is
the ``default`` theme's chain, so an override can extend what it replaces.

The active theme is read per request (setting ``theme.active``, else
``JISHI_THEME``) and each cached template remembers the theme it was loaded
for, so a switch in the console takes effect on the next request with no
restart.

The first-party themes (``default``, ``jade``) are package data in
``jishi/themes_builtin/``, found with :mod:`importlib.resources`, so an
installed wheel has them; other themes come from the folders listed in
``JISHI_THEMES_DIRS`` and the instance's ``themes/`` folder, which win over a
built-in theme of the same name.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from flask import current_app, has_request_context
from jinja2 import BaseLoader, TemplateNotFound

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
    from jishi import settings

    ext = current_app.extensions["jishi"]
    name = current_app.config["JISHI_THEME"]
    if has_request_context():
        name = settings.get("theme.active") or name
    return name if name in ext.themes else next(iter(ext.themes), "")


class ThemeLoader(BaseLoader):
    def __init__(self, ext):
        self.ext = ext

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
        prefix, _, rest = template.partition(":")
        if rest and "/" not in prefix:
            key, dirs = self.search_path(prefix)
            name = rest
        else:
            key, dirs = self.search_path(None)
            name = template
        for d in dirs:
            path = d / name
            if path.is_file():
                source = path.read_text(encoding="utf-8")
                mtime = os.path.getmtime(path)
                debug = current_app.debug

                def uptodate(key=key, path=path, mtime=mtime, prefixed=bool(rest), debug=debug):
                    if not prefixed and has_request_context() and active_theme_name() != key:
                        return False
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
