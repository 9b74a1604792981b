"""K4 (SQLite): how a request's transactions begin. A safe request (GET)
begins deferred; any other begins IMMEDIATE (writers queue for the one
write lock instead of failing on an upgrade); a POST that only reads says
so with ``jishi.db.reads_only()`` and begins deferred until
``jishi.db.fresh_write()``."""

from __future__ import annotations

import sqlite3

import pytest
from jishi.db import _sqlite_begin_statement, db, fresh_write, is_sqlite, reads_only, write_from_here


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


def _other(path: str) -> sqlite3.Connection:
    return sqlite3.connect(path, timeout=0.2, isolation_level=None)


def test_write_from_here_writes_after_a_stale_read(app, factory):
    """A reads_only POST read, another writer committed since (its snapshot
    is stale: SQLite refuses to upgrade it, "database is locked" at once);
    after write_from_here the request writes, holding the write lock until
    its commit, and sees the other writer's row as PostgreSQL's READ
    COMMITTED would."""
    with app.app_context():
        if not is_sqlite():
            pytest.skip("SQLite's write lock")
        path = db.engine.url.database
        factory.user(phone="13900000001")
    with app.test_request_context("/", method="POST"):
        reads_only()
        assert db.session.execute(db.text("SELECT count(*) FROM users")).scalar() == 1
        other = _other(path)
        other.execute("UPDATE users SET name = 'changed' WHERE phone = '13900000001'")  # committed: the read is stale
        assert write_from_here() is True
        db.session.execute(db.text("UPDATE users SET locale = 'en' WHERE phone = '13900000001'"))
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")  # the request holds the write lock now
        db.session.commit()
        other.close()
    with app.app_context():
        name, locale = db.session.execute(db.text("SELECT name, locale FROM users WHERE phone = '13900000001'")).one()
        assert (name, locale) == ("changed", "en")


def test_write_from_here_leaves_a_write_transaction_as_it_is(app, factory):
    """Not begun deferred (a plain POST), the read already wrote, or inside
    a savepoint: nothing changes (the first write is not committed early: a
    rollback undoes it)."""
    with app.app_context():
        if not is_sqlite():
            pytest.skip("SQLite's write lock")
        factory.user(phone="13900000002")
    with app.test_request_context("/", method="POST"):
        db.session.execute(db.text("SELECT 1")).scalar()
        assert write_from_here() is False  # began IMMEDIATE
        db.session.rollback()
    with app.test_request_context("/", method="POST"):
        reads_only()
        db.session.execute(db.text("UPDATE users SET name = 'early' WHERE phone = '13900000002'"))
        assert write_from_here() is False  # the read wrote: SQLite's lock is its own, nothing committed
        db.session.rollback()
    with app.test_request_context("/", method="POST"):
        reads_only()
        db.session.execute(db.text("SELECT 1")).scalar()
        with db.session.begin_nested():
            assert write_from_here() is False  # a savepoint: left as it is
        db.session.rollback()
    with app.test_request_context("/", method="POST"):
        assert write_from_here() is False  # no transaction yet: the next statement begins a write
        assert _sqlite_begin_statement() == "BEGIN IMMEDIATE"
    with app.app_context():
        assert db.session.execute(db.text("SELECT name FROM users WHERE phone = '13900000002'")).scalar() != "early"


def test_write_from_here_does_nothing_on_postgresql(app):
    with app.app_context():
        if is_sqlite():
            pytest.skip("PostgreSQL")
    with app.test_request_context("/", method="POST"):
        reads_only()
        db.session.execute(db.text("SELECT 1")).scalar()
        assert write_from_here() is False
        db.session.rollback()
