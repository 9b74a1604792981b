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
import os
from collections.abc import Iterable

from sqlalchemy import event

from jishi.app import create_app


def test_database_url(tmp_path) -> str:
    return os.environ.get("JISHI_TEST_DATABASE_URL") or f"sqlite:///{tmp_path}/test.db"


def is_postgres() -> bool:
    return (os.environ.get("JISHI_TEST_DATABASE_URL") or "").startswith("postgres")


def make_app(tmp_path, plugins: str | Iterable[str] = "", config: dict | None = None, extra_plugins=(), theme: str | None = None):
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
    }
    if theme:
        cfg["JISHI_THEME"] = theme
    cfg.update(config or {})
    app = create_app(cfg, plugins=extra_plugins, instance_path=str(tmp_path / "instance"))
    # The ``app`` fixture keeps one app context pushed, so every test request
    # shares its ``g``: forget what a request caches there (Flask-Login's
    # user, Flask-Babel's locale, the settings cache) before each request, as
    # production's fresh ``g`` per request would.
    app.before_request_funcs.setdefault(None, []).insert(0, _forget_request_user)
    from jishi.db import db

    with app.app_context():
        db.create_all()
    return app


REQUEST_CACHED = ("_login_user", "_flask_babel", "jishi_settings", "jishi_seller_scope")


def _forget_request_user() -> None:
    from flask import g

    for name in REQUEST_CACHED:
        g.pop(name, None)


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
def count_queries(engine):
    counter = QueryCounter()

    def before(conn, cursor, statement, parameters, context, executemany):
        if statement.strip().upper().startswith(("BEGIN", "SAVEPOINT", "RELEASE", "PRAGMA")):
            return
        counter.statements.append(statement + " | " + repr(parameters)[:300])

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", before)


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
            except Exception as exc:  # noqa: BLE001 - returned to the caller
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
    proc = subprocess.Popen([exe, "--port", str(port), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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
