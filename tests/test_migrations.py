"""K1: the committed migrations build exactly the models' schema, on a fresh
SQLite and a fresh PostgreSQL database, for the kernel and for a plugin (each
history with its own version table)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from jishi import migrations
from jishi.app import create_app
from sqlalchemy import create_engine, inspect, text


def _app(url: str, tmp_path, plugins: str = ""):
    cfg = {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x", "JISHI_PLUGINS": plugins}
    return create_app(cfg, instance_path=str(tmp_path / "instance"))


def _assert_matches_models(app):
    """compare_metadata gives no diffs for any history (kernel, plugins)."""
    from jishi.db import db

    with app.app_context():
        with db.engine.connect() as conn:
            for history in migrations.histories(app):
                ctx = MigrationContext.configure(
                    conn, opts={"include_object": history.include_object, "compare_type": True}
                )
                assert compare_metadata(ctx, db.metadata) == [], history.name
        assert migrations.diffs(app) == {}


def _tables(app) -> set[str]:
    from jishi.db import db

    with app.app_context():
        return set(inspect(db.engine).get_table_names())


def _upgrade_and_compare(url, tmp_path):
    app = _app(url, tmp_path, plugins="hello")
    report = migrations.upgrade(app)
    assert [name for name, _before, _after in report] == ["jishi", "hello"]
    assert all(before is None and after for _n, before, after in report)
    tables = _tables(app)
    assert {"alembic_version_jishi", "alembic_version_hello", "hello_greetings", "users", "orders"} <= tables
    _assert_matches_models(app)
    # a second upgrade is a no-op
    assert [(b, a) for _n, b, a in migrations.upgrade(app)] == [(a, a) for _n, _b, a in report]
    return app


def test_sqlite_upgrade_from_zero_matches_models(tmp_path):
    """K1: fresh SQLite, upgraded from zero == the models (kernel + plugin)."""
    app = _upgrade_and_compare(f"sqlite:///{tmp_path}/m.db", tmp_path)
    with app.app_context():
        from jishi.db import db

        db.engine.dispose()


def test_plugin_disabled_means_no_plugin_tables(tmp_path):
    """K1: only enabled plugins' histories run; the kernel's history never
    creates or compares a plugin's tables."""
    import jishi_hello.models  # noqa: F401 - the table is on the shared metadata

    app = _app(f"sqlite:///{tmp_path}/k.db", tmp_path)
    assert [n for n, _b, _a in migrations.upgrade(app)] == ["jishi"]
    tables = _tables(app)
    assert "hello_greetings" not in tables and "alembic_version_hello" not in tables
    assert migrations.diffs(app) == {}


def test_table_owners():
    """K1: a plugin's tables are those its package defines; the rest is the kernel's."""
    import jishi.models  # noqa: F401
    import jishi_hello.models  # noqa: F401

    owners = migrations.table_owners()
    assert owners["hello_greetings"] == "hello"
    assert owners["users"] == owners["product_tags"] == owners["settings"] == "jishi"


def _postgres_server() -> str | None:
    url = os.environ.get("JISHI_TEST_DATABASE_URL", "")
    if not url.startswith("postgres"):
        url = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    try:
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception:
        return None
    return url


def test_postgresql_upgrade_from_zero_matches_models(tmp_path):
    """K1: fresh PostgreSQL database, upgraded from zero == the models."""
    server = _postgres_server()
    if server is None:
        pytest.skip("no PostgreSQL server reachable")
    name = f"jishi_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = server.rsplit("/", 1)[0] + "/" + name
        app = _upgrade_and_compare(url, tmp_path)
        with app.app_context():
            from jishi.db import db

            db.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_every_kernel_model_module_is_on_the_metadata():
    """K1: ``import jishi.models`` loads every kernel models module, so the
    migrations (and create_all) see every kernel table."""
    import subprocess
    import sys

    root = Path(migrations.__file__).resolve().parents[1]
    modules = sorted(
        "jishi." + ".".join(p.relative_to(root).with_suffix("").parts)
        for p in root.rglob("models.py")
        if "testing" not in p.parts
    )
    code = (
        "import importlib, jishi.models\n"
        "from jishi.db import db\n"
        "before = set(db.metadata.tables)\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print(sorted(set(db.metadata.tables) - before))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]", f"tables missing from jishi.models imports: {out}"
