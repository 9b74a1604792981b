"""Issue 19 (K16 reports): unique visitors over a range are exact — a
visitor of two days counts once — for the platform's and a seller's
overview, the funnel (visitors, carted) and each product's UV, read from
``visitor_days``; a range reaching before the kept window
(``JISHI_VISITOR_DAYS_KEEP``) falls back to the sum of daily UV and says so;
the ``prune_visitor_days`` job deletes only the rows before the window, in
bounded batches, and repeats harmlessly; the public
``service.product_visitors``.

The fixture, hand-computed (T today, d1 = T-2, d2 = T-1; p1 belongs to
seller 7, p2 to the platform):

- d1: v1 and v2 view p1; v1 and v2 add p1 to the cart;
- d2: v1 views p1 again and adds it again; v3 views p2;
- T-5: v4 views p1 (before the ranges read below).

Over d1..T: site UV per day 2 (d1) + 2 (d2) = 4 summed, 3 distinct
(v1, v2, v3); seller 7: 2 + 1 = 3 summed, 2 distinct; p1: 2 + 1 = 3
summed, 2 distinct, carted 2 + 1 = 3 summed, 2 distinct; p2: 1; the cart
funnel step: 2 + 1 = 3 summed, 2 distinct."""

from __future__ import annotations

from datetime import timedelta

from jishi.db import db
from jishi.reports import aggregate, analytics, service, visitors
from jishi.reports.models import VisitorDay, VisitorReturn


def _fixture(factory):
    from jishi.i18n import shop_today
    from jishi.models import Product
    from jishi.reports import tracking

    t = shop_today()
    d1, d2, d5 = (t - timedelta(days=n) for n in (2, 1, 5))
    p1 = factory.product(name="茶叶", price=5000, stock=10)
    p2 = factory.product(name="茶杯", price=1200, stock=10)
    i1, i2 = p1.id, p2.id
    db.session.execute(db.update(Product).where(Product.id == i1).values(seller_id=7))
    db.session.commit()  # SQLite's one writer: the test's transaction ends before the visit writer's
    day1, day2, day5 = d1.isoformat(), d2.isoformat(), d5.isoformat()
    tracking.write(
        [
            [day1, "product", i1, 7, "cv1xxxxxxxx"],
            [day1, "product", i1, 7, "cv2xxxxxxxx"],
            [day1, "cart", i1, 7, "cv1xxxxxxxx"],
            [day1, "cart", i1, 7, "cv2xxxxxxxx"],
            [day2, "product", i1, 7, "cv1xxxxxxxx"],
            [day2, "cart", i1, 7, "cv1xxxxxxxx"],
            [day2, "product", i2, 0, "cv3xxxxxxxx"],
            [day5, "product", i1, 7, "cv4xxxxxxxx"],
        ]
    )
    db.session.rollback()
    for day in (d5, d1, d2, t):
        aggregate.aggregate_day(day)
    return {"t": t, "d1": d1, "d2": d2, "d5": d5, "p1": p1, "p2": p2}


def test_a_visitor_of_two_days_counts_once(app, factory):
    """Issue 19: site, seller, funnel and product UV over d1..T are the
    distinct visitors (3, 2, 2/2, 2), not the sums of days (4, 3, 3/3, 3)."""
    f = _fixture(factory)
    t, d1 = f["t"], f["d1"]
    # the daily aggregates still hold each day's UV: their sum counts v1 twice
    assert analytics._sums(d1, t, 0)["uv"] == 4 and analytics._sums(d1, t, 7)["uv"] == 3
    site = analytics.overview(d1, t)
    assert (site["current"]["uv"], site["uv_exact"], site["previous_uv_exact"]) == (3, True, True)
    assert site["previous"]["uv"] == 1  # T-5 .. T-3: v4
    seller = analytics.overview(d1, t, scope=7)
    assert (seller["current"]["uv"], seller["uv_exact"]) == (2, True)
    fun = analytics.funnel(d1, t)
    assert (fun["visitors"], fun["carted"], fun["cart_rate_permille"], fun["uv_exact"]) == (3, 2, 666, True)
    fun7 = analytics.funnel(d1, t, scope=7)
    assert (fun7["visitors"], fun7["carted"], fun7["cart_rate_permille"]) == (2, 2, 1000)
    prods = analytics.products(d1, t)
    assert prods["uv_exact"] is True
    assert {p["product_id"]: (p["pv"], p["uv"], p["carted"]) for p in prods["items"]} == {
        f["p1"].id: (3, 2, 2),
        f["p2"].id: (1, 1, 0),
    }
    # the whole report agrees with its parts
    r = analytics.report(d1, t)
    assert (r["overview"]["current"]["uv"], r["funnel"]["visitors"], r["funnel"]["carted"]) == (3, 3, 2)


def test_previous_period_is_exact_too(app, factory):
    """Issue 19: d2..T (v1, v3: 2) against T-3..d1 (v1, v2: 2): change 0."""
    f = _fixture(factory)
    ov = analytics.overview(f["d2"], f["t"])
    assert (ov["current"]["uv"], ov["previous"]["uv"], ov["change_permille"]["uv"]) == (2, 2, 0)
    # T-3 .. T (v1, v2, v3: 3) against T-7 .. T-4 (v4: 1)
    ov = analytics.overview(f["t"] - timedelta(days=3), f["t"])
    assert (ov["current"]["uv"], ov["previous"]["uv"]) == (3, 1)


def test_before_the_kept_window_falls_back_to_sums_and_says_so(app, factory, api, monkeypatch):
    """Issue 19: with 2 days kept (T-1 .. T), a range from d1 (T-2) is the
    sum of daily UV, flagged ``uv_exact`` false in the JSON and on the page;
    a range from d2 stays exact."""
    f = _fixture(factory)
    t, d1, d2 = f["t"], f["d1"], f["d2"]
    monkeypatch.setitem(app.config, "JISHI_VISITOR_DAYS_KEEP", 2)
    assert visitors.kept_from() == d2 == service.visitors_exact_from()
    ov = analytics.overview(d1, t)
    assert (ov["current"]["uv"], ov["uv_exact"], ov["previous_uv_exact"]) == (4, False, False)
    fun = analytics.funnel(d1, t)
    assert (fun["visitors"], fun["carted"], fun["uv_exact"]) == (4, 3, False)
    prods = analytics.products(d1, t)
    assert prods["uv_exact"] is False
    assert {p["product_id"]: (p["uv"], p["carted"]) for p in prods["items"]} == {
        f["p1"].id: (3, 3),
        f["p2"].id: (1, 0),
    }
    assert service.product_visitors([f["p1"].id], d1, t) == {f["p1"].id: 3}
    # d2 .. T is inside the window: exact; its previous period (d1) is not
    ov = analytics.overview(d2, t)
    assert (ov["uv_exact"], ov["previous_uv_exact"], ov["previous"]["uv"]) == (True, False, 2)
    admin = factory.admin()
    q = f"start={d1.isoformat()}&end={t.isoformat()}"
    r = api.get(f"/admin/reports/analytics?{q}", user=admin)
    assert r.status_code == 200
    assert (r.json["overview"]["uv_exact"], r.json["funnel"]["uv_exact"], r.json["products"]["uv_exact"]) == (
        False,
        False,
        False,
    )
    from jishi.testing import principals

    client = app.test_client()
    principals.sign_in(client, admin)
    assert 'data-note="uv-summed"' in client.get(f"/console/reports?{q}").get_data(as_text=True)
    assert 'data-note="uv-summed"' not in client.get(f"/console/reports?start={t.isoformat()}").get_data(as_text=True)


def test_product_visitors_public_read(app, factory, queries):
    """Issue 19: ``service.product_visitors`` answers every id asked, exact
    (p1 over d1..T: 2; over T-5..T: 3 with v4), in one statement."""
    f = _fixture(factory)
    p1, p2 = f["p1"].id, f["p2"].id
    with queries() as q:
        got = service.product_visitors([p1, p2, 999999], f["d1"], f["t"])
    assert got == {p1: 2, p2: 1, 999999: 0} and q.count == 1
    assert service.product_visitors([p1], f["d5"], f["t"]) == {p1: 3}
    assert service.product_visitors([], f["d1"], f["t"]) == {}


def _rows() -> list[tuple]:
    db.session.rollback()
    out = sorted(db.session.execute(db.select(VisitorDay.day, VisitorDay.kind, VisitorDay.ref_id, VisitorDay.visitor)))
    db.session.rollback()
    return [tuple(r) for r in out]


def _returns() -> list[tuple]:
    db.session.rollback()
    out = sorted(
        db.session.execute(
            db.select(
                VisitorReturn.kind,
                VisitorReturn.ref_id,
                VisitorReturn.day,
                VisitorReturn.prev_day,
                VisitorReturn.visitors,
            )
        )
    )
    db.session.rollback()
    return [tuple(r) for r in out]


def test_visitor_returns_of_the_fixture(app, factory):
    """Issue 19: the aggregation's per-day rows: each scope key's visitors of
    the day by their previous visit day ("" none)."""
    f = _fixture(factory)
    d5, d1, d2 = (f[k].isoformat() for k in ("d5", "d1", "d2"))
    assert _returns() == sorted(
        [
            ("site", 0, d5, "", 1),
            ("seller", 7, d5, "", 1),
            ("site", 0, d1, "", 2),
            ("seller", 7, d1, "", 2),
            ("cart", 0, d1, "", 2),
            ("cart_seller", 7, d1, "", 2),
            ("site", 0, d2, d1, 1),  # v1
            ("site", 0, d2, "", 1),  # v3
            ("seller", 7, d2, d1, 1),
            ("cart", 0, d2, d1, 1),
            ("cart_seller", 7, d2, d1, 1),
        ]
    )


def test_prune_deletes_only_old_rows_in_batches_and_repeats(app, factory, queries, monkeypatch):
    """Issue 19: with 2 days kept the visitor rows of d1 (12: site, seller,
    product, cart, cart_product, cart_seller for v1 and v2) and T-5 (3) go
    and so do the 6 return rows of those days, in batches: 10 visitor rows
    with one batch allowed; then batches of 4 (4 + 1 visitor rows, 4 + 2
    return rows: four DELETEs); d2's rows stay; a third run deletes nothing."""
    f = _fixture(factory)
    before, returns = _rows(), _returns()
    cutoff = f["d2"].isoformat()
    keep = [r for r in before if r[0] >= cutoff]
    keep_returns = [r for r in returns if r[2] >= cutoff]
    assert len(before) - len(keep) == 15 and len(keep) == 8  # d2: v1's six keys, v3's site and product
    assert len(returns) - len(keep_returns) == 6 and len(keep_returns) == 5
    monkeypatch.setitem(app.config, "JISHI_VISITOR_DAYS_KEEP", 2)
    db.session.rollback()
    with queries() as q:
        assert visitors.prune(batch=10, max_batches=1) == f"10 visitor rows and 0 return rows before {cutoff} deleted"
    assert sum(s.lstrip().upper().startswith("DELETE") for s in q.statements) == 1
    assert len(_rows()) == len(before) - 10 and _returns() == returns
    with queries() as q:
        assert visitors.prune(batch=4) == f"5 visitor rows and 6 return rows before {cutoff} deleted"
    assert sum(s.lstrip().upper().startswith("DELETE") for s in q.statements) == 4
    assert _rows() == keep and _returns() == keep_returns
    assert visitors.prune(batch=4) == f"0 visitor rows and 0 return rows before {cutoff} deleted"
    assert _rows() == keep and _returns() == keep_returns


def test_the_job_is_declared(app):
    """Issue 19: ``prune_visitor_days`` is one of the kernel's periodic jobs."""
    jobs = {j.name: j for r in app.extensions["jishi"].hook.periodic_jobs() for j in r}
    assert jobs["prune_visitor_days"].func is visitors.prune


def test_days_without_visitor_rows_fall_back_to_sums(app, factory):
    """Issue 19: days written straight into the daily tables (the demo's
    history: no visitor rows behind them) read as a range UV below the
    largest day's UV; the report keeps the sums and says so, for the
    overview, the funnel and each listed product."""
    from jishi.i18n import shop_today

    t = shop_today()
    factory.product(name="茶叶", price=5000, stock=10)
    db.session.commit()
    assert aggregate.seed_history(5, today=t) == 5  # t-6 .. t-2
    start = t - timedelta(days=6)
    sums = analytics._sums(start, t, 0)
    assert sums["uv"] > 0
    ov = analytics.overview(start, t)
    assert (ov["current"]["uv"], ov["uv_exact"]) == (sums["uv"], False)
    fun = analytics.funnel(start, t)
    assert (fun["visitors"], fun["carted"], fun["uv_exact"]) == (sums["uv"], sums["carted"], False)
    prods = analytics.products(start, t)
    assert prods["uv_exact"] is False and prods["items"][0]["uv"] > 0


def test_migration_backfills_visitor_returns(tmp_path):
    """Issue 19: upgrading a database with visitor rows to k0008 writes their
    ``visitor_returns`` (v1 on day A and C, v2 on C; a product row is not a
    scope key): A: 1 new; C: v1 back from A, v2 new."""
    from jishi import migrations
    from jishi.app import create_app
    from sqlalchemy import create_engine, text

    url = f"sqlite:///{tmp_path}/m.db"
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x", "JISHI_PLUGINS": ""},
        instance_path=str(tmp_path / "instance"),
    )
    migrations.upgrade(app, "k0007")
    engine = create_engine(url)
    with engine.begin() as conn:
        for day, kind, ref, vid in (
            ("2026-01-01", "site", 0, "v1"),
            ("2026-01-03", "site", 0, "v1"),
            ("2026-01-03", "site", 0, "v2"),
            ("2026-01-03", "product", 5, "v2"),
        ):
            conn.execute(
                text("INSERT INTO visitor_days (day, kind, ref_id, visitor) VALUES (:d, :k, :r, :v)"),
                {"d": day, "k": kind, "r": ref, "v": vid},
            )
    migrations.upgrade(app)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT kind, ref_id, day, prev_day, visitors FROM visitor_returns ORDER BY day, prev_day")
        ).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [
        ("site", 0, "2026-01-01", "", 1),
        ("site", 0, "2026-01-03", "", 1),
        ("site", 0, "2026-01-03", "2026-01-01", 1),
    ]
