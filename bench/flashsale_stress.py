"""Flash-sale stress test (SPEC FS), run by CI through scripts/stress_flashsale.sh.

A real gunicorn server with several worker processes on a fresh database
(PostgreSQL by default), one flash sale of 100 units with a per-buyer limit
of 2, and 1,000 purchase attempts from 200 buyers fired at
``POST /api/v1/flashsale/buy`` by 32 threads at once. Then the database
must show exactly 100 orders of one unit, flash stock 0, no buyer above the
limit, normal stock untouched, and no answer may be a 5xx.

    python bench/flashsale_stress.py [--db postgres|sqlite] [--workers 4] [--redis]
        [--queue-units 1000 --queue-attempts 10000 --queue-buyers 2000 --consumers 2]

With ``--redis`` it runs again with the Redis gate, then with the gate and
the queue at a scaled-down Double-11 shape (issue 20; the full shape,
10,000 units and 100,000 attempts from 20,000 buyers, is
``bench/flashsale.py``'s default): 1,000 units, 10,000 attempts from 2,000
buyers, placed by two ``jishi flashsale work`` consumers at once in batches
(so several consumers never placing a job twice is checked here too). The
consumers run at the web workers' priority here (a correctness test: on a
loaded CI machine a consumer at nice 19 can starve past its heartbeat, and
purchases are then placed directly — correct, but not what is tested).

Prints PASS or FAIL (with the reasons) and exits non-zero on failure.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import database_url, gunicorn
from flashsale_common import burst, check, consumers, drained, seed


def redis_server():
    """A throwaway redis-server (``jishi.testing.redis_server``); exits when none is installed."""
    from jishi.testing import redis_server as server

    if not shutil.which("redis-server"):
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")
    return server()


def run(
    db: str,
    workers: int,
    attempts: int,
    buyers: int,
    units: int,
    per_user: int,
    concurrency: int,
    redis_url: str | None,
    queue: bool = False,
    n_consumers: int = 1,
) -> bool:
    label = f"{db}, {workers} workers" + (
        (f", Redis gate + queue, {n_consumers} consumers" if queue else ", Redis gate")
        if redis_url
        else ", database only"
    )
    url = database_url(db, f"jishi_fs_stress_{os.getpid()}")
    info = seed(url, buyers=buyers, units=units, per_user=per_user)
    env = {
        "JISHI_DATABASE_URL": url,
        "JISHI_SECRET_KEY": "stress",
        "JISHI_SANDBOX_SECRET": "stress",
        "JISHI_PLUGINS": "flashsale",
    }
    if redis_url:
        env["JISHI_REDIS_URL"] = redis_url
    else:
        os.environ.pop("JISHI_REDIS_URL", None)
    env["JISHI_FLASHSALE_QUEUE"] = "true" if queue else "false"
    drain = None
    with gunicorn("jishi.wsgi:app", env, workers=workers) as base, consumers(env, n_consumers if queue else 0, nice=0):
        result = burst(base, info, attempts=attempts, concurrency=concurrency)
        if queue:
            drain = drained(redis_url)
    failures = check(url, info)
    if result["server_errors"]:
        failures.append(f"{result['server_errors']} answers were 5xx or failed connections")
    created = result["counts"].get("202" if queue else "201", 0)
    if created != units:
        failures.append(f"{created} purchases answered {'202 (queued)' if queue else '201'}, expected {units}")
    print(
        f"== flash-sale stress ({label}): {attempts} attempts from {buyers} buyers on {units} units (limit {per_user}), {concurrency} connections"
    )
    print(
        f"   {result['seconds']:.1f} s, {result['rps']:.0f} attempts/s, p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms"
        + (f"; every queued order placed {drain:.1f} s after the last answer" if drain is not None else "")
    )
    print("   answers: " + ", ".join(f"{k}: {v}" for k, v in sorted(result["counts"].items())))
    if failures:
        print(f"FAIL flash-sale stress ({label}):")
        for f in failures:
            print("   - " + f)
    else:
        print(
            f"PASS flash-sale stress ({label}): exactly {units} orders, flash stock 0, nobody above the limit, no 5xx"
        )
    if db == "postgres":
        from common import PG_ADMIN_URL
        from sqlalchemy import create_engine, text

        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "jishi_fs_stress_{os.getpid()}" WITH (FORCE)'))
        admin.dispose()
    return not failures


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", choices=("postgres", "sqlite"), default="postgres")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--attempts", type=int, default=1000)
    ap.add_argument("--buyers", type=int, default=200)
    ap.add_argument("--units", type=int, default=100)
    ap.add_argument("--per-user", type=int, default=2)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--queue-units", type=int, default=1000)
    ap.add_argument("--queue-attempts", type=int, default=10000)
    ap.add_argument("--queue-buyers", type=int, default=2000)
    ap.add_argument("--consumers", type=int, default=2, help="consumers of the queued run")
    ap.add_argument(
        "--redis", action="store_true", help="also run with the Redis gate, then gate + queue (needs redis-server)"
    )
    args = ap.parse_args()
    ok = run(args.db, args.workers, args.attempts, args.buyers, args.units, args.per_user, args.concurrency, None)
    if args.redis:
        with redis_server() as redis_url:
            ok = (
                run(
                    args.db,
                    args.workers,
                    args.attempts,
                    args.buyers,
                    args.units,
                    args.per_user,
                    args.concurrency,
                    redis_url,
                )
                and ok
            )
        with redis_server() as redis_url:
            ok = (
                run(
                    args.db,
                    args.workers,
                    args.queue_attempts,
                    args.queue_buyers,
                    args.queue_units,
                    args.per_user,
                    args.concurrency,
                    redis_url,
                    queue=True,
                    n_consumers=args.consumers,
                )
                and ok
            )
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
