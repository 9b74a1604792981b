"""Flash-sale benchmark (SPEC FS): the burst of purchase attempts and the
sold-out answers, each as a ratio to the same server's trivial JSON
endpoint (``GET /api/v1/ping``) measured in the same run.

    python bench/flashsale.py [--db postgres|sqlite|both] [--workers 4] [--no-redis]

For each database and each mode (database only; Redis gate when
``redis-server`` is installed), one gunicorn server (sync workers):

0. warm-up: 200 pings and a small sale (60 units, 200 attempts), so every
   worker has compiled its statements, as a shop that is serving has;
1. ``ping``: 1,000 GETs of /api/v1/ping by the burst's own driver (32
   threads, a connection per request), and 5 s of ``wrk`` (8 connections);
2. ``burst``: a fresh sale of 100 units (limit 2), 1,000 purchase attempts
   from 200 buyers, 32 at once (bench/flashsale_common.burst): attempts/s,
   p50 and p99, each ÷ ping by the same driver; ping and burst alternate
   ``--rounds`` times (a fresh sale each) and the median ratio is printed;
3. ``sold out``: 5 s of ``wrk`` POSTing to /api/v1/flashsale/buy of the
   sold-out SKU (nothing is written), ÷ ``wrk`` on ping; ping and sold out
   alternate ``--rounds`` times and the median ratio is printed;
4. PostgreSQL, database only: the burst at 64 connections ÷ at 4.

Also prints the machine's load average (the figures move with it).
Nothing is asserted here; the stress test (bench/flashsale_stress.py)
asserts correctness.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import database_url, gunicorn, wrk, wrk_post_script
from flashsale_common import burst, consumers, drained, get_burst, new_sale, seed
from flashsale_stress import redis_server


def _ratio(a, b):
    return a / b if b else float("nan")


def bench_mode(
    db: str, url: str, info: dict, workers: int, redis_url: str | None, rounds: int, queue: bool = False
) -> dict:
    env = {
        "JISHI_DATABASE_URL": url,
        "JISHI_SECRET_KEY": "bench",
        "JISHI_SANDBOX_SECRET": "bench",
        "JISHI_PLUGINS": "flashsale",
    }
    if redis_url:
        env["JISHI_REDIS_URL"] = redis_url
    else:
        os.environ.pop("JISHI_REDIS_URL", None)
    env["JISHI_FLASHSALE_QUEUE"] = "true" if queue else "false"
    mode = ("Redis gate + queue" if queue else "Redis gate") if redis_url else "database only"
    out = {"db": db, "mode": mode, "drains": []}

    def settle():  # queued purchases placed before the sale is checked
        if queue:
            out["drains"].append(drained(redis_url))

    with gunicorn("jishi.wsgi:app", env, workers=workers) as base, consumers(env, 1 if queue else 0):
        # warm every worker on both endpoints (its compiled statements,
        # prepared statements, loaded catalogs), as a running shop is
        get_burst(base, "/api/v1/ping", attempts=200, concurrency=8)
        warm = new_sale(url, info, units=60)
        burst(base, warm, attempts=200, concurrency=8)
        settle()
        out["drains"].clear()
        failures = check_sale(url, warm)
        # ping and burst alternate: the median of the paired ratios
        bursts = []
        for _ in range(rounds):
            ping = get_burst(base, "/api/v1/ping", attempts=1000, concurrency=32)
            sale = new_sale(url, info)
            b = burst(base, sale, attempts=1000, concurrency=32)
            settle()
            failures += check_sale(url, sale)
            bursts.append((ping, b))
        ping, b = sorted(bursts, key=lambda pb: pb[1]["rps"] / pb[0]["rps"])[len(bursts) // 2]
        out.update(ping=ping, burst=b, failures=failures, burst_pairs=bursts)
        # sold out, steady state, wrk against wrk
        b0 = sale["buyers"][0]
        script = wrk_post_script(
            "/api/v1/flashsale/buy",
            {"sku_id": sale["sku_id"], "quantity": 1, "address_id": b0["address_id"]},
            {"Authorization": f"Bearer {b0['token']}"},
        )
        wrk(base + "/api/v1/ping", seconds=1, connections=8)
        pairs = []
        for _ in range(rounds):
            wp = wrk(base + "/api/v1/ping", seconds=5, connections=8)
            ws = wrk(base + "/api/v1/flashsale/buy", seconds=5, connections=8, script=script)
            pairs.append((wp, ws))
        out["soldout_pairs"] = pairs
        if db == "postgres" and not redis_url:
            s4 = new_sale(url, info)
            b4 = burst(base, s4, attempts=1000, concurrency=4)
            s64 = new_sale(url, info)
            b64 = burst(base, s64, attempts=1000, concurrency=64)
            out.update(b4=b4, b64=b64, failures=out["failures"] + check_sale(url, s4) + check_sale(url, s64))
    return out


def check_sale(url: str, sale: dict) -> list[str]:
    """The sale's own invariants (several sales share the database)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        stock, sold = conn.execute(
            text("SELECT stock, sold FROM flashsale_skus WHERE id = :i"), {"i": sale["flash_sku_id"]}
        ).one()
        units = conn.execute(
            text("SELECT coalesce(sum(quantity), 0) FROM order_lines WHERE sku_id = :s"), {"s": sale["sku_id"]}
        ).scalar()
        top = conn.execute(
            text(
                "SELECT coalesce(max(n), 0) FROM (SELECT sum(ol.quantity) AS n FROM orders o JOIN order_lines ol ON ol.order_id = o.id "
                "WHERE ol.sku_id = :s GROUP BY o.user_id) t"
            ),
            {"s": sale["sku_id"]},
        ).scalar()
    engine.dispose()
    bad = []
    if units != sale["units"] or sold != stock:
        bad.append(f"sale {sale['sku_id']}: {units} units ordered, sold {sold} of {stock}")
    if top > sale["per_user"]:
        bad.append(f"sale {sale['sku_id']}: a buyer holds {top}")
    return bad


def report(r: dict) -> None:
    ping, b = r["ping"], r["burst"]
    print(f"\n== {r['db']}, {r['mode']}")
    print(
        f"   ping (driver, 32 conns):  {ping['rps']:8.0f} req/s   p50 {ping['p50_ms']:7.1f} ms   p99 {ping['p99_ms']:7.1f} ms"
    )
    print(
        f"   burst 1000 attempts:      {b['rps']:8.0f} att/s   p50 {b['p50_ms']:7.1f} ms   p99 {b['p99_ms']:7.1f} ms   ({', '.join(f'{k}: {v}' for k, v in sorted(b['counts'].items()))})"
    )
    rounds = ", ".join(f"{_ratio(bb['rps'], pp['rps']):.2f}" for pp, bb in r["burst_pairs"])
    print(
        f"   burst ÷ ping:             rate {_ratio(b['rps'], ping['rps']):.2f} (median; rounds {rounds})   p50 ×{_ratio(b['p50_ms'], ping['p50_ms']):.1f}"
        f"   p99 ×{_ratio(b['p99_ms'], ping['p99_ms']):.1f}   (target rate ≥ {'0.25' if r['mode'] == 'database only' else '0.5'})"
    )
    ratios = [_ratio(ws["rps"], wp["rps"]) for wp, ws in r["soldout_pairs"]]
    wp, ws = r["soldout_pairs"][-1]
    if r["drains"]:
        ends = [bb["seconds"] + d for (pp, bb), d in zip(r["burst_pairs"], r["drains"])]
        print(
            f"   queue: the last order placed {statistics.median(r['drains']):.2f} s after the burst's last answer (median; "
            f"rounds {', '.join(f'{d:.2f}' for d in r['drains'])}); 1000 attempts ÷ (burst + drain) = "
            f"{statistics.median(1000 / e / pp['rps'] for e, (pp, _bb) in zip(ends, r['burst_pairs'])):.2f} of ping"
        )
    print(
        f"   wrk ping:                 {wp['rps']:8.0f} req/s   p50 {wp['p50_ms']:7.2f} ms   p99 {wp['p99_ms']:7.2f} ms"
    )
    print(
        f"   wrk sold out (409):       {ws['rps']:8.0f} req/s   p50 {ws['p50_ms']:7.2f} ms   p99 {ws['p99_ms']:7.2f} ms   non-2xx {ws['non2xx']}"
    )
    print(
        f"   sold out ÷ ping:          {statistics.median(ratios):.2f} (rounds {', '.join(f'{x:.2f}' for x in ratios)}; target ≥ 0.8)"
    )
    if "b4" in r:
        print(f"   burst at 4 conns:         {r['b4']['rps']:8.0f} att/s   p99 {r['b4']['p99_ms']:.0f} ms")
        print(f"   burst at 64 conns:        {r['b64']['rps']:8.0f} att/s   p99 {r['b64']['p99_ms']:.0f} ms")
        print(f"   64 ÷ 4:                   {_ratio(r['b64']['rps'], r['b4']['rps']):.2f} (target ≥ 0.9)")
    print(
        "   correctness: "
        + ("every sale exactly sold out, nobody above the limit" if not r["failures"] else "; ".join(r["failures"]))
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", choices=("postgres", "sqlite", "both"), default="postgres")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-redis", action="store_true")
    args = ap.parse_args()
    print(
        f"load average before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}; cpus {os.cpu_count()}; "
        f"gunicorn {args.workers} sync workers"
    )
    dbs = ("postgres", "sqlite") if args.db == "both" else (args.db,)
    for db in dbs:
        url = database_url(db, "jishi_fs_bench")
        info = seed(url, buyers=200, units=0)
        report(bench_mode(db, url, info, args.workers, None, args.rounds))
        if not args.no_redis and shutil.which("redis-server"):
            with redis_server() as redis_url:
                report(bench_mode(db, url, info, args.workers, redis_url, args.rounds))
            with redis_server() as redis_url:
                report(bench_mode(db, url, info, args.workers, redis_url, args.rounds, queue=True))
    print(f"\nload average after: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
