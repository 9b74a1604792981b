"""Flash-sale admission in-process (issue 20): the web worker's CPU per
request of a queued winner, a keyed sold-out attempt and ``/api/v1/ping``,
measured in one process on the same database and Redis, without gunicorn,
the HTTP driver or the consumers (which share the 2 cores in
``bench/flashsale.py`` and move its wall-clock figures with the load).

    python bench/flashsale_admission.py [--db postgres|sqlite|both] [--winners 400]
        [--soldout 2000] [--rounds 3] [--profile winners|soldout|ping] [--ab DIR]

Seeds one database (``--winners`` buyers with tokens and addresses) and a
throwaway redis-server, then per round, in a child process (its own app,
queue on, a consumer heartbeat kept alive but no consumer: the jobs stay
queued): a warm-up sale, then ``--soldout`` pings, ``--winners`` purchases
(one per buyer, each with its Idempotency-Key: all 202) on a fresh sale of
``--winners`` units, then ``--soldout`` keyed attempts on that sale, now
sold out (409 from Redis's key index). Each request is one call of the WSGI
app on an environ built beforehand. Prints, per kind, the CPU per request
of this process and of its PostgreSQL backends (from /proc; a loaded
machine disturbs it far less than the wall clock), the wall-clock time
per request, and the winner's statements and commits (exact; counted on
20 more winners afterwards: a listener of the statements' events turns off
the direct reads the timed runs make).

``--ab DIR``: every round runs twice, alternating, the second on the
``core`` and ``plugins`` of the checkout DIR (``git archive`` of main, say):
the before/after ratios of the same minutes. ``--profile KIND``: one extra
run of that kind under cProfile (top functions; the figures of that run are
not comparable; dumped to ``/tmp/flashsale_admission_KIND.prof``).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import database_url
from flashsale_common import bench_app, new_sale, seed
from flashsale_drain import _cpu_seconds
from flashsale_stress import redis_server


def _app(url: str, redis_url: str, prefix: str):
    return bench_app(
        url,
        redis_url,
        name="admission",
        JISHI_FLASHSALE_QUEUE=True,
        JISHI_FLASHSALE_REDIS_PREFIX=prefix,
        JISHI_FLASHSALE_EPOCH_SECONDS=0,  # keyed sold-out attempts answered from Redis at once
    )


def _environs(method: str, path: str, bodies, headers) -> list[dict]:
    from werkzeug.test import EnvironBuilder

    out = []
    for body, head in zip(bodies, headers, strict=True):
        b = EnvironBuilder(
            path=path,
            method=method,
            data=None if body is None else json.dumps(body),
            headers=head,
            content_type=None if body is None else "application/json",
            base_url="http://127.0.0.1:8000",
        )
        out.append(b.get_environ())
        b.close()
    return out


def _run(app, environs: list[dict], backends, prof=None) -> dict:
    statuses: dict[int, int] = {}

    def start_response(status, _headers, _exc=None):
        code = int(status[:3])
        statuses[code] = statuses.get(code, 0) + 1

    pg0 = _cpu_seconds(backends)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    if prof is not None:
        prof.enable()
    for environ in environs:
        for _chunk in app(environ, start_response):
            pass
    if prof is not None:
        prof.disable()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    pg = _cpu_seconds(backends) - pg0
    n = len(environs)
    return {"n": n, "cpu_ms": cpu / n * 1000, "pg_ms": pg / n * 1000, "wall_ms": wall / n * 1000, "statuses": statuses}


def child(spec: dict) -> dict:
    """One measuring process (see the module's docstring)."""
    from jishi.db import db
    from jishi_flashsale import gate
    from jishi_flashsale import queue as fs_queue
    from sqlalchemy import event

    url, redis_url, info = spec["url"], spec["redis_url"], spec["info"]
    prefix = f"adm{os.getpid()}:"
    app = _app(url, redis_url, prefix)
    buyers = info["buyers"][: spec["winners"]]
    n_soldout = spec["soldout"]
    profile = spec.get("profile")
    run = time.time_ns()  # the buyers' keys are unique per run (a key belongs to one purchase of its buyer)

    def buys(sale, tag, who):
        bodies = [{"sku_id": sale["sku_id"], "quantity": 1, "address_id": b["address_id"]} for b in who]
        heads = [
            {"Authorization": f"Bearer {b['token']}", "Idempotency-Key": f"{tag}-{run}-{i}"} for i, b in enumerate(who)
        ]
        return _environs("POST", "/api/v1/flashsale/buy", bodies, heads)

    warm = new_sale(url, info, units=20, per_user=1)
    sale = new_sale(url, info, units=len(buyers), per_user=1)
    with app.app_context():
        fs_queue.beat()
        db.session.execute(db.text("SELECT 1"))
        backends = []
        if db.engine.dialect.name == "postgresql":
            backends = list(
                db.session.execute(
                    db.text("SELECT pid FROM pg_stat_activity WHERE application_name = :a"),
                    {"a": f"admission-{os.getpid()}"},
                ).scalars()
            )
        db.session.remove()
    counts = {"statements": 0, "commits": 0}

    def on_statement(*_a, **_k):
        counts["statements"] += 1

    def on_commit(_conn):
        counts["commits"] += 1

    # warm-up: every statement compiled, the sold-out bodies cached, as a serving worker
    _run(app, _environs("GET", "/api/v1/ping", [None] * 50, [{}] * 50), [])
    _run(app, buys(warm, "warm", buyers[:40]), [])
    pings = _environs("GET", "/api/v1/ping", [None] * n_soldout, [{}] * n_soldout)
    winners = buys(sale, "win", buyers)
    soldout = buys(sale, "late", [buyers[i % len(buyers)] for i in range(n_soldout)])
    out = {}
    prof = cProfile.Profile(time.process_time) if profile else None  # CPU, not the waits
    with app.app_context():
        fs_queue.beat()
    out["ping"] = _run(app, pings, backends, prof if profile == "ping" else None)
    with app.app_context():
        fs_queue.beat()
        engine = db.engine
    out["winners"] = _run(app, winners, backends, prof if profile == "winners" else None)
    out["soldout"] = _run(app, soldout, backends, prof if profile == "soldout" else None)
    # the winner's statements and commits, counted apart (a listener of the
    # statements' events turns off the direct reads the timed runs make)
    counted = new_sale(url, info, units=20, per_user=1)
    event.listen(engine, "before_cursor_execute", on_statement)
    event.listen(engine, "commit", on_commit)
    _run(app, buys(counted, "count", buyers[:20]), [])
    event.remove(engine, "before_cursor_execute", on_statement)
    event.remove(engine, "commit", on_commit)
    out["winners"].update(statements=counts["statements"] / 20, commits=counts["commits"] / 20)
    with app.app_context():
        client = gate.redis_client()
        for key in client.scan_iter(prefix + "*", count=1000):
            client.delete(key)
    if prof is not None:
        prof.dump_stats(f"/tmp/flashsale_admission_{profile}.prof")
        s = io.StringIO()
        st = pstats.Stats(prof, stream=s)
        st.sort_stats("tottime").print_stats(35)
        st.sort_stats("cumulative").print_stats(60)
        out["profile"] = s.getvalue()
    return out


def _spawn(spec: dict, code: str | None, show: bool = False) -> dict:
    env = dict(os.environ)
    if code:
        plugins = sorted(str(p) for p in Path(code, "plugins").iterdir() if p.is_dir())
        env["PYTHONPATH"] = os.pathsep.join([str(Path(code, "core")), *plugins])
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(spec, f)
    proc = subprocess.run(
        [sys.executable, __file__, "--child", f.name], capture_output=True, text=True, env=env, timeout=1800
    )
    os.unlink(f.name)
    if show:
        print(proc.stderr)
    if proc.returncode != 0:
        raise SystemExit(f"child failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _line(label: str, r: dict) -> str:
    extra = ""
    if "statements" in r:
        extra = f"   {r['statements']:.2f} statements, {r['commits']:.2f} commits"
    return (
        f"   {label:9s} cpu {r['cpu_ms']:6.3f} ms + pg {r['pg_ms']:6.3f} ms   wall {r['wall_ms']:6.3f} ms"
        f"   {r['statuses']}{extra}"
    )


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        spec = json.loads(Path(sys.argv[2]).read_text())
        out = child(spec)
        if "profile" in out:
            print(out.pop("profile"), file=sys.stderr)
        print(json.dumps(out))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", choices=("postgres", "sqlite", "both"), default="postgres")
    ap.add_argument("--winners", type=int, default=400)
    ap.add_argument("--soldout", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--profile", choices=("winners", "soldout", "ping"))
    ap.add_argument("--ab", metavar="DIR", help="another checkout: each round also on its core and plugins")
    args = ap.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for kind in ("postgres", "sqlite") if args.db == "both" else (args.db,):
        url = database_url(kind, "jishi_fs_admission")
        info = seed(url, buyers=args.winners, units=1, per_user=1)
        with redis_server() as redis_url:
            spec = {"url": url, "redis_url": redis_url, "info": info, "winners": args.winners, "soldout": args.soldout}
            if args.profile:
                _spawn(dict(spec, profile=args.profile), None, show=True)
            results: dict[str, list] = {"this": [], "other": []}
            for i in range(args.rounds):
                for which in ("this", "other") if args.ab else ("this",):
                    r = _spawn(spec, args.ab if which == "other" else None)
                    results[which].append(r)
                    print(f"\n{kind} round {i + 1} ({which}), load {os.getloadavg()[0]:.2f}")
                    for label in ("ping", "winners", "soldout"):
                        print(_line(label, r[label]))
            print(f"\n== {kind}: medians of {args.rounds} rounds (CPU of the process + its PostgreSQL backends)")
            for label in ("ping", "winners", "soldout"):
                for which in ("this", "other") if args.ab else ("this",):
                    rs = results[which]
                    total = statistics.median(r[label]["cpu_ms"] + r[label]["pg_ms"] for r in rs)
                    cpu = statistics.median(r[label]["cpu_ms"] for r in rs)
                    print(f"   {label:9s} ({which:5s}) cpu {cpu:6.3f} ms, with pg {total:6.3f} ms")
            if args.ab:
                for label in ("winners", "soldout"):
                    ratios = [
                        (b[label]["cpu_ms"] + b[label]["pg_ms"]) / (a[label]["cpu_ms"] + a[label]["pg_ms"])
                        for a, b in zip(results["this"], results["other"], strict=True)
                    ]
                    print(f"   {label}: other ÷ this (CPU with pg) {statistics.median(ratios):.2f}  rounds {ratios}")
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
