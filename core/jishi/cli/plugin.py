"""``jishi plugin new NAME``: start a third-party plugin (K2, K3).

Writes a working distribution ``jishi-NAME`` (pyproject with the
``jishi.plugins`` entry point, hooks, a model with its first migration, a
template block and tests using Jishi's pytest fixtures) from the skeleton in
:mod:`jishi.scaffold`. Needs no app or database.
"""

from __future__ import annotations

from pathlib import Path

import click


@click.group("plugin")
def plugin_group():
    """Write plugins of your own (see docs/writing-a-marketing-plugin.md)."""


@plugin_group.command("new")
@click.argument("name")
@click.option(
    "--dir",
    "directory",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to create the plugin's folder NAME in.",
)
def new(name: str, directory: Path):
    """Create the plugin distribution jishi-NAME in DIR/NAME.

    NAME is the plugin's name (JISHI_PLUGINS=NAME): lowercase letters,
    digits and underscores, starting with a letter.
    """
    from jishi import scaffold
    from jishi.plugins import installed_plugins

    try:
        scaffold.check_name(name)
    except scaffold.ScaffoldError as exc:
        raise click.BadParameter(str(exc), param_hint="NAME") from None
    if name in {n for n, _ep in installed_plugins()}:
        raise click.BadParameter(f"a plugin named {name!r} is already installed", param_hint="NAME")
    dest = directory / name
    try:
        files = scaffold.create(name, dest)
    except scaffold.ScaffoldError as exc:
        raise click.ClickException(str(exc)) from None
    values = scaffold.names(name)
    click.echo(f"Created {values['dist']} in {dest} ({len(files)} files).")
    click.echo("Next:")
    click.echo(f"  pip install -e {dest}")
    click.echo(f"  JISHI_PLUGINS={name} jishi db upgrade")
    click.echo(f"  cd {dest} && python -m pytest")
