"""Issue 18: the plugin's own history (so0001) builds exactly its models' tables on fresh SQLite and
PostgreSQL, with its own version table."""

from __future__ import annotations

import os

import pytest
from jishi import migrations
from jishi.app import create_app
from sqlalchemy import inspect


def _app(url: str, tmp_path):
    cfg = {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x", "JISHI_PLUGINS": "shopping_options"}
    return create_app(cfg, instance_path=str(tmp_path / "instance"))


def _check(url, tmp_path):
    from jishi.db import db

    app = _app(url, tmp_path)
    report = migrations.upgrade(app)
    assert [(n, a) for n, _b, a in report if n == "shopping_options"] == [("shopping_options", "so0001")]
    with app.app_context():
        tables = set(inspect(db.engine).get_table_names())
        assert {
            "alembic_version_shopping_options",
            "shopping_options_products",
            "shopping_options_usage",
            "shopping_options_takes",
        } <= tables
        assert migrations.diffs(app) == {}
        assert migrations.table_owners()["shopping_options_usage"] == "shopping_options"
        db.engine.dispose()


def test_sqlite_upgrade_matches_models(tmp_path):
    """Issue 18 / K1: fresh SQLite upgraded from zero == the models."""
    _check(f"sqlite:///{tmp_path}/m.db", tmp_path)


def test_postgresql_upgrade_matches_models(tmp_path):
    """Issue 18 / K1: fresh PostgreSQL database upgraded from zero == the models."""
    if not os.environ.get("JISHI_TEST_DATABASE_URL", "").startswith("postgres"):
        pytest.skip("PostgreSQL only (JISHI_TEST_DATABASE_URL)")
    from jishi.testing.deploy import scratch_database

    with scratch_database(tmp_path, postgres=True) as url:
        _check(url, tmp_path)
