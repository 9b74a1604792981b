"""Buyer hot paths (issue 20), every first-party plugin enabled: exact SQL
statements per real request, requests per second and the ratio to the bare
Flask + SQLAlchemy endpoint (``bench/baseline_app.py``) measured in the same
run, against the issue's targets.

    python bench/hotpaths.py                         # SQLite
    python bench/hotpaths.py --db postgres --rounds 5 --requests 200
    python bench/hotpaths.py --only detail,page      # some paths
    python bench/hotpaths.py --only ping --requests 1000 --rounds 5   # the pipeline floor
    python bench/hotpaths.py --profile detail        # cProfile of one path
    python bench/hotpaths.py --served --only detail,page,home   # gunicorn + wrk

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
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import database_url, seed_catalog, wsgi_call  # noqa: E402


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


def build_paths(app, designed_app, info: dict) -> list[HotPath]:
    auth = {"Authorization": f"Bearer {info['token']}"}
    keys = itertools.count()
    m = info["merchants"]
    one = [{"sku_id": m[0][0], "quantity": 1}]
    five = [{"sku_id": s, "quantity": 1} for s in (m[0][1], m[0][2], m[1][0], m[1][1], m[2][0])]
    addr = info["address_id"]
    pid = info["product_id"]

    def delivery(items) -> dict:
        """The first available delivery option of each group (from a preview)."""
        body = {"items": items, "address_id": addr}
        preview = json.loads(wsgi_call(app, "/api/v1/checkout/preview", "", auth, "POST", body))
        return {g["key"]: next(o["code"] for o in g["delivery_options"] if o["available"]) for g in preview["groups"]}

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
    kind: str, requests: int, rounds: int, only: set[str] | None, profile: str | None, statements: bool = False
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
            f" {ratio:6.2f} {'≥ ' + str(p.ratio):>6s}  {'PASS' if ok else 'MISS'}",
            flush=True,
        )
        out.append({"path": p.key, "statements": n, "duplicates": dup, "ratio": ratio, "pass": ok})
    return out


#: the GET paths ``--served`` measures (the POSTs are bench/catalog.py's and bench/cart_checkout.py's)
SERVED = ("detail", "page", "home")


def served(kind: str, rounds: int, seconds: int, connections: int, only: set[str] | None) -> list[dict]:
    """The GET paths served as in production: gunicorn (2 sync workers)
    with every first-party plugin, wrk with ``connections`` connections,
    each path's run right after a run of the bare endpoint (gunicorn of
    ``baseline_app.py``, same database); ratio = median of the paired
    ratios. HTTP parsing and the server's work then count on both sides,
    as in the issue's original figures."""
    from common import gunicorn, wrk

    url = database_url(kind, "jishi_hotpaths")
    print(f"\n== {kind} (served): seeding...", flush=True)
    info = seed(url)
    env = {
        "JISHI_DATABASE_URL": url,
        "JISHI_SECRET_KEY": "bench",
        "JISHI_SANDBOX_SECRET": "bench",
        "JISHI_RATELIMIT_ENABLED": "false",
        "JISHI_PLUGINS": _config()["JISHI_PLUGINS"],
    }
    auth = {"Authorization": f"Bearer {info['token']}"}
    pid = info["product_id"]
    targets = {
        "detail": ("product detail (API)", f"/api/v1/products/{pid}", auth, 0.5),
        "page": ("product page (HTML)", f"/product/{pid}", None, 0.35),
        "home": ("home page (HTML)", "/", None, 0.35),
    }
    keys = [k for k in SERVED if not only or k in only]
    out = []
    with gunicorn("baseline_app:app", env) as base, gunicorn("jishi.wsgi:app", env) as app_url:
        wrk(base + "/products", seconds=1, connections=connections)  # warm both
        for k in keys:
            wrk(app_url + targets[k][1], seconds=1, connections=connections, headers=targets[k][2])
        pairs: dict[str, list] = {k: [] for k in keys}
        for _ in range(rounds):
            for k in keys:
                b = wrk(base + "/products", seconds=seconds, connections=connections)
                o = wrk(app_url + targets[k][1], seconds=seconds, connections=connections, headers=targets[k][2])
                assert not o["non2xx"], (k, o)
                pairs[k].append((b, o))
    print(
        f"-- {kind}, every first-party plugin, served (gunicorn 2 sync workers, wrk {connections} connections, "
        f"{rounds} × {seconds} s alternating with the bare endpoint; medians, ratio = median of paired ratios)"
    )
    bare = statistics.median(b["rps"] for k in keys for b, _ in pairs[k])
    print(f"   bare Flask+SQLAlchemy (20-row query)   {bare:8.0f} req/s")
    for k in keys:
        label, _path, _h, target = targets[k]
        ratio = statistics.median(o["rps"] / b["rps"] for b, o in pairs[k])
        rps = statistics.median(o["rps"] for _, o in pairs[k])
        p99 = statistics.median(o["p99_ms"] for _, o in pairs[k])
        print(
            f"   {label:40s} {rps:8.0f} req/s  p99 {p99:6.1f} ms  ratio {ratio:5.2f}  (target ≥ {target})"
            f"  {'PASS' if ratio >= target else 'MISS'}",
            flush=True,
        )
        out.append({"path": k, "ratio": ratio, "rps": rps})
    return out


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
    parser.add_argument("--served", action="store_true", help="gunicorn + wrk for the GET paths (detail,page,home)")
    parser.add_argument("--seconds", type=int, default=3, help="--served: seconds per wrk run")
    parser.add_argument("--connections", type=int, default=8, help="--served: wrk connections")
    args = parser.parse_args()
    global clock
    clock = CLOCK[args.clock]
    only = set(args.only.split(",")) if args.only else None
    if args.profile:
        only = (only or set()) | {args.profile}
    if args.served:
        for kind in ("sqlite", "postgres") if args.db == "both" else (args.db,):
            served(kind, args.rounds, args.seconds, args.connections, only)
        return
    if args.db == "both":  # one process per database (the bare app binds its engine at import)
        import subprocess

        for kind in ("sqlite", "postgres"):
            argv = ["--requests", str(args.requests), "--rounds", str(args.rounds), "--db", kind, "--clock", args.clock]
            if args.only:
                argv += ["--only", args.only]
            if args.statements:
                argv += ["--statements"]
            subprocess.run([sys.executable, __file__, *argv], check=True)
        return
    run(args.db, args.requests, args.rounds, only, args.profile, args.statements)


if __name__ == "__main__":
    main()
