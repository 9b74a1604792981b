"""Issue 15 items 7 and 8: the database engine as a deployment runs it.

- Pooled connections the database dropped are replaced, not answered with
  a 500 (pre-ping on by default); pool and statement timeout from ``JISHI_DB_*``.
- ``jishi db upgrade`` under a lock: two at once both succeed.
- An app whose schema is behind its code answers 503 with the fix, and
  ``jishi`` commands other than ``db`` say so.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from jishi import migrations, schema
from jishi.app import create_app
from jishi.cli import make_cli
from jishi.db import db
from jishi.testing import is_postgres, libpq_messages
from jishi.testing.deploy import jishi_env, jishi_executable, run_jishi, scratch_database, wait_until
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

needs_postgres = pytest.mark.skipif(not is_postgres(), reason="needs PostgreSQL (JISHI_TEST_DATABASE_URL)")
HEAD_BEFORE_JOBS = "k0003"  # the kernel's revision before k0004 (job_schedule)


def _kernel_head() -> str:
    """The kernel's newest migration (what "the code needs" names)."""
    from pathlib import Path

    import jishi
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(Path(jishi.__file__).parent / "migrations")).get_current_head() or ""


KERNEL_HEAD = _kernel_head()


def _app(url: str, tmp_path: Path, **config):
    cfg = {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x", "JISHI_PLUGINS": "", **config}
    return create_app(cfg, instance_path=str(tmp_path / "instance"))


def _dispose(app) -> None:
    with app.app_context():
        db.engine.dispose()


# -- engine settings ----------------------------------------------------------


def test_engine_settings_come_from_the_environment(tmp_path, monkeypatch):
    """Issue 15 (configuration): pool size, overflow, recycle, pre-ping from
    JISHI_DB_* environment variables; pre-ping is on by default for a
    server database and explicit SQLALCHEMY_ENGINE_OPTIONS win."""
    url = "postgresql://u@127.0.0.1:1/none"  # never connected to
    app = _app(url, tmp_path)
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is True
    monkeypatch.setenv("JISHI_DB_POOL_SIZE", "7")
    monkeypatch.setenv("JISHI_DB_MAX_OVERFLOW", "3")
    monkeypatch.setenv("JISHI_DB_POOL_RECYCLE", "1800")
    monkeypatch.setenv("JISHI_DB_PRE_PING", "false")
    monkeypatch.setenv("JISHI_DB_STATEMENT_TIMEOUT_MS", "5000")
    app = _app(url, tmp_path)
    opts = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert opts["pool_size"] == 7 and opts["max_overflow"] == 3 and opts["pool_recycle"] == 1800
    assert "pool_pre_ping" not in opts
    assert opts["connect_args"]["options"] == "-c statement_timeout=5000"
    with app.app_context():
        assert db.engine.pool.size() == 7
    app = _app(url, tmp_path, SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 2})
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_size"] == 2
    # SQLite: no ping (a local file never drops a connection), no statement timeout
    app = _app(f"sqlite:///{tmp_path}/x.db", tmp_path)
    opts = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert "pool_pre_ping" not in opts and "options" not in opts.get("connect_args", {})


@needs_postgres
def test_statement_timeout_cancels_a_long_statement(tmp_path, monkeypatch):
    """Issue 15 (configuration): JISHI_DB_STATEMENT_TIMEOUT_MS reaches
    PostgreSQL: a statement running longer is cancelled."""
    import os

    monkeypatch.setenv("JISHI_DB_STATEMENT_TIMEOUT_MS", "200")
    app = _app(os.environ["JISHI_TEST_DATABASE_URL"], tmp_path)
    try:
        with app.app_context(), db.engine.connect() as conn:
            assert conn.execute(text("SHOW statement_timeout")).scalar() == "200ms"
            with pytest.raises(OperationalError, match="statement timeout"):
                conn.execute(text("SELECT pg_sleep(2)"))
    finally:
        _dispose(app)


@needs_postgres
def test_random_page_cost_prices_an_index_probe_as_a_cached_page(tmp_path, monkeypatch):
    """Issue 20: Jishi's PostgreSQL sessions plan with random_page_cost 1.1
    (JISHI_DB_RANDOM_PAGE_COST), so a few rows looked up by key in a
    table of a thousand are index probes, not a scan of the table (what
    the server's default of 4, a disk's seek, chose for the checkout's
    sku read: 0.45 ms of the server's time against 0.09). "" leaves the
    server's own."""
    import os

    url = os.environ["JISHI_TEST_DATABASE_URL"]
    query = (
        "EXPLAIN SELECT l.id, p.name FROM hp_lines l JOIN hp_products p ON p.id = l.product_id"
        " WHERE l.id IN (3, 50, 700, 901, 999)"
    )

    def plan(app) -> tuple[str, str]:
        """(random_page_cost after a rollback, the query's plan)."""
        with app.app_context(), db.engine.connect() as conn:
            conn.execute(text("CREATE TEMP TABLE hp_products (id int PRIMARY KEY, name text, description text)"))
            conn.execute(text("CREATE TEMP TABLE hp_lines (id int PRIMARY KEY, product_id int)"))
            conn.execute(
                text(
                    "INSERT INTO hp_products SELECT i, 'product ' || i, repeat('x', 40) FROM generate_series(1, 1000) i"
                )
            )
            conn.execute(text("INSERT INTO hp_lines SELECT i, 1001 - i FROM generate_series(1, 1000) i"))
            conn.execute(text("ANALYZE hp_products"))
            conn.execute(text("ANALYZE hp_lines"))
            tree = "\n".join(r[0] for r in conn.execute(text(query)))
            conn.rollback()  # (a SET made inside the connection's first transaction would end here)
            return conn.execute(text("SHOW random_page_cost")).scalar(), tree

    app = _app(url, tmp_path)
    # a SET as the connection opens, not a startup option (PgBouncer refuses those)
    assert "options" not in app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("connect_args", {})
    try:
        cost, tree = plan(app)
        assert cost == "1.1"
        assert "Seq Scan on hp_products" not in tree and "Index Scan using hp_products_pkey" in tree, tree
    finally:
        _dispose(app)
    for bad in ("-1", "nan", "fast"):  # PostgreSQL would refuse every connection: refused as the app starts
        monkeypatch.setenv("JISHI_DB_RANDOM_PAGE_COST", bad)
        with pytest.raises(ValueError, match="JISHI_DB_RANDOM_PAGE_COST"):
            _app(url, tmp_path)
    monkeypatch.setenv("JISHI_DB_RANDOM_PAGE_COST", "")
    app = _app(url, tmp_path)
    server = create_engine(url)
    try:
        with server.connect() as conn:
            assert plan(app)[0] == conn.execute(text("SHOW random_page_cost")).scalar()
    finally:
        server.dispose()
        _dispose(app)


def _terminate_other_backends(app) -> int:
    """What a failover does to the app: every connection of its database
    but the admin's own is killed (pg_terminate_backend)."""
    with app.app_context():
        url = db.engine.url
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            return len(
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ).all()
            )
    finally:
        admin.dispose()


def _over_unix_socket(url: str) -> str:
    """``url`` (PostgreSQL over TCP) as a URL of the same database over the
    server's Unix socket (docs/deployment.md, "PostgreSQL on the same
    host"), checked to connect there; skips the test when the server has no
    socket this machine can reach (a server in another container or host)
    or refuses this user on it (peer authentication)."""
    import os

    from sqlalchemy.engine import URL, make_url

    admin = create_engine(url)
    try:
        with admin.connect() as conn:
            dirs = conn.execute(text("SHOW unix_socket_directories")).scalar() or ""
            port = conn.execute(text("SHOW port")).scalar()
    finally:
        admin.dispose()
    found = next(
        (d for d in (d.strip() for d in dirs.split(",")) if d and os.path.exists(f"{d}/.s.PGSQL.{port}")), None
    )
    if found is None:
        pytest.skip(f"PostgreSQL's Unix socket ({dirs or 'none'}) is not on this machine")
    u = make_url(url)
    socket_url = URL.create(
        u.drivername, u.username, u.password, None, int(port), u.database, {**u.query, "host": found}
    ).render_as_string(False)
    engine = create_engine(socket_url)
    try:
        with engine.connect() as conn:  # (no server address: not TCP)
            assert conn.execute(text("SELECT inet_server_addr()")).scalar() is None
    except OperationalError as e:
        pytest.skip(f"PostgreSQL's Unix socket refuses this connection: {e.orig}")
    finally:
        engine.dispose()
    return socket_url


@pytest.fixture(params=["tcp", "unix"])
def pg_url(request) -> str:
    """The test database's URL over TCP, as given, and over the server's
    Unix socket."""
    import os

    url = os.environ["JISHI_TEST_DATABASE_URL"]
    return url if request.param == "tcp" else _over_unix_socket(url)


def _liveness_app(tmp_path, url: str | None = None):
    """An app on the test database (``url``: another way to it) with one
    pooled connection and the look at the socket on
    (JISHI_DB_PING_IDLE_SECONDS 30, the default, said here so that these
    tests do not depend on it)."""
    import os

    return _app(
        url or os.environ["JISHI_TEST_DATABASE_URL"],
        tmp_path,
        JISHI_SCHEMA_CHECK=False,
        JISHI_DB_POOL_SIZE=1,
        JISHI_DB_PING_IDLE_SECONDS=30,
    )


def _warm_pool(app, n: int = 3) -> None:
    with app.app_context():
        conns = [db.engine.connect() for _ in range(n)]
        for conn in conns:
            conn.execute(text("SELECT 1"))
        for conn in conns:
            conn.close()


@needs_postgres
@pytest.mark.jishi_fresh_app
def test_requests_succeed_after_the_database_drops_every_connection(app, factory):
    """Issue 15.7 (fault: drop database connections): after
    pg_terminate_backend of all the app's pooled connections the next
    requests all succeed (pre-ping replaces the dead connections)."""
    factory.product(name="断线后")
    db.session.commit()
    db.session.close()
    client = app.test_client()
    assert client.get("/api/v1/products").status_code == 200
    _warm_pool(app)
    assert _terminate_other_backends(app) >= 3
    for _ in range(5):
        response = client.get("/api/v1/products")
        assert response.status_code == 200
        assert "断线后" in response.get_data(as_text=True)


@needs_postgres
def test_without_pre_ping_a_dropped_connection_fails_a_request(tmp_path):
    """Issue 15.7: the fault is real: with JISHI_DB_PRE_PING off the first
    request on a killed pooled connection fails (what pre-ping prevents)."""
    import os

    app = _app(os.environ["JISHI_TEST_DATABASE_URL"], tmp_path, JISHI_DB_PRE_PING=False, JISHI_SCHEMA_CHECK=False)
    try:
        with app.app_context():
            db.create_all()
        _warm_pool(app, 1)
        _terminate_other_backends(app)
        with app.app_context(), pytest.raises(OperationalError):
            with db.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
    finally:
        _dispose(app)


def _pooled_pgconn(app):
    """The one pooled connection of ``app`` (used once, back in the pool)."""
    with app.app_context(), db.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
        return conn.connection.dbapi_connection.pgconn


def _checkout(app) -> int:
    with app.app_context(), db.engine.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar()


@needs_postgres
def test_pre_ping_of_a_recently_used_connection_costs_no_round_trip(tmp_path, pg_url):
    """Issue 20: the pre-ping of a connection used less than
    JISHI_DB_PING_IDLE_SECONDS ago looks at its socket and sends the
    server nothing (JISHI_DB_PING_IDLE_SECONDS 30, the default); with the
    setting at 0 it is SQLAlchemy's round trip (a ";" query) again. Over
    TCP and over the Unix socket."""
    url = pg_url
    app = _app(
        url,
        tmp_path,
        JISHI_SCHEMA_CHECK=False,
        JISHI_DB_POOL_SIZE=1,
        JISHI_DB_MAX_OVERFLOW=0,
        JISHI_DB_PING_IDLE_SECONDS=30,
    )
    try:
        pgconn = _pooled_pgconn(app)
        sent = libpq_messages(pgconn, tmp_path, lambda: _checkout(app))
        # the request's own statements only: no ";" before them
        assert [line.split("\t", 3)[-1] for line in sent] == [' "BEGIN"', ' "SELECT pg_backend_pid()"', ' "ROLLBACK"']
    finally:
        _dispose(app)
    app = _app(url, tmp_path, JISHI_SCHEMA_CHECK=False, JISHI_DB_POOL_SIZE=1, JISHI_DB_PING_IDLE_SECONDS=0)
    try:
        pgconn = _pooled_pgconn(app)
        sent = libpq_messages(pgconn, tmp_path, lambda: _checkout(app))
        assert sent and sent[0].split("\t", 3)[-1] == ' ";"', sent
    finally:
        _dispose(app)


@needs_postgres
def test_a_long_idle_connection_is_still_pinged_with_a_round_trip(tmp_path, monkeypatch):
    """Issue 20: a connection idle JISHI_DB_PING_IDLE_SECONDS or longer is
    asked with a round trip (one a firewall dropped silently has nothing to
    read); one used within it is not."""

    import jishi.db

    app = _liveness_app(tmp_path)
    try:
        clock = [1000.0]
        monkeypatch.setattr(jishi.db, "monotonic", lambda: clock[0])
        pgconn = _pooled_pgconn(app)  # back in the pool at 1000
        clock[0] += 29
        assert not any('";"' in line for line in libpq_messages(pgconn, tmp_path, lambda: _checkout(app)))
        clock[0] += 30  # back at 1029, idle 30 s now
        sent = libpq_messages(pgconn, tmp_path, lambda: _checkout(app))
        assert sum('";"' in line for line in sent) == 1, sent
    finally:
        _dispose(app)


@needs_postgres
def test_a_dropped_connection_is_replaced_without_a_round_trip(tmp_path, pg_url):
    """Issue 20: a pooled connection whose backend is gone (its FATAL
    message and EOF wait in the socket) is replaced at checkout, nothing
    sent on it, and the new connection serves. Over TCP and over the Unix
    socket."""

    app = _liveness_app(tmp_path, pg_url)
    try:
        pgconn = _pooled_pgconn(app)
        old_pid = pgconn.backend_pid
        _terminate_other_backends(app)
        with app.app_context():
            url = db.engine.url
        admin = create_engine(url)
        try:

            def gone():
                with admin.connect() as conn:
                    return not conn.execute(text("SELECT 1 FROM pg_stat_activity WHERE pid = :p"), {"p": old_pid}).all()

            wait_until(gone, 30, 0.02, "the killed backend to exit")
        finally:
            admin.dispose()
        new_pids = []
        sent = libpq_messages(pgconn, tmp_path, lambda: new_pids.append(_checkout(app)))
        assert [line.split("\t", 3)[-1] for line in sent] == ["Terminate"]  # (closing it) and nothing else
        assert new_pids and new_pids[0] != old_pid
    finally:
        _dispose(app)


@needs_postgres
@pytest.mark.parametrize("retry", [True, False])
def test_a_read_on_a_connection_dropped_unseen_is_served_again(tmp_path, monkeypatch, retry):
    """Issue 20: a connection killed an instant before its checkout may look
    alive (the backend has not written its goodbye yet; here: the look at
    the socket is made to see nothing): the GET's statement fails with a
    disconnect and the request is served again on a new connection, 200;
    without that second try it is the 503 of a connection dropped
    mid-request, never a 500."""
    import os

    import jishi.db

    app = _app(
        os.environ["JISHI_TEST_DATABASE_URL"],
        tmp_path,
        JISHI_SCHEMA_CHECK=False,
        TESTING=True,
        JISHI_DB_PING_IDLE_SECONDS=30,
    )
    try:
        with app.app_context():
            db.create_all()
        client = app.test_client()
        assert client.get("/api/v1/products").status_code == 200
        _warm_pool(app)
        _terminate_other_backends(app)
        monkeypatch.setattr(jishi.db, "_nothing_to_read", lambda fd: True)
        if not retry:
            monkeypatch.setattr(jishi.db, "retry_read_after_unverified_drop", lambda exc: False)
        response = client.get("/api/v1/products")
        assert response.status_code == (200 if retry else 503)
        assert client.get("/api/v1/products").status_code == 200
    finally:
        _dispose(app)


# -- migrations under a lock -------------------------------------------------------


def _hold_migration_lock(url: str):
    """Take the lock ``jishi db upgrade`` takes; returns a release function."""
    if url.startswith("postgres"):
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        conn = engine.connect()
        conn.execute(text(f"SELECT pg_advisory_lock({migrations.ADVISORY_LOCK_KEY})"))

        def release():
            conn.execute(text(f"SELECT pg_advisory_unlock({migrations.ADVISORY_LOCK_KEY})"))
            conn.close()
            engine.dispose()

        return release
    import fcntl

    handle = open(url.removeprefix("sqlite:///") + ".migrate-lock", "a+")
    fcntl.flock(handle, fcntl.LOCK_EX)

    def release_file():
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()

    return release_file


@pytest.mark.slow
def test_two_upgrades_at_once_both_succeed(tmp_path):
    """Issue 15.8 (fault: two ``jishi db upgrade`` at once): both wait for
    the migration lock, one migrates, the other finds nothing to do, both
    exit 0 (on PostgreSQL: an advisory lock; SQLite: a file lock)."""
    with scratch_database(tmp_path) as url:
        env = jishi_env(url, JISHI_PLUGINS="")
        release = _hold_migration_lock(url)
        procs = []
        try:
            for _ in range(2):
                procs.append(
                    subprocess.Popen(
                        [jishi_executable(), "db", "upgrade"],
                        env=env,
                        cwd=tmp_path,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT,
                        text=True,
                    )
                )
            time.sleep(3)  # both have started and wait for the lock
            assert [p.poll() for p in procs] == [None, None]
        finally:
            release()
        outputs = []
        for p in procs:
            out, _err = p.communicate(timeout=120)
            outputs.append(out)
            assert p.returncode == 0, out
        assert sum("jishi: empty ->" in out for out in outputs) == 1, outputs
        assert all("Database is up to date." in out for out in outputs)
        again = run_jishi(["db", "upgrade"], env, cwd=tmp_path)
        assert again.returncode == 0 and "empty" not in again.stdout


# -- schema behind the code ------------------------------------------------------


@pytest.fixture
def behind_app(tmp_path, monkeypatch):
    """An app (kernel only) on a database one kernel migration behind."""
    monkeypatch.setattr(schema, "RECHECK_SECONDS", 0.0)
    with scratch_database(tmp_path) as url:
        app = _app(url, tmp_path)
        migrations.upgrade(app, target=HEAD_BEFORE_JOBS)
        try:
            yield app
        finally:
            _dispose(app)


def test_an_app_behind_its_schema_answers_503_until_upgraded(behind_app):
    """Issue 15.8: while a migration of the code is missing from the
    database every request answers 503 naming it and the fix (pages as a
    page, the API as JSON); after ``jishi db upgrade`` the same instance
    serves."""
    client = behind_app.test_client()
    page = client.get("/")
    assert page.status_code == 503 and page.mimetype == "text/html"
    body = page.get_data(as_text=True)
    assert f"jishi: the database is at {HEAD_BEFORE_JOBS}, the code needs {KERNEL_HEAD}" in body
    assert "jishi db upgrade" in body
    api = client.get("/api/v1/products")
    assert api.status_code == 503 and api.json["code"] == "schema_behind"
    assert "jishi db upgrade" in api.json["message"] and api.headers["Retry-After"]
    migrations.upgrade(behind_app)
    assert client.get("/api/v1/products").status_code == 200
    assert client.get("/").status_code == 200


def test_cli_commands_refuse_while_the_schema_is_behind(behind_app):
    """Issue 15.8: ``jishi`` commands that use the database refuse with the
    same message; ``db`` and the listings work; ``run`` warns."""
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(make_cli(), list(args), obj=ScriptInfo(create_app=lambda: behind_app))

    for args in (("worker", "--once"), ("users", "create-admin", "--phone", "13900000001", "--password", "pw123456")):
        result = invoke(*args)
        assert result.exit_code == 1, result.output
        assert "schema is behind" in result.output and "jishi db upgrade" in result.output
    assert invoke("plugins", "list").exit_code == 0
    assert invoke("worker", "--help").exit_code == 0
    assert invoke("db", "upgrade").exit_code == 0
    result = invoke("worker", "--once")
    assert result.exit_code == 0, result.output


def test_an_enabled_plugin_without_its_tables_is_behind(tmp_path, monkeypatch):
    """Issue 15.8: any history's head counts: a plugin enabled after the
    last upgrade (its tables never created) makes the app answer 503 naming
    the plugin; a database ahead of the code (a newer release migrated it)
    is served."""
    monkeypatch.setattr(schema, "RECHECK_SECONDS", 0.0)
    with scratch_database(tmp_path) as url:
        migrations.upgrade(kernel := _app(url, tmp_path))
        _dispose(kernel)
        app = _app(url, tmp_path, JISHI_PLUGINS="hello")
        try:
            assert schema.behind(app) == ["hello: the database is at no schema, the code needs 672972051b55"]
            assert app.test_client().get("/hello/").status_code == 503
            migrations.upgrade(app)
            assert schema.behind(app) == []
            with app.app_context(), db.engine.begin() as conn:
                conn.execute(text("UPDATE alembic_version_jishi SET version_num = 'k9999newer'"))
            assert schema.behind(app) == []
        finally:
            _dispose(app)


def test_the_check_can_be_turned_off(tmp_path):
    """Issue 15.8: JISHI_SCHEMA_CHECK = False serves whatever the schema
    (the test fixtures' create_all databases)."""
    with scratch_database(tmp_path) as url:
        app = _app(url, tmp_path, JISHI_SCHEMA_CHECK=False)
        try:
            assert app.test_client().get("/api/v1/ping").status_code == 200
        finally:
            _dispose(app)


def test_the_worker_process_refuses_a_database_behind(tmp_path):
    """Issue 15.8: a real ``jishi worker`` on a database behind exits 1 with the message."""
    with scratch_database(tmp_path) as url:
        env = jishi_env(url, JISHI_PLUGINS="")
        app = _app(url, tmp_path)
        migrations.upgrade(app, target=HEAD_BEFORE_JOBS)
        _dispose(app)
        result = run_jishi(["worker", "--once"], env, cwd=tmp_path)
        assert result.returncode == 1
        assert f"the code needs {KERNEL_HEAD}" in result.stderr and "jishi db upgrade" in result.stderr
        wait_until(lambda: run_jishi(["db", "upgrade"], env, cwd=tmp_path).returncode == 0, 60, what="upgrade")
        assert run_jishi(["worker", "--once"], env, cwd=tmp_path).returncode == 0


def test_a_database_error_mid_request_is_a_503_not_a_500(app, client, monkeypatch):
    """Issue 15 (database failover; "a 500 is a bug"): a connection dropped
    mid-request (psycopg's OperationalError, as SQLAlchemy raises it) is
    answered 503 with Retry-After — JSON on the API, a page on the web —
    the transaction rolled back; the next request is served."""
    from jishi.catalog import service as catalog
    from sqlalchemy.exc import OperationalError

    def dropped(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(catalog, "list_products", dropped)
    r = client.get("/api/v1/products")
    assert r.status_code == 503 and r.headers["Retry-After"] == "2"
    assert r.is_json and r.json["code"]
    page = client.get("/")
    assert page.status_code == 503 and page.headers["Retry-After"] == "2"
    assert "text/html" in page.content_type
    monkeypatch.undo()
    assert client.get("/api/v1/products").status_code == 200
