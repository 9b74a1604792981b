"""PR-DZ/K1 (issue 18): the designer's own history (dz0001, dz0002 promotion
slots, dz0003 entry levels / soft delete and template categories) builds exactly its
models' tables on fresh SQLite and PostgreSQL, with its own version table."""

from __future__ import annotations

import os

import pytest
from jishi.testing.deploy import check_plugin_history, scratch_database

TABLES = ["design_pages", "design_revisions", "design_promo_ads", "design_templates"]


def test_sqlite_upgrade_matches_models(tmp_path):
    """PR-DZ/K1: fresh SQLite upgraded from zero == the models."""
    check_plugin_history(f"sqlite:///{tmp_path}/m.db", tmp_path, "designer", "dz0003", TABLES)


def test_postgresql_upgrade_matches_models(tmp_path):
    """PR-DZ/K1: fresh PostgreSQL database upgraded from zero == the models."""
    if not os.environ.get("JISHI_TEST_DATABASE_URL", "").startswith("postgres"):
        pytest.skip("PostgreSQL only (JISHI_TEST_DATABASE_URL)")
    with scratch_database(tmp_path, postgres=True) as url:
        check_plugin_history(url, tmp_path, "designer", "dz0003", TABLES)
