"""Home page benchmark (issues 18 and 20): the designed home page (web) and
the same page as the mini-program's JSON document (``GET /api/v1/pages/home``),
and the kernel's own home page (the same plugins but the designer), against
the product list endpoint (``GET /api/v1/products?limit=20``) and the bare
Flask + SQLAlchemy endpoint of ``bench/baseline_app.py`` (the same 20-row
query with no framework around it) in the same run. Every first-party plugin
is enabled.

    python bench/designer.py                       # SQLite and PostgreSQL
    python bench/designer.py --db sqlite --requests 300 --rounds 3
    python bench/designer.py --db sqlite --profile home   # cProfile of one path

The home page has 10 blocks (search, banner, icons, notice, two hand-picked
product lists of 10, a rule list of 20, categories, spacer, rich text) over
500 products. Requests run in-process through Flask's test client, each in
a fresh app context as a server serves it (the server's own time, without
network or workers; the bare endpoint through its own test client).
Printed per endpoint: the exact SQL statement count, requests per
CPU-second of the process (median of ``--rounds``, endpoints alternating) and the ratios to the bare
endpoint and to the product list.
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


def make_app(url: str, plugins: str = "all"):
    from jishi.app import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "bench",
            "JISHI_SANDBOX_SECRET": "bench",
            "RATELIMIT_ENABLED": False,
            "JISHI_PLUGINS": plugins,
        },
        instance_path=tempfile.mkdtemp(),
    )


def without_designer() -> str:
    """Every installed first-party plugin but the designer (the kernel's own
    home page, with the other plugins' home blocks and entrances)."""
    from jishi.plugins import installed_plugins

    return ",".join(name for name, _ep in installed_plugins() if name != "designer")


def bare_client(url: str):
    """The yardstick of bench/catalog.py, in-process: a bare Flask app running
    the product list's 20-row query over the same database."""
    import importlib
    import os

    os.environ["JISHI_DATABASE_URL"] = url
    import baseline_app

    return importlib.reload(baseline_app).app.test_client()


def seed(app) -> None:
    from jishi.db import db
    from jishi.testing import factories
    from jishi_designer import service

    with app.test_request_context("/"):
        db.create_all()
        cat = factories.category("饮料")
        ids = [factories.product(name=f"商品{i}", category=cat).id for i in range(500)]
        page = service.home_page()
        blocks = [
            ("designer.search", {}),
            (
                "designer.banner",
                {"slides": [{"image": "https://img.example/1.png"}, {"image": "https://img.example/2.png"}]},
            ),
            ("designer.nav", {"icons": [{"label": f"图标{i}"} for i in range(8)]}),
            ("designer.notice", {"text": "公告"}),
            ("designer.products", {"mode": "hand", "products": ids[:10]}),
            ("designer.products", {"mode": "hand", "products": ids[10:20]}),
            ("designer.products", {"mode": "rule", "category": cat.id, "count": 20}),
            ("designer.categories", {}),
            ("designer.spacer", {}),
            ("designer.richtext", {"html": "<p>欢迎</p>"}),
        ]
        for code, settings in blocks:
            block = service.add_block(page, code)
            service.update_block(page, block["id"], {**block["settings"], **settings})
        service.publish(page, None)


def statements(app, client, path: str) -> int:
    from jishi.db import db
    from jishi.testing import count_queries

    with app.app_context():
        engine = db.engine
    with count_queries(engine) as q:
        assert client.get(path).status_code == 200, path
    return q.count


def rate(client, path: str, n: int) -> float:
    """Requests per CPU-second of this process (a loaded machine's other
    processes then slow every endpoint alike instead of whichever ran while
    they were busy)."""
    start = time.process_time()
    for _ in range(n):
        client.get(path)
    return n / (time.process_time() - start)


def profile(client, path: str, n: int) -> None:
    import cProfile
    import pstats

    prof = cProfile.Profile()
    prof.enable()
    rate(client, path, n)
    prof.disable()
    pstats.Stats(prof).sort_stats("cumulative").print_stats(60)
    pstats.Stats(prof).sort_stats("tottime").print_stats(30)


def run(db_kind: str, requests: int, rounds: int, profiled: str | None = None) -> None:
    from jishi.testing import ServedClient

    url = database_url(db_kind, "jishi_designer")  # the bench's own database, made again
    app = make_app(url)
    app.test_client_class = ServedClient  # each request in a fresh app context
    seed(app)
    kernel = make_app(url, without_designer())
    kernel.test_client_class = ServedClient
    apps = {"list": app, "home": app, "page api": app, "kernel home": kernel}
    clients = {k: a.test_client() for k, a in apps.items()}
    clients["bare"] = bare_client(url)
    paths = {
        "bare": "/products",
        "list": "/api/v1/products?limit=20",
        "home": "/",
        "page api": "/api/v1/pages/home",
        "kernel home": "/",
    }
    for key, path in paths.items():
        rate(clients[key], path, 20)  # warm
    if profiled:
        profile(clients[profiled], paths[profiled], requests)
        return
    counts = {k: statements(apps[k], clients[k], p) for k, p in paths.items() if k != "bare"}
    rates: dict[str, list[float]] = {k: [] for k in paths}
    for _ in range(rounds):
        for key, path in paths.items():
            rates[key].append(rate(clients[key], path, requests))
    bare, base = statistics.median(rates["bare"]), statistics.median(rates["list"])
    print(f"\n{db_kind}: {requests} requests × {rounds} rounds, in-process, every first-party plugin")
    for key in paths:
        med = statistics.median(rates[key])
        n = f"{counts[key]:2d}" if key in counts else " 1"
        print(f"  {key:11s} {n} statements  {med:7.0f} req/s  ÷ bare {med / bare:4.2f}  ÷ list {med / base:4.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", choices=("bare", "list", "home", "page api", "kernel home"))
    args = parser.parse_args()
    for kind in ("sqlite", "postgres") if args.db == "both" else (args.db,):
        run(kind, args.requests, args.rounds, args.profile)


if __name__ == "__main__":
    main()
