"""Flash-sale queue drain (issue 20): how fast ``jishi flashsale work``
places queued purchases, one by one against in batches of one transaction,
measured in the same run on the same database.

    python bench/flashsale_drain.py [--db postgres|sqlite] [--jobs 2000] [--batch 50] [--profile]
        [--consumers 1,2] [--rounds 1] [--no-single]

Seeds one database and a throwaway redis-server, then twice: a fresh flash
sale of ``--jobs`` units (limit 1), ``--jobs`` buyers each queue one
purchase through ``POST /api/v1/flashsale/buy`` (in-process test client: the
real gate, script and durable ticket), and the consumer loop
(``queue.work(idle_exit=True)``, in-process) drains the queue: first with
``batch=1`` (a transaction per order, as before issue 20), then with
``batch=--batch``. Prints orders/s of each drain, their ratio, statements
and commits per order (exact, from a cursor listener) and checks every
sale sold exactly its units. ``--profile``: the batched drain under
cProfile (top functions by cumulative time; the rates are then not
comparable).

``--consumers 1,2``: then, for each count (alternating ``--rounds`` times, a
fresh sale of ``--jobs`` units queued each time), that many consumer
PROCESSES (``queue.work(batch=--batch, idle_exit=True)``, each with its own
app and connections, started together behind a Redis barrier) drain the
same queue: orders/s overall (all jobs ÷ first start to last finish),
statements and commits per order summed over the processes, and the same
sold-exactly checks. ``--no-single``: skip the in-process one-by-one and
batched drains. ``--ab DIR``: each consumer run is followed by the same run
with the consumers importing the ``core`` and ``plugins`` of the checkout
DIR (e.g. ``git archive`` of main): a before/after ratio in the same run.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import database_url
from flashsale_common import bench_app, seed
from flashsale_stress import redis_server


def _app(url: str, redis_url: str, prefix: str | None = None):
    return bench_app(url, redis_url, name="drain", JISHI_FLASHSALE_REDIS_PREFIX=prefix or f"drain{os.getpid()}:")


def _sale(units: int) -> tuple[int, int]:
    from jishi.db import db, utcnow
    from jishi.testing import factories
    from jishi_flashsale import service

    product = factories.product(name="秒杀", price=10000, stock=1000)
    now = utcnow()
    activity = service.save_activity(
        {
            "product_id": product.id,
            "title": "drain",
            "per_user_limit": 1,
            "starts_at": now - timedelta(minutes=5),
            "ends_at": now + timedelta(hours=2),
            "skus": [{"sku_id": product.skus[0].id, "flash_price": 100, "stock": units}],
        },
        seller_id=None,
        platform=True,
    )
    db.session.commit()
    return product.skus[0].id, activity.skus[0].id


def _queue(app, info: dict, sku_id: int) -> int:
    from jishi_flashsale import queue as fs_queue

    client = app.test_client(use_cookies=False)
    queued = 0
    for i, b in enumerate(info["buyers"]):
        if i % 50 == 0:
            with app.app_context():
                fs_queue.beat()
        resp = client.post(
            "/api/v1/flashsale/buy",
            json={"sku_id": sku_id, "quantity": 1, "address_id": b["address_id"]},
            headers={"Authorization": f"Bearer {b['token']}", "Idempotency-Key": f"drain-{sku_id}-{i}"},
        )
        queued += resp.status_code == 202
        if resp.status_code != 202 and i < 3:
            print(f"   buy answered {resp.status_code}: {resp.get_data(as_text=True)[:200]}")
    return queued


def _drain(batch: int, profile: bool) -> dict:
    from jishi.db import db
    from jishi_flashsale import queue as fs_queue
    from sqlalchemy import event

    counts = {"statements": 0, "commits": 0}

    def on_statement(*_a, **_k):
        counts["statements"] += 1

    def on_commit(_conn):
        counts["commits"] += 1

    db.session.remove()
    event.listen(db.engine, "before_cursor_execute", on_statement)
    event.listen(db.engine, "commit", on_commit)
    prof = cProfile.Profile() if profile else None
    started = time.perf_counter()
    try:
        if prof:
            prof.enable()
        done = fs_queue.work(idle_exit=True, block=0.05, batch=batch, release_session=True, recover_every=3600)
        if prof:
            prof.disable()
    finally:
        event.remove(db.engine, "before_cursor_execute", on_statement)
        event.remove(db.engine, "commit", on_commit)
    seconds = time.perf_counter() - started
    out = {"done": done, "seconds": seconds, "rate": done / seconds, **counts}
    if prof:
        prof.dump_stats(os.environ.get("DRAIN_PROFILE_OUT", "/tmp/flashsale_drain.prof"))
        stats = pstats.Stats(prof)
        stats.sort_stats("cumulative").print_stats(35)
    return out


def _cpu_seconds(pids) -> float:
    """CPU time (user + system) of processes of this machine (the database's
    backends), from /proc; 0 for one gone or not readable."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _backends() -> list[int]:
    """The PostgreSQL backends of this process's connections (by their
    application_name); [] on SQLite or a server of another machine."""
    from jishi.db import db

    if db.engine.dialect.name != "postgresql" or not str(db.engine.url.host or "").startswith(("127.", "localhost")):
        return []
    return list(
        db.session.execute(
            db.text("SELECT pid FROM pg_stat_activity WHERE application_name = :a"), {"a": f"drain-{os.getpid()}"}
        ).scalars()
    )


def _child(url: str, redis_url: str, prefix: str, batch: int, n: int) -> int:
    """One consumer process (``--consumers``): its own app, waits until all
    ``n`` are ready (a Redis counter), drains, prints its figures as JSON:
    with the CPU seconds it and its database backends spent draining (a
    measure the other load of a shared machine disturbs far less than the
    wall clock)."""
    from jishi.db import db
    from jishi_flashsale import gate
    from jishi_flashsale import queue as fs_queue
    from sqlalchemy import event

    app = _app(url, redis_url, prefix)
    counts = {"statements": 0, "commits": 0}
    with app.app_context():
        client = gate.redis_client()
        db.session.execute(db.text("SELECT 1"))  # connected before the start
        backends = _backends()
        db.session.remove()
        pg_before = _cpu_seconds(backends)
        client.incr(prefix + "bench:ready")
        while int(client.get(prefix + "bench:ready") or 0) < n:
            time.sleep(0.002)
        event.listen(
            db.engine,
            "before_cursor_execute",
            lambda *_a, **_k: counts.__setitem__("statements", counts["statements"] + 1),
        )
        event.listen(db.engine, "commit", lambda _c: counts.__setitem__("commits", counts["commits"] + 1))
        started, cpu = time.time(), time.process_time()
        done = fs_queue.work(idle_exit=True, block=0.05, batch=batch, release_session=True, recover_every=3600)
        ended, cpu = time.time(), time.process_time() - cpu
        after = _backends()
        pg = _cpu_seconds(after) - pg_before if set(backends) <= set(after) else 0.0
    out = {"done": done, "started": started, "ended": ended, "cpu": cpu, "pg_cpu": pg, **counts}
    print(json.dumps(out), flush=True)
    return 0


def _consumers(url: str, redis_url: str, prefix: str, batch: int, n: int, code: str | None = None) -> dict:
    """``n`` consumer processes (:func:`_child`) draining the queue at once;
    ``code``: another checkout of the project whose ``core`` and ``plugins``
    the consumers import (``--ab``)."""
    from jishi_flashsale import gate

    gate.redis_client().delete(prefix + "bench:ready")
    env = dict(os.environ)
    if code:
        plugins = sorted(str(p) for p in Path(code, "plugins").iterdir() if p.is_dir())
        env["PYTHONPATH"] = os.pathsep.join([str(Path(code, "core")), *plugins])
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--child", url, redis_url, prefix, str(batch), str(n)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(n)
    ]
    outs = []
    for proc in procs:
        out, _err = proc.communicate(timeout=1800)
        if proc.returncode != 0:
            raise SystemExit(f"a consumer exited {proc.returncode}")
        outs.append(json.loads(out.strip().splitlines()[-1]))
    seconds = max(o["ended"] for o in outs) - min(o["started"] for o in outs)
    done = sum(o["done"] for o in outs)
    return {
        "done": done,
        "seconds": seconds,
        "rate": done / seconds,
        "statements": sum(o["statements"] for o in outs),
        "commits": sum(o["commits"] for o in outs),
        "cpu": sum(o["cpu"] for o in outs),
        "pg_cpu": sum(o["pg_cpu"] for o in outs),
        "each": [o["done"] for o in outs],
    }


def _sold(fsid: int) -> tuple[int, int, int]:
    from jishi.db import db
    from jishi.orders.models import OrderLine
    from jishi_flashsale.models import FlashSku

    db.session.expire_all()
    fs = db.session.get(FlashSku, fsid)
    units = db.session.scalar(
        db.select(db.func.coalesce(db.func.sum(OrderLine.quantity), 0)).where(OrderLine.sku_id == fs.sku_id)
    )
    return fs.stock, fs.sold, int(units)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", choices=("postgres", "sqlite"), default="postgres")
    ap.add_argument("--jobs", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--consumers", default="", help="comma-separated consumer process counts, e.g. 1,2")
    ap.add_argument("--rounds", type=int, default=1, help="alternate the --consumers counts this often")
    ap.add_argument("--no-single", action="store_true", help="skip the in-process drains")
    ap.add_argument("--ab", default="", help="also run the consumers on the code of this checkout, alternating")
    if sys.argv[1:2] == ["--child"]:
        url, redis_url, prefix, batch, n = sys.argv[2:7]
        return _child(url, redis_url, prefix, int(batch), int(n))
    args = ap.parse_args()
    load = os.getloadavg()
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; cpus {os.cpu_count()}; {args.db}")
    url = database_url(args.db, f"jishi_fs_drain_{os.getpid()}")
    info = seed(url, buyers=args.jobs, units=0)
    ok = True
    with redis_server() as redis_url:
        app = _app(url, redis_url)
        results = {}
        for batch in () if args.no_single else (1, args.batch):
            with app.app_context():
                sku_id, fsid = _sale(args.jobs)
            queued = _queue(app, info, sku_id)  # each request in an app context of its own, as served
            with app.app_context():
                r = _drain(batch, args.profile and batch > 1)
                stock, sold, units = _sold(fsid)
            good = queued == args.jobs == r["done"] == sold == units == stock
            ok = ok and good
            results[batch] = r
            print(
                f"   batch {batch:3d}: {r['done']} orders in {r['seconds']:.2f} s = {r['rate']:7.0f} orders/s; "
                f"{r['statements'] / max(r['done'], 1):.1f} statements and {r['commits'] / max(r['done'], 1):.2f} "
                f"commits per order; sold {sold} of {stock}, {units} units ordered"
                + ("" if good else f"  MISMATCH (queued {queued})")
            )
        if results:
            one, many = results[1], results[args.batch]
            print(f"   batched ÷ one by one: {many['rate'] / one['rate']:.2f} (same run)")
        counts = [int(c) for c in args.consumers.split(",") if c.strip()]
        cpus: dict[tuple, list[float]] = {
            (c, code): [] for c in counts for code in ([None, args.ab] if args.ab else [None])
        }
        rates: dict[tuple, list[float]] = {
            (c, code): [] for c in counts for code in ([None, args.ab] if args.ab else [None])
        }
        prefix = f"drain{os.getpid()}:"
        codes = [None, args.ab] if args.ab else [None]
        for _round in range(args.rounds if counts else 0):
            for n, code in [(n, code) for n in counts for code in codes]:
                with app.app_context():
                    sku_id, fsid = _sale(args.jobs)
                queued = _queue(app, info, sku_id)
                with app.app_context():
                    r = _consumers(url, redis_url, prefix, args.batch, n, code)
                    stock, sold, units = _sold(fsid)
                good = queued == args.jobs == r["done"] == sold == units == stock
                ok = ok and good
                rates[(n, code)].append(r["rate"])
                cpus[(n, code)].append((r["cpu"] + r["pg_cpu"]) / max(r["done"], 1) * 1000)
                load = os.getloadavg()
                print(
                    f"   {n} consumer{'s' if n > 1 else ' '} (batch {args.batch}{', ' + code if code else ''}): {r['done']} orders in "
                    f"{r['seconds']:.2f} s = {r['rate']:7.0f} orders/s (each {r['each']}); "
                    f"{r['statements'] / max(r['done'], 1):.2f} statements and {r['commits'] / max(r['done'], 1):.3f} "
                    f"commits per order; CPU per order {r['cpu'] / max(r['done'], 1) * 1000:.2f} ms consumer + "
                    f"{r['pg_cpu'] / max(r['done'], 1) * 1000:.2f} ms PostgreSQL; "
                    f"sold {sold} of {stock}, {units} units ordered; load {load[0]:.2f}"
                    + ("" if good else f"  MISMATCH (queued {queued})")
                )
        for (n, code), got in rates.items():
            if got:
                print(
                    f"   {n} consumer(s){' (' + code + ')' if code else ''}: median {statistics.median(got):.0f} "
                    f"orders/s of {len(got)} rounds ({', '.join(f'{x:.0f}' for x in got)}); CPU per order "
                    f"median {statistics.median(cpus[(n, code)]):.2f} ms (consumer + PostgreSQL)"
                )
    if args.db == "postgres":
        from common import PG_ADMIN_URL
        from sqlalchemy import create_engine, text

        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "jishi_fs_drain_{os.getpid()}" WITH (FORCE)'))
        admin.dispose()
    load = os.getloadavg()
    print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
