"""Cross-store checkout cost with the multistore plugin (MS8, MS9).

Places the same checkout again and again through ``POST /api/v1/checkout/place``
(in-process, the WSGI app called through Flask's test client: no HTTP server)
for carts with lines from 1, 5 and 20 merchants, 1 merchant × 20 lines and
3 merchants × 9 lines, with a platform-funded 100−10 full reduction so that
allocations are written too. Prints, per cart, the exact SQL statements of
one placement (token lookup included; counted with the kernel's
``count_queries``) and the median / p90 time per checkout.

    python bench/checkout_merchants.py [--db sqlite|postgres|both] [--n 60]

Target: an extra merchant adds no statement (payments, orders, lines,
allocations, history and the stock of every line are each written in one
statement); 3 merchants × 9 lines ≤ 21 statements.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

CARTS = [(1, 1), (5, 1), (20, 1), (1, 20), (3, 9)]  # (merchants, lines per merchant)


class FullReduction:
    """Platform-funded 100−10: 1000 fen off when the goods reach 10000 fen."""

    def __init__(self):
        from jishi.hookspecs import hookimpl

        @hookimpl
        def order_discounts(checkout):
            from jishi.hookspecs import Discount

            if checkout.goods_amount >= 10000:
                return [Discount("full_reduction", "满100减10", 1000, funded_by="platform")]
            return None

        self.order_discounts = order_discounts


def run(kind: str, n: int) -> list[tuple]:
    from common import database_url

    url = database_url(kind, f"jishi_bench_checkout_{os.getpid()}")
    os.environ["JISHI_TEST_DATABASE_URL"] = url
    from jishi.db import db
    from jishi.testing import count_queries, make_app
    from jishi.testing import factories as f
    from jishi_multistore import testing as ms

    app = make_app(Path(tempfile.mkdtemp()), plugins=["multistore"], extra_plugins=[FullReduction()])
    out = []
    with app.app_context():
        client = app.test_client()
        for merchants, lines_each in CARTS:
            buyer = f.user()
            addr = f.address(buyer)
            token = f.token(buyer)
            skus = []
            for i in range(merchants):
                m = ms.merchant(f"店{merchants}-{lines_each}-{i}")
                for j in range(lines_each):
                    # every cart reaches 100 yuan: the discount applies to all
                    skus.append(
                        ms.product(m, price=10000 // (merchants * lines_each) + 100 + j, stock=10**6).skus[0].id
                    )
            payload = {"items": [{"sku_id": s, "quantity": 1} for s in skus], "address_id": addr.id}
            headers = {"Authorization": f"Bearer {token}"}
            db.session.remove()

            def place(key: str, payload=payload, headers=headers, merchants=merchants):
                r = client.post("/api/v1/checkout/place", json=payload, headers={**headers, "Idempotency-Key": key})
                assert r.status_code == 201, r.get_json()
                assert len(r.get_json()["orders"]) == merchants
                db.session.remove()

            for i in range(3):  # warm up
                place(f"warm-{merchants}-{lines_each}-{i}")
            with count_queries(db.engine) as q:
                place(f"count-{merchants}-{lines_each}")
            times = []
            for i in range(n):
                t0 = time.perf_counter()
                place(f"t-{merchants}-{lines_each}-{i}")
                times.append((time.perf_counter() - t0) * 1000)
            times.sort()
            out.append((merchants, lines_each, q.count, statistics.median(times), times[int(len(times) * 0.9) - 1]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    ap.add_argument("--n", type=int, default=60, help="checkouts timed per cart")
    args = ap.parse_args()
    kinds = ("sqlite", "postgres") if args.db == "both" else (args.db,)
    for kind in kinds:
        rows = run(kind, args.n)
        print(f"\n{kind}: POST /api/v1/checkout/place with multistore, 100−10 platform discount")
        print(f"{'merchants':>9} {'lines':>5} {'statements':>10} {'p50 ms':>8} {'p90 ms':>8}")
        for merchants, lines_each, count, p50, p90 in rows:
            print(f"{merchants:>9} {merchants * lines_each:>5} {count:>10} {p50:>8.1f} {p90:>8.1f}")
        base = rows[0][2]
        extra = {f"{m}×{n}": c - base for m, n, c, *_ in rows}
        print("statements added over 1 merchant × 1 line:", extra)


if __name__ == "__main__":
    main()
