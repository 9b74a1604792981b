"""K13: the ``jishi`` command line (run, demo, db, plugins, themes, users,
worker, docs) and K1: migrations applied by one command."""

from __future__ import annotations

import sqlite3

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from jishi.app import create_app
from jishi.cli import make_cli
from jishi.testing import make_app
from sqlalchemy import select


@pytest.fixture
def make(tmp_path):
    """make_app, with every app's database emptied and engine closed after."""
    from jishi import testing

    apps = []

    def make(path=None, **kw):
        app = make_app(path or tmp_path, **kw)
        apps.append(app)
        return app

    yield make
    for app in apps:
        testing.reset_database(app)


def _invoke(app, *args, **kw):
    return CliRunner().invoke(make_cli(), list(args), obj=ScriptInfo(create_app=lambda: app), **kw)


def _fresh(tmp_path, plugins=""):
    cfg = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/cli.db", "SECRET_KEY": "x", "JISHI_PLUGINS": plugins}
    return create_app(cfg, instance_path=str(tmp_path / "instance"))


def test_help_lists_the_kernel_commands():
    """K13: every kernel command is there without building an app."""
    result = CliRunner().invoke(make_cli(), ["--help"])
    assert result.exit_code == 0
    for name in ("run", "demo", "db", "plugins", "themes", "users", "worker", "docs"):
        assert f"  {name} " in result.output


def test_run_defaults_to_localhost_5000():
    """K13: ``jishi run --host --port`` like ``flask run``."""
    cmd = make_cli().get_command(None, "run")
    params = {p.name: p.default for p in cmd.params}
    assert params["host"] == "127.0.0.1" and params["port"] == 5000


def test_db_upgrade_creates_kernel_schema_and_version_table(tmp_path):
    """K1: ``jishi db upgrade`` applies the kernel's history (own version table)."""
    app = _fresh(tmp_path)
    result = _invoke(app, "db", "upgrade")
    assert result.exit_code == 0, result.output
    con = sqlite3.connect(tmp_path / "cli.db")
    tables = {r[0] for r in con.execute("select name from sqlite_master where type='table'")}
    assert {"users", "orders", "products", "alembic_version_jishi"} <= tables
    assert con.execute("select count(*) from alembic_version_jishi").fetchone()[0] == 1
    again = _invoke(app, "db", "upgrade")
    assert again.exit_code == 0 and "jishi:" in again.output


def test_db_check_passes_for_the_committed_migrations(tmp_path):
    """K1: ``jishi db check`` says models and migrations match."""
    result = _invoke(_fresh(tmp_path), "db", "check")
    assert result.exit_code == 0, result.output
    assert "match" in result.output


def test_db_check_fails_when_a_model_changes(tmp_path, monkeypatch):
    """K1: a column with no migration makes ``jishi db check`` fail."""
    from jishi.db import db
    from sqlalchemy import Column, Integer

    app = _fresh(tmp_path)
    table = db.metadata.tables["tags"]
    col = Column("cli_test_extra", Integer, nullable=True)
    table.append_column(col)
    try:
        result = _invoke(app, "db", "check")
    finally:
        table._columns.remove(col)
    assert result.exit_code == 1
    assert "cli_test_extra" in result.output


def test_users_create_admin(tmp_path, make):
    """K13/K15: ``jishi users create-admin`` makes a platform admin that can sign in."""
    from jishi.accounts.auth import check_password
    from jishi.accounts.models import User
    from jishi.db import db

    app = make(tmp_path)
    result = _invoke(
        app, "users", "create-admin", "--phone", "13900000009", "--password", "s3cret-pw", "--name", "老板"
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.execute(select(User).where(User.phone == "13900000009")).scalar_one()
        assert user.role == "platform_admin" and user.name == "老板"
        assert check_password(user, "s3cret-pw")


def test_users_create_admin_never_prompts_in_ci(tmp_path, monkeypatch, make):
    """K13: without --password and with CI set, a usage error instead of a prompt."""
    monkeypatch.setenv("CI", "true")
    result = _invoke(make(tmp_path), "users", "create-admin", "--phone", "13900000010")
    assert result.exit_code == 2
    assert "--password" in result.output


def test_users_create_admin_prompts_for_the_password(tmp_path, monkeypatch, make):
    """K13: the password is prompted for (twice) when missing."""
    monkeypatch.delenv("CI", raising=False)
    result = _invoke(make(tmp_path), "users", "create-admin", "--phone", "13900000011", input="pw123456\npw123456\n")
    assert result.exit_code == 0, result.output
    assert "created" in result.output


def test_worker_once_runs_every_job(tmp_path, make):
    """K13: ``jishi worker --once`` runs each periodic job and prints its summary."""
    result = _invoke(make(tmp_path, plugins="hello"), "worker", "--once")
    assert result.exit_code == 0, result.output
    lines = dict(line.split(": ", 1) for line in result.output.strip().splitlines())
    assert lines["close_unpaid_orders"] == "0"
    assert lines["auto_confirm_orders"] == "0"
    assert lines["hello_tick"] == "hello ticked"


def test_plugin_command_runs_in_app_context(tmp_path, make):
    """K3 register_commands: ``jishi hello`` comes from the jishi-hello plugin."""
    result = _invoke(make(tmp_path, plugins="hello"), "hello", "--name", "集市")
    assert result.exit_code == 0, result.output
    assert "Hello, 集市! (Hello from jishi-hello)" in result.output
    missing = _invoke(make(tmp_path / "b"), "hello")
    assert missing.exit_code == 2 and "No such command 'hello'" in missing.output


def test_docs_hooks_check(tmp_path):
    """K3: ``jishi docs hooks`` writes the reference; --check compares."""
    out = tmp_path / "hooks.md"
    result = CliRunner().invoke(make_cli(), ["docs", "hooks", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert "## split_cart" in out.read_text(encoding="utf-8")
    ok = CliRunner().invoke(make_cli(), ["docs", "hooks", "--output", str(out), "--check"])
    assert ok.exit_code == 0
    out.write_text("stale", encoding="utf-8")
    stale = CliRunner().invoke(make_cli(), ["docs", "hooks", "--output", str(out), "--check"])
    assert stale.exit_code == 1


def test_docs_hooks_check_defaults_to_the_checkouts_reference():
    """K3: run from the source checkout, ``jishi docs hooks --check`` compares
    docs/plugin-hooks.md of that checkout (tests/test_wheel.py covers a wheel)."""
    from jishi.cli.docs import HOOKS_DOC, in_source_checkout

    assert in_source_checkout()
    result = CliRunner().invoke(make_cli(), ["docs", "hooks", "--check"])
    assert result.exit_code == 0, result.output
    assert f"{HOOKS_DOC} is current." in result.output


def test_demo_builds_a_shop_without_serving(tmp_path):
    """K13: ``jishi demo --no-serve`` migrates a fresh SQLite, loads demo data
    and prints the URLs and logins."""
    instance = tmp_path / "inst"
    result = CliRunner().invoke(make_cli(), ["demo", "--no-serve", "--instance", str(instance), "--port", "5099"])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:5099/" in result.output
    assert "/api/v1/openapi.json" in result.output
    assert "13800000001 / demo1234" in result.output and "13800000000 / admin1234" in result.output
    con = sqlite3.connect(instance / "demo.db")
    assert con.execute("select count(*) from products").fetchone()[0] >= 20
    assert con.execute("select count(*) from categories where parent_id is not null").fetchone()[0] >= 4
    assert con.execute("select count(*) from orders where status = 'paid'").fetchone()[0] >= 1
    assert con.execute("select role from users where phone = '13800000000'").fetchone()[0] == "platform_admin"
    # a second run starts from a fresh database again
    again = CliRunner().invoke(make_cli(), ["demo", "--no-serve", "--instance", str(instance)])
    assert again.exit_code == 0, again.output


@pytest.mark.parametrize("args", [["plugins", "list"], ["themes", "list"]])
def test_listing_commands_work_without_a_schema(tmp_path, args):
    """K13: listing plugins and themes needs no database."""
    result = _invoke(_fresh(tmp_path), *args)
    assert result.exit_code == 0, result.output


def test_worker_refuses_a_database_without_schema(tmp_path, monkeypatch):
    """K13: `jishi worker` on an empty database says to run `jishi db upgrade`."""
    monkeypatch.setenv("JISHI_DATABASE_URL", f"sqlite:///{tmp_path}/empty.db")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(make_cli(), ["worker", "--once"])
    assert result.exit_code != 0
    assert "jishi db upgrade" in result.output
