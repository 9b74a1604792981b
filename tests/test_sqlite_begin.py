"""K4 (SQLite): how a request's transactions begin. A safe request (GET)
begins deferred; any other begins IMMEDIATE (writers queue for the one
write lock instead of failing on an upgrade); a POST that only reads says
so with ``jishi.db.reads_only()`` and begins deferred until
``jishi.db.fresh_write()``."""

from __future__ import annotations

import sqlite3

import pytest
from jishi.db import _sqlite_begin_statement, db, fresh_write, is_sqlite, reads_only


def test_begin_statement_by_request(app):
    with app.test_request_context("/", method="GET"):
        assert _sqlite_begin_statement() == "BEGIN"
    with app.test_request_context("/", method="POST"):
        assert _sqlite_begin_statement() == "BEGIN IMMEDIATE"
        reads_only()
        assert _sqlite_begin_statement() == "BEGIN"
        fresh_write()
        assert _sqlite_begin_statement() == "BEGIN IMMEDIATE"
    with app.app_context():
        assert _sqlite_begin_statement() == "BEGIN IMMEDIATE"  # jobs, the CLI


def test_a_reads_only_post_leaves_the_write_lock_free(app, factory):
    """While a reads_only POST holds its read transaction, another
    connection writes at once (a plain POST would hold the lock)."""
    with app.app_context():
        if not is_sqlite():
            pytest.skip("SQLite's write lock")
        path = db.engine.url.database
        factory.user()
    with app.test_request_context("/", method="POST"):
        reads_only()
        db.session.execute(db.text("SELECT count(*) FROM users")).scalar()
        other = sqlite3.connect(path, timeout=0.2, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # would raise "database is locked" behind an IMMEDIATE reader
        other.execute("ROLLBACK")
        other.close()
        db.session.rollback()
