"""``jishi db upgrade | check | revision`` (SPEC K1)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext


@click.group("db")
def db_group():
    """Database schema migrations (Alembic; kernel and each enabled plugin)."""


@db_group.command("upgrade")
@with_appcontext
def upgrade():
    """Upgrade the kernel's and every enabled plugin's schema to head."""
    from jishi import migrations

    migrations.upgrade(current_app._get_current_object(), echo=click.echo)
    click.echo("Database is up to date.")


def scratch_app(app, url: str):
    """The same app configuration on another database."""
    from jishi.app import create_app

    ext = app.extensions["jishi"]
    config = {k: v for k, v in app.config.items() if k.isupper()}
    config["SQLALCHEMY_DATABASE_URI"] = url
    config["JISHI_PLUGINS"] = ",".join(ext.enabled_plugin_names())
    return create_app(config, instance_path=app.instance_path)


@db_group.command("check")
@click.option("--url", default=None, help="An empty database to migrate and compare (default: a scratch SQLite file).")
@with_appcontext
def check(url: str | None):
    """Fail when the models and the migrations differ.

    Upgrades an empty scratch database from zero with every history and
    compares it with the models (Alembic autogenerate).
    """
    from jishi import migrations

    with tempfile.TemporaryDirectory() as tmp:
        other = scratch_app(current_app, url or f"sqlite:///{Path(tmp) / 'check.db'}")
        migrations.upgrade(other)
        found = migrations.diffs(other)
        with other.app_context():
            from jishi.db import db

            db.engine.dispose()
    if found:
        for name, items in found.items():
            click.echo(f"{name}: models and migrations differ:")
            for item in items:
                click.echo(f"  {item!r}")
        raise click.ClickException("run `jishi db revision -m '...'` (add --plugin NAME for a plugin) and commit it")
    click.echo("Models and migrations match.")


@db_group.command("revision")
@click.option("-m", "--message", required=True, help="What the revision changes.")
@click.option("--plugin", default=None, help="Write it into this enabled plugin's history instead of the kernel's.")
@click.option("--rev-id", default=None, help="Revision id (default: random).")
@with_appcontext
def revision(message: str, plugin: str | None, rev_id: str | None):
    """Autogenerate a revision against the (upgraded) database."""
    from jishi import migrations

    for script in migrations.revision(current_app._get_current_object(), message, plugin=plugin, rev_id=rev_id):
        click.echo(f"Wrote {script.path}")
