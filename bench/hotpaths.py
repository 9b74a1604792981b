"""Buyer hot paths (issue 20), every first-party plugin enabled: exact SQL
statements per real request, requests per second and the ratio to the bare
Flask + SQLAlchemy endpoint (``bench/baseline_app.py``) measured in the same
run, against the issue's targets.

    python bench/hotpaths.py                         # SQLite
    python bench/hotpaths.py --db postgres --rounds 5 --requests 200
    python bench/hotpaths.py --only detail,page      # some paths
    python bench/hotpaths.py --only ping --requests 1000 --rounds 5   # the pipeline floor
    python bench/hotpaths.py --profile detail        # cProfile of one path
    python bench/hotpaths.py --served --db both --rounds 3 --seconds 3   # gunicorn + wrk, every path
    python bench/hotpaths.py --served --only place1,place5 --workers 2 --connections 8
    python bench/hotpaths.py --ab /tmp/base --db postgres --only place5   # CPU per request: this code vs another

In-process: each request calls the WSGI app directly (no server, no load
generator), as a server does, so in a fresh app context; the figure is the
Python and database work of one request, counted by default in CPU time
of the process (``--clock cpu``: requests per CPU-second, every thread
included; ``--clock wall`` for wall time, meaningful on a quiet machine
only; SQLite's work is in-process, PostgreSQL's server is not, so on
PostgreSQL the CPU ratio leaves the database's own time out of both sides).
Rounds alternate: every path's
batch of ``--requests`` is timed right after a batch of the bare endpoint,
and the ratio is the median of those paired ratios (a shared machine's
bursts hit both sides of a pair alike).

Served (``--served``): every path of the table as throughput under
gunicorn (``--workers`` sync workers per server: the bare app, ours, and
ours on the designed database) and wrk (``--threads``, ``--connections``),
each path's ``--seconds`` run right after a run of the bare endpoint,
``--rounds`` times, ratio = median of the paired ratios; HTTP and the
server's work (and, on PostgreSQL, the database server's) count on both
sides, as in the issue's original figures. The POSTs go through wrk Lua
scripts (:func:`lua_post`: the bearer token, the JSON body, a count of the
answers outside 2xx; for place a new ``Idempotency-Key`` per request, so
every request places a new order, checked in the database). Each run's
CPU per request by party (gunicorn's workers, PostgreSQL's processes, wrk;
``common.cpu_by_party``) is printed under the table, ours and the bare
endpoint's: where a path's time goes, and that the ratio is one of CPU.

A/B (``--ab DIR``): the CPU per request of each path (in-process, the
process's CPU time; on PostgreSQL without its server's) of this checkout's
code and of the code in ``DIR`` (another checkout or a ``git archive`` of
one: its ``core`` and ``plugins`` first on the path), measured by two
processes AT THE SAME TIME, each pinned to its own core, the cores swapped
every round (an even number of rounds; the ratio is the geometric mean of
the rounds' ratios: one of this machine's two cores ran the same code a
quarter slower than the other), each on its own databases. A neighbour's burst or the
machine's clock then falls on both sides alike: run one after the other,
the same code's CPU per placement moved by a third between runs here,
more than most changes are worth (issue 20, twelfth sitting).

The ``ping`` row is the fixed work of every request: our ``/api/v1/ping``
paired with the bare app's ``/api/v1/ping`` (not its 20-row query).

The table ``PATHS`` holds one row per path: a label, a function making the
request, the statement budget and the ratio target. The data: a 1,000
product catalog, three merchants (multistore) with five products each, a
buyer with a token and an address; the designed home page lives in a second
database (bench/designer.py's ten blocks) so that the plain home page keeps
the theme's own.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import analyze, database_url, seed_catalog, wsgi_call  # noqa: E402


def _config() -> dict:
    from jishi.cli.docs import FIRST_PARTY_PLUGINS  # every plugin of plugins/ (not the examples)

    return {
        "SECRET_KEY": "bench",
        "JISHI_SANDBOX_SECRET": "bench",
        "RATELIMIT_ENABLED": False,
        "JISHI_PLUGINS": ",".join(FIRST_PARTY_PLUGINS),
    }


@dataclass
class HotPath:
    key: str
    label: str
    request: Callable[[], bytes]
    budget: int | None  # statements per request (None: no fixed number)
    budget_text: str
    ratio: float  # target: rps / bare rps
    #: the bare endpoint it is paired with: "products" (the 20-row query) or
    #: "ping" (the bare app's ping: the per-request floor of the pipeline)
    against: str = "products"


def make_app(url: str):
    from jishi.app import create_app

    return create_app({**_config(), "SQLALCHEMY_DATABASE_URI": url}, instance_path=tempfile.mkdtemp())


def seed(url: str) -> dict:
    """The catalog, the merchants and the buyer; returns their ids."""
    from jishi.db import db
    from jishi.testing import factories as f
    from jishi_multistore import testing as ms

    seed_catalog(url, 1000)
    app = make_app(url)
    with app.app_context():
        db.create_all()  # the plugins' tables
        from jishi_delivery_express.testing import piece_template

        piece_template()  # the platform's default freight template
        # as a worker's periodic jobs do: publish when promotions may run (issue 20)
        hook = app.extensions["jishi"].hook
        for job in (j for r in hook.periodic_jobs() for j in (r or []) if j.name.endswith("_windows")):
            job.func()
        buyer = f.user(phone="13900000000")
        info = {"token": f.token(buyer), "address_id": f.address(buyer).id, "merchants": []}
        for i in range(3):
            m = ms.merchant(f"店{i}")
            info["merchants"].append([ms.product(m, price=1000 + j, stock=10**7).skus[0].id for j in range(5)])
        from jishi.models import Sku

        info["product_id"] = db.session.get(Sku, info["merchants"][0][0]).product_id  # a merchant's product
    return info


def seed_designed(url: str) -> None:
    """A database whose home page is the designer's published ten blocks."""
    from designer import seed as designer_seed

    app = make_app(url)
    designer_seed(app)


def delivery_choice(app, auth: dict, items: list, address_id: int) -> dict:
    """The first available delivery option of each group (from a preview)."""
    body = {"items": items, "address_id": address_id}
    preview = json.loads(wsgi_call(app, "/api/v1/checkout/preview", "", auth, "POST", body))
    return {g["key"]: next(o["code"] for o in g["delivery_options"] if o["available"]) for g in preview["groups"]}


def build_paths(app, designed_app, info: dict) -> list[HotPath]:
    auth = {"Authorization": f"Bearer {info['token']}"}
    keys = itertools.count()
    m = info["merchants"]
    one = [{"sku_id": m[0][0], "quantity": 1}]
    five = [{"sku_id": s, "quantity": 1} for s in (m[0][1], m[0][2], m[1][0], m[1][1], m[2][0])]
    addr = info["address_id"]
    pid = info["product_id"]

    def delivery(items) -> dict:
        return delivery_choice(app, auth, items, addr)

    preview_body = {"items": five, "address_id": addr, "delivery": delivery(five)}

    def place(items):
        body = {"items": items, "address_id": addr, "delivery": delivery(items)}

        def run():
            key = f"hp-{os.getpid()}-{next(keys)}"
            return wsgi_call(app, "/api/v1/checkout/place", "", {**auth, "Idempotency-Key": key}, "POST", body)

        return run

    return [
        HotPath(
            "ping",
            "ping (pipeline floor, ÷ bare ping)",
            lambda: wsgi_call(app, "/api/v1/ping"),
            0,
            "0",
            0.6,
            against="ping",
        ),
        HotPath(
            "detail",
            "product detail (API)",
            lambda: wsgi_call(app, f"/api/v1/products/{pid}", "", auth),
            4,
            "≤ 4",
            0.5,
        ),
        HotPath("page", "product page (HTML)", lambda: wsgi_call(app, f"/product/{pid}"), 6, "≤ 6, no dup", 0.35),
        HotPath("home", "home page (HTML)", lambda: wsgi_call(app, "/"), None, "bounded", 0.35),
        HotPath("designed", "home page (designed)", lambda: wsgi_call(designed_app, "/"), None, "bounded", 0.35),
        HotPath(
            "cart",
            "add to cart",
            lambda: wsgi_call(app, "/api/v1/cart/items", "", auth, "POST", {"sku_id": m[2][4], "quantity": 1}),
            5,
            "≤ 5",
            0.3,
        ),
        HotPath(
            "preview",
            "checkout preview (5 lines, 3 merchants)",
            lambda: wsgi_call(app, "/api/v1/checkout/preview", "", auth, "POST", preview_body),
            None,
            "≤ 6 + plugins",
            0.25,
        ),
        HotPath("place1", "checkout place (1 line)", place(one), 12 + 1, "≤ 12 + 1", 0.2),
        HotPath("place5", "checkout place (5 lines, 3 merchants)", place(five), 12 + 5, "≤ 12 + 5", 0.2),
    ]


def count(app, fn, show: str | None = None) -> tuple[int, int]:
    """(statements, duplicated statements) of one request; ``show``: a
    label, to print the statements under it (``--statements``)."""
    from jishi.db import db
    from jishi.testing import count_queries

    with app.app_context():
        engine = db.engine
    fn()  # right before: what the process caches is fresh (the settings' copy ages, JISHI_SETTINGS_TTL)
    with count_queries(engine, this_thread=True) as q:  # not the visit writer's flush
        fn()
    if show:
        print(f"-- {show}: {q.count} statements")
        for i, statement in enumerate(q.statements, 1):
            print(f"{i:3d}. {' '.join(statement.split())[:400]}")
    return q.count, len(q.duplicates())


#: the clock of :func:`rate`: process CPU time (every thread of the process,
#: the visit writer's too) by default, as bench/reports.py: on a shared
#: machine wall time mostly measures the wait for a core.
CLOCK = {"cpu": time.process_time, "wall": time.perf_counter}
clock = CLOCK["cpu"]


def rate(fn, n: int) -> float:
    """Requests per second of ``clock`` over ``n`` calls of ``fn``."""
    start = clock()
    for _ in range(n):
        fn()
    return n / max(clock() - start, 1e-9)


def run(
    kind: str,
    requests: int,
    rounds: int,
    only: set[str] | None,
    profile: str | None,
    statements: bool = False,
    analyzing: bool = True,
) -> list[dict]:
    url = database_url(kind, "jishi_hotpaths")
    designed_url = database_url(kind, "jishi_hotpaths_designed")
    print(f"\n== {kind}: seeding...", flush=True)
    info = seed(url)
    seed_designed(designed_url)
    os.environ["JISHI_DATABASE_URL"] = url
    from baseline_app import app as bare_app

    app, designed_app = make_app(url), make_app(designed_url)
    paths = [p for p in build_paths(app, designed_app, info) if not only or p.key in only]

    bares = {
        "products": lambda: wsgi_call(bare_app, "/products"),
        "ping": lambda: wsgi_call(bare_app, "/api/v1/ping"),
    }

    for p in paths:
        rate(p.request, 20)  # warm: templates compiled, statements cached
    for bare in bares.values():
        rate(bare, 20)
    if analyzing:  # after the warm-up's placements (common.analyze)
        analyze(url)
        analyze(designed_url)
    counts = {
        p.key: count(designed_app if p.key == "designed" else app, p.request, p.label if statements else None)
        for p in paths
    }
    if statements:
        return []
    if profile:
        import cProfile
        import pstats

        (p,) = [p for p in paths if p.key == profile]
        prof = cProfile.Profile()
        prof.enable()
        rate(p.request, requests)
        prof.disable()
        if os.environ.get("HP_PROFILE_DUMP"):
            prof.dump_stats(os.environ["HP_PROFILE_DUMP"])
        pstats.Stats(prof).sort_stats("cumulative").print_stats(int(os.environ.get("HP_PROFILE_LINES", "60")))
        pstats.Stats(prof).sort_stats("tottime").print_stats(30)
        return []
    rates: dict[str, list[float]] = {p.key: [] for p in paths}
    ratios: dict[str, list[float]] = {p.key: [] for p in paths}
    bare_rates: dict[str, list[float]] = {k: [] for k in bares}
    for _ in range(rounds):
        if analyzing:  # what autovacuum would have done by now (common.analyze)
            analyze(url)
            analyze(designed_url)
        for p in paths:
            b = rate(bares[p.against], requests)
            o = rate(p.request, requests)
            bare_rates[p.against].append(b)
            rates[p.key].append(o)
            ratios[p.key].append(o / b)
    print(
        f"-- {kind}, every first-party plugin, in-process, {requests} requests × {rounds} rounds, "
        f"{'per CPU-second of the process' if clock is time.process_time else 'wall clock'} "
        f"(median; ratio = median of paired path ÷ bare)"
    )
    if bare_rates["products"]:
        print(f"   bare Flask+SQLAlchemy (20-row query)   {statistics.median(bare_rates['products']):8.0f} req/s")
    if bare_rates["ping"]:
        print(f"   bare Flask ping                        {statistics.median(bare_rates['ping']):8.0f} req/s")
    print(
        f"   {'path':40s} {'stmts':>5s} {'dup':>3s} {'budget':>14s} {'req/s':>8s} {'ratio':>6s} {'target':>6s}  result"
    )
    out = []
    for p in paths:
        n, dup = counts[p.key]
        ratio = statistics.median(ratios[p.key])
        ok_stmts = p.budget is None or (n <= p.budget and (p.key != "page" or dup == 0))
        ok = ok_stmts and ratio >= p.ratio
        print(
            f"   {p.label:40s} {n:5d} {dup:3d} {p.budget_text:>14s} {statistics.median(rates[p.key]):8.0f}"
            f" {ratio:6.3f} {'≥ ' + str(p.ratio):>6s}  {'PASS' if ok else 'MISS'}",
            flush=True,
        )
        out.append({"path": p.key, "statements": n, "duplicates": dup, "ratio": ratio, "pass": ok})
    return out


#: every path key of the table, in its order (``--only``; ``--served`` measures each)
KEYS = ("ping", "detail", "page", "home", "designed", "cart", "preview", "place1", "place5")


@dataclass
class ServedPath:
    """One row of ``--served``: the request wrk repeats against a gunicorn
    server, each run paired with a run of the bare endpoint."""

    key: str
    label: str
    server: str  # "app" (the seeded database) or "designed" (the designer's database, its own gunicorn)
    path: str
    target: float  # rps / bare rps
    against: str = "products"  # the bare app's 20-row query, or "ping": its /api/v1/ping
    headers: dict | None = None
    body: dict | None = None  # a POST's JSON body: sent by a wrk Lua script (:func:`lua_post`)
    idempotent: bool = False  # a new Idempotency-Key per request: every request places a new order

    def script(self, keys: str) -> str | None:
        """The wrk Lua script of a POST (None for a GET); ``keys``: this
        wrk run's own prefix of the Idempotency-Keys."""
        if self.body is None:
            return None
        return lua_post(self.body, self.headers or {}, keys if self.idempotent else None)


def served_paths(info: dict, delivery: Callable[[list], dict]) -> list[ServedPath]:
    """The rows of ``--served``, every key of :data:`KEYS`, the same
    requests as :func:`build_paths`' (``delivery(items)``: the delivery
    choice a preview offers, sent back as a client does)."""
    auth = {"Authorization": f"Bearer {info['token']}"}
    m = info["merchants"]
    one = [{"sku_id": m[0][0], "quantity": 1}]
    five = [{"sku_id": s, "quantity": 1} for s in (m[0][1], m[0][2], m[1][0], m[1][1], m[2][0])]
    pid = info["product_id"]

    def checkout(items: list) -> dict:
        return {"items": items, "address_id": info["address_id"], "delivery": delivery(items)}

    return [
        ServedPath("ping", "ping (pipeline floor, ÷ bare ping)", "app", "/api/v1/ping", 0.6, against="ping"),
        ServedPath("detail", "product detail (API)", "app", f"/api/v1/products/{pid}", 0.5, headers=auth),
        ServedPath("page", "product page (HTML)", "app", f"/product/{pid}", 0.35),
        ServedPath("home", "home page (HTML)", "app", "/", 0.35),
        ServedPath("designed", "home page (designed)", "designed", "/", 0.35),
        ServedPath(
            "cart",
            "add to cart",
            "app",
            "/api/v1/cart/items",
            0.3,
            headers=auth,
            body={"sku_id": m[2][4], "quantity": 1},
        ),
        ServedPath(
            "preview",
            "checkout preview (5 lines, 3 merchants)",
            "app",
            "/api/v1/checkout/preview",
            0.25,
            headers=auth,
            body=checkout(five),
        ),
        ServedPath(
            "place1",
            "checkout place (1 line)",
            "app",
            "/api/v1/checkout/place",
            0.2,
            headers=auth,
            body=checkout(one),
            idempotent=True,
        ),
        ServedPath(
            "place5",
            "checkout place (5 lines, 3 merchants)",
            "app",
            "/api/v1/checkout/place",
            0.2,
            headers=auth,
            body=checkout(five),
            idempotent=True,
        ),
    ]


def lua_str(text: str) -> str:
    """``text`` as a Lua string literal (quote, backslash and every byte
    outside printable ASCII escaped as ``\\ddd``)."""
    return '"' + "".join(chr(b) if 32 <= b < 127 and b not in b'"\\' else f"\\{b:03d}" for b in text.encode()) + '"'


#: what the script's ``done`` prints: the answers outside 200–299
NON_2XX = re.compile(r"^non-2xx: (\d+)$", re.MULTILINE)


def lua_post(body: dict, headers: dict, keys: str | None = None) -> str:
    """A wrk Lua script POSTing ``body`` as JSON with ``headers`` to the URL
    wrk is given and counting every answer outside 200–299 (``done``
    prints ``non-2xx: N``; wrk's own count leaves the 3xx out). ``keys``:
    each request gets ``Idempotency-Key: <keys><thread>-<n>`` (wrk's
    threads numbered in ``setup``, a counter in each thread), so every
    request of the run is new as long as ``keys`` is the run's own."""
    lines = [
        "-- bench/hotpaths.py --served",
        'wrk.method = "POST"',
        f"wrk.body = {lua_str(json.dumps(body))}",
        'wrk.headers["Content-Type"] = "application/json"',
        *(f"wrk.headers[{lua_str(k)}] = {lua_str(v)}" for k, v in headers.items()),
        "local threads = {}",
        "function setup(thread)",
        "  table.insert(threads, thread)",
        '  thread:set("tid", #threads)',
        "end",
        "bad = 0",
        "function response(status, headers, body)",
        "  if status < 200 or status > 299 then bad = bad + 1 end",
        "end",
        "function done(summary, latency, requests)",
        "  local n = 0",
        '  for _, thread in ipairs(threads) do n = n + thread:get("bad") end',
        '  io.write(string.format("non-2xx: %d\\n", n))',
        "end",
    ]
    if keys is not None:
        lines += [
            "local n = 0",
            "function request()",
            "  n = n + 1",
            f'  wrk.headers["Idempotency-Key"] = {lua_str(keys)} .. tid .. "-" .. n',
            "  return wrk.format()",
            "end",
        ]
    return "\n".join(lines) + "\n"


def served_run(base: str, p: ServedPath, keys: str, **wrk_args) -> dict:
    """One wrk run of ``p`` against the server at ``base`` (a POST through
    its Lua script, non-2xx counted by the script)."""
    from common import wrk

    text = p.script(keys)
    if text is None:
        return wrk(base + p.path, headers=p.headers, **wrk_args)
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as f:
        f.write(text)
        f.flush()
        result = wrk(base + p.path, script=f.name, **wrk_args)
    found = NON_2XX.search(result["stdout"])
    if found is None:
        raise RuntimeError(f"{p.key}: the Lua script's done() printed nothing:\n{result['stdout']}")
    result["non2xx"] = max(result["non2xx"], int(found.group(1)))
    return result


def served(
    kind: str,
    rounds: int,
    seconds: int,
    connections: int,
    only: set[str] | None,
    workers: int = 2,
    threads: int = 2,
    analyzing: bool = True,
) -> list[dict]:
    """Every path of the table served as in production: gunicorn
    (``workers`` sync workers) with every first-party plugin, wrk with
    ``threads`` threads and ``connections`` connections, each path's run
    right after a run of the bare endpoint (gunicorn of ``baseline_app.py``,
    same database: its 20-row query, or its ping for ``ping``); ratio =
    median of the paired ratios. HTTP parsing and the server's work then
    count on both sides, as in the issue's original figures. The designed
    home page is served by its own gunicorn on its own database. POSTs go
    through Lua scripts; every answer must be 2xx and every placement a new
    order (counted in the database), or the run stops."""
    from common import cpu_by_party, cpu_per_request, gunicorn, wrk
    from sqlalchemy import create_engine, text

    url = database_url(kind, "jishi_hotpaths")
    keys = [k for k in KEYS if not only or k in only]
    print(f"\n== {kind} (served): seeding...", flush=True)
    info = seed(url)
    designed_url = None
    if "designed" in keys:
        designed_url = database_url(kind, "jishi_hotpaths_designed")
        seed_designed(designed_url)
    app = make_app(url)
    auth = {"Authorization": f"Bearer {info['token']}"}
    paths = [
        p
        for p in served_paths(info, lambda items: delivery_choice(app, auth, items, info["address_id"]))
        if p.key in keys
    ]
    from jishi.db import db

    with app.app_context():
        db.engine.dispose()
    # served as deployed: Flask-Limiter on (JISHI_* variables do not reach
    # RATELIMIT_ENABLED; the kernel's limiter returns at once on a route
    # without a limit, as every path here is: jishi.extensions.JishiLimiter)
    env = {
        "JISHI_DATABASE_URL": url,
        "JISHI_SECRET_KEY": "bench",
        "JISHI_SANDBOX_SECRET": "bench",
        "JISHI_PLUGINS": _config()["JISHI_PLUGINS"],
    }
    engine = create_engine(url)
    run_id = f"hp{os.getpid():x}{int(time.time()):x}"  # the Idempotency-Keys' prefix: this run's own
    # wrk gives a request up after 2 s by default: on a loaded machine a
    # placement can take longer (not counted, its status unknown); 30 s on both sides
    wrk_args = {"seconds": seconds, "connections": connections, "threads": threads, "timeout": 30}
    placed: dict[str, list[tuple[int, int]]] = {p.key: [] for p in paths if p.idempotent}

    def measure(servers: dict, p: ServedPath, prefix: str, timed: bool = True, **args) -> dict:
        """One run of ``p`` (``prefix``: its Idempotency-Keys'), checked."""
        if p.key == "cart":  # a fresh line (a line holds at most 9,999)
            with engine.begin() as conn:
                conn.execute(text("DELETE FROM cart_lines WHERE sku_id = :s"), {"s": p.body["sku_id"]})
        o = served_run(servers[p.server], p, prefix, **args)
        if o["non2xx"] or o["socket_errors"]:
            sys.exit(f"{kind} {p.key}: {o['non2xx']} answers not 2xx, socket errors {o['socket_errors'] or 0}")
        if p.idempotent:
            with engine.connect() as conn:
                new = conn.execute(
                    text(
                        "SELECT count(*) FROM payment_orders WHERE idempotency_key LIKE :k"
                        " AND idempotency_key NOT LIKE '%#%'"
                    ),
                    {"k": prefix + "%"},
                ).scalar_one()
            if new < o["requests"]:  # (in flight at the end: placed, not counted by wrk)
                sys.exit(f"{kind} {p.key}: {o['requests']} answers but {new} new payment orders (keys repeated)")
            if timed:
                placed[p.key].append((o["requests"], new))
        return o

    bares = {"products": "/products", "ping": "/api/v1/ping"}
    out = []
    with contextlib.ExitStack() as stack:
        servers = {
            "bare": stack.enter_context(gunicorn("baseline_app:app", env, workers=workers)),
            "app": stack.enter_context(gunicorn("jishi.wsgi:app", env, workers=workers)),
        }
        if designed_url:
            denv = {**env, "JISHI_DATABASE_URL": designed_url}
            servers["designed"] = stack.enter_context(gunicorn("jishi.wsgi:app", denv, workers=workers))
        for against in {p.against for p in paths}:  # warm every server and path
            wrk(servers["bare"] + bares[against], **{**wrk_args, "seconds": 1})
        for p in paths:
            measure(servers, p, f"{run_id}-{p.key}-w-", timed=False, **{**wrk_args, "seconds": 1})
        pairs: dict[str, list] = {p.key: [] for p in paths}
        for r in range(rounds):
            if analyzing:  # what autovacuum would have done by now (common.analyze)
                analyze(url)
                if designed_url:
                    analyze(designed_url)
            for p in paths:
                c0 = cpu_by_party()
                b = wrk(servers["bare"] + bares[p.against], **wrk_args)
                c1 = cpu_by_party()
                o = measure(servers, p, f"{run_id}-{p.key}-{r}-", **wrk_args)
                b["cpu"] = cpu_per_request(c0, c1, max(b["requests"], 1))
                o["cpu"] = cpu_per_request(c1, cpu_by_party(), max(o["requests"], 1))
                pairs[p.key].append((b, o))
    engine.dispose()
    print(
        f"-- {kind}, every first-party plugin, served (gunicorn {workers} sync workers per server, wrk {threads} threads"
        f" {connections} connections, {rounds} × {seconds} s alternating with the bare endpoint; medians,"
        " ratio = median of paired ratios)"
    )
    for against, label in (("products", "bare Flask+SQLAlchemy (20-row query)"), ("ping", "bare Flask ping")):
        runs = [b["rps"] for p in paths if p.against == against for b, _ in pairs[p.key]]
        if runs:
            print(f"   {label:40s} {statistics.median(runs):8.0f} req/s")
    for p in paths:
        ratio = statistics.median(o["rps"] / b["rps"] for b, o in pairs[p.key])
        rps = statistics.median(o["rps"] for _, o in pairs[p.key])
        p99 = statistics.median(o["p99_ms"] for _, o in pairs[p.key])
        print(
            f"   {p.label:40s} {rps:8.0f} req/s  p99 {p99:6.1f} ms  ratio {ratio:5.3f}  (target ≥ {p.target})"
            f"  {'PASS' if ratio >= p.target else 'MISS'}",
            flush=True,
        )
        out.append({"path": p.key, "ratio": ratio, "rps": rps})
    for key, runs in placed.items():
        print(
            f"   {key}: {sum(n for n, _ in runs):,} answers (all 2xx), {sum(new for _, new in runs):,} new payment"
            " orders (each key new; in flight at a run's end: placed, not counted by wrk)"
        )
    print("   CPU per request, ms (median of the runs; web: gunicorn's workers, postgres: every PostgreSQL process):")
    print(f"   {'':40s} {'web':>6s} {'postgres':>8s} {'wrk':>6s} {'total':>6s}   bare: web, postgres, total")
    for p in paths:
        ours = {k: statistics.median(o["cpu"][k] for _, o in pairs[p.key]) for k in ("web", "postgres", "other")}
        bare = {k: statistics.median(b["cpu"][k] for b, _ in pairs[p.key]) for k in ("web", "postgres", "other")}
        print(
            f"   {p.label:40s} {ours['web']:6.2f} {ours['postgres']:8.2f} {ours['other']:6.2f}"
            f" {sum(ours.values()):6.2f}   {bare['web']:.2f}, {bare['postgres']:.2f}, {sum(bare.values()):.2f}"
        )
    return out


def cpu_child(kind: str, requests: int, only: set[str] | None, analyzing: bool = True, counted: bool = False) -> None:
    """One side of ``--ab``: seed, warm, then wait for ``go`` on stdin (the
    other side is seeded too) and print one JSON line: each path's CPU
    milliseconds per request over ``requests`` requests (process time),
    paths in turn. ``counted`` (run under callgrind): each path's requests
    are the only code instrumented, dumped under the path's key
    (:func:`common.callgrind_toggles`)."""
    start_counting = stop_counting = None
    if counted:
        from common import callgrind_toggles

        start_counting, stop_counting = callgrind_toggles()
    url = database_url(kind, "jishi_hotpaths")
    designed_url = database_url(kind, "jishi_hotpaths_designed")
    info = seed(url)
    seed_designed(designed_url)
    app, designed_app = make_app(url), make_app(designed_url)
    paths = [p for p in build_paths(app, designed_app, info) if not only or p.key in only]
    for p in paths:
        rate(p.request, 50)
    if analyzing:
        analyze(url)
        analyze(designed_url)
    print("ready", flush=True)
    sys.stdin.readline()
    out = {}
    for p in paths:
        if start_counting is not None:
            start_counting()
        start = time.process_time()
        for _ in range(requests):
            p.request()
        out[p.key] = (time.process_time() - start) / requests * 1000
        if stop_counting is not None:
            stop_counting(p.key)
    print(json.dumps(out), flush=True)


def ab_instructions(kind: str, other: str, requests: int, only: set[str] | None, analyzing: bool = True) -> None:
    """``--ab DIR --instructions``: this checkout's code and ``other``'s,
    the instructions (callgrind's ``Ir``) per request of each path: each
    side a :func:`cpu_child` under valgrind's callgrind, only its timed
    requests instrumented. Deterministic where the CPU time is not: the
    same code counts the same to a fraction of a per cent from run to run,
    whatever the machine is doing (the database server's work is not in
    it, nor what a cache miss costs)."""
    import shutil
    import subprocess

    from common import callgrind_toggles, callgrind_totals

    if shutil.which("valgrind") is None:
        sys.exit("--instructions needs valgrind (apt-get install valgrind)")
    callgrind_toggles()  # compiled once, before the children load it
    plugins = sorted(str(p) for p in Path(other, "plugins").iterdir() if p.is_dir())
    codes = {"this": None, "other": os.pathsep.join([str(Path(other, "core")), *plugins])}
    out_dir = Path(tempfile.mkdtemp(prefix="jishi-callgrind-"))
    prefix = os.environ.get("JISHI_BENCH_DB_PREFIX", "")
    counts: dict[str, dict[str, int]] = {}
    print(f"\n== {kind}: A/B, instructions per request (callgrind), {requests} requests per path", flush=True)
    for i, (name, path) in enumerate(codes.items()):
        env = {**os.environ, "JISHI_BENCH_DB_PREFIX": f"{prefix}ab{i}_", "PYTHONHASHSEED": "0"}
        if path:
            env["PYTHONPATH"] = path
        else:
            env.pop("PYTHONPATH", None)
        argv = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={out_dir / name}.%p",
            sys.executable,
            __file__,
            "--cpu-child",
            "--counted",
            "--db",
            kind,
            "--requests",
            str(requests),
        ]
        if only:
            argv += ["--only", ",".join(sorted(only))]
        if not analyzing:
            argv += ["--no-analyze"]
        proc = subprocess.run(argv, env=env, input="go\n", capture_output=True, text=True)
        if proc.returncode:
            sys.exit(f"--instructions: the {name} side failed:\n{proc.stderr[-3000:]}")
        counts[name] = callgrind_totals(str(out_dir / name) + ".")
    shutil.rmtree(out_dir, ignore_errors=True)
    print(f"   {'path':40s} {'this':>12s} {'other':>12s} {'this ÷ other':>13s}  (instructions per request)")
    for key in counts["this"]:
        mine, theirs = counts["this"][key] / requests, counts["other"].get(key, 0) / requests
        ratio = f"{mine / theirs:13.3f}" if theirs else f"{'-':>13s}"
        print(f"   {key:40s} {mine:12,.0f} {theirs:12,.0f} {ratio}", flush=True)


def ab(kind: str, other: str, requests: int, rounds: int, only: set[str] | None, analyzing: bool = True) -> None:
    """``--ab``: this checkout's code ("this") and ``other``'s, CPU per
    request of each path, the two measured at the same time
    (:func:`cpu_child` processes started together behind a ``go``), each
    pinned to a core of its own, the cores swapped every round; prints
    each round and the medians."""
    import subprocess

    plugins = sorted(str(p) for p in Path(other, "plugins").iterdir() if p.is_dir())
    codes = {"this": None, "other": os.pathsep.join([str(Path(other, "core")), *plugins])}
    cores = sorted(os.sched_getaffinity(0))
    prefix = os.environ.get("JISHI_BENCH_DB_PREFIX", "")
    argv = [sys.executable, __file__, "--cpu-child", "--db", kind, "--requests", str(requests)]
    if only:
        argv += ["--only", ",".join(sorted(only))]
    if not analyzing:
        argv += ["--no-analyze"]
    rounds += rounds % 2  # each side as often on each core
    results: dict[str, list[dict]] = {name: [] for name in codes}
    print(f"\n== {kind}: A/B, CPU ms per request, {requests} requests per path, {rounds} rounds", flush=True)
    for r in range(rounds):
        procs = {}
        for i, (name, path) in enumerate(codes.items()):
            env = {**os.environ, "JISHI_BENCH_DB_PREFIX": f"{prefix}ab{i}_"}
            if path:
                env["PYTHONPATH"] = path
            else:
                env.pop("PYTHONPATH", None)
            core = {cores[(i + r) % len(cores)]} if len(cores) > 1 else None
            procs[name] = subprocess.Popen(
                argv,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                preexec_fn=(lambda c=core: os.sched_setaffinity(0, c)) if core else None,
            )
        for name, proc in procs.items():
            if proc.stdout.readline().strip() != "ready":
                sys.exit(f"--ab: the {name} side did not start")
        for proc in procs.values():
            proc.stdin.write("go\n")
            proc.stdin.flush()
        for name, proc in procs.items():
            results[name].append(json.loads(proc.stdout.readline()))
            proc.wait()
        print(
            f"   round {r + 1}: "
            + "; ".join(
                f"{k} {results['this'][-1][k]:.3f} vs {results['other'][-1][k]:.3f}" for k in results["this"][-1]
            ),
            flush=True,
        )
    print(
        f"   {'path':40s} {'this':>8s} {'other':>8s} {'this ÷ other':>13s}"
        "  (medians; ratio: geometric mean of the rounds' ratios, half of them with the cores swapped)"
    )
    for key in results["this"][0]:
        mine = [x[key] for x in results["this"]]
        theirs = [x[key] for x in results["other"]]
        ratios = [a / b for a, b in zip(mine, theirs, strict=True)]
        print(
            f"   {key:40s} {statistics.median(mine):8.3f} {statistics.median(theirs):8.3f}"
            f" {statistics.geometric_mean(ratios):13.3f}  ({', '.join(f'{x:.3f}' for x in ratios)})",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument("--requests", type=int, default=200, help="requests per timed batch")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--only", help="comma-separated path keys (ping,detail,page,home,designed,cart,preview,place1,place5)"
    )
    parser.add_argument("--profile", metavar="PATH", help="cProfile one path instead of timing")
    parser.add_argument("--statements", action="store_true", help="print each path's statements instead of timing")
    parser.add_argument("--clock", choices=tuple(CLOCK), default="cpu", help="per CPU-second (default) or wall second")
    parser.add_argument(
        "--served", action="store_true", help="gunicorn + wrk, every path (POSTs by Lua scripts) ÷ the bare endpoint"
    )
    parser.add_argument("--seconds", type=int, default=3, help="--served: seconds per wrk run")
    parser.add_argument("--connections", type=int, default=8, help="--served: wrk connections")
    parser.add_argument("--threads", type=int, default=2, help="--served: wrk threads")
    parser.add_argument("--workers", type=int, default=2, help="--served: gunicorn sync workers per server")
    parser.add_argument(
        "--no-analyze",
        dest="analyze",
        action="store_false",
        help="PostgreSQL: no ANALYZE after the warm-up and before each round (what autovacuum does; see common.analyze)",
    )
    parser.add_argument(
        "--ab",
        metavar="DIR",
        help="in-process CPU per request of this code and of DIR's core and plugins, measured at the same time",
    )
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="--ab: instructions per request under valgrind's callgrind (deterministic) instead of CPU time",
    )
    parser.add_argument("--cpu-child", action="store_true", help=argparse.SUPPRESS)  # one side of --ab
    parser.add_argument("--counted", action="store_true", help=argparse.SUPPRESS)  # --cpu-child under callgrind
    args = parser.parse_args()
    global clock
    clock = CLOCK[args.clock]
    only = set(args.only.split(",")) if args.only else None
    if args.profile:
        only = (only or set()) | {args.profile}
    if args.cpu_child:
        cpu_child(args.db, args.requests, only, args.analyze, args.counted)
        return
    if args.ab:
        for kind in ("sqlite", "postgres") if args.db == "both" else (args.db,):
            if args.instructions:
                ab_instructions(kind, args.ab, args.requests, only, args.analyze)
            else:
                ab(kind, args.ab, args.requests, args.rounds, only, args.analyze)
        return
    if args.served:
        if only and only - set(KEYS):
            parser.error(f"unknown path keys: {','.join(sorted(only - set(KEYS)))} (keys: {','.join(KEYS)})")
        for kind in ("sqlite", "postgres") if args.db == "both" else (args.db,):
            served(kind, args.rounds, args.seconds, args.connections, only, args.workers, args.threads, args.analyze)
        return
    if args.db == "both":  # one process per database (the bare app binds its engine at import)
        import subprocess

        for kind in ("sqlite", "postgres"):
            argv = ["--requests", str(args.requests), "--rounds", str(args.rounds), "--db", kind, "--clock", args.clock]
            if args.only:
                argv += ["--only", args.only]
            if args.statements:
                argv += ["--statements"]
            if not args.analyze:
                argv += ["--no-analyze"]
            subprocess.run([sys.executable, __file__, *argv], check=True)
        return
    run(args.db, args.requests, args.rounds, only, args.profile, args.statements, args.analyze)


if __name__ == "__main__":
    main()
