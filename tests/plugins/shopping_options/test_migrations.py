"""Issue 18: the plugin's own history (so0001, then so0002: an index its unique key serves dropped) builds exactly its models' tables on fresh SQLite and
PostgreSQL, with its own version table."""

from __future__ import annotations

import os

import pytest
from jishi.testing.deploy import check_plugin_history, scratch_database

TABLES = ["shopping_options_products", "shopping_options_usage", "shopping_options_takes"]


def test_sqlite_upgrade_matches_models(tmp_path):
    """Issue 18 / K1: fresh SQLite upgraded from zero == the models."""
    check_plugin_history(f"sqlite:///{tmp_path}/m.db", tmp_path, "shopping_options", "so0002", TABLES)


def test_postgresql_upgrade_matches_models(tmp_path):
    """Issue 18 / K1: fresh PostgreSQL database upgraded from zero == the models."""
    if not os.environ.get("JISHI_TEST_DATABASE_URL", "").startswith("postgres"):
        pytest.skip("PostgreSQL only (JISHI_TEST_DATABASE_URL)")
    with scratch_database(tmp_path, postgres=True) as url:
        check_plugin_history(url, tmp_path, "shopping_options", "so0002", TABLES)
