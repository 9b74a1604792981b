"""jishi-hello: the smallest real plugin, used by Jishi's own tests (K2, K3).

Installed for the test session only (``tests/conftest.py`` puts its folder,
with a committed ``*.dist-info``, on ``sys.path``); like every plugin it does
nothing until enabled (``JISHI_PLUGINS=hello``).
"""

from __future__ import annotations

import click
from flask import Blueprint, current_app
from jishi.hookspecs import MenuItem, PeriodicJob, hookimpl
from markupsafe import Markup, escape

from jishi_hello import models  # noqa: F401 - the plugin's tables (own migrations)

requires = ()

bp = Blueprint("hello", __name__, url_prefix="/hello")


@bp.get("/")
def index():
    return {"greeting": current_app.config["HELLO_GREETING"]}


@hookimpl
def config_defaults():
    return {"HELLO_GREETING": "Hello from jishi-hello"}


@hookimpl
def blueprints():
    return [bp]


@hookimpl
def template_slot(slot, context):
    if slot != "hello":
        return None
    return Markup('<p class="hello-slot">{}</p>').format(escape(current_app.config["HELLO_GREETING"]))


@hookimpl
def register_commands(cli):
    @cli.command("hello")
    @click.option("--name", default="world")
    def hello(name):
        """Say hello (from the jishi-hello plugin)."""
        click.echo(f"Hello, {name}! ({current_app.config['HELLO_GREETING']})")


@hookimpl
def console_menu_items(console, principal):
    if console != "platform":
        return None
    return [MenuItem("Hello", "hello.index", sort=200)]


def _tick():
    return "hello ticked"


@hookimpl
def periodic_jobs():
    return [PeriodicJob("hello_tick", _tick, every_seconds=30)]
