"""Issue 20: on PostgreSQL a rollback keeps the statements psycopg has
prepared (``JISHI_DB_KEEP_PREPARED``, :func:`jishi.db.keep_prepared_statements`).

psycopg's own ``rollback()`` forgets them and sends ``DEALLOCATE ALL``, and
every read-only request ends with a rollback: no statement of a read was
ever prepared, and the server planned each anew on every request."""

from __future__ import annotations

import os

import pytest
from jishi.db import db, keep_prepared_statements
from jishi.testing import is_postgres
from sqlalchemy import create_engine, text

needs_pg = pytest.mark.skipif(not is_postgres(), reason="PostgreSQL (psycopg) only")


def _engine(keep: bool = True):
    engine = create_engine(os.environ["JISHI_TEST_DATABASE_URL"], pool_size=1, max_overflow=0)
    if keep:
        assert keep_prepared_statements(engine)
    return engine


def _prepared(conn) -> set[str]:
    """The statements the server holds prepared for this connection."""
    rows = conn.exec_driver_sql("SELECT statement FROM pg_prepared_statements").all()
    return {r[0] for r in rows}


QUERY = "SELECT count(*) FROM pg_class WHERE relpages >= %(n)s"


def _run(conn, times: int = 6) -> None:
    for _ in range(times):  # psycopg prepares a statement on its 5th execute
        conn.execute(text(QUERY.replace("%(n)s", ":n")), {"n": 0}).scalar()


@needs_pg
def test_a_rollback_keeps_the_prepared_statements():
    engine = _engine()
    with engine.connect() as conn:
        _run(conn)
        conn.rollback()
        assert conn.connection.driver_connection.info.transaction_status.name == "IDLE"
        assert any("relpages" in s for s in _prepared(conn))
        assert conn.connection.driver_connection._prepared._names  # psycopg still knows them
        _run(conn, 1)  # and uses them: no "prepared statement does not exist"
    engine.dispose()


@needs_pg
def test_without_it_psycopg_forgets_them():
    """The behaviour this replaces (and what ``JISHI_DB_KEEP_PREPARED = false`` gives)."""
    engine = _engine(keep=False)
    with engine.connect() as conn:
        _run(conn)
        conn.rollback()
        assert not any("relpages" in s for s in _prepared(conn))
    engine.dispose()


@needs_pg
def test_a_rollback_still_rolls_back():
    engine = _engine()
    with engine.connect() as conn:
        conn.exec_driver_sql("CREATE TEMPORARY TABLE kept_plans (n integer)")
        conn.commit()
        conn.exec_driver_sql("INSERT INTO kept_plans VALUES (1)")
        conn.rollback()
        assert conn.exec_driver_sql("SELECT count(*) FROM kept_plans").scalar() == 0
    engine.dispose()


@needs_pg
def test_a_failed_transaction_takes_psycopgs_rollback():
    """After an error psycopg's own rollback runs (it forgets the
    statements); the connection works on."""
    engine = _engine()
    with engine.connect() as conn:
        _run(conn)
        with pytest.raises(Exception, match="division by zero"):
            conn.exec_driver_sql("SELECT 1 / 0")
        conn.rollback()
        assert not conn.connection.driver_connection._prepared._names
        assert not _prepared(conn)
        _run(conn)
    engine.dispose()


@needs_pg
def test_a_read_requests_statements_stay_prepared(app, client, factory):
    """Through the app: a product detail read answered twice over keeps
    its statements prepared on the connection the requests used."""
    assert app.config["JISHI_DB_KEEP_PREPARED"]
    product = factory.product()
    for _ in range(7):
        assert client.get(f"/api/v1/products/{product.id}").status_code == 200
    with app.app_context():
        conn = db.engine.raw_connection()
        try:
            assert type(conn.driver_connection).__name__ == "KeptPlansConnection"
            cur = conn.cursor()
            cur.execute("SELECT statement FROM pg_prepared_statements")
            statements = [r[0] for r in cur.fetchall()]
        finally:
            conn.close()
    assert any("FROM products" in s for s in statements), statements


def test_only_psycopg_engines_take_it(tmp_path):
    assert not keep_prepared_statements(create_engine(f"sqlite:///{tmp_path}/x.db"))


@needs_pg
def test_a_dropped_connections_rollback_raises_what_psycopg_raises():
    """The server ended the session (a failover, a restart) in the middle
    of a transaction: the rollback raises psycopg's ``OperationalError``,
    which SQLAlchemy reads as a disconnect (the pool replaces the
    connection; the request answers 503, not 500)."""
    import psycopg
    from sqlalchemy.exc import OperationalError

    engine = _engine()
    killer = create_engine(os.environ["JISHI_TEST_DATABASE_URL"], isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        _run(conn)
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        with killer.connect() as k:
            k.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        raw = conn.connection.driver_connection
        with pytest.raises(psycopg.OperationalError):
            raw.rollback()
        assert raw.broken
        with pytest.raises(OperationalError) as caught:
            conn.exec_driver_sql("SELECT 1")
        assert caught.value.connection_invalidated
    engine.dispose()
    killer.dispose()
