"""Fixtures for the flashsale plugin's tests: every test runs with the
plugin enabled (``app_plugins``; ``@pytest.mark.jishi_plugins("multistore",
"flashsale")`` adds multistore); the per-process sold-out flags are cleared
around each test (ids are reused between tests)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

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


@pytest.fixture
def login(client):
    """``login(user)``: sign ``user`` in on the test client (web pages)."""

    def do(user):
        client.get("/logout")
        resp = client.post("/login", data={"phone": user.phone, "password": "secret123"})
        assert resp.status_code in (302, 303), resp.status_code
        return client

    return do


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def redis_url():
    exe = shutil.which("redis-server")
    if not exe:
        pytest.skip("redis-server is not installed")
    port = _free_port()
    proc = subprocess.Popen([exe, "--port", str(port), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import redis

    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=10)
