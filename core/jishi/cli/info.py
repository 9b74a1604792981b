"""``jishi plugins list`` and ``jishi themes list`` (SPEC K2, K12)."""

from __future__ import annotations

import unicodedata

import click
from flask import current_app
from flask.cli import with_appcontext


def _width(text: str) -> int:
    """Display width: CJK characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(_width(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    out = []
    for row in rows:
        cells = [str(c) + " " * (w - _width(str(c))) for c, w in zip(row, widths)]
        out.append("  ".join(cells).rstrip())
    return "\n".join(out)


@click.group("plugins")
def plugins_group():
    """Installed plugins."""


@plugins_group.command("list")
@with_appcontext
def plugins_list():
    """Every installed plugin: distribution, version, enabled, hooks."""
    ext = current_app.extensions["jishi"]
    rows = [("NAME", "DISTRIBUTION", "VERSION", "ENABLED", "HOOKS")]
    for info in ext.plugins:
        rows.append(
            (
                info.name,
                info.distribution,
                info.version,
                "yes" if info.enabled else "no",
                ", ".join(info.hooks) if info.enabled else "-",
            )
        )
    if len(rows) == 1:
        click.echo("No plugins installed (entry point group 'jishi.plugins').")
        return
    click.echo(_table(rows))


@click.group("themes")
def themes_group():
    """Installed themes."""


@themes_group.command("list")
@with_appcontext
def themes_list():
    """Every theme found: name, title, parent, active."""
    ext = current_app.extensions["jishi"]
    active = _active_theme()
    rows = [("NAME", "TITLE", "PARENT", "ACTIVE", "PATH")]
    for theme in ext.themes.values():
        rows.append(
            (theme.name, theme.title, theme.parent or "-", "yes" if theme.name == active else "no", str(theme.path))
        )
    if len(rows) == 1:
        click.echo("No themes found.")
        return
    click.echo(_table(rows))


def _active_theme() -> str:
    """The setting ``theme.active`` when the database has it, else config."""
    from jishi import settings

    name = current_app.config.get("JISHI_THEME")
    try:
        name = settings.get("theme.active") or name
    except Exception:
        from jishi.db import db

        db.session.rollback()
    return name
