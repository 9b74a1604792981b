"""Issue 20: the work every request pays (jishi.app.JishiFlask, the kernel's
request checks, sessions, request ids, metrics) made cheaper with the same
answers as before."""

from __future__ import annotations

import functools
import os
import uuid

import pytest


def test_ensure_sync_returns_plain_functions_and_still_wraps_coroutines(app):
    def plain():
        return 1

    class Thing:
        def method(self):
            return 2

        async def coro_method(self):
            return 3

    async def coro():
        return 4

    thing = Thing()
    assert app.ensure_sync(plain) is plain
    bound = thing.method
    assert app.ensure_sync(bound) is bound
    partial = functools.partial(plain)
    assert app.ensure_sync(partial) is partial  # Flask's own check: not a coroutine
    for fn in (coro, thing.coro_method, functools.partial(coro)):
        try:
            wrapped = app.ensure_sync(fn)
        except RuntimeError:  # Flask's async_to_sync without asgiref installed: still not passed as-is
            continue
        assert wrapped is not fn and not callable(getattr(wrapped, "__await__", None))


def test_new_request_ids_are_uuid4_hex_distinct_and_not_shared_with_a_fork():
    from jishi import observability

    ids = [observability._new_id() for _ in range(300)]  # several batches
    assert len(set(ids)) == 300
    for rid in ids:
        parsed = uuid.UUID(hex=rid)
        assert (parsed.version, parsed.variant, parsed.hex) == (4, uuid.RFC_4122, rid)
    observability._new_id()
    assert observability._ids  # ids left over in this process
    if not hasattr(os, "fork"):
        pytest.skip("no fork")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.write(write, observability._new_id().encode() if not observability._ids else b"shared")
        os._exit(0)
    os.waitpid(pid, 0)
    child_id = os.read(read, 64).decode()
    os.close(read)
    os.close(write)
    assert child_id != "shared" and child_id not in observability._ids and len(child_id) == 32


def test_a_request_without_cookies_gets_vary_cookie_and_no_session_cookie(app, client):
    resp = client.get("/api/v1/ping")
    assert resp.status_code == 200 and resp.get_json() == {"ok": True}
    assert resp.headers["Vary"] == "Cookie"  # the session was looked at (Flask-Login), as before
    assert "Set-Cookie" not in resp.headers
    assert len(resp.headers["X-Request-Id"]) == 32
    given = client.get("/api/v1/ping", headers={"X-Request-Id": "abc-123"})
    assert given.headers["X-Request-Id"] == "abc-123"


def test_a_view_writing_the_session_still_sets_the_cookie(app, client, monkeypatch):
    from flask import session

    def write():
        session["k"] = "v"
        return {"ok": True}

    monkeypatch.setitem(app.view_functions, "misc.ping", write)
    resp = client.get("/api/v1/ping")
    assert resp.status_code == 200
    assert "session=" in resp.headers.get("Set-Cookie", "")
    assert "Cookie" in resp.headers["Vary"]


def test_nul_in_an_argument_name_and_escaped_percent_text(api, client):
    resp = api.get("/products?a%00b=1")
    assert resp.status_code == 422 and resp.get_json()["code"] == "invalid"
    # "%2500" is the text "%00", not a NUL: answered as usual
    assert api.get("/products?q=%2500").status_code == 200
    assert client.get("/search?q=%00x").status_code == 422


def test_request_metrics_count_each_request_once(app, client):
    from prometheus_client import REGISTRY

    def count():
        labels = {"method": "GET", "route": "misc.ping", "status": "200"}
        return REGISTRY.get_sample_value("jishi_http_requests_total", labels) or 0

    before = count()
    for _ in range(3):
        client.get("/api/v1/ping")
    assert count() == before + 3
    labels = {"method": "OTHER", "route": "<unmatched>", "status": "405"}
    other = REGISTRY.get_sample_value("jishi_http_requests_total", labels) or 0
    for _ in range(2):  # an unusual method: counted as OTHER, never a new series per word
        client.open("/api/v1/ping", method="BREW")
    assert REGISTRY.get_sample_value("jishi_http_requests_total", labels) == other + 2
