"""PR-DZ/K1 (issue 18): the designer's own history (dz0001, dz0002 promotion
slots) builds exactly its
models' tables on fresh SQLite and PostgreSQL, with its own version table."""

from __future__ import annotations

import os

import pytest
from jishi import migrations
from jishi.app import create_app
from sqlalchemy import inspect


def _app(url: str, tmp_path):
    cfg = {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x", "JISHI_PLUGINS": "designer"}
    return create_app(cfg, instance_path=str(tmp_path / "instance"))


def _check(url, tmp_path):
    from jishi.db import db

    app = _app(url, tmp_path)
    report = migrations.upgrade(app)
    assert [(n, a) for n, _b, a in report if n == "designer"] == [("designer", "dz0002")]
    with app.app_context():
        tables = set(inspect(db.engine).get_table_names())
        assert {"alembic_version_designer", "design_pages", "design_revisions", "design_promo_ads"} <= tables
        assert migrations.diffs(app) == {}
        assert migrations.table_owners()["design_revisions"] == "designer"
        db.engine.dispose()


def test_sqlite_upgrade_matches_models(tmp_path):
    """PR-DZ/K1: fresh SQLite upgraded from zero == the models."""
    _check(f"sqlite:///{tmp_path}/m.db", tmp_path)


def test_postgresql_upgrade_matches_models(tmp_path):
    """PR-DZ/K1: fresh PostgreSQL database upgraded from zero == the models."""
    if not os.environ.get("JISHI_TEST_DATABASE_URL", "").startswith("postgres"):
        pytest.skip("PostgreSQL only (JISHI_TEST_DATABASE_URL)")
    from jishi.testing.deploy import scratch_database

    with scratch_database(tmp_path, postgres=True) as url:
        _check(url, tmp_path)
