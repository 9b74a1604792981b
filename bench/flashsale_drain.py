"""Flash-sale queue drain (issue 20): how fast ``jishi flashsale work``
places queued purchases, one by one against in batches of one transaction,
measured in the same run on the same database.

    python bench/flashsale_drain.py [--db postgres|sqlite] [--jobs 2000] [--batch 50] [--profile]

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
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import database_url
from flashsale_common import seed
from flashsale_stress import redis_server


def _app(url: str, redis_url: str):
    from jishi.app import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "bench",
            "JISHI_SANDBOX_SECRET": "bench",
            "JISHI_PLUGINS": "flashsale",
            "JISHI_REDIS_URL": redis_url,
            "JISHI_FLASHSALE_REDIS_PREFIX": f"drain{os.getpid()}:",
            "RATELIMIT_ENABLED": False,
        },
        instance_path=tempfile.mkdtemp(),
    )


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
        stats = pstats.Stats(prof)
        stats.sort_stats("cumulative").print_stats(35)
    return out


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
    args = ap.parse_args()
    load = os.getloadavg()
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; cpus {os.cpu_count()}; {args.db}")
    url = database_url(args.db, "jishi_fs_drain")
    info = seed(url, buyers=args.jobs, units=0)
    ok = True
    with redis_server() as redis_url:
        app = _app(url, redis_url)
        results = {}
        for batch in (1, args.batch):
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
    one, many = results[1], results[args.batch]
    print(f"   batched ÷ one by one: {many['rate'] / one['rate']:.2f} (same run)")
    load = os.getloadavg()
    print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
