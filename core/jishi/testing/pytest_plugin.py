"""pytest fixtures for Jishi and its plugins (entry point ``pytest11``)."""

from __future__ import annotations

import pytest

from jishi import testing


def pytest_configure(config):
    _worker_database(config)
    config.addinivalue_line("markers", "jishi_plugins(*names): enable these installed plugins in the app fixture")
    config.addinivalue_line("markers", "postgres: needs PostgreSQL (JISHI_TEST_DATABASE_URL)")
    config.addinivalue_line("markers", "jishi_fresh_app: build an app for this test alone (not the shared one)")


def _worker_database(config) -> None:
    """Under pytest-xdist each worker gets a PostgreSQL database of its own:
    ``<database>_<worker>`` next to ``JISHI_TEST_DATABASE_URL``'s, created
    empty at start and dropped at the end (SQLite needs nothing: every app
    has its own file)."""
    import os

    worker = os.environ.get("PYTEST_XDIST_WORKER")
    url = os.environ.get("JISHI_TEST_DATABASE_URL") or ""
    if not worker or not url.startswith("postgres"):
        return
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{base.database}_{worker}"
    _admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    os.environ["JISHI_TEST_DATABASE_URL"] = base.set(database=name).render_as_string(hide_password=False)
    config._jishi_worker_database = (base, name)


def _admin(base, *statements) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            for sql in statements:
                conn.exec_driver_sql(sql)
    finally:
        engine.dispose()


def pytest_unconfigure(config):
    created = getattr(config, "_jishi_worker_database", None)
    if created is None:
        return
    testing.dispose_cached_apps()
    base, name = created
    _admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def app_plugins(request):
    marker = request.node.get_closest_marker("jishi_plugins")
    return list(marker.args) if marker else []


@pytest.fixture
def app_config():
    return {}


@pytest.fixture
def extra_plugins():
    """Plugin objects registered directly; override in a test module."""
    return []


@pytest.fixture
def app(request, tmp_path, tmp_path_factory, app_plugins, app_config, extra_plugins):
    """The test's app, its context pushed.

    Apps are built once per configuration (enabled plugins, ``app_config``,
    the ``extra_plugins`` objects) and reused: each test starts with empty
    tables and the config the app was built with. Mark a test
    ``@pytest.mark.jishi_fresh_app`` when it needs an app of its own (one it
    changes in ways a reset does not undo: routes, hooks, extensions).
    """
    fresh = request.node.get_closest_marker("jishi_fresh_app") is not None
    cached = None if fresh else testing.cached_app(tmp_path_factory, app_plugins, app_config, extra_plugins)
    app = cached or testing.make_app(tmp_path, plugins=app_plugins, config=app_config, extra_plugins=extra_plugins)
    ctx = app.app_context()
    ctx.push()
    try:
        yield app
    finally:
        from jishi.db import db

        db.session.remove()
        ctx.pop()
        if cached is not None:
            testing.reset_app(app)
        else:
            testing.reset_database(app)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def factory(app):
    from jishi.testing import factories

    return factories


class ApiClient:
    """``api.get("/cart", user=u)``: JSON calls with a bearer token per user."""

    def __init__(self, client):
        self.client = client
        self._tokens = {}

    def headers(self, user=None, extra=None):
        h = {}
        if user is not None:
            if user.id not in self._tokens:
                from jishi.testing import factories

                self._tokens[user.id] = factories.token(user)
            h["Authorization"] = f"Bearer {self._tokens[user.id]}"
        h.update(extra or {})
        return h

    def call(self, method, path, user=None, json=None, headers=None, **kw):
        if not path.startswith("/api/"):
            path = "/api/v1" + path
        return self.client.open(path, method=method, json=json, headers=self.headers(user, headers), **kw)

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, **kw):
        return self.call("POST", path, **kw)

    def put(self, path, **kw):
        return self.call("PUT", path, **kw)

    def patch(self, path, **kw):
        return self.call("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.call("DELETE", path, **kw)


@pytest.fixture
def api(client):
    return ApiClient(client)


@pytest.fixture
def queries(app, monkeypatch):
    """``with queries() as q: ...; q.count``: SQL statements in the block.

    While a test counts, the process's copy of the settings does not age
    (``jishi.settings``' clock stands still): a count never depends on how
    long the test took. The copy is read by the first request that needs
    it after the tables were emptied or a commit changed settings, and
    ``JISHI_SETTINGS_TTL`` 0 still reads it every request."""
    from jishi import settings
    from jishi.db import db

    monkeypatch.setattr(settings, "_clock", lambda: 0.0)
    return lambda: testing.count_queries(db.engine)


# --- The test kit (jishi.testing.principals, flows, authz, i18n) -------------


@pytest.fixture
def login(client):
    """``login(user)``: sign ``user`` in on ``client`` for web pages
    (``None``: sign out); returns the client. ``login(user, form=True)``
    posts the ``/login`` form instead (``password=`` to try another)."""
    from jishi.testing import principals

    def do(user, *, form: bool = False, password: str = principals.PASSWORD):
        if form:
            return principals.sign_in_form(client, user, password)
        return principals.sign_in(client, user)

    return do


@pytest.fixture
def ms(app):
    """Multistore's factories (:mod:`jishi_multistore.testing`: ``merchant``,
    ``admin_of``, ``clerk``, ``product``); skips the test where the
    multistore plugin is not installed."""
    import importlib
    import importlib.util

    if importlib.util.find_spec("jishi_multistore") is None:
        pytest.skip("the multistore plugin is not installed")
    return importlib.import_module("jishi_multistore.testing")


@pytest.fixture(scope="session")
def browser():
    """Debian's headless Chromium through Playwright (sync API), one per
    test process, shared by every browser test (kernel and plugins: two sync
    Playwright instances cannot live in one process). Skipped without
    Chromium, failed under CI (``CI`` set). ``JISHI_CHROMIUM`` names another
    executable."""
    import os
    import shutil
    from pathlib import Path

    from jishi.testing.browser import CHROMIUM

    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (apt-get install chromium)")
        pytest.skip("chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield b
        b.close()
