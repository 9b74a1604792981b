"""Shared benchmark machinery: databases, seeding, servers, load.

Servers run under gunicorn (sync workers) on 127.0.0.1; load comes from a
separate process (``wrk``, installed from Debian when missing). Query counts
are measured in-process with a cursor listener: they are exact.
"""

from __future__ import annotations

import io
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
# Bench databases are made by create_all, not the migrations: their apps (and
# the gunicorn servers, which inherit this) skip the schema check (jishi.schema).
os.environ.setdefault("JISHI_SCHEMA_CHECK", "false")
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def ensure_wrk() -> str:
    path = shutil.which("wrk")
    if path:
        return path
    subprocess.run(
        ["apt-get", "install", "-y", "wrk"], check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    path = shutil.which("wrk")
    if not path:
        sys.exit("wrk is needed (apt-get install wrk)")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url(kind: str, name: str) -> str:
    """A fresh database of ``kind`` (sqlite or postgres) called ``name``
    (prefixed with ``$JISHI_BENCH_DB_PREFIX``: engineers sharing a machine
    and its PostgreSQL server keep their runs apart)."""
    name = os.environ.get("JISHI_BENCH_DB_PREFIX", "") + name
    if kind == "sqlite":
        d = Path(tempfile.gettempdir()) / "jishi-bench"
        d.mkdir(exist_ok=True)
        path = d / f"{name}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return f"sqlite:///{path}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def seed_catalog(url: str, n_products: int) -> None:
    """Create the schema and ``n_products`` on-shelf products with one SKU each,
    generated inside the database (recursive CTE / generate_series)."""
    from jishi.app import create_app
    from jishi.db import db

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "JISHI_SANDBOX_SECRET": "bench"},
        instance_path=tempfile.mkdtemp(),
    )
    with app.app_context():
        db.create_all()
        engine = db.engine
    pg = url.startswith("postgres")
    series = (
        f"SELECT generate_series(1, {n_products}) AS x"
        if pg
        else f"WITH RECURSIVE cnt(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM cnt WHERE x < {n_products}) SELECT x FROM cnt"
    )
    now = "now()" if pg else "CURRENT_TIMESTAMP"
    true = "true" if pg else "1"
    false = "false" if pg else "0"
    with engine.begin() as conn:
        for i in range(1, 11):
            conn.execute(
                text("INSERT INTO categories (id, name, sort, path, image) VALUES (:i, :n, 0, :p, '')"),
                {"i": i, "n": f"分类{i}", "p": f"/{i}/"},
            )
        conn.execute(
            text(f"""
            INSERT INTO products (id, seller_id, category_id, name, subtitle, description, image, price, original_price,
                                  sales, on_shelf, is_virtual, search_text, extra, created_at, updated_at)
            SELECT x, NULL, (x % 10) + 1, '商品 ' || x, '', '', '', 100 + (x * 37) % 100000, NULL,
                   (x * 13) % 5000, {true}, {false}, 'product ' || x, '{{}}', {now}, {now}
            FROM ({series}) AS s
        """)
        )
        conn.execute(
            text(f"""
            INSERT INTO skus (id, product_id, code, spec_values, price, original_price, member_price, stock, weight_grams, is_active)
            SELECT id, id, '', '{{}}', price, NULL, NULL, 1000000, 100, {true} FROM products
        """)
        )
        if pg:
            for table in ("categories", "products", "skus"):
                conn.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
                )
            conn.execute(text("ANALYZE"))
    engine.dispose()


def analyze(url: str) -> None:
    """ANALYZE the PostgreSQL database at ``url``, as autovacuum does in a
    running shop (nothing on SQLite, which has no such daemon).

    :func:`seed_catalog` ANALYZEs right after seeding, while the orders
    tables are still empty, and this machine's PostgreSQL runs with
    ``autovacuum = off``: for the whole run the statistics would say those
    tables hold nothing. The plans PostgreSQL then caches for the prepared
    statements (after a few executions) and for the foreign-key checks
    scan them whole: on every placement, ever slower as the run fills them
    (the commission ``INSERT .. SELECT`` of a placement went 0.8 → 3.6 ms
    of the server's time within 5 s; served place 5 lines 0.07 of the bare
    endpoint, 0.13 with this). A shop in production does not run so (its
    tables were never analyzed empty, or autovacuum analyzes them as they
    grow). ANALYZE invalidates those plans; their next execution plans
    again with the tables' real sizes. Called outside the timed windows:
    after the warm-up, which places orders, and before each round."""
    if not url.startswith("postgresql"):
        return
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()


@contextmanager
def gunicorn(wsgi: str, env: dict, workers: int = 2, threads: int = 1):
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        wsgi,
        "-b",
        f"127.0.0.1:{port}",
        "-w",
        str(workers),
        "-k",
        "sync",
        "--log-level",
        "warning",
        "--chdir",
        str(ROOT),
    ]
    if threads > 1:
        cmd += ["--threads", str(threads)]
    # a PYTHONPATH given to the benchmark (an export of another commit) comes first
    path = ":".join(p for p in (os.environ.get("PYTHONPATH"), f"{ROOT / 'bench'}:{ROOT / 'core'}") if p)
    full_env = {**os.environ, **env, "PYTHONPATH": path}
    proc = subprocess.Popen(cmd, env=full_env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/api/v1/ping", timeout=1).read()
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(f"gunicorn exited ({proc.returncode})") from None
                time.sleep(0.1)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


_LAT = re.compile(r"^\s+(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s)\b", re.MULTILINE)


def wrk(
    url: str,
    *,
    seconds: int = 5,
    connections: int = 8,
    threads: int = 2,
    script: str | None = None,
    headers: dict | None = None,
    timeout: int | None = None,
) -> dict:
    """Run wrk against ``url`` (``timeout``: seconds before wrk gives a
    request up, 2 by default); returns rps, requests (completed), p50_ms,
    p99_ms, non2xx (wrk's count: answers ≥ 400), socket errors and wrk's
    ``stdout`` (what a ``script``'s ``done`` printed)."""
    cmd = [ensure_wrk(), f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    for k, v in (headers or {}).items():
        cmd += ["-H", f"{k}: {v}"]
    if script:
        cmd += ["-s", script]
    if timeout:
        cmd += ["--timeout", f"{timeout}s"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {}
    for pct, value, unit in _LAT.findall(out):
        lat[pct] = float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock = re.search(r"Socket errors: (.*)", out)
    done = re.search(r"(\d+) requests in", out)
    return {
        "rps": rps,
        "requests": int(done.group(1)) if done else 0,
        "p50_ms": lat.get("50"),
        "p99_ms": lat.get("99"),
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": sock.group(1) if sock else "",
        "stdout": out,
    }


def wrk_post_script(path: str, body: dict, headers: dict) -> str:
    """A wrk Lua script that POSTs JSON ``body`` (``{i}`` in idempotency keys
    replaced by the script's run id, wrk's thread and a per-thread counter,
    so every request is new)."""
    lines = [
        'wrk.method = "POST"',
        f"wrk.body = [[{json.dumps(body)}]]",
        'wrk.headers["Content-Type"] = "application/json"',
    ]
    for k, v in headers.items():
        if "{i}" in v:
            continue
        lines.append(f'wrk.headers["{k}"] = "{v}"')
    dyn = {k: v for k, v in headers.items() if "{i}" in v}
    if dyn:
        # wrk's threads numbered in setup() and this script's own run id: an
        # unseeded math.random gave every thread of every run the same number
        # (later requests were idempotent replays, not new orders)
        run = f"{os.getpid():x}{time.time_ns():x}"
        lines.append("local threads = 0")
        lines.append('function setup(thread) threads = threads + 1; thread:set("tid", threads) end')
        lines.append("local counter = 0")
        lines.append("request = function()")
        lines.append("  counter = counter + 1")
        for k, v in dyn.items():
            prefix = v.replace("{i}", "")
            lines.append(f'  wrk.headers["{k}"] = "{prefix}{run}-" .. tid .. "-" .. counter')
        lines.append(f'  return wrk.format(nil, "{path}")')
        lines.append("end")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write("\n".join(lines) + "\n")
    return f.name


#: wrk's Lua for :func:`wrk_requests`: its one thread sends each request
#: of the list once, records each answer (the time by CLOCK_MONOTONIC,
#: Python's perf_counter; the status; an error's ``code``; whether Flask
#: made it) and, when every one is answered, writes them to a file and
#: stops. A connection that asks for a request after the list is sent gets
#: a filler (the trivial endpoint, marked by its ``X-Request-Id``, which the
#: kernel echoes; its answer is not counted).
_WRK_REQUESTS_LUA = r"""
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } jishi_bench_ts;
int clock_gettime(int clk, jishi_bench_ts *tp);
]]
local ts = ffi.new("jishi_bench_ts")
local function now()
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

local reqs, sent, answered, first, out, filler = {}, 0, 0, 0, "", ""
local recs = {}
-- wrk calls the thread's request() once before the thread starts, to
-- count the requests it returns (script_verify_request): that call gets
-- the filler, not a request of the list
local verifying = true

function init(args)
  out = args[2]
  filler = wrk.format("GET", args[3], {["X-Request-Id"] = "wrk-filler"})
  for line in io.lines(args[1]) do
    local m, p, h, b = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    local headers = {}
    for k, v in h:gmatch("([^\031\030]+)\031([^\030]*)") do
      headers[k] = v
    end
    if b == "" then b = nil end
    reqs[#reqs + 1] = wrk.format(m, p, headers, b)
  end
end

function request()
  if verifying then
    verifying = false
    return filler
  end
  if sent < #reqs then
    sent = sent + 1
    if sent == 1 then first = now() end
    return reqs[sent]
  end
  return filler
end

function response(status, headers, body)
  local rid = headers["X-Request-Id"] or headers["x-request-id"]
  if rid == "wrk-filler" then return end
  answered = answered + 1
  local code = ""
  if status >= 400 then code = body:match('"code"%s*:%s*"([^"]*)"') or "" end
  recs[answered] = string.format("%.6f\t%d\t%s\t%d", now(), status, code, rid and 1 or 0)
  if answered == #reqs then
    local f = io.open(out .. ".tmp", "w")
    f:write(string.format("%.6f\n", first))
    f:write(table.concat(recs, "\n"))
    f:write("\n")
    f:close()
    os.rename(out .. ".tmp", out)
    wrk.thread:stop()
  end
end
"""


def wrk_requests(
    base: str,
    requests: list[tuple[str, str, dict, bytes]],
    *,
    connections: int = 32,
    filler: str = "/api/v1/ping",
    deadline: float | None = None,
) -> dict:
    """Send each of ``requests`` (method, path, headers, body) once with wrk,
    ``connections`` at once, and return ``{"started", "seconds", "answers",
    "missing", "p50_ms", "p99_ms", "socket_errors"}``: the answers as
    ``(when it came, status, error code, through Flask)`` in no particular
    order, ``when`` on :func:`time.perf_counter`'s clock; ``seconds`` from
    the first request sent to the last answer. The driver of the burst with
    the least CPU of its own: the requests are formatted before the clock
    starts, and wrk's C and LuaJIT do per request what a Python driver's
    thread does in ~0.3 ms (bench/README.md, "The burst's driver").
    ``missing``: requests with no answer when ``deadline`` (seconds; by
    default 60 + 10 ms a request) passed, or when wrk ended without them
    (its socket errors).

    One wrk thread: a thread that stops while another still sends leaves
    connections open that a sync worker has accepted and waits on until
    its timeout (it is killed then). One thread drives far more than this
    machine's server answers."""
    work = Path(tempfile.mkdtemp(prefix="jishi-wrk-"))
    done = work / "answers"
    try:
        with open(work / "requests.tsv", "w") as f:
            for method, path, headers, body in requests:
                fields = "\x1e".join(f"{k}\x1f{v}" for k, v in headers.items())
                text = body.decode()
                if any(c in text + fields.replace("\x1e", "").replace("\x1f", "") for c in "\t\n\x1e\x1f"):
                    raise ValueError("a request's body and headers must have no tab, newline or \\x1e, \\x1f")
                f.write(f"{method}\t{path}\t{fields}\t{text}\n")
        (work / "burst.lua").write_text(_WRK_REQUESTS_LUA)
        cmd = [ensure_wrk(), "-t1", f"-c{connections}", "-d3600s", "--latency", "--timeout", "120s"]
        cmd += ["-s", str(work / "burst.lua"), base + filler, "--", str(work / "requests.tsv"), str(done), filler]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        limit = time.monotonic() + (deadline if deadline is not None else 60 + 0.01 * len(requests))
        while requests and not done.exists() and proc.poll() is None and time.monotonic() < limit:
            time.sleep(0.02)
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        out = proc.communicate(timeout=30)[0]
        answers: list[tuple[float, int, str, bool]] = []
        started = 0.0
        if done.exists():
            first, *lines = done.read_text().splitlines()
            started = float(first)
            for line in lines:
                t, status, code, flask = line.split("\t")
                answers.append((float(t), int(status), code, flask == "1"))
        lat = {pct: float(v) * {"us": 0.001, "ms": 1, "s": 1000}[u] for pct, v, u in _LAT.findall(out)}
        sock = re.search(r"Socket errors: (.*)", out)
        return {
            "started": started,
            "seconds": max((a[0] for a in answers), default=started) - started,
            "answers": answers,
            "missing": len(requests) - len(answers),
            "p50_ms": lat.get("50"),
            "p99_ms": lat.get("99"),
            "socket_errors": sock.group(1) if sock else "",
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def cpu_by_party() -> dict[str, float]:
    """CPU seconds (user + system, from /proc) so far of this process (the
    driver) and of its descendants by what they are: ``web`` (gunicorn),
    ``consumers`` (``jishi flashsale work``), ``redis`` (redis-server),
    ``other`` (wrk, and every child this process has reaped: a wrk run
    that has ended), and ``postgres``: every PostgreSQL process of the
    machine (not descendants; the bench's database is the only one in use).
    Differences over a run give each party's CPU per request (a child
    counted live before and reaped after counts once: its "other" moves
    from /proc to the reaped children's total)."""
    me = os.getpid()
    parents: dict[int, int] = {}
    stats: dict[int, tuple[float, str]] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            head, tail = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = tail.split()
        parents[int(entry)] = int(fields[1])
        stats[int(entry)] = ((int(fields[11]) + int(fields[12])) / tick, cmd)
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = {
        "driver": time.process_time(),
        "web": 0.0,
        "consumers": 0.0,
        "redis": 0.0,
        "other": reaped.ru_utime + reaped.ru_stime,
        "postgres": 0.0,
    }
    for pid, (seconds, cmd) in stats.items():
        if cmd.startswith("postgres"):
            out["postgres"] += seconds
            continue
        up, seen = parents.get(pid), 0
        while up not in (None, 0, 1, me) and seen < 50:
            up, seen = parents.get(up), seen + 1
        if up != me or pid == me:
            continue
        party = (
            "web"
            if "gunicorn" in cmd
            else "consumers"
            if "flashsale work" in cmd
            else "redis"
            if "redis-server" in cmd
            else "other"
        )
        out[party] += seconds
    return out


def cpu_per_request(before: dict[str, float], after: dict[str, float], requests: int) -> dict[str, float]:
    """Milliseconds of CPU per request of each party of :func:`cpu_by_party`."""
    return {k: (after[k] - before[k]) / requests * 1000 for k in after}


def fmt(result: dict) -> str:
    return f"{result['rps']:9.1f} req/s  p50 {result['p50_ms']:7.2f} ms  p99 {result['p99_ms']:7.2f} ms" + (
        f"  non-2xx {result['non2xx']}" if result["non2xx"] else ""
    )


def wsgi_environ(path: str, query: str = "", headers: dict | None = None, method: str = "GET", body=None) -> dict:
    """A WSGI environ for calling an app in-process (no server); ``body``, when
    given, is sent as JSON."""
    data = json.dumps(body).encode() if body is not None else b""
    env = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(data),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_USER_AGENT": "bench",
    }
    if body is not None:
        env["CONTENT_TYPE"] = "application/json"
        env["CONTENT_LENGTH"] = str(len(data))
    for k, v in (headers or {}).items():
        env["HTTP_" + k.upper().replace("-", "_")] = v
    return env


def wsgi_call(app, path: str, query: str = "", headers: dict | None = None, method: str = "GET", body=None) -> bytes:
    """One request through the WSGI ``app`` called directly, as a server calls
    it (so in a fresh app context); asserts a 2xx answer, returns the body."""
    status = []
    out = app(wsgi_environ(path, query, headers, method, body), lambda s, h, exc=None: status.append(s))
    try:
        data = b"".join(out)
    finally:
        if hasattr(out, "close"):
            out.close()
    assert status[0][:1] == "2", (method, path, status, data[:300])
    return data


def callgrind_toggles():
    """``(start, stop)``: callgrind's client requests (``bench/callgrind_toggle.c``,
    compiled here with the C compiler into a temporary folder and loaded by
    ctypes): ``start()`` zeroes the counts and instruments from here,
    ``stop(name)`` stops and dumps the counts since ``start`` (a file of
    its own, ``name`` in its ``desc``). Both do nothing outside valgrind.
    Needs ``cc`` and valgrind's headers (Debian's ``valgrind``)."""
    import ctypes

    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None or not Path("/usr/include/valgrind/callgrind.h").exists():
        raise SystemExit("instructions per request need valgrind (apt-get install valgrind) and a C compiler")
    src = Path(__file__).with_name("callgrind_toggle.c")
    lib = Path(tempfile.gettempdir()) / f"jishi-callgrind-toggle-{os.getuid()}-{int(src.stat().st_mtime)}.so"
    if not lib.exists():
        tmp = lib.with_suffix(f".{os.getpid()}.so")
        subprocess.run([cc, "-O2", "-shared", "-fPIC", "-o", str(tmp), str(src)], check=True)
        tmp.replace(lib)
    dll = ctypes.CDLL(str(lib))
    dll.jishi_callgrind_stop.argtypes = [ctypes.c_char_p]
    return dll.jishi_callgrind_start, lambda name: dll.jishi_callgrind_stop(name.encode())


def callgrind_totals(prefix: str) -> dict[str, int]:
    """The instructions (``Ir``) of each dump callgrind wrote to files
    starting with ``prefix`` (``--callgrind-out-file``), by the name given
    to :func:`callgrind_toggles`' ``stop``."""
    out = {}
    for f in sorted(Path(prefix).parent.glob(Path(prefix).name + "*")):
        name = total = None
        for line in f.read_text(errors="replace").splitlines():
            if line.startswith("desc: Trigger: Client Request: "):
                name = line.split("Client Request: ", 1)[1].strip()
            elif line.startswith(("summary:", "totals:")):
                total = int(line.split()[1])
        if name is not None and total is not None:
            out[name] = total
    return out
