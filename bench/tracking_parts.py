"""The parts of visit tracking's cost, alone (issue 19).

    python bench/tracking_parts.py [--db sqlite|postgres]

- per request: ``track()`` plus the ``after_request`` hook (bot check,
  visitor id, buffer append), in one request context, best of 5 × 20,000,
  for the API (mini-program header) and a page (cookie), a phone's
  WeChat user agent;
- the writer: ``write()`` of batches of 200 product views by 500 rotating
  visitors (each event 2-3 counter keys), CPU and wall time per batch.

PostgreSQL: ``BENCH_PG_URL`` as in ``reports.py`` (its tables are dropped).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import reports

UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148 MicroMessenger/8.0.43(0x18002b2c) NetType/WIFI Language/zh_CN"
)


def per_request(app, n: int = 20000) -> None:
    from flask import Response, g
    from jishi.reports import tracking as tr

    for html in (False, True):
        headers = {"User-Agent": UA}
        if html:
            path, headers["Cookie"] = "/product/3", "jishi_vid=benchbrowser0001"
        else:
            path, headers["X-Jishi-Visitor"] = "/api/v1/products/3", "mp-visitor-00001"
        with app.test_request_context(path, headers=headers):
            response, best = Response("x"), 1e9
            for _ in range(5):
                t0 = time.process_time()
                for _ in range(n):
                    tr.track("product", 3, 7)
                    tr._after_request(response)
                    g.pop("_jishi_visitor", None)
                best = min(best, (time.process_time() - t0) / n)
                app.extensions["jishi_visit_buffer"].events.clear()
        print(f"{'page' if html else 'API '} track + after_request: {best * 1e6:.1f} µs per request", flush=True)


def writer(app, kind: str, runs: int = 30) -> None:
    from jishi.reports import tracking as tr

    def batch(j: int) -> list[list]:
        return [
            ["2026-12-04", "product", 1 + i % 50, 1 + i % 7, f"hmp-visitor-{(i + j) % 500:05d}"] for i in range(200)
        ]

    with app.app_context():
        for j in range(5):
            tr.write(batch(j))
        t0, w0 = time.process_time(), time.perf_counter()
        for j in range(runs):
            tr.write(batch(j * 200))
        cpu, wall = (time.process_time() - t0) / runs, (time.perf_counter() - w0) / runs
    print(
        f"{kind} write(200 events): CPU {cpu * 1e3:.2f} ms, wall {wall * 1e3:.2f} ms; CPU per event {cpu / 200 * 1e6:.1f} µs",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="sqlite", choices=("sqlite", "postgres"))
    args = parser.parse_args()
    url = reports.database(args.db)
    reports.fresh_schema(url)
    app = reports.make_app(url, JISHI_TRACKING=True, JISHI_TRACKING_BATCH=10**9, JISHI_TRACKING_FLUSH_SECONDS=10**9)
    per_request(app)
    writer(app, args.db)


if __name__ == "__main__":
    main()
