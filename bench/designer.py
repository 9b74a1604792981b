"""Page designer benchmark (issue 18): the designed home page (web) and the
same page as the mini-program's JSON document (``GET /api/v1/pages/home``),
against the product list endpoint (``GET /api/v1/products?limit=20``) in the
same run.

    python bench/designer.py                       # SQLite and PostgreSQL
    python bench/designer.py --db sqlite --requests 300 --rounds 3

The home page has 10 blocks (search, banner, icons, notice, two hand-picked
product lists of 10, a rule list of 20, categories, spacer, rich text) over
500 products. Requests run in-process through Flask's test client, each in
a fresh app context as a server serves it (the server's own time, without
network or workers). Printed per endpoint: the exact SQL statement count,
requests per second (median of ``--rounds``, endpoints alternating) and the
ratio to the product list.
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


def make_app(url: str):
    from jishi.app import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "bench",
            "JISHI_SANDBOX_SECRET": "bench",
            "RATELIMIT_ENABLED": False,
            "JISHI_PLUGINS": "designer",
        },
        instance_path=tempfile.mkdtemp(),
    )


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
    start = time.perf_counter()
    for _ in range(n):
        client.get(path)
    return n / (time.perf_counter() - start)


def run(db_kind: str, requests: int, rounds: int) -> None:
    from jishi.testing import ServedClient

    url = database_url(db_kind, "jishi_designer")  # the bench's own database, made again
    app = make_app(url)
    app.test_client_class = ServedClient  # each request in a fresh app context
    seed(app)
    client = app.test_client()
    paths = {"list": "/api/v1/products?limit=20", "home": "/", "page api": "/api/v1/pages/home"}
    for path in paths.values():
        rate(client, path, 20)  # warm
    counts = {k: statements(app, client, p) for k, p in paths.items()}
    rates: dict[str, list[float]] = {k: [] for k in paths}
    for _ in range(rounds):
        for key, path in paths.items():
            rates[key].append(rate(client, path, requests))
    base = statistics.median(rates["list"])
    print(f"\n{db_kind}: {requests} requests × {rounds} rounds, in-process")
    for key in paths:
        med = statistics.median(rates[key])
        print(f"  {key:9s} {counts[key]:2d} statements  {med:7.0f} req/s  ÷ list {med / base:4.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for kind in ("sqlite", "postgres") if args.db == "both" else (args.db,):
        run(kind, args.requests, args.rounds)


if __name__ == "__main__":
    main()
