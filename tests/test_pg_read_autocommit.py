"""Issue 20: on PostgreSQL a safe request (GET, HEAD, OPTIONS), or one
that declared it reads first (:func:`jishi.db.reads_first`: the checkout's
preview and placement), reads in autocommit, without psycopg's ``BEGIN``
before its first statement and the ``ROLLBACK`` after its last (``JISHI_DB_READ_AUTOCOMMIT``,
:func:`jishi.db.read_autocommit`); whatever is not a plain read (a write, a
locking read, a server-side cursor, :func:`jishi.db.fresh_write`) runs in a
transaction from its first statement on, committed or rolled back as
before, and a connection goes back to the pool in transactions."""

from __future__ import annotations

import os
import threading
from functools import partial
from pathlib import Path

import pytest
from jishi.app import create_app
from jishi.db import db, fresh_write, reads_first
from jishi.errors import DomainError
from jishi.testing import is_postgres, libpq_messages
from sqlalchemy import text

pytestmark = pytest.mark.skipif(not is_postgres(), reason="needs PostgreSQL (JISHI_TEST_DATABASE_URL)")

KEY = "test.read_autocommit"


def _app(tmp_path: Path, **config):
    cfg = {
        "SQLALCHEMY_DATABASE_URI": os.environ["JISHI_TEST_DATABASE_URL"],
        "SECRET_KEY": "x",
        "JISHI_PLUGINS": "",
        "JISHI_SCHEMA_CHECK": False,
        "JISHI_DB_POOL_SIZE": 1,
        "JISHI_DB_MAX_OVERFLOW": 0,
        "WTF_CSRF_ENABLED": False,
        **config,
    }
    app = create_app(cfg, instance_path=str(tmp_path / "instance"))
    with app.app_context():
        db.create_all()
        db.session.execute(text("DELETE FROM settings WHERE key = :k"), {"k": KEY})
        db.session.execute(text("INSERT INTO settings (key, value, updated_at) VALUES (:k, '0', now())"), {"k": KEY})
        db.session.commit()
    seen: dict = {}

    def status() -> dict:
        driver = db.session.connection().connection.driver_connection
        return {"autocommit": driver.autocommit, "in_transaction": driver.pgconn.transaction_status != 0}

    def read():
        db.session.execute(text("SELECT value FROM settings WHERE key = :k"), {"k": KEY}).all()
        seen["read"] = status()
        return "ok"

    def write_twice_then_fail():
        db.session.execute(text("SELECT value FROM settings WHERE key = :k"), {"k": KEY}).all()
        db.session.execute(text("UPDATE settings SET value = '1' WHERE key = :k"), {"k": KEY})
        seen["write"] = status()
        db.session.execute(text("UPDATE settings SET value = '2' WHERE key = :k"), {"k": KEY})
        raise DomainError("value", "refused after two writes", status=422)

    def write_and_commit():
        db.session.execute(text("SELECT value FROM settings WHERE key = :k"), {"k": KEY}).all()
        db.session.execute(text("UPDATE settings SET value = '3' WHERE key = :k"), {"k": KEY})
        db.session.commit()
        return "ok"

    def lock():
        db.session.execute(text("SELECT value FROM settings WHERE key = :k FOR UPDATE"), {"k": KEY}).all()
        seen["lock"] = status()
        return "ok"

    def fresh():
        db.session.execute(text("SELECT 1")).all()
        fresh_write()
        db.session.execute(text("SELECT 1")).all()
        seen["fresh"] = status()
        return "ok"

    for view in (read, write_twice_then_fail, write_and_commit, lock, fresh):
        app.add_url_rule(f"/_t/{view.__name__}", view_func=view, methods=["GET", "POST"])
        first = reads_first(view)
        first.__name__ = f"first_{view.__name__}"
        app.add_url_rule(f"/_t/first/{view.__name__}", view_func=first, methods=["POST"])
    app.extensions["test_seen"] = seen
    return app


def _value(app) -> str:
    with app.app_context():
        return db.session.execute(text("SELECT value FROM settings WHERE key = :k"), {"k": KEY}).scalar_one()


def _client_messages(app, tmp_path: Path, action) -> list[str]:
    """The queries and statements the client sends on the app's one pooled
    connection while ``action()`` runs (libpq's trace)."""
    with app.app_context(), db.engine.connect() as conn:
        pgconn = conn.connection.dbapi_connection.pgconn
    out = []
    for line in libpq_messages(pgconn, tmp_path, action):
        parts = line.split("\t")
        if len(parts) > 3 and parts[2] in ("Query", "Parse") and parts[3].strip() != '";"':
            out.append(parts[3].strip())  # (";": the pool's pre-ping, not the request's)
    return out


def _dispose(app) -> None:
    with app.app_context():
        db.engine.dispose()


def test_a_get_reads_without_begin_or_rollback(tmp_path):
    """A GET, and a POST under ``reads_first`` (the checkout's preview),
    read in autocommit: no ``BEGIN``, no ``ROLLBACK``."""
    app = _app(tmp_path)
    try:
        client = app.test_client()
        assert client.get("/_t/read").status_code == 200
        for call, path in ((client.get, "/_t/read"), (client.post, "/_t/first/read")):
            app.extensions["test_seen"].clear()
            sent = _client_messages(app, tmp_path, partial(call, path))
            assert sent and all("BEGIN" not in s and "ROLLBACK" not in s and "COMMIT" not in s for s in sent), sent
            assert app.extensions["test_seen"]["read"] == {"autocommit": True, "in_transaction": False}, path
        # a POST (not a safe method, not declared reads first) reads in its transaction, as before
        app.extensions["test_seen"].clear()
        sent = _client_messages(app, tmp_path, lambda: client.post("/_t/read"))
        assert sent[0] == '"BEGIN"' and sent[-1] == '"ROLLBACK"', sent
        assert app.extensions["test_seen"]["read"] == {"autocommit": False, "in_transaction": True}
    finally:
        _dispose(app)


def test_the_setting_off_gives_the_transaction_back(tmp_path):
    app = _app(tmp_path, JISHI_DB_READ_AUTOCOMMIT=False)
    try:
        client = app.test_client()
        client.get("/_t/read")
        sent = _client_messages(app, tmp_path, lambda: client.get("/_t/read"))
        assert sent[0] == '"BEGIN"' and sent[-1] == '"ROLLBACK"', sent
    finally:
        _dispose(app)


@pytest.mark.parametrize("method, prefix", [("get", "/_t/"), ("post", "/_t/first/")], ids=["get", "reads_first_post"])
def test_a_request_that_writes_writes_in_one_transaction(tmp_path, method, prefix):
    """The first write ends the autocommit reads (of a GET, or of a POST
    under ``reads_first``: a placement's quote, then its writes): both
    writes are one transaction, rolled back whole when the request then
    fails; a commit keeps them."""
    app = _app(tmp_path)
    try:
        client = app.test_client()
        call = getattr(client, method)
        sent = _client_messages(app, tmp_path, lambda: call(f"{prefix}write_twice_then_fail"))
        assert app.extensions["test_seen"]["write"] == {"autocommit": False, "in_transaction": True}
        # the read in autocommit, then BEGIN, both writes, ROLLBACK (the error
        # page's own reads follow in autocommit again)
        assert "SELECT value" in sent[0] and sent[1] == '"BEGIN"', sent
        assert "UPDATE" in sent[2] and "UPDATE" in sent[3] and sent[4] == '"ROLLBACK"', sent
        assert _value(app) == 0  # neither write kept
        assert call(f"{prefix}write_and_commit").status_code == 200
        assert _value(app) == 3
    finally:
        _dispose(app)


@pytest.mark.parametrize(
    "method, prefix, view", [("get", "/_t/", "lock"), ("get", "/_t/", "fresh"), ("post", "/_t/first/", "lock")]
)
def test_a_locking_read_or_fresh_write_begins_a_transaction(tmp_path, method, prefix, view):
    """``SELECT .. FOR UPDATE`` in a GET (or a ``reads_first`` POST) begins
    a transaction (its lock is held until the request ends), and so does
    ``fresh_write``."""
    app = _app(tmp_path)
    try:
        assert getattr(app.test_client(), method)(f"{prefix}{view}").status_code == 200
        assert app.extensions["test_seen"][view] == {"autocommit": False, "in_transaction": True}
    finally:
        _dispose(app)


def test_a_connection_goes_back_to_the_pool_in_transactions(tmp_path):
    """After a GET read in autocommit, the pool's next user (here a
    thread outside any request, as a job runs) is in a transaction."""
    app = _app(tmp_path)
    try:
        client = app.test_client()
        client.get("/_t/read")
        assert app.extensions["test_seen"]["read"]["autocommit"] is True
        got: dict = {}

        def job():
            with app.app_context(), db.engine.connect() as conn:
                driver = conn.connection.driver_connection
                conn.execute(text("SELECT 1"))
                got["autocommit"] = driver.autocommit
                got["in_transaction"] = driver.pgconn.transaction_status != 0

        worker = threading.Thread(target=job)
        worker.start()
        worker.join(10)
        assert got == {"autocommit": False, "in_transaction": True}
    finally:
        _dispose(app)


def test_a_streamed_read_runs_in_a_transaction(tmp_path):
    """A server-side cursor (``yield_per``: an export) needs a transaction
    on PostgreSQL: it begins one and streams every row."""
    from jishi.models import Setting
    from sqlalchemy import select

    app = _app(tmp_path)
    seen: dict = {}

    def stream():
        rows = db.session.execute(select(Setting.key).execution_options(yield_per=1)).scalars()
        seen["keys"] = list(rows)
        driver = db.session.connection().connection.driver_connection
        seen["autocommit"] = driver.autocommit
        return "ok"

    app.add_url_rule("/_t/stream", view_func=stream)
    try:
        assert app.test_client().get("/_t/stream").status_code == 200
        assert KEY in seen["keys"] and seen["autocommit"] is False
    finally:
        _dispose(app)


def test_a_transaction_at_an_isolation_level_asked_for_stays_one(tmp_path):
    """A GET that asks for REPEATABLE READ (one snapshot for every
    statement) gets its transaction: no autocommit reads."""
    app = _app(tmp_path)
    seen: dict = {}

    def snapshot():
        conn = db.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        conn.execute(text("SELECT 1")).all()
        driver = conn.connection.driver_connection
        seen.update(autocommit=driver.autocommit, in_transaction=driver.pgconn.transaction_status != 0)
        return "ok"

    app.add_url_rule("/_t/snapshot", view_func=snapshot)
    try:
        assert app.test_client().get("/_t/snapshot").status_code == 200
        assert seen == {"autocommit": False, "in_transaction": True}
    finally:
        _dispose(app)
