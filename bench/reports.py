"""Reports benchmarks (issue 19).

    python bench/reports.py tracking [--db sqlite|postgres] [--rounds 15] [--requests 400] [--chunk 20]
    python bench/reports.py query    [--db sqlite|postgres] [--days 365] [--sellers 200] [--products 3000] [--visitors 9000]
                                     [--runs 30] [--reuse] [--explain]

``tracking``: product detail (``GET /api/v1/products/<id>`` with a
mini-program visitor header, and the HTML product page with a browser's
visitor cookie) with visit tracking on and off, two apps on the same
database in the same process, in-process through Flask's test client
(responses closed, as a server does: the buffered batches are written by
the process's writer thread). Each round runs ``--requests`` requests of
each app in alternating chunks of ``--chunk`` (which app goes first
alternates too), so on and off see the same load on the shared machine;
each chunk's cost is the request thread's CPU time (``time.thread_time``),
and the writer thread's CPU, measured in that thread around each batch it
writes (plus what is left buffered at the round's end, written and measured
then), is added to tracking on, per request. Printed: the CPU per request
of each (the writer's share), the median of the paired chunks' on ÷ off
rate ratios with its quartiles (the verdict, target ≥ 0.95), the rounds'
ratios, and the statements per request (the request thread's). ``--aa``:
tracking off in both apps, the method's own spread (the verdict's error).

``query``: seeds the daily aggregate tables as a shop with ~1,000,000
orders and ~10,000,000 visits a year leaves them (``--days`` days;
``--sellers`` shops a day; ``--products`` products visited a day) in a few
``INSERT ... SELECT``, and the per-buyer aggregate as a year of ~2,740
paid orders a day leaves it (~290,000 buyers, 40 % of the orders from
40,000 regulars; ~2,000,000 buyer-day rows for the platform and the
sellers), then times the full report (overview with the previous period,
trend, funnel, products, buyer analysis, finance, sections) over the last 30
days, for the platform and for one seller: statement count and p50/p90, and
the buyer analysis's own p50/p90 measured in the same runs. It also seeds
``visitor_days`` as its visits leave it
(``--visitors`` unique visitors a day, drawn from a pool of 150,000 returning
ones: each views the site, one shop and one product; a fifth adds to the
cart: 3.6 rows per visitor, ~11.8 million rows a year at 9,000) with its
``visitor_returns`` (the migration's backfill), and prints the report with
exact UV against the sum of daily UV
(``JISHI_VISITOR_DAYS_KEEP`` = 1: no visitor row read) in the same run, and
the plan of the exact-UV statement.

PostgreSQL: ``BENCH_PG_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1/jishi_bench_reports``); its tables
are dropped and made again. ``--reuse``: keep the database a previous
``query`` run seeded (same ``--days``, ``--sellers``, ``--products``,
``--visitors``; SQLite's file stays too) and time only. ``--explain``:
also every statement of the platform's report with its plan (PostgreSQL:
``EXPLAIN (ANALYZE, BUFFERS)``, its time; SQLite: ``EXPLAIN QUERY PLAN``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("JISHI_SCHEMA_CHECK", "false")

PG_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1/jishi_bench_reports")


def make_app(url: str, **config):
    from jishi.app import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "bench",
            "JISHI_SANDBOX_SECRET": "bench",
            "RATELIMIT_ENABLED": False,
            **config,
        },
        instance_path=tempfile.mkdtemp(),
    )


def database(kind: str, keep: bool = False) -> str:
    if kind == "postgres":
        return PG_URL
    d = Path(tempfile.gettempdir()) / "jishi-bench"
    d.mkdir(exist_ok=True)
    path = d / "reports.db"
    for suffix in ("", "-wal", "-shm"):
        if not keep:
            Path(str(path) + suffix).unlink(missing_ok=True)
    return f"sqlite:///{path}"


def fresh_schema(url: str) -> None:
    from jishi.db import db

    app = make_app(url)
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.engine.dispose()


# -- tracking on ÷ off ----------------------------------------------------------------


def tracking(kind: str, rounds: int, requests: int, chunk: int = 20, aa: bool = False) -> None:
    import threading

    from jishi.db import db
    from jishi.reports import tracking as tr
    from jishi.testing import count_queries
    from jishi.testing.factories import product

    url = database(kind)
    fresh_schema(url)
    extra = {"JISHI_TRACKING_BATCH": int(os.environ["BENCH_BATCH"])} if os.environ.get("BENCH_BATCH") else {}
    on, off = make_app(url, JISHI_TRACKING=not aa, **extra), make_app(url, JISHI_TRACKING=False)
    with on.app_context():
        ids = [product(name=f"商品{i}", price=1000 + i).id for i in range(50)]
    ua = {"User-Agent": "Mozilla/5.0 (iPhone) MicroMessenger/8.0"}

    # The writer thread's CPU, measured in the thread around each batch it
    # writes (and charged to tracking on).
    writer = {"cpu": 0.0, "events": 0}
    writer_lock = threading.Lock()
    write_batch = tr._flush_in

    def measured_flush(app) -> None:
        with writer_lock:
            t = time.thread_time()
            write_batch(app)
            writer["cpu"] += time.thread_time() - t

    tr._flush_in = measured_flush

    def settle() -> float:
        """Write what tracking on buffered (this thread, measured) once the
        writer is idle; the writer's CPU since the last call plus this."""
        with writer_lock, on.app_context():
            t = time.thread_time()
            tr.flush()
            cpu = writer["cpu"] + time.thread_time() - t
            writer["cpu"] = 0.0
        return cpu

    def requests_of(app, html: bool):
        client = app.test_client()
        client.set_cookie("jishi_vid", "benchbrowser0001")
        i = 0

        def go(n: int) -> float:
            nonlocal i
            t0 = time.thread_time()  # this thread's CPU; the writer's is measured in it
            for _ in range(n):
                pid = ids[i % len(ids)]
                if html:
                    r = client.get(f"/product/{pid}", headers=ua)
                else:
                    r = client.get(
                        f"/api/v1/products/{pid}", headers={**ua, "X-Jishi-Visitor": f"mp-visitor-{i % 500:05d}"}
                    )
                assert r.status_code == 200, r.status_code
                r.close()  # as a server does: a due batch is written now (by the writer thread)
                i += 1
            return time.thread_time() - t0

        return go

    for html in (False, True):
        what = "product page (HTML)" if html else "product detail (API)"
        go_on, go_off = requests_of(on, html), requests_of(off, html)
        go_on(50), go_off(50)  # warm up
        settle()
        counts = {}
        for name, app in (("on", on), ("off", off)):
            with app.app_context(), count_queries(db.engine, this_thread=True) as q:
                app.test_client().get(
                    f"/api/v1/products/{ids[0]}" if not html else f"/product/{ids[0]}", headers=ua
                ).close()
            counts[name] = q.count
        settle()
        ratios, pairs, us_on, us_off, us_writer = [], [], [], [], []
        for _ in range(rounds):
            # on and off in alternating chunks of ``chunk`` requests (which
            # goes first alternates too): both see the same load on the shared
            # machine; the writer's CPU for the round's events is added to on,
            # per request (each request records one visit).
            chunks = []
            for c in range(requests // chunk):
                if c % 2:
                    t_off = go_off(chunk)
                    t_on = go_on(chunk)
                else:
                    t_on = go_on(chunk)
                    t_off = go_off(chunk)
                chunks.append((t_on, t_off))
            wcpu = settle()
            n = chunk * len(chunks)
            cpu_on, cpu_off = sum(c[0] for c in chunks) + wcpu, sum(c[1] for c in chunks)
            pairs += [t_off / (t_on + wcpu * chunk / n) for t_on, t_off in chunks]
            us_on.append(cpu_on / n * 1e6)
            us_off.append(cpu_off / n * 1e6)
            us_writer.append(wcpu / n * 1e6)
            ratios.append(cpu_off / cpu_on)  # rate on ÷ rate off
        with on.app_context():
            from jishi.models import PageVisit

            written = db.session.execute(
                db.select(db.func.sum(PageVisit.count)).where(PageVisit.kind == "product")
            ).scalar()
            db.session.remove()
        med = statistics.median
        q1, _, q3 = statistics.quantiles(pairs, n=4)
        print(
            f"{kind:8} {what}: CPU per request on {med(us_on):.0f} µs (of which the writer {med(us_writer):.1f} µs), "
            f"off {med(us_off):.0f} µs; rate on ÷ off median of {len(pairs)} paired chunks "
            f"{med(pairs):.3f} (quartiles {q1:.3f}–{q3:.3f}; target ≥ 0.95); by round median {med(ratios):.3f} "
            f"(rounds {', '.join(f'{r:.2f}' for r in ratios)}); "
            f"statements per request on/off {counts['on']}/{counts['off']} (a batch write every "
            f"{on.config['JISHI_TRACKING_BATCH']} events or {on.config['JISHI_TRACKING_FLUSH_SECONDS']} s); "
            f"product views written {written}",
            flush=True,
        )
    tr._flush_in = write_batch
    with on.app_context():
        db.engine.dispose()
    with off.app_context():
        db.engine.dispose()


# -- a report over a large aggregate set --------------------------------------------------


def seed_aggregates(url: str, days: int, sellers: int, products: int, visitors: int = 9000) -> float:
    from jishi.db import db, utcnow
    from jishi.i18n import to_shop_time
    from sqlalchemy import text

    fresh_schema(url)
    app = make_app(url)
    pg = url.startswith("postgres")
    today = to_shop_time(utcnow()).date()
    first = today - timedelta(days=days - 1)
    t0 = time.perf_counter()

    def series(n: int, name: str) -> str:
        if pg:
            return f"SELECT generate_series(0, {n - 1}) AS {name}"
        return f"WITH RECURSIVE s({name}) AS (SELECT 0 UNION ALL SELECT {name} + 1 FROM s WHERE {name} < {n - 1}) SELECT {name} FROM s"

    day_expr = (
        f"to_char(DATE '{first.isoformat()}' + d, 'YYYY-MM-DD')"
        if pg
        else f"date('{first.isoformat()}', '+' || d || ' days')"
    )
    true = "true" if pg else "1"
    with app.app_context():
        engine = db.engine
    with engine.begin() as conn:
        conn.execute(
            text(
                f"""INSERT INTO products (id, seller_id, category_id, name, subtitle, description, image, price, original_price,
                    sales, on_shelf, is_virtual, search_text, extra, created_at, updated_at)
                SELECT p + 1, (p % {sellers}) + 1, NULL, '商品 ' || (p + 1), '', '', '', 1000 + (p * 37) % 9000, NULL,
                    0, {true}, {"false" if pg else "0"}, '', '{{}}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP
                FROM ({series(products, "p")}) AS x"""
            )
        )
        # ~2,740 orders and ~27,400 page views a day (1M orders, 10M visits a year); daily UV and carted as the
        # visitor rows below hold them (a seller: its share)
        conn.execute(
            text(
                f"""INSERT INTO report_daily (day, seller_id, orders, paid_orders, paid_amount, buyers, units, refund_amount,
                    refund_count, pv, uv, carted, ordered, paid_buyers)
                SELECT {day_expr}, s, 3000, 2740, 2740 * 9000, 2300, 4100, 2740 * 9000 / 40, 70, 27400,
                    CASE WHEN s = 0 THEN {visitors} ELSE {visitors // sellers} END,
                    CASE WHEN s = 0 THEN {visitors // 5} ELSE {visitors // 5 // sellers} END, 2600, 2300
                FROM ({series(days, "d")}) AS dd, (SELECT 0 AS s UNION ALL SELECT s + 1 FROM ({series(sellers, "s")}) AS ss) AS sc"""
            )
        )
        conn.execute(
            text(
                f"""INSERT INTO report_product_daily (day, product_id, seller_id, pv, uv, carts, carted, buyers, units, paid_amount)
                SELECT {day_expr}, p + 1, (p % {sellers}) + 1, 9 + (p + d) % 7, 3 + (p + d) % 4, 1, 1, (p + d) % 3, (p + d) % 4,
                    ((p + d) % 4) * (1000 + (p * 37) % 9000)
                FROM ({series(days, "d")}) AS dd, ({series(products, "p")}) AS pp"""
            )
        )
        seed_buyers(conn, pg, series, first, days, sellers)
        # visitor_days: the index made after the rows (as a restore would), PK kept
        conn.execute(text("DROP INDEX ix_visitor_days_key_visitor"))
        vid = "'c' || md5(v::text)" if pg else "printf('c%016x%016x', (v * 1103515245) % 2147483648, v)"
        pool = 150000
        conn.execute(
            text(
                f"""INSERT INTO visitor_days (day, kind, ref_id, visitor)
                SELECT day, kind, ref_id, {vid} FROM (
                    SELECT {day_expr} AS day, k.kind AS kind,
                        CASE k.kind WHEN 'site' THEN 0 WHEN 'cart' THEN 0
                            WHEN 'seller' THEN (i % {sellers}) + 1 WHEN 'cart_seller' THEN (i % {sellers}) + 1
                            ELSE ((i * 13 + d) % {products}) + 1 END AS ref_id,
                        (i * 7 + d * 5003) % {pool} AS v
                    FROM ({series(days, "d")}) AS dd, ({series(visitors, "i")}) AS ii,
                        (SELECT 'site' AS kind UNION ALL SELECT 'seller' UNION ALL SELECT 'product'
                         UNION ALL SELECT 'cart' UNION ALL SELECT 'cart_seller' UNION ALL SELECT 'cart_product') AS k
                    WHERE k.kind IN ('site', 'seller', 'product') OR i % 5 = 0
                ) AS x"""
            )
        )
        conn.execute(text("CREATE INDEX ix_visitor_days_key_visitor ON visitor_days (kind, ref_id, visitor, day)"))
        # visitor_returns, as the aggregation job leaves it (the migration's backfill)
        conn.execute(
            text(
                """INSERT INTO visitor_returns (kind, ref_id, day, prev_day, visitors)
                SELECT kind, ref_id, day, COALESCE(prev, ''), COUNT(*) FROM (
                    SELECT kind, ref_id, day, LAG(day) OVER (PARTITION BY kind, ref_id, visitor ORDER BY day) AS prev
                    FROM visitor_days WHERE kind IN ('site', 'cart', 'seller', 'cart_seller')
                ) AS x GROUP BY kind, ref_id, day, COALESCE(prev, '')"""
            )
        )
    if pg:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))  # the visibility map: index-only scans
    engine.dispose()
    return time.perf_counter() - t0


#: The year's buyers: 40 % of the orders from 40,000 regulars (~10 orders a
#: year each), the rest from 290,000 occasional buyers (most once or twice):
#: ~290,000 distinct buyers over 1,000,000 orders.
REGULARS, OCCASIONAL = 40_000, 290_000


def seed_buyers(conn, pg: bool, series, first, days: int, sellers: int) -> None:
    """``report_buyer_daily`` as the aggregation job leaves it after a year
    of ~2,740 paid orders a day (each order's buyer, seller and amount drawn
    from its index by a multiplicative hash; one in 25 half refunded), the
    buyers' ``users`` rows and four member levels (40 % of buyers have one)."""
    from sqlalchemy import text

    def day_of(col: str) -> str:  # a DATE column (SQLite: its ISO text)
        if pg:
            return f"DATE '{first.isoformat()}' + {col}"
        return f"date('{first.isoformat()}', '+' || {col} || ' days')"

    user = f"CASE WHEN h % 10 < 4 THEN 1 + (h / 64) % {REGULARS} ELSE {REGULARS + 1} + (h / 64) % {OCCASIONAL} END"
    amount = "(1000 + (h / 16) % 20000)"
    orders = f"""SELECT d, {user} AS u, (h / 1024) % {sellers} + 1 AS s, {amount} AS amount,
            CASE WHEN (h / 4096) % 25 = 0 THEN {amount} / 2 ELSE 0 END AS refunded
        FROM (SELECT d, ((d * 2740 + k) * 2654435761) % 4294967296 AS h
              FROM ({series(days, "d")}) AS dd, ({series(2740, "k")}) AS kk) AS oi"""
    # The platform's rows and each seller's, in day order as the aggregation
    # job writes them (a day's rows together); each buyer's previous and next
    # paid day in the scope and current level (as the users below).
    grouped = " UNION ALL ".join(
        f"""SELECT {scope} AS sc, d, u, COUNT(*) AS n, SUM(amount) AS paid, SUM(refunded) AS refunded
            FROM ({orders}) AS o GROUP BY {"d, u" if scope == "0" else "s, d, u"}"""
        for scope in ("0", "s")
    )
    conn.execute(
        text(
            f"""INSERT INTO report_buyer_daily (seller_id, day, user_id, paid_orders, paid_amount, refunded_amount,
                first_day, prev_day, next_day, member_level_id)
            SELECT sc, {day_of("d")}, u, n, paid, refunded, {day_of("fd")}, {day_of("pd")}, {day_of("nd")},
                CASE WHEN u % 10 < 6 THEN NULL ELSE u % 10 - 5 END
            FROM (SELECT sc, d, u, n, paid, refunded, MIN(d) OVER (PARTITION BY sc, u) AS fd,
                    LAG(d) OVER (PARTITION BY sc, u ORDER BY d) AS pd, LEAD(d) OVER (PARTITION BY sc, u ORDER BY d) AS nd
                  FROM ({grouped}) AS g) AS w
            ORDER BY d, sc, u"""
        )
    )
    conn.execute(
        text(
            "INSERT INTO member_levels (id, name, rank) VALUES (1, '银卡', 1), (2, '金卡', 2), (3, '铂金卡', 3), (4, '钻石卡', 4)"
        )
    )
    conn.execute(
        text(
            f"""INSERT INTO users (id, phone, name, password_hash, role, member_level_id, session_token, is_active, created_at)
            SELECT u, '1' || (3000000000 + u), '', '', 'buyer', CASE WHEN u % 10 < 6 THEN NULL ELSE u % 10 - 5 END,
                'bench' || u, {"true" if pg else "1"}, CURRENT_TIMESTAMP
            FROM (SELECT u0 + 1 AS u FROM ({series(REGULARS + OCCASIONAL, "u0")}) AS uu) AS us"""
        )
    )


def _seeded_shape(url: str) -> str | None:
    """The shape a previous ``query`` run seeded into ``url`` (None: none)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT value FROM bench_reports_shape")).scalar()
    except Exception:
        return None
    finally:
        engine.dispose()


def _mark_seeded(url: str, shape: str | None) -> None:
    """Record the seeded shape (None: forget it, before seeding again)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS bench_reports_shape"))
        if shape is not None:
            conn.execute(text("CREATE TABLE bench_reports_shape (value VARCHAR(200))"))
            conn.execute(text("INSERT INTO bench_reports_shape (value) VALUES (:v)"), {"v": shape})
    engine.dispose()


def query(
    kind: str,
    days: int,
    sellers: int,
    products: int,
    runs: int,
    visitors: int = 9000,
    reuse: bool = False,
    explain: bool = False,
) -> None:
    from jishi.db import db, utcnow
    from jishi.i18n import to_shop_time
    from jishi.reports import buyers, service
    from jishi.reports.models import ReportBuyerDaily, ReportDaily, ReportProductDaily, VisitorDay
    from jishi.testing import count_queries

    url = database(kind, keep=reuse)
    shape = f"days={days} sellers={sellers} products={products} visitors={visitors}"
    if reuse and _seeded_shape(url) == shape:
        seeded = 0.0
        print(f"{kind:8} reusing the database seeded for {shape}", flush=True)
    else:
        _mark_seeded(url, None)
        seeded = seed_aggregates(url, days, sellers, products, visitors)
        _mark_seeded(url, shape)
    app = make_app(url)
    with app.app_context():
        n_daily = db.session.execute(db.select(db.func.count()).select_from(ReportDaily)).scalar()
        n_products = db.session.execute(db.select(db.func.count()).select_from(ReportProductDaily)).scalar()
        n_buyer_rows = db.session.execute(db.select(db.func.count()).select_from(ReportBuyerDaily)).scalar()
        year = db.session.execute(
            db.select(
                db.func.count(db.distinct(ReportBuyerDaily.user_id)), db.func.sum(ReportBuyerDaily.paid_orders)
            ).where(ReportBuyerDaily.seller_id == 0)
        ).one()
        print(
            f"{kind:8} {n_buyer_rows:,} buyer-day rows ({year[1]:,} paid orders of {year[0]:,} buyers)",
            flush=True,
        )
        n_visitors = db.session.execute(db.select(db.func.count()).select_from(VisitorDay)).scalar()
        today = to_shop_time(utcnow()).date()
        start = today - timedelta(days=29)
        print(
            f"{kind:8} seeded in {seeded:.1f} s: {n_daily:,} daily rows, {n_products:,} product-day rows, "
            f"{n_visitors:,} visitor_days rows",
            flush=True,
        )
        for scope, label in ((0, "platform"), (1, "one seller")):
            p50 = {}
            for mode, keep in (("exact UV", 400), ("summed UV", 1)):
                app.config["JISHI_VISITOR_DAYS_KEEP"] = keep
                data = service.report_data(start, today, scope)  # warm up
                db.session.rollback()
                with count_queries(db.engine) as q:
                    service.report_data(start, today, scope)
                db.session.rollback()
                times = []
                for _ in range(runs):
                    t0 = time.perf_counter()
                    service.report_data(start, today, scope)
                    times.append((time.perf_counter() - t0) * 1000)
                    db.session.rollback()
                times.sort()
                p50[mode] = statistics.median(times)
                print(
                    f"{kind:8} report of 30 days, {label}, {mode} (uv {data['overview']['current']['uv']:,}, "
                    f"exact {data['overview']['uv_exact']}): {q.count} statements, p50 {p50[mode]:.1f} ms, "
                    f"p90 {times[int(len(times) * 0.9)]:.1f} ms; target p50 ≤ 200 ms",
                    flush=True,
                )
            alone = []
            for _ in range(runs):
                t0 = time.perf_counter()
                b = buyers.buyer_analysis(start, today, scope)
                alone.append((time.perf_counter() - t0) * 1000)
                db.session.rollback()
            alone.sort()
            print(
                f"{kind:8}   {label}: the buyer analysis alone p50 {statistics.median(alone):.1f} ms, "
                f"p90 {alone[int(len(alone) * 0.9)]:.1f} ms ({b['buyers']:,} buyers, {b['new_buyers']:,} new, "
                f"repeat rate {b['repeat_rate_permille']} ‰)",
                flush=True,
            )
            print(f"{kind:8}   {label}: exact ÷ summed p50 {p50['exact UV'] / p50['summed UV']:.2f}", flush=True)
        app.config["JISHI_VISITOR_DAYS_KEEP"] = 400
        if explain:
            _explain_report(kind, start, today)
        else:
            _explain(kind, start, today)
        db.engine.dispose()


def _explain(kind: str, start, end) -> None:
    """The exact-UV statements and their plans (PostgreSQL: EXPLAIN ANALYZE;
    SQLite: EXPLAIN QUERY PLAN)."""
    from jishi.db import db
    from jishi.reports import visitors
    from sqlalchemy import event

    seen: list[tuple] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if not statement.strip().upper().startswith(("BEGIN", "SAVEPOINT", "RELEASE", "PRAGMA", "EXPLAIN")):
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        visitors.scope_uniques(start, end, 0, (start - timedelta(days=30), start - timedelta(days=1)))
        visitors.day_returns(end - timedelta(days=1))
        visitors.product_uniques(range(1, 101), start, end, ("product", "cart_product"))
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    db.session.rollback()
    with db.engine.connect() as conn:
        for statement, params in seen:
            print(" ".join(statement.split())[:400], flush=True)
            prefix = "EXPLAIN (ANALYZE, BUFFERS) " if kind == "postgres" else "EXPLAIN QUERY PLAN "
            for row in conn.exec_driver_sql(prefix + statement, params).all():
                print("    ", " | ".join(str(v) for v in row), flush=True)


def _explain_report(kind: str, start, end) -> None:
    """Every statement of the platform's report with its plan (PostgreSQL:
    ``EXPLAIN (ANALYZE, BUFFERS)``, each run twice, the second printed)."""
    from jishi.db import db
    from jishi.reports import service
    from sqlalchemy import event

    seen: list[tuple] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if not statement.strip().upper().startswith(("BEGIN", "SAVEPOINT", "RELEASE", "PRAGMA", "EXPLAIN", "SET")):
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        service.report_data(start, end, 0)
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    db.session.rollback()
    with db.engine.connect() as conn:
        for i, (statement, params) in enumerate(seen, 1):
            print(f"-- statement {i}: " + " ".join(statement.split())[:600], flush=True)
            prefix = "EXPLAIN (ANALYZE, BUFFERS) " if kind == "postgres" else "EXPLAIN QUERY PLAN "
            conn.exec_driver_sql(prefix + statement, params).all()
            for row in conn.exec_driver_sql(prefix + statement, params).all():
                print("    ", " | ".join(str(v) for v in row), flush=True)
            conn.rollback()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("tracking", "query"))
    parser.add_argument("--db", default="sqlite", choices=("sqlite", "postgres"))
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--chunk", type=int, default=20, help="tracking: requests of one app before the other's")
    parser.add_argument("--aa", action="store_true", help="tracking: off on both apps (the method's own spread)")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--sellers", type=int, default=200)
    parser.add_argument("--products", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--visitors", type=int, default=9000)
    parser.add_argument("--reuse", action="store_true", help="time the database a previous run seeded (same shape)")
    parser.add_argument("--explain", action="store_true", help="the plan of every statement of the platform's report")
    args = parser.parse_args()
    if args.what == "tracking":
        tracking(args.db, args.rounds, args.requests, args.chunk, args.aa)
    else:
        query(args.db, args.days, args.sellers, args.products, args.runs, args.visitors, args.reuse, args.explain)


if __name__ == "__main__":
    main()
