"""bench/hotpaths.py --served: the rows it builds and the wrk Lua scripts of
its POSTs (the bearer token, the JSON body, a new Idempotency-Key per
placement, the answers outside 2xx counted), so that a change cannot
silently measure something else. No timing is asserted."""

from __future__ import annotations

import importlib
import json
import re
import shutil
import sys
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from jishi.testing import http_server

BENCH = Path(__file__).resolve().parents[1] / "bench"

INFO = {"token": "tok", "address_id": 7, "merchants": [[11, 12, 13, 14, 15], [21, 22], [31, 32, 33, 34, 35]]}
INFO["product_id"] = 99


@pytest.fixture
def hotpaths(monkeypatch):
    """bench/hotpaths.py imported with bench/ on sys.path for this test only
    (its ``common`` sets JISHI_SCHEMA_CHECK's default: restored after)."""
    monkeypatch.setenv("JISHI_SCHEMA_CHECK", "false")
    monkeypatch.syspath_prepend(str(BENCH))  # sys.path is restored whole afterwards
    yield importlib.import_module("hotpaths")
    for name, module in list(sys.modules.items()):
        if str(getattr(module, "__file__", None) or "").startswith(str(BENCH)):
            del sys.modules[name]


def lua_value(script: str, name: str) -> str:
    """The Lua string literal assigned to ``name`` in ``script``, decoded."""
    (literal,) = re.findall(rf"^{re.escape(name)} = (\".*\")$", script, re.MULTILINE)
    return re.sub(rb"\\(\d{3})", lambda m: bytes([int(m.group(1))]), literal[1:-1].encode()).decode()


def test_served_builds_every_path_of_the_table(hotpaths):
    paths = hotpaths.served_paths(INFO, lambda items: {"g": f"express-{len(items)}"})
    assert tuple(p.key for p in paths) == hotpaths.KEYS
    by_key = {p.key: p for p in paths}
    assert by_key["ping"].against == "ping" and by_key["designed"].server == "designed"
    assert by_key["detail"].path == "/api/v1/products/99"
    for p in paths:
        script = p.script("run-")
        if p.body is None:  # a GET: wrk's own request
            assert script is None and p.key in {"ping", "detail", "page", "home", "designed"}
            continue
        assert lua_value(script, "wrk.method") == "POST"
        assert json.loads(lua_value(script, "wrk.body")) == p.body
        assert lua_value(script, 'wrk.headers["Authorization"]') == "Bearer tok"
        assert lua_value(script, 'wrk.headers["Content-Type"]') == "application/json"
        assert ("Idempotency-Key" in script) == p.key.startswith("place")
    assert by_key["cart"].body == {"sku_id": 35, "quantity": 1}
    five = [{"sku_id": s, "quantity": 1} for s in (12, 13, 21, 22, 31)]
    assert by_key["preview"].body == {"items": five, "address_id": 7, "delivery": {"g": "express-5"}}
    assert by_key["place5"].body == by_key["preview"].body
    assert by_key["place1"].body["items"] == [{"sku_id": 11, "quantity": 1}]


def test_lua_strings_escape_quotes_backslashes_and_non_ascii(hotpaths):
    assert hotpaths.lua_str('a"b\\c\n中') == '"a\\034b\\092c\\010\\228\\184\\173"'


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_place_script_sends_a_new_key_per_request_and_counts_non_2xx(hotpaths):
    """wrk itself runs the script of place against a recording server that
    answers every fifth request with a 302 (which wrk's own count leaves out)."""
    seen: list[tuple] = []
    redirects = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with lock:
                seen.append((self.path, dict(self.headers), body))
                status = 302 if len(seen) % 5 == 0 else 201
                if status == 302:
                    redirects.append(1)
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    with http_server(Handler) as base:
        (place,) = [p for p in hotpaths.served_paths(INFO, lambda items: {}) if p.key == "place1"]
        result = hotpaths.served_run(base, place, "hpTEST-place1-0-", seconds=1, connections=2, threads=2)
    assert seen
    keys = [headers["Idempotency-Key"] for _path, headers, _body in seen]
    assert len(set(keys)) == len(keys)  # every request a new order
    assert {re.fullmatch(r"hpTEST-place1-0-(\d+)-\d+", k).group(1) for k in keys} <= {"1", "2"}  # wrk's 2 threads
    for path, headers, body in seen:
        assert path == "/api/v1/checkout/place"
        assert headers["Authorization"] == "Bearer tok" and json.loads(body) == place.body
    # the 302s wrk read (the last ones may still have been in flight, one per connection)
    assert len(redirects) - 2 <= result["non2xx"] <= len(redirects)


def test_cpu_by_party_counts_a_child_that_ended_between_the_readings(hotpaths):
    """common.cpu_by_party: a child that burns CPU and is reaped between
    two readings (a wrk run) counts in "other", once; this process's own
    CPU is the driver's. What the served table's CPU columns rest on."""
    import subprocess

    common = sys.modules["common"]
    before = common.cpu_by_party()
    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass"
    subprocess.run([sys.executable, "-c", burn], check=True)
    spent = common.cpu_per_request(before, common.cpu_by_party(), 1)
    assert 250 <= spent["other"] < 3000, spent  # ms: the child's 0.3 s (and its interpreter's start)
    assert spent["web"] == 0 and spent["consumers"] == 0


def test_callgrind_counts_only_the_code_between_the_toggles(hotpaths, tmp_path):
    """bench/hotpaths.py --ab --instructions rests on common.callgrind_toggles
    and callgrind_totals: under valgrind, only the code between ``start()``
    and ``stop(name)`` is counted, one total per name (three times the work
    counts about three times the instructions; the interpreter's start and
    the imports are not counted); outside valgrind both do nothing."""
    import subprocess

    if shutil.which("valgrind") is None:  # .ci/run installs it
        pytest.skip("valgrind is not installed")
    common = sys.modules["common"]
    start, stop = common.callgrind_toggles()
    start()
    stop("outside valgrind: nothing")  # (no valgrind: no-ops)
    work = (
        "import sys\nsys.path.insert(0, sys.argv[1])\nfrom common import callgrind_toggles\n"
        "start, stop = callgrind_toggles()\n"
        "for name, n in (('small', 20000), ('big', 60000)):\n"
        "    start()\n    sum(i * i for i in range(n))\n    stop(name)\n"
    )
    out = tmp_path / "cg"
    subprocess.run(
        ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}.%p"]
        + [sys.executable, "-c", work, str(BENCH)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    totals = common.callgrind_totals(f"{out}.")
    assert set(totals) == {"small", "big"}, totals
    assert 2.7 < totals["big"] / totals["small"] < 3.3, totals
    assert totals["small"] < 30_000_000  # the loop's, not the start's (~100 million) nor the imports'
