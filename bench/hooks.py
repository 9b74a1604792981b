"""Hook overhead in-process: checkout preview and product detail with 10
no-op plugins registered ÷ with none (target ≤ 1.03).

Interleaved rounds and medians, measured with the test client so that the
HTTP server and the load generator add no noise on a small machine.

    python bench/hooks.py [--db sqlite|postgres] [--rounds 15]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from catalog import prepare_buyer
from common import database_url, seed_catalog
from jishi.app import create_app
from noop_wsgi import NoOp


def per_request_ms(client, call, n) -> float:
    start = time.perf_counter()
    for _ in range(n):
        resp = call(client)
        assert resp.status_code == 200, resp.get_data(as_text=True)[:200]
    return (time.perf_counter() - start) / n * 1000


def measure(url: str, info: dict, with_noop: bool, n: int) -> dict:
    """Per-request ms for each case in a fresh app (run in its own process)."""
    cfg = {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "JISHI_SANDBOX_SECRET": "bench"}
    plugins = [NoOp(i) for i in range(10)] if with_noop else []
    client = create_app(cfg, plugins=plugins, instance_path=tempfile.mkdtemp()).test_client()
    h = {"Authorization": f"Bearer {info['token']}"}
    body = {"items": [{"sku_id": s, "quantity": 1} for s in info["skus"][:5]], "address_id": info["address_id"]}
    cases = {
        "checkout preview (5 lines)": lambda c: c.post("/api/v1/checkout/preview", json=body, headers=h),
        "product detail": lambda c: c.get(f"/api/v1/products/{info['skus'][0]}", headers=h),
    }
    out = {}
    for name, call in cases.items():
        per_request_ms(client, call, 30)
        out[name] = per_request_ms(client, call, n)
    return out


def main() -> None:
    import json
    import subprocess

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", default="sqlite", choices=["sqlite", "postgres"])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        url, info_json, noop = args.worker.split("|", 2)
        print(json.dumps(measure(url, json.loads(info_json), noop == "1", args.n)))
        return
    url = database_url(args.db, "jishi_bench_hooks_inproc")
    seed_catalog(url, 1000)
    info = prepare_buyer(url)
    results = {False: [], True: []}
    for i in range(args.rounds):
        for noop in (False, True) if i % 2 == 0 else (True, False):
            cmd = [sys.executable, __file__, "--n", str(args.n), "--worker", f"{url}|{json.dumps(info)}|{int(noop)}"]
            results[noop].append(
                json.loads(
                    subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
                )
            )
    print(
        f"-- hook overhead ({args.db}; each round a fresh process per configuration; median of {args.rounds} rounds of {args.n} requests)"
    )
    for name in results[False][0]:
        pa = statistics.median(r[name] for r in results[False])
        pb = statistics.median(r[name] for r in results[True])
        print(f"   {name:28s} none {pa:6.3f} ms   10 no-op {pb:6.3f} ms   ratio {pb / pa:.3f}  (target <= 1.03)")


if __name__ == "__main__":
    main()
