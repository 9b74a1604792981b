"""Multistore benchmark (MS13): the buyers' merchant list sorted by
distance over 10k and 100k merchants.

    python bench/merchant_list.py                    # SQLite and PostgreSQL, 10k and 100k
    python bench/merchant_list.py --db sqlite --sizes 10000,100000 --requests 300

Merchants are seeded by one INSERT ... SELECT inside the database, spread
over a 1.5° × 1.5° area around Hangzhou (about 167 × 143 km). Requests run
in-process through Flask's test client (no gunicorn/wrk: the figure is the
server's own time per request, without network or worker scheduling):
``GET /api/v1/shops?sort=distance&lat=..&lng=..&limit=20`` from 20 visitor
positions in turn. Printed: the exact SQL statement count of a request, its
p50 and p90, and the 100k ÷ 10k ratio of the p50 (target ≤ 1.5).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import database_url

LAT0, LNG0, SPAN = 29.5, 119.5, 1.5


def make_app(url: str):
    from jishi.app import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "bench",
            "JISHI_SANDBOX_SECRET": "bench",
            "RATELIMIT_ENABLED": False,
            "JISHI_PLUGINS": "multistore",
        },
        instance_path=tempfile.mkdtemp(),
    )


def seed(url: str, n: int) -> None:
    """Schema, one owner, ``n`` approved open merchants with coordinates (one INSERT ... SELECT)."""
    from jishi.db import db
    from jishi_multistore.models import Merchant
    from sqlalchemy import text

    app = make_app(url)
    pg = url.startswith("postgres")
    with app.app_context():
        db.create_all()
        engine = db.engine
    series = (
        f"SELECT generate_series(CAST(1 AS BIGINT), {n}) AS x"
        if pg
        else f"WITH RECURSIVE cnt(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM cnt WHERE x < {n}) SELECT x FROM cnt"
    )
    now = "now()" if pg else "CURRENT_TIMESTAMP"
    true = "true" if pg else "1"
    known = {
        "id": "x",
        "owner_id": "1",
        "name": "'商户 ' || x",
        "category": "'餐饮'",
        "review_status": "'approved'",
        "status": "'open'",
        "stars": "1 + x % 5",
        "hours": "'00:00-24:00'",
        "avg_spend": "1000 + (x * 37) % 9000",
        "lat": f"{LAT0} + ((x * 7919) % 100003) * {SPAN} / 100003.0",
        "lng": f"{LNG0} + ((x * 104729) % 99991) * {SPAN} / 99991.0",
        "lat_strip": f"CAST(floor(({LAT0} + ((x * 7919) % 100003) * {SPAN} / 100003.0) * 100) AS INTEGER)",
        "returns_enabled": true,
        "ledger_version": "0",
        "created_at": now,
        "reviewed_at": now,
        "approved_at": now,
        "address": "'杭州市'",
    }
    columns, values = [], []
    for col in Merchant.__table__.columns:
        if col.name in known:
            expr = known[col.name]
        elif col.nullable:
            continue
        elif str(col.type) == "JSON":
            expr = "'[]'" if col.name in ("images", "delivery_templates") else "'{}'"
        else:
            expr = "''"  # remaining NOT NULL text columns (defaults "")
        columns.append(col.name)
        values.append(expr)
    with engine.begin() as conn:
        conn.execute(
            text(
                f"INSERT INTO users (id, phone, password_hash, role, name, session_token, is_active, created_at) "
                f"VALUES (1, '13900000000', 'x', 'buyer', '店主', 'bench', {true}, {now})"
            )
        )
        conn.execute(
            text(
                f"INSERT INTO multistore_merchants ({', '.join(columns)}) SELECT {', '.join(values)} FROM ({series}) AS s"
            )
        )
        if pg:
            for table in ("users", "multistore_merchants"):
                conn.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
                )
            conn.execute(text("ANALYZE"))
    engine.dispose()


def visitors(k: int = 20) -> list[tuple[float, float]]:
    """Visitor positions inside the seeded area (away from its edges)."""
    return [(LAT0 + 0.2 + (i * 0.37) % (SPAN - 0.4), LNG0 + 0.2 + (i * 0.53) % (SPAN - 0.4)) for i in range(k)]


def measure(url: str, requests: int) -> dict:
    from jishi.db import db
    from jishi.testing import count_queries

    app = make_app(url)
    client = app.test_client()
    points = visitors()
    paths = [f"/api/v1/shops?sort=distance&lat={lat:.6f}&lng={lng:.6f}&limit=20" for lat, lng in points]
    with app.app_context():
        engine = db.engine
        for path in paths:  # warm up (connections, statement caches)
            assert client.get(path).status_code == 200
        with count_queries(engine) as q:
            resp = client.get(paths[0])
        body = resp.get_json()
        assert resp.status_code == 200 and len(body["items"]) == 20, resp.get_data(as_text=True)[:300]
        statements = q.count
        per_path = []
        for path in paths:
            with count_queries(engine) as qq:
                client.get(path)
            per_path.append(qq.count)
        times = []
        for i in range(requests):
            t0 = time.perf_counter()
            r = client.get(paths[i % len(paths)])
            times.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200
    times.sort()
    return {
        "statements": statements,
        "statements_all": sorted(set(per_path)),
        "p50": statistics.median(times),
        "p90": times[int(len(times) * 0.9)],
        "nearest": body["items"][0]["distance_text"],
        "farthest": body["items"][-1]["distance_text"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="both", choices=("sqlite", "postgres", "both"))
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    kinds = ("sqlite", "postgres") if args.db == "both" else (args.db,)
    for kind in kinds:
        results = {}
        for n in sizes:
            url = database_url(kind, f"jishi_bench_merchants_{n}")
            t0 = time.perf_counter()
            seed(url, n)
            seeded = time.perf_counter() - t0
            results[n] = r = measure(url, args.requests)
            print(
                f"{kind:8} {n:>7} merchants (seeded in {seeded:5.1f} s): {r['statements']} SQL statement(s) per request "
                f"(all visitors: {r['statements_all']}), p50 {r['p50']:.2f} ms, p90 {r['p90']:.2f} ms; "
                f"first page {r['nearest']} .. {r['farthest']}",
                flush=True,
            )
        if len(sizes) >= 2:
            lo, hi = min(sizes), max(sizes)
            print(
                f"{kind:8} p50 ratio {hi // 1000}k ÷ {lo // 1000}k = {results[hi]['p50'] / results[lo]['p50']:.2f} (target ≤ 1.5)",
                flush=True,
            )


if __name__ == "__main__":
    main()
