"""Fixtures for the flashsale plugin's tests: every test runs with the
plugin enabled (``app_plugins``; ``@pytest.mark.jishi_plugins("multistore",
"flashsale")`` adds multistore); the per-process sold-out flags are cleared
around each test (ids are reused between tests)."""

from __future__ import annotations

import pytest


@pytest.fixture
def app_plugins(request):
    marker = request.node.get_closest_marker("jishi_plugins")
    return list(marker.args) if marker else ["flashsale"]


@pytest.fixture(autouse=True)
def _clear_flags():
    from jishi_flashsale import gate

    gate.clear_all()
    yield
    gate.clear_all()


@pytest.fixture(scope="module")
def redis_url():
    """A real redis-server for this module's tests (skipped without one)."""
    from jishi.testing import redis_server_or_skip

    with redis_server_or_skip() as url:
        yield url
