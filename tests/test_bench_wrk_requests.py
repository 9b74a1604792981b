"""bench/common.py ``wrk_requests`` (the flash-sale benchmark's ``--driver
wrk``): wrk itself sends a list of requests to a recording server that
closes every connection after its answer (as gunicorn's sync workers do).
Every request of the list goes out exactly once, whatever wrk does around
it (its thread's request() called once before the thread starts,
connections asking for more once the list is sent); each answer comes back
with its status, its error ``code`` and whether "Flask" made it (the echoed
``X-Request-Id``). No timing is asserted."""

from __future__ import annotations

import importlib
import json
import shutil
import sys
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from jishi.testing import http_server

BENCH = Path(__file__).resolve().parents[1] / "bench"

pytestmark = pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")


@pytest.fixture
def common(monkeypatch):
    """bench/common.py imported with bench/ on sys.path for this test only."""
    monkeypatch.setenv("JISHI_SCHEMA_CHECK", "false")
    monkeypatch.syspath_prepend(str(BENCH))
    yield importlib.import_module("common")
    for name, module in list(sys.modules.items()):
        if str(getattr(module, "__file__", None) or "").startswith(str(BENCH)):
            del sys.modules[name]


@pytest.fixture
def server():
    """A server answering a POST by its key's number: even 202 through
    "Flask" (a new X-Request-Id), odd 409 ``sold_out`` before it (none);
    a GET (the filler) 200, echoing the X-Request-Id it was sent."""
    seen: list[tuple[str, str, dict, bytes]] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # an answer, then the connection closed

        def _answer(self, status: int, body: bytes, request_id: str | None) -> None:
            self.send_response(status)
            if request_id:
                self.send_header("X-Request-Id", request_id)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            with lock:
                seen.append(("GET", self.path, dict(self.headers), b""))
            self._answer(200, b'{"ok": true}', self.headers.get("X-Request-Id") or "generated")

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with lock:
                seen.append(("POST", self.path, dict(self.headers), body))
            n = int(self.headers["Idempotency-Key"].rsplit("-", 1)[1])
            if n % 2 == 0:
                self._answer(202, b'{"ticket": "t"}', f"req{n}")
            else:
                self._answer(409, b'{"code": "sold_out", "message": "gone"}', None)

        def log_message(self, *args):
            pass

    with http_server(Handler) as base:
        yield base, seen


def test_every_request_goes_out_once_and_every_answer_is_read(common, server):
    base, seen = server
    requests = [
        (
            "POST",
            "/api/v1/flashsale/buy",
            {"Authorization": f"Bearer tok{i % 7}", "Idempotency-Key": f"k-{i}", "Content-Type": "application/json"},
            json.dumps({"sku_id": 3, "quantity": 1, "buyer": i % 7}).encode(),
        )
        for i in range(300)
    ]
    w = common.wrk_requests(base, requests, connections=8, deadline=60)
    posts = [s for s in seen if s[0] == "POST"]
    keys = [headers["Idempotency-Key"] for _m, _p, headers, _b in posts]
    assert sorted(keys) == sorted(f"k-{i}" for i in range(300))  # each exactly once
    for _m, path, headers, body in posts:
        i = int(headers["Idempotency-Key"][2:])
        assert path == "/api/v1/flashsale/buy"
        assert headers["Authorization"] == f"Bearer tok{i % 7}"
        assert json.loads(body) == {"sku_id": 3, "quantity": 1, "buyer": i % 7}
    # the fillers, if any, are the trivial endpoint, marked, and not counted
    assert all(s[1] == "/api/v1/ping" and s[2]["X-Request-Id"] == "wrk-filler" for s in seen if s[0] == "GET")
    assert w["missing"] == 0 and len(w["answers"]) == 300
    kinds = sorted((status, code, flask) for _t, status, code, flask in w["answers"])
    assert kinds == sorted([(202, "", True)] * 150 + [(409, "sold_out", False)] * 150)
    assert all(w["started"] <= t <= w["started"] + w["seconds"] for t, *_ in w["answers"])
    assert w["seconds"] > 0


def test_a_request_never_answered_is_missing_not_waited_for(common):
    """A server that accepts and never answers: the deadline ends the run,
    and the request is reported missing."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        base = f"http://127.0.0.1:{listener.getsockname()[1]}"
        w = common.wrk_requests(base, [("GET", "/x", {}, b"")], connections=1, deadline=1)
    finally:
        listener.close()
    assert w["missing"] == 1 and w["answers"] == []


def test_a_tab_in_a_request_is_refused(common):
    with pytest.raises(ValueError):
        common.wrk_requests("http://127.0.0.1:9", [("POST", "/x", {"A": "b\tc"}, b"")], deadline=1)
