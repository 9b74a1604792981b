"""FS/K1 (issue 15.3): the plugin's own history (fs0001, then fs0002: the
durable tickets, fs0003: an index its unique key serves dropped) builds exactly its models' tables on fresh SQLite and
PostgreSQL, with its own version table."""

from __future__ import annotations

import os

import pytest
from jishi.testing.deploy import check_plugin_history, scratch_database

TABLES = ["flashsale_skus", "flashsale_tickets"]


def test_sqlite_upgrade_matches_models(tmp_path):
    """FS/K1: fresh SQLite upgraded from zero == the models."""
    check_plugin_history(f"sqlite:///{tmp_path}/m.db", tmp_path, "flashsale", "fs0003", TABLES)


def test_postgresql_upgrade_matches_models(tmp_path):
    """FS/K1: fresh PostgreSQL database upgraded from zero == the models."""
    if not os.environ.get("JISHI_TEST_DATABASE_URL", "").startswith("postgres"):
        pytest.skip("PostgreSQL only (JISHI_TEST_DATABASE_URL)")
    with scratch_database(tmp_path, postgres=True) as url:
        check_plugin_history(url, tmp_path, "flashsale", "fs0003", TABLES)
