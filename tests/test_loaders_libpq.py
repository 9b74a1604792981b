"""Issue 20: on PostgreSQL a held statement (:mod:`jishi.loaders`) that
runs on a connection in autocommit (a safe request's reads,
``JISHI_DB_READ_AUTOCOMMIT``) goes through libpq itself, prepared once per
connection (``JISHI_DB_LIBPQ_READS``, :func:`jishi.db.libpq_reads`,
:func:`jishi.loaders._autocommit_rows`): the same rows as a psycopg
cursor's, errors raised as SQLAlchemy raises them, a statement the server
forgot prepared again, a dropped connection invalidated."""

from __future__ import annotations

import functools
import os
from decimal import Decimal

import pytest
from jishi import loaders
from jishi.db import keep_prepared_statements, libpq_reads, utcnow
from jishi.testing import is_postgres
from sqlalchemy import DateTime, Integer, String, bindparam, create_engine, event, literal_column, select
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.pool import NullPool

pytestmark = pytest.mark.skipif(not is_postgres(), reason="PostgreSQL (psycopg) only")

#: a statement of many types: integers (binary parameters), text, a
#: date-time, a numeric, a boolean, an array, NULL
STMT = select(
    bindparam("i", type_=Integer).label("i"),
    (bindparam("i", type_=Integer) * 1000000).label("big"),
    bindparam("t", type_=String).label("t"),
    bindparam("at", type_=DateTime(timezone=True)).label("at"),
    literal_column("CAST(10 AS NUMERIC(12, 2))").label("n"),
    (bindparam("i", type_=Integer) > 1).label("b"),
    literal_column("ARRAY[1, 2, 3]").label("a"),
    literal_column("NULL::text").label("z"),
)
DIVIDE = select((literal_column("1") / bindparam("d", type_=Integer)).label("q"))


def _engine(libpq: bool = True):
    engine = create_engine(os.environ["JISHI_TEST_DATABASE_URL"], pool_size=1, max_overflow=0)
    keep_prepared_statements(engine)
    if libpq:
        assert libpq_reads(engine)
    return engine


def _params() -> dict:
    return {"i": 7, "t": "集市 'quoted'", "at": utcnow()}


def _autocommit(conn):
    """``conn`` in SQLAlchemy's transaction, its psycopg connection in
    autocommit: as a safe request reads (jishi.db.read_autocommit)."""
    conn.begin()
    driver = conn.connection.driver_connection
    driver.autocommit = True
    return driver


def _jishi_prepared(conn) -> set[str]:
    rows = conn.exec_driver_sql("SELECT name FROM pg_prepared_statements WHERE name LIKE '\\_jishi\\_%%'").all()
    return {r[0] for r in rows}


def test_a_read_in_autocommit_is_prepared_once_and_gives_the_cursors_rows():
    engine = _engine()
    params = _params()
    forms: dict = {}
    with engine.connect() as conn:
        want = [tuple(r) for r in conn.execute(STMT, params).all()]  # SQLAlchemy's own execute
        conn.rollback()
        driver = _autocommit(conn)
        for _ in range(3):
            rows = loaders.held_rows(conn, STMT, params, forms)
            assert [tuple(r) for r in rows] == want
        assert want[0][2] == "集市 'quoted'" and want[0][4] == Decimal("10.00") and want[0][7] is None
        state = driver._jishi_libpq
        assert list(state.names.values()) == [b"_jishi_1"]  # prepared once, run three times
        assert _jishi_prepared(conn) == {"_jishi_1"}
        driver.autocommit = False  # in a transaction: the cursor's path, the same rows
        assert [tuple(r) for r in loaders.held_rows(conn, STMT, params, forms)] == want
        assert len(state.names) == 1
        conn.rollback()
    engine.dispose()


def test_a_statement_the_server_forgot_is_prepared_again():
    """psycopg's own rollback sends ``DEALLOCATE ALL`` when it has prepared
    statements, as do ``DISCARD ALL`` and poolers: the next read prepares
    its statement again and answers (in autocommit nothing is left failed)."""
    engine = _engine()
    params = _params()
    forms: dict = {}
    with engine.connect() as conn:
        driver = _autocommit(conn)
        want = [tuple(r) for r in loaders.held_rows(conn, STMT, params, forms)]
        driver.pgconn.exec_(b"DEALLOCATE ALL")
        assert _jishi_prepared(conn) == set()
        assert [tuple(r) for r in loaders.held_rows(conn, STMT, params, forms)] == want
        assert list(driver._jishi_libpq.names.values()) == [b"_jishi_2"]
        assert driver.pgconn.transaction_status == 0  # (IDLE: no transaction left behind)
        conn.rollback()
    engine.dispose()


def test_an_error_is_raised_as_sqlalchemy_raises_it_and_the_connection_reads_on():
    import psycopg

    engine = _engine()
    forms: dict = {}
    with engine.connect() as conn:
        _autocommit(conn)
        with pytest.raises(DataError) as caught:
            loaders.held_rows(conn, DIVIDE, {"d": 0}, forms)
        assert isinstance(caught.value.orig, psycopg.errors.DivisionByZero)
        assert not caught.value.connection_invalidated
        assert [tuple(r) for r in loaders.held_rows(conn, DIVIDE, {"d": 1}, forms)] == [(1,)]
        conn.rollback()
    engine.dispose()


def test_a_dropped_connection_is_invalidated_as_sqlalchemy_does():
    engine = _engine()
    forms: dict = {}
    with engine.connect() as conn:
        driver = _autocommit(conn)
        loaders.held_rows(conn, DIVIDE, {"d": 1}, forms)
        killer = create_engine(os.environ["JISHI_TEST_DATABASE_URL"], poolclass=NullPool)
        with killer.connect() as other:
            other.exec_driver_sql(f"SELECT pg_terminate_backend({driver.info.backend_pid})")
            other.commit()
        killer.dispose()
        with pytest.raises(OperationalError) as caught:
            loaders.held_rows(conn, DIVIDE, {"d": 1}, forms)
        assert caught.value.connection_invalidated
    with engine.connect() as conn:  # the pool's next connection is a new one
        _autocommit(conn)
        assert [tuple(r) for r in loaders.held_rows(conn, DIVIDE, {"d": 1}, forms)] == [(1,)]
        conn.rollback()
    engine.dispose()


def test_a_listener_or_the_setting_off_keeps_the_cursors_path():
    """A statement listener (tests counting statements, instrumentation)
    sees every held read, so the cursor runs it; without
    ``JISHI_DB_LIBPQ_READS`` (:func:`libpq_reads` not applied) too."""
    params = _params()
    for libpq in (True, False):
        engine = _engine(libpq=libpq)
        seen: list = []
        listener = functools.partial(lambda into, *a, **k: into.append(1), seen)
        forms: dict = {}
        with engine.connect() as conn:
            driver = _autocommit(conn)
            if libpq:
                event.listen(engine, "before_cursor_execute", listener)
            try:
                loaders.held_rows(conn, STMT, params, forms)
            finally:
                if libpq:
                    event.remove(engine, "before_cursor_execute", listener)
            assert seen == ([1] if libpq else [])
            assert getattr(driver, "_jishi_libpq", None) is None
            conn.rollback()
        engine.dispose()


def test_the_app_reads_a_product_through_libpq(app, factory, client, monkeypatch):
    """A product detail (a GET: read in autocommit) reads through libpq;
    ``JISHI_DB_LIBPQ_READS`` is on by default and marks the engine's dialect."""
    from jishi.db import db

    assert app.config["JISHI_DB_LIBPQ_READS"] is True
    with app.app_context():
        assert db.engine.dialect.jishi_libpq_reads is True
    product = factory.product(price=100)
    db.session.commit()
    ran: list = []
    real = loaders._autocommit_rows

    def spy(driver, sql, args):
        rows = real(driver, sql, args)
        ran.append(rows is not None)
        return rows

    monkeypatch.setattr(loaders, "_autocommit_rows", spy)
    for _ in range(2):
        answer = client.get(f"/api/v1/products/{product.id}")
        assert answer.status_code == 200 and answer.get_json()["id"] == product.id
    assert ran and all(ran)
