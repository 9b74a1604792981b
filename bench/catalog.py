"""Kernel benchmark: SQL queries per request (the HTML product page too,
with no plugin and with every first-party plugin), throughput and p99
against a bare Flask + SQLAlchemy yardstick, growth from 1k to 1M products,
(the overhead of 10 no-op plugins is bench/hooks.py).

    python bench/catalog.py                       # SQLite, 1k / 100k / 1M
    python bench/catalog.py --db postgres --sizes 1000,100000
    python bench/catalog.py --quick               # 1k and 100k, 3 s runs

Every figure is printed; nothing is asserted here (the exact query budgets
are also asserted in the test suite).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import database_url, fmt, gunicorn, seed_catalog, wrk, wrk_post_script


def prepare_buyer(url: str) -> dict:
    """A buyer with a token and an address, and a few SKU ids."""
    from jishi.app import create_app
    from jishi.db import db
    from jishi.models import Sku
    from jishi.testing import factories

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "JISHI_SANDBOX_SECRET": "bench"},
        instance_path=tempfile.mkdtemp(),
    )
    with app.app_context():
        buyer = factories.user(phone="13900000000")
        token = factories.token(buyer)
        addr = factories.address(buyer)
        skus = db.session.execute(db.select(Sku.id).order_by(Sku.id.desc()).limit(30)).scalars().all()
        product_id = db.session.get(Sku, skus[0]).product_id
        info = {"token": token, "address_id": addr.id, "skus": skus, "user_id": buyer.id, "product_id": product_id}
    return info


def query_counts(url: str, info: dict) -> dict:
    """Exact statements per request, measured in-process."""
    from jishi.app import create_app
    from jishi.cart.models import CartLine
    from jishi.db import db
    from jishi.testing import ServedClient, count_queries

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "bench",
            "JISHI_SANDBOX_SECRET": "bench",
            "RATELIMIT_ENABLED": False,
        },
        instance_path=tempfile.mkdtemp(),
    )
    # Each request in a fresh app context (its own g, session and settings
    # cache), as gunicorn serves it: counts are what production executes.
    app.test_client_class = ServedClient
    client = app.test_client()
    h = {"Authorization": f"Bearer {info['token']}"}
    out = {}
    with app.app_context():
        engine = db.engine

        def measure(name, fn):
            with count_queries(engine) as q:
                resp = fn()
            assert resp.status_code < 300, (name, resp.status_code, resp.get_data(as_text=True)[:300])
            out[name] = (q.count, len(q.duplicates()))

        measure("product list (20)", lambda: client.get("/api/v1/products?limit=20", headers=h))
        measure("product list (100)", lambda: client.get("/api/v1/products?limit=100", headers=h))
        measure("product detail", lambda: client.get(f"/api/v1/products/{info['skus'][0]}", headers=h))
        db.session.execute(db.delete(CartLine))
        db.session.commit()
        measure(
            "add to cart (empty cart)",
            lambda: client.post("/api/v1/cart/items", json={"sku_id": info["skus"][0], "quantity": 1}, headers=h),
        )
        for sku in info["skus"][1:30]:
            client.post("/api/v1/cart/items", json={"sku_id": sku, "quantity": 1}, headers=h)
        measure(
            "add to cart (30 lines)",
            lambda: client.post("/api/v1/cart/items", json={"sku_id": info["skus"][0], "quantity": 1}, headers=h),
        )
        db.session.execute(db.delete(CartLine))
        db.session.commit()
        for n in (1, 5, 10):
            body = {"items": [{"sku_id": s, "quantity": 1} for s in info["skus"][:n]], "address_id": info["address_id"]}
            measure(
                f"checkout place ({n} lines)",
                lambda body=body, n=n: client.post(
                    "/api/v1/checkout/place", json=body, headers={**h, "Idempotency-Key": f"qc-{n}"}
                ),
            )
    return out


#: every first-party plugin, for the product page's count "whatever plugins are enabled"
ALL_PLUGINS = "multistore,delivery_express,pickup,delivery_local,coupons,groupbuy,flashsale"


def product_page_counts(url: str, info: dict) -> dict:
    """Exact statements of the storefront product page (HTML, a visitor),
    each request served in a fresh app context, with no plugin and with
    every first-party plugin enabled (their tables created when missing)."""
    from jishi.app import create_app
    from jishi.db import db
    from jishi.testing import ServedClient, count_queries

    out = {}
    for label, plugins in (("none", ""), ("all plugins", ALL_PLUGINS)):
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": url,
                "SECRET_KEY": "bench",
                "JISHI_SANDBOX_SECRET": "bench",
                "RATELIMIT_ENABLED": False,
                "JISHI_PLUGINS": plugins,
            },
            instance_path=tempfile.mkdtemp(),
        )
        app.test_client_class = ServedClient
        client = app.test_client()
        with app.app_context():
            db.create_all()
            path = f"/product/{info['product_id']}"
            client.get(path)
            with count_queries(db.engine) as q:
                resp = client.get(path)
            assert resp.status_code == 200, (label, resp.status_code)
            out[f"product page HTML ({label})"] = (q.count, len(q.duplicates()))
    return out


def _median_run(runs: list[dict]) -> dict:
    """The run with the median req/s (its p50 and p99 with it)."""
    return sorted(runs, key=lambda r: r["rps"])[len(runs) // 2]


def run_size(kind: str, size: int, seconds: int, connections: int, rounds: int = 3) -> dict:
    url = database_url(kind, f"jishi_bench_{size}")
    print(f"\n== {kind}, {size:,} products: seeding...", flush=True)
    seed_catalog(url, size)
    info = prepare_buyer(url)
    counts = query_counts(url, info)
    counts.update(product_page_counts(url, info))
    print(f"-- SQL statements per request ({kind}, {size:,} products; duplicates in brackets)")
    for name, (n, dup) in counts.items():
        print(f"   {name:28s} {n:3d}  [{dup}]")
    # served as deployed: Flask-Limiter on (JISHI_* variables do not reach
    # RATELIMIT_ENABLED; the kernel's limiter returns at once on a route
    # without a limit, as every path here is: jishi.extensions.JishiLimiter)
    env = {
        "JISHI_DATABASE_URL": url,
        "JISHI_SECRET_KEY": "bench",
        "JISHI_SANDBOX_SECRET": "bench",
    }
    auth = {"Authorization": f"Bearer {info['token']}"}
    res = {"counts": counts}
    # Both servers stay up (idle workers cost no CPU) and the list and the
    # bare endpoint are measured in alternation, ``rounds`` times: on a
    # shared machine a burst of other load then hits both sides alike.
    # Figures are medians; the ratio is the median of the paired ratios.
    with gunicorn("baseline_app:app", env) as base, gunicorn("jishi.wsgi:app", env) as app_url:
        list_url = app_url + "/api/v1/products?limit=20"
        wrk(base + "/products", seconds=1, connections=connections)
        wrk(list_url, seconds=1, connections=connections)
        pairs = []
        for _ in range(rounds):
            b = wrk(base + "/products", seconds=seconds, connections=connections)
            o = wrk(list_url, seconds=seconds, connections=connections, headers=auth)
            pairs.append((b, o))
        res["baseline"] = _median_run([b for b, _ in pairs])
        res["list"] = _median_run([o for _, o in pairs])
        res["list_ratio"] = statistics.median(o["rps"] / b["rps"] for b, o in pairs)
        res["list_rounds"] = pairs
        res["detail"] = wrk(
            app_url + f"/api/v1/products/{info['skus'][0]}", seconds=seconds, connections=connections, headers=auth
        )
        cart = wrk_post_script("/api/v1/cart/items", {"sku_id": info["skus"][1], "quantity": 1}, auth)
        res["cart"] = wrk(app_url + "/api/v1/cart/items", seconds=seconds, connections=connections, script=cart)
        body = {"items": [{"sku_id": s, "quantity": 1} for s in info["skus"][2:5]], "address_id": info["address_id"]}
        place = wrk_post_script("/api/v1/checkout/place", body, {**auth, "Idempotency-Key": "b-{i}"})
        res["checkout"] = wrk(
            app_url + "/api/v1/checkout/place", seconds=seconds, connections=connections, script=place
        )
    b = res["baseline"]
    print(f"-- throughput ({kind}, {size:,} products, gunicorn 2 sync workers, wrk {connections} connections)")
    if rounds > 1:
        for i, (rb, ro) in enumerate(pairs, 1):
            print(f"   round {i}: bare {rb['rps']:8.1f}  list {ro['rps']:8.1f}  ratio {ro['rps'] / rb['rps']:.2f}")
    print(f"   bare Flask+SQLAlchemy  {fmt(b)}")
    for name in ("list", "detail", "cart", "checkout"):
        r = res[name]
        ratio = res["list_ratio"] if name == "list" else r["rps"] / b["rps"]
        print(f"   {name:22s} {fmt(r)}   ratio {ratio:.2f}  p99 x{r['p99_ms'] / b['p99_ms']:.2f}")
    return res


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="sqlite", choices=["sqlite", "postgres", "both"])
    parser.add_argument("--sizes", default="1000,100000,1000000")
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3, help="alternating list / bare runs (medians)")
    parser.add_argument("--quick", action="store_true", help="1k and 100k, 3 s runs")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.seconds = "1000,100000", 3
    sizes = [int(s) for s in args.sizes.split(",")]
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    for kind in kinds:
        results = {size: run_size(kind, size, args.seconds, args.connections, args.rounds) for size in sizes}
        small, large = min(sizes), max(sizes)
        if small != large:
            g = results[large]["list"]["p50_ms"] / results[small]["list"]["p50_ms"]
            print(f"\n-- growth ({kind}): product-list p50 at {large:,} / at {small:,} = {g:.2f}  (target <= 1.5)")


if __name__ == "__main__":
    main()
