"""The ``jishi`` command line (SPEC K13).

A plain click group whose app is built lazily through Flask's
:class:`~flask.cli.ScriptInfo` (``create_app()`` with the environment's
configuration), so ``jishi --help`` and ``jishi demo`` need no database, and
commands that do use :func:`flask.cli.with_appcontext`. Plugins add commands
through the ``register_commands(cli)`` hook, called with the root group the
first time a command is looked up that the kernel does not define.

A plugin that cannot load is reported as one ``Error: plugin 'x' ...`` line
and exit status 1, never a traceback.
"""

from __future__ import annotations

import sys

import click
from flask.cli import ScriptInfo, run_command

from jishi.plugins import PluginError

#: Commands that work whatever the database's schema (or without one).
SCHEMA_FREE = frozenset({"db", "demo", "docs", "plugin", "plugins", "themes"})


def _create_app():
    from jishi.app import create_app

    return create_app()


class JishiGroup(click.Group):
    """The root group: kernel commands plus those plugins register."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._plugin_commands_loaded = False

    def make_context(self, info_name, args, parent=None, **extra):
        if "obj" not in extra and "obj" not in self.context_settings:
            extra["obj"] = ScriptInfo(create_app=_create_app, set_debug_flag=False)
        return super().make_context(info_name, args, parent=parent, **extra)

    def _load_plugin_commands(self, ctx: click.Context) -> None:
        if self._plugin_commands_loaded:
            return
        self._plugin_commands_loaded = True
        info = ctx.ensure_object(ScriptInfo)
        app = info.load_app()  # a PluginError surfaces as one "Error:" line
        app.extensions["jishi"].hook.register_commands(cli=self)
        # Plugin commands run inside the app context, as with ``flask``.
        ctx.with_resource(app.app_context())

    def get_command(self, ctx, cmd_name):
        command = super().get_command(ctx, cmd_name)
        if command is None and not ctx.resilient_parsing:
            try:
                self._load_plugin_commands(ctx)
            except PluginError as exc:
                raise click.ClickException(str(exc)) from None
            command = super().get_command(ctx, cmd_name)
        return command

    def list_commands(self, ctx):
        try:
            self._load_plugin_commands(ctx)
        except Exception as exc:
            click.echo(f"Warning: plugin commands unavailable: {exc}", err=True)
        return super().list_commands(ctx)

    def resolve_command(self, ctx, args):
        name, command, rest = super().resolve_command(ctx, args)
        if command is not None and name not in SCHEMA_FREE and not ctx.resilient_parsing:
            if not any(a in ("--help", "-h") for a in rest):
                self._check_schema(ctx, name)
        return name, command, rest

    def _check_schema(self, ctx: click.Context, name: str | None) -> None:
        """Commands that use the database refuse while its schema is behind
        the code (:mod:`jishi.schema`); ``run`` warns (its requests answer 503)."""
        from jishi import schema

        app = ctx.ensure_object(ScriptInfo).load_app()
        if not app.config.get("JISHI_SCHEMA_CHECK", True):
            return
        try:
            schema.ensure_current(app)
        except schema.SchemaBehind as exc:
            if name == "run":
                click.echo(f"Warning: {exc} Until then every request answers 503.", err=True)
                return
            raise click.ClickException(str(exc)) from None

    def invoke(self, ctx):
        from jishi.config import ConfigError

        try:
            return super().invoke(ctx)
        except (PluginError, ConfigError) as exc:
            raise click.ClickException(str(exc)) from None


def make_cli() -> JishiGroup:
    """A fresh root group (tests build one per invocation)."""
    from jishi.cli import db as db_cmds
    from jishi.cli import demo as demo_cmds
    from jishi.cli import docs as docs_cmds
    from jishi.cli import info as info_cmds
    from jishi.cli import plugin as plugin_cmds
    from jishi.cli import users as users_cmds
    from jishi.cli import worker as worker_cmds

    group = JishiGroup(
        name="jishi",
        help="Jishi (集市): a plugin-based multi-merchant commerce framework.",
    )
    group.add_command(run_command, "run")
    group.add_command(demo_cmds.demo)
    group.add_command(db_cmds.db_group)
    group.add_command(info_cmds.plugins_group)
    group.add_command(info_cmds.themes_group)
    group.add_command(users_cmds.users_group)
    group.add_command(worker_cmds.worker)
    group.add_command(docs_cmds.docs_group)
    group.add_command(plugin_cmds.plugin_group)
    return group


def main(argv=None) -> None:
    """Console-script entry point ``jishi``."""
    make_cli().main(args=argv, prog_name="jishi")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
