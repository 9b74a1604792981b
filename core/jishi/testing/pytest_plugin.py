"""pytest fixtures for Jishi and its plugins (entry point ``pytest11``)."""

from __future__ import annotations

import pytest

from jishi import testing


def pytest_configure(config):
    config.addinivalue_line("markers", "jishi_plugins(*names): enable these installed plugins in the app fixture")
    config.addinivalue_line("markers", "postgres: needs PostgreSQL (JISHI_TEST_DATABASE_URL)")


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
def app(tmp_path, app_plugins, app_config, extra_plugins):
    app = testing.make_app(tmp_path, plugins=app_plugins, config=app_config, extra_plugins=extra_plugins)
    ctx = app.app_context()
    ctx.push()
    try:
        yield app
    finally:
        from jishi.db import db

        db.session.remove()
        ctx.pop()
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
def queries(app):
    """``with queries() as q: ...; q.count``: SQL statements in the block."""
    from jishi.db import db

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
