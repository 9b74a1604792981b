"""Buyer hot paths with every first-party plugin enabled (issue 20).

Add to cart (``POST /api/v1/cart/items``), checkout preview
(``POST /api/v1/checkout/preview``) and placement
(``POST /api/v1/checkout/place``) of 1 line / 1 merchant, 5 lines /
1 merchant and 5 lines / 3 merchants, in-process (the WSGI app called
through the test client, each request in a fresh app context as a server
serves it: ``jishi.testing.ServedClient``), against the bare Flask +
SQLAlchemy endpoint of ``bench/baseline_app.py`` (``GET /products``, the
same 20-row query) on the same database in the same process.

For each path it prints the exact SQL statements of one request (token
lookup included) and the ratio ours ÷ bare of requests per second: the two
alternate ``--rounds`` times (``--requests`` each), the ratio is the
median of the paired ratios.

    python bench/cart_checkout.py [--db sqlite|postgres|both] [--rounds 5] [--requests 100] [--profile PATH]

``--profile PATH`` (one of the paths printed, e.g. ``place-5x3``) prints
cProfile's top entries of that path instead of timing.

Targets (issue 20): add to cart ≤ 5 statements, ratio ≥ 0.3; preview
≤ 6 + plugins' batched reads, ≥ 0.25; place ≤ 12 + L (L lines), ≥ 0.2.
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

#: every first-party plugin (the payment gateways and the WeChat login too)
PLUGINS = (
    "alipay,coupons,delivery_express,delivery_local,designer,distribution,flashsale,groupbuy,messages,"
    "multistore,pickup,points,shopping_options,virtual,wechat_login,wechatpay"
)
CARTS = [(1, 1), (1, 5), (3, 5)]  # (merchants, lines)


def setup(kind: str):
    from common import database_url

    url = database_url(kind, f"jishi_bench_hot_{os.getpid()}")
    os.environ["JISHI_TEST_DATABASE_URL"] = url
    os.environ["JISHI_DATABASE_URL"] = url
    from jishi.cart.models import CartLine
    from jishi.db import db
    from jishi.testing import factories as f
    from jishi.testing import make_app
    from jishi_multistore import testing as ms

    app = make_app(
        Path(tempfile.mkdtemp()),
        plugins=PLUGINS,
        config={
            "TESTING": False,
            "JISHI_SANDBOX_SECRET": "bench",
            "SECRET_KEY": "bench-secret-key-long-enough-0123456789",
        },
    )
    ctx = app.app_context()
    ctx.push()
    from jishi_delivery_express.testing import piece_template

    # the platform's default express template: every group can ship
    piece_template(name="默认")
    # as a worker's periodic jobs do: publish when promotions may run (issue 20)
    hook = app.extensions["jishi"].hook
    for job in (j for r in hook.periodic_jobs() for j in (r or []) if j.name.endswith("_windows")):
        job.func()
    buyer = f.user()
    addr = f.address(buyer)
    token = f.token(buyer)
    merchants = [ms.merchant(f"店{i}") for i in range(3)]
    skus = {}
    for m_count, lines in CARTS:
        ids = []
        for j in range(lines):
            m = merchants[j % m_count]
            ids.append(ms.product(m, price=1000 + j, stock=10**7).skus[0].id)
        skus[(m_count, lines)] = ids
    cart_skus = [ms.product(merchants[0], price=500, stock=10**7).skus[0].id for _ in range(4)]
    # the buyer's cart already holds some other lines
    for i in range(3):
        f_sku = ms.product(merchants[i], price=700, stock=10**7).skus[0].id
        db.session.add(CartLine(user_id=buyer.id, sku_id=f_sku, quantity=1, selected=False))
    db.session.commit()
    address_id = addr.id
    db.session.remove()
    return app, url, {"token": token, "address_id": address_id, "skus": skus, "cart_skus": cart_skus}


def paths(app, info):
    """name -> a function making one request (asserting its answer)."""
    client = app.test_client()
    auth = {"Authorization": f"Bearer {info['token']}"}
    out = {}
    seq = iter(range(10**9))

    def add():
        sku = info["cart_skus"][next(seq) % len(info["cart_skus"])]
        r = client.post("/api/v1/cart/items", json={"sku_id": sku, "quantity": 1}, headers=auth)
        assert r.status_code == 201, r.get_json()

    out["cart-add"] = add
    for (m, n), skus in info["skus"].items():
        body = {"items": [{"sku_id": s, "quantity": 1} for s in skus], "address_id": info["address_id"]}

        def preview(body=body):
            r = client.post("/api/v1/checkout/preview", json=body, headers=auth)
            assert r.status_code == 200, r.get_json()

        def place(body=body, m=m):
            key = f"k{next(seq)}"
            r = client.post("/api/v1/checkout/place", json=body, headers={**auth, "Idempotency-Key": key})
            assert r.status_code == 201, r.get_json()
            assert len(r.get_json()["orders"]) == m

        out[f"preview-{n}x{m}"] = preview
        out[f"place-{n}x{m}"] = place
    return out


def bare_request(url: str):
    os.environ["JISHI_DATABASE_URL"] = url
    import importlib

    import baseline_app

    importlib.reload(baseline_app)  # its engine for this database
    client = baseline_app.app.test_client()

    def get():
        r = client.get("/products")
        assert r.status_code == 200

    return get


def per_second(fn, n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return n / (time.perf_counter() - t0)


def run(kind: str, rounds: int, requests: int, profile: str | None) -> None:
    from jishi.db import db
    from jishi.testing import count_queries

    app, url, info = setup(kind)
    todo = paths(app, info)
    bare = bare_request(url)
    if profile:
        import cProfile
        import pstats

        fn = todo[profile]
        for _ in range(5):
            fn()
        pr = cProfile.Profile()
        pr.enable()
        for _ in range(requests):
            fn()
        pr.disable()
        pstats.Stats(pr).sort_stats("cumulative").print_stats(45)
        pstats.Stats(pr).sort_stats("tottime").print_stats(25)
        return
    print(f"\n{kind}: every first-party plugin; in-process, ratio = ours ÷ bare GET /products (median of {rounds})")
    print(f"{'path':14} {'statements':>10} {'req/s':>8} {'bare':>8} {'ratio':>6}  rounds")
    for name, fn in todo.items():
        for _ in range(3):
            fn()
        with count_queries(db.engine) as q:
            fn()
        statements = q.count
        pairs = []
        for _ in range(rounds):
            b = per_second(bare, requests)
            o = per_second(fn, requests)
            pairs.append((b, o))
        ratio = statistics.median(o / b for b, o in pairs)
        rps = statistics.median(o for _, o in pairs)
        brps = statistics.median(b for b, _ in pairs)
        each = " ".join(f"{o / b:.2f}" for b, o in pairs)
        print(f"{name:14} {statements:>10} {rps:>8.0f} {brps:>8.0f} {ratio:>6.2f}  ({each})", flush=True)
        if os.environ.get("BENCH_STATEMENTS"):
            print("\n".join("     " + s[:160].replace("\n", " ") for s in q.statements))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--requests", type=int, default=100, help="requests per round and side")
    ap.add_argument("--profile", help="a path name: print cProfile's top entries of it")
    args = ap.parse_args()
    kinds = ("sqlite", "postgres") if args.db == "both" else (args.db,)
    for kind in kinds:
        run(kind, args.rounds, args.requests, args.profile)


if __name__ == "__main__":
    main()
