"""Test support for the kernel and for every plugin (a pytest plugin,
registered through the ``pytest11`` entry point, so third-party plugin
authors get the same fixtures).

Fixtures: ``app`` (built by :func:`make_app`; mark a test
``@pytest.mark.jishi_plugins("multistore")`` or override the ``app_plugins``
/ ``app_config`` fixtures to enable plugins), ``client``, ``runner``,
``factory`` (:mod:`jishi.testing.factories`), ``api`` (an API client helper).

The database is SQLite in the test's temp folder, or PostgreSQL when
``JISHI_TEST_DATABASE_URL`` is set (tables are created once and truncated
after each test).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterable
from typing import Any

from flask import has_app_context
from flask.testing import FlaskClient
from sqlalchemy import event

from jishi.app import create_app


def test_database_url(tmp_path) -> str:
    return os.environ.get("JISHI_TEST_DATABASE_URL") or f"sqlite:///{tmp_path}/test.db"


def is_postgres() -> bool:
    return (os.environ.get("JISHI_TEST_DATABASE_URL") or "").startswith("postgres")


def make_app(
    tmp_path, plugins: str | Iterable[str] = "", config: dict | None = None, extra_plugins=(), theme: str | None = None
):
    """A configured test app with its tables created.

    :param plugins: enabled installed plugins (names or a comma list).
    :param extra_plugins: plugin objects registered directly (``pm.register``).
    """
    if not isinstance(plugins, str):
        plugins = ",".join(plugins)
    cfg = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": test_database_url(tmp_path),
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": False,
        "JISHI_PLUGINS": plugins,
        "RATELIMIT_ENABLED": False,
        "SERVER_NAME": "shop.test",
        "JISHI_SANDBOX_NOTIFY_INLINE": True,
        # the tables come from create_all, not the migrations (jishi.schema)
        "JISHI_SCHEMA_CHECK": False,
    }
    if theme:
        cfg["JISHI_THEME"] = theme
    cfg.update(config or {})
    app = create_app(cfg, plugins=extra_plugins, instance_path=str(tmp_path / "instance"))
    app.test_client_class = ServedClient
    from jishi.db import db

    with app.app_context():
        db.create_all()
    return app


class ServedClient(FlaskClient):
    """Flask's test client, serving each request as a real server does: in a
    fresh app context with its own ``g`` and database session, even while
    the test holds the app's context open (the ``app`` fixture does).
    Statement counts of a request are then what production executes.

    Around each request the test's own session behaves as if it had shared
    the request's: what the test added is committed before, and what it
    loaded is expired after (the next access reads the request's writes).
    """

    def open(self, *args, **kwargs):
        from jishi.db import db

        outer = has_app_context()
        if outer:
            db.session.commit()
        response = contextvars.Context().run(super().open, *args, **kwargs)
        if outer:
            db.session.expire_all()
        return response


_APP_CACHE: dict[tuple, tuple] = {}
APP_CACHE_SIZE = 24


def _plugin_key(obj):
    import types

    if isinstance(obj, (types.ModuleType, type)):
        return ("object", id(obj))
    # An instance (most tests make a new one per test): the same class built
    # with the same attributes makes the same app; the test's own instance is
    # swapped in for the cached one, so the test sees its own calls.
    return ("instance", type(obj).__module__, type(obj).__qualname__, repr(sorted(vars(obj).items(), key=str)))


def _cache_key(plugins, config, extra_plugins) -> tuple | None:
    if not isinstance(plugins, str):
        plugins = ",".join(plugins)
    if (config or {}).get("RATELIMIT_ENABLED"):
        # Flask-Limiter keeps one storage and one on/off switch for every
        # app it was initialised with (the last one wins): an app that
        # counts requests is built for its test alone, as before.
        return None
    try:
        cfg = repr(sorted((config or {}).items()))
        extras = tuple(_plugin_key(p) for p in extra_plugins or ())
    except TypeError:
        return None
    return (plugins, cfg, extras)


def cached_app(tmp_path_factory, plugins: str | Iterable[str] = "", config: dict | None = None, extra_plugins=()):
    """The app :func:`make_app` builds for this configuration, built once per
    test session and reset between tests by :func:`reset_app` (most recently
    used first; at most ``APP_CACHE_SIZE`` kept). Answers None for a
    configuration that cannot be a key."""
    key = _cache_key(plugins, config, extra_plugins)
    if key is None:
        return None
    extra_plugins = list(extra_plugins or ())
    hit = _APP_CACHE.pop(key, None)
    if hit is None:
        app = make_app(tmp_path_factory.mktemp("app"), plugins=plugins, config=config, extra_plugins=extra_plugins)
        app.extensions["jishi_testing"] = {"config": dict(app.config), "extras": extra_plugins}
        hit = (app,)
        while len(_APP_CACHE) >= APP_CACHE_SIZE:
            old_key = next(iter(_APP_CACHE))
            reset_database(_APP_CACHE.pop(old_key)[0])
    else:
        _swap_extra_plugins(hit[0], extra_plugins)
    _APP_CACHE[key] = hit
    _close_other_pools(hit[0])
    from jishi.extensions import limiter

    # The limiter's switch is the last initialised app's: a rate-limited
    # app built since must not leave it on for this one.
    limiter.enabled = bool(hit[0].config.get("RATELIMIT_ENABLED", True))
    return hit[0]


_LAST_APP: list = []


def _close_other_pools(app) -> None:
    """Only the app in use keeps database connections open: the previous
    one's pool is closed when another app is taken (two dozen cached apps
    with a pool each would exhaust PostgreSQL's connections)."""
    from jishi.db import db

    if _LAST_APP and _LAST_APP[0] is not app:
        with _LAST_APP[0].app_context():
            db.engine.dispose()
    _LAST_APP[:] = [app]


def dispose_cached_apps() -> None:
    """Close every cached app's connections (before its database is dropped)."""
    from jishi.db import db

    while _APP_CACHE:
        app = _APP_CACHE.popitem()[1][0]
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _swap_extra_plugins(app, extra_plugins) -> None:
    state = app.extensions["jishi_testing"]
    if all(a is b for a, b in zip(state["extras"], extra_plugins, strict=True)):
        return
    pm = app.extensions["jishi"].pm
    for obj in state["extras"]:
        pm.unregister(plugin=obj)
    for obj in extra_plugins:
        pm.register(obj, name=getattr(obj, "__name__", None) or repr(obj))
    state["extras"] = extra_plugins


def reset_app(app) -> None:
    """Make a cached app as it was built: every table empty (sequences
    restarted) and the config it was built with."""
    state = app.extensions["jishi_testing"]
    app.config.clear()
    app.config.update(state["config"])
    ext = app.extensions["jishi"]
    ext.setting_defaults = None
    ext._payment_gateways = None
    app.extensions.pop("jishi_visit_buffer", None)  # visits the last test left in the buffer (issue 19)
    clear_tables(app)


def clear_tables(app) -> None:
    """Delete every row of every table, ids starting at 1 again.

    One query finds the tables holding rows; only those are emptied (DELETE,
    children first) and, on PostgreSQL, their sequences restarted — much
    cheaper than a TRUNCATE of every table after each test."""
    from jishi.db import db
    from jishi.settings import cache as settings_cache

    settings_cache(app).invalidate()  # the settings rows go too
    with app.app_context():
        db.session.remove()
        engine = db.engine
        tables, sequences = _existing_tables(app, engine)
        if not tables:
            return
        with engine.begin() as conn:
            probe = " UNION ALL ".join(
                f'SELECT {i} FROM (SELECT 1 FROM "{t.name}" LIMIT 1) AS x{i}' for i, t in enumerate(tables)
            )
            used = {row[0] for row in conn.exec_driver_sql(probe)}
            for i in sorted(used, reverse=True):
                conn.exec_driver_sql(f'DELETE FROM "{tables[i].name}"')
            if engine.dialect.name == "postgresql":
                restart = [sequences[tables[i].name] for i in used if tables[i].name in sequences]
                if restart:
                    conn.exec_driver_sql("SELECT " + ", ".join(f"setval('{seq}', 1, false)" for seq in restart))
            elif used:
                if conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").first():
                    conn.exec_driver_sql("DELETE FROM sqlite_sequence")


def _existing_tables(app, engine) -> tuple[list, dict[str, str]]:
    """The metadata's tables that exist in the app's database, parents first,
    and (PostgreSQL) their sequences; looked up once per app and metadata size."""
    from sqlalchemy import inspect as sa_inspect

    from jishi.db import db

    state = app.extensions.setdefault("jishi_testing", {})
    known = state.get("tables")
    if known is None or known[0] != len(db.metadata.tables):
        existing = set(sa_inspect(engine).get_table_names())
        sequences = {}
        if engine.dialect.name == "postgresql":
            with engine.connect() as conn:
                sequences = _sequences(conn)
        known = (len(db.metadata.tables), [t for t in db.metadata.sorted_tables if t.name in existing], sequences)
        state["tables"] = known
    return known[1], known[2]


def _sequences(conn) -> dict[str, str]:
    """table -> the sequence of its serial/identity column (PostgreSQL)."""
    rows = conn.exec_driver_sql(
        "SELECT table_name, pg_get_serial_sequence(quote_ident(table_name), column_name) "
        "FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND (column_default LIKE 'nextval(%%' OR is_identity = 'YES')"
    )
    return {table: seq for table, seq in rows if seq}


def reset_database(app) -> None:
    """Empty every table (PostgreSQL: one TRUNCATE; SQLite: the file goes away)."""
    from jishi.db import db

    with app.app_context():
        db.session.remove()
        if db.engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
            with db.engine.begin() as conn:
                conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
        db.engine.dispose()


def flush_visits(app) -> int:
    """Write the visit buffer now, as tracking's writer thread would after a
    response (:func:`jishi.reports.tracking.flush`: the counters, then the
    ``products_viewed`` hook); the number of events written. The test's own
    transaction ends first (outside a request SQLite starts it as a write:
    it would keep the writer out)."""
    from jishi.db import db
    from jishi.reports import tracking

    if has_app_context():  # (the test's own session)
        db.session.rollback()
    with app.app_context():
        return tracking.flush()


class QueryCounter:
    """Counts SQL statements executed through the app's engine."""

    def __init__(self):
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)

    def duplicates(self) -> list[str]:
        seen, dup = set(), []
        for s in self.statements:
            if s in seen:
                dup.append(s)
            seen.add(s)
        return dup


@contextlib.contextmanager
def count_queries(engine, *, this_thread: bool = False):
    """Count the statements ``engine`` executes in the block.
    ``this_thread``: only the calling thread's (not, say, the visit
    writer's batch flushed meanwhile in its own thread)."""
    import threading

    counter = QueryCounter()
    me = threading.get_ident()

    def before(conn, cursor, statement, parameters, context, executemany):
        if statement.strip().upper().startswith(("BEGIN", "SAVEPOINT", "RELEASE", "PRAGMA")):
            return
        if this_thread and threading.get_ident() != me:
            return
        counter.statements.append(statement + " | " + repr(parameters)[:300])

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", before)


def another_sqlite_writer_after(fn, path: str, first_write: tuple[str, tuple] | None = None):
    """``fn`` wrapped so that right after each call another connection to
    the SQLite database at ``path`` takes the write lock (``BEGIN
    IMMEDIATE``, 0.2 s timeout: ``sqlite3.OperationalError`` "database is
    locked" when the caller still holds it) and commits; after the first
    call it runs ``first_write`` (SQL and its parameters) in that
    transaction. Returns ``(wrapper, results)``: ``results`` collects what
    ``fn`` answered. For a test that monkeypatches a step (a placement's
    quote) to prove it holds no write lock, and that a write committed
    right after it is met by what follows."""
    import sqlite3

    results: list = []

    def wrapper(*args, **kwargs):
        out = fn(*args, **kwargs)
        other = sqlite3.connect(path, timeout=0.2, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            if first_write is not None and not results:
                other.execute(*first_write)
            other.execute("COMMIT")
        finally:
            other.close()
        results.append(out)
        return out

    return wrapper, results


def libpq_messages(pgconn, directory, action) -> list[str]:
    """What the client sends on the psycopg ``pgconn`` while ``action()``
    runs: libpq's trace of the connection (written under ``directory``,
    without timestamps), one line per message from the client (``F``);
    each line is tab-separated: ``F``, its length, the message's kind
    (``Query``, ``Parse``, ``Bind``...) and its content."""
    from pathlib import Path

    from psycopg import pq

    path = Path(directory) / f"libpq-trace-{id(action)}"
    with open(path, "w") as f:
        pgconn.trace(f.fileno())
        pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            action()
        finally:
            pgconn.untrace()
    return [line for line in _trace_messages(path.read_text()) if line.startswith("F\t")]


def _trace_messages(text: str) -> list[str]:
    """The messages of a libpq trace (without timestamps), one a line: a
    statement's own line breaks continue the message they are in."""
    out: list[str] = []
    for line in text.splitlines():
        if line.startswith(("F\t", "B\t")) or not out:
            out.append(line)
        else:
            out[-1] += "\n" + line
    return out


@contextlib.contextmanager
def libpq_trips(engine, directory):
    """What the client sends, in round trips, on every psycopg connection
    ``engine``'s pool hands out in the block (a request's, say): yields a
    list that holds, after the block, one list per round trip, each the
    client's messages (as :func:`libpq_messages` gives them) up to and
    including the one that makes the server answer (``Sync`` of the
    extended protocol, or a simple ``Query``), in the order sent on each
    connection (connections one after the other)."""
    from pathlib import Path

    from psycopg import pq

    files: dict[int, tuple[Any, Any]] = {}

    def checkout(dbapi_connection, _record, _proxy):
        driver = getattr(dbapi_connection, "driver_connection", dbapi_connection)
        if id(driver) not in files:
            f = open(Path(directory) / f"libpq-trips-{id(driver)}", "w+")
            driver.pgconn.trace(f.fileno())
            driver.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
            files[id(driver)] = (driver, f)

    trips: list[list[str]] = []
    event.listen(engine, "checkout", checkout)
    try:
        yield trips
    finally:
        event.remove(engine, "checkout", checkout)
        for driver, f in files.values():
            driver.pgconn.untrace()
            f.seek(0)
            trip: list[str] = []
            for line in _trace_messages(f.read()):
                if not line.startswith("F\t"):
                    continue
                trip.append(line)
                if line.split("\t")[2] in ("Sync", "Query"):
                    trips.append(trip)
                    trip = []
            if trip:
                trips.append(trip)
            f.close()


#: ``app_config`` for tests that open many connections at once (PostgreSQL).
PARALLEL_POOL = {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 25, "max_overflow": 10}}


def parallel_config() -> dict:
    """Config for a concurrency test's ``app_config`` fixture: a pool wide
    enough for every thread on PostgreSQL, nothing to change on SQLite."""
    return dict(PARALLEL_POOL) if is_postgres() else {}


def run_parallel(app, n: int, fn, *, request: dict | None = None, timeout: float = 120):
    """Run ``fn(i)`` for ``i`` in ``range(n)`` in ``n`` threads released at
    once by a barrier, each with its own app context, session and database
    connection (truly concurrent transactions on PostgreSQL; SQLite's BEGIN
    IMMEDIATE serialises the writers, which must stay correct too).

    ``request``: keyword arguments of a ``test_request_context`` to run
    ``fn`` in (e.g. ``{"method": "POST"}``, so that SQLite's writers begin
    immediately as in a real POST). Returns ``(results, errors)``: what each
    call returned (None where it raised) and the exceptions raised.
    """
    import threading

    from jishi.db import db

    # End the caller's transaction: on SQLite it would block the workers.
    db.session.commit()
    barrier = threading.Barrier(n)
    results: list = [None] * n
    errors: list = []

    def worker(i):
        with app.app_context():
            try:
                ctx = app.test_request_context("/", **request) if request is not None else contextlib.nullcontext()
                with ctx:
                    barrier.wait(timeout=30)
                    results[i] = fn(i)
            except Exception as exc:
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    return results, errors


@contextlib.contextmanager
def redis_server():
    """A throwaway ``redis-server`` on a free 127.0.0.1 port (no persistence);
    yields its URL and stops it after. ``RuntimeError`` when redis-server is
    not installed (tests skip on it, the benchmarks stop)."""
    import shutil
    import socket
    import subprocess
    import time

    exe = shutil.which("redis-server")
    if not exe:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import redis

        client = redis.Redis(port=port)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextlib.contextmanager
def redis_server_or_skip():
    """:func:`redis_server` for a test or fixture: yields its URL, and skips
    the test (``pytest.skip``) where redis-server is not installed."""
    import pytest

    stack = contextlib.ExitStack()
    try:
        url = stack.enter_context(redis_server())
    except RuntimeError as exc:
        pytest.skip(str(exc))
    with stack:
        yield url


@contextlib.contextmanager
def http_server(handler):
    """A ``ThreadingHTTPServer`` on a free 127.0.0.1 port serving
    ``handler`` (a ``BaseHTTPRequestHandler`` class) from a daemon thread;
    yields its base URL and shuts it down after. A client that resets its
    connections (wrk, when it stops) is not reported as an error."""
    import threading
    from http.server import ThreadingHTTPServer

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request, client_address) -> None:
            pass

    server = Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
