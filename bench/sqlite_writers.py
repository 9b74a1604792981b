"""SQLite writers from several processes, with and without the write lock
(``JISHI_DB_SQLITE_WRITE_LOCK``, :func:`jishi.db.sqlite_write_lock`).

Each process runs short write transactions for ``--seconds``, as a gunicorn
worker placing orders does: ``BEGIN IMMEDIATE``, an UPDATE, ``--inside`` ms
of CPU work, COMMIT, then ``--outside`` ms of CPU work (rendering the
answer, reading the next request). Without the lock a writer that finds
SQLite's lock taken sleeps in SQLite's busy handler (1, 2, 5, 10 ... ms);
with it, the kernel wakes it when the lock is free. Runs alternate
(off, on, off, on, ...); figures: transactions per second of all the
processes together and each transaction's wall time from its BEGIN to its
commit (p50, p99).

    python bench/sqlite_writers.py --processes 2 --rounds 3 --seconds 3
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "core"))


def _spin(ms: float) -> None:
    end = time.perf_counter() + ms / 1000
    while time.perf_counter() < end:
        pass


def writer(url: str, locked: bool, seconds: float, inside: float, outside: float, start: float, out) -> None:
    from jishi.db import sqlite_write_lock
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    if locked:
        assert sqlite_write_lock(engine)
    walls = []
    while time.time() < start:
        time.sleep(0.001)
    end = start + seconds
    while time.time() < end:
        t0 = time.perf_counter()
        with engine.begin() as conn:  # BEGIN IMMEDIATE (no request: a write)
            conn.execute(text("UPDATE counter SET n = n + 1"))
            _spin(inside)
        walls.append(time.perf_counter() - t0)
        _spin(outside)
    engine.dispose()
    out.put(walls)


def run(path: str, locked: bool, args) -> dict:
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    start = time.time() + 1.5  # every process imported and connected
    procs = [
        ctx.Process(
            target=writer,
            args=(f"sqlite:///{path}", locked, args.seconds, args.inside, args.outside, start, out),
        )
        for _ in range(args.processes)
    ]
    for p in procs:
        p.start()
    walls = [w for _ in procs for w in out.get()]
    for p in procs:
        p.join()
    walls.sort()
    return {
        "tps": len(walls) / args.seconds,
        "p50": 1000 * walls[len(walls) // 2],
        "p99": 1000 * walls[int(len(walls) * 0.99)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3)
    parser.add_argument("--inside", type=float, default=2.0, help="ms of CPU inside each transaction")
    parser.add_argument("--outside", type=float, default=2.0, help="ms of CPU between transactions")
    args = parser.parse_args()
    import sqlite3

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "writers.db")
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE counter (n INTEGER NOT NULL)")
        conn.execute("INSERT INTO counter VALUES (0)")
        conn.commit()
        conn.close()
        results: dict[bool, list[dict]] = {False: [], True: []}
        for _ in range(args.rounds):
            for locked in (False, True):
                results[locked].append(run(path, locked, args))
    print(
        f"-- {args.processes} processes, {args.rounds} × {args.seconds} s each way, {args.inside} ms inside /"
        f" {args.outside} ms outside each transaction (medians; load {os.getloadavg()[0]:.1f})"
    )
    for locked in (False, True):
        rs = results[locked]
        print(
            f"   {'write lock' if locked else 'busy handler only':20s}"
            f" {statistics.median(r['tps'] for r in rs):7.0f} tx/s"
            f"  p50 {statistics.median(r['p50'] for r in rs):6.1f} ms"
            f"  p99 {statistics.median(r['p99'] for r in rs):6.1f} ms"
        )


if __name__ == "__main__":
    main()
