"""Issue 19 collection: page views and unique visitors from the web and the
JSON API, add-to-cart for the funnel, bots and health checks excluded,
written off the request's transaction from a buffer (SPEC K16)."""

from __future__ import annotations

import pytest
from jishi.reports import tracking

from .helpers import UA, counters, flush, uniques


@pytest.fixture
def app_config():
    return {"JISHI_TRACKING_BATCH": 10_000, "JISHI_TRACKING_FLUSH_SECONDS": 3600}


def test_web_page_views_and_unique_visitors_by_cookie(app, client, factory):
    """Issue 19: a browser gets a first-party visitor cookie; two views by
    it are 2 PV, 1 UV; another browser is a second visitor."""
    p = factory.product(name="茶叶")
    r = client.get(f"/product/{p.id}", headers=UA)
    assert r.status_code == 200
    assert tracking.COOKIE in r.headers.get("Set-Cookie", "")
    client.get(f"/product/{p.id}", headers=UA)
    assert counters() == {}  # buffered: nothing written by the requests
    assert flush(app) == 2
    other = app.test_client()
    other.get(f"/product/{p.id}", headers=UA)
    other.get("/", headers=UA)
    flush(app)
    c, u = counters(), uniques()
    assert c[("product", p.id)] == 3 and c[("site", 0)] == 4 and c[("home", 0)] == 1
    assert len(u[("product", p.id)]) == 2 and len(u[("site", 0)]) == 2
    assert all(v.startswith("c") for v in u[("site", 0)])


def test_a_browser_is_one_visitor_before_and_after_signing_in(app, client, api, factory, login):
    """Issue 19: the visitor is the client (the browser's cookie), so a
    buyer who signs in midway is still one visitor; an API client without
    the header is the signed-in user when the call loaded it."""
    buyer = factory.user()
    p = factory.product()
    client.get(f"/product/{p.id}", headers=UA)
    login(buyer)
    client.get(f"/product/{p.id}", headers=UA)
    app_client = app.test_client()  # another client: a bearer token, no header, no cookie
    app_client.get(f"/api/v1/products/{p.id}", headers={**UA, **api.headers(buyer)})
    flush(app)
    visitors = uniques()[("product", p.id)]
    assert len(visitors) == 2 and f"u{buyer.id}" in visitors  # the browser (both views) and the API client
    assert counters()[("product", p.id)] == 3


def test_api_counts_by_the_visitor_header(app, api, factory):
    """Issue 19: the mini-program's API calls count; its X-Jishi-Visitor
    header is the visitor; a call without one counts a view, no visitor."""
    p = factory.product()
    vid = {**UA, tracking.HEADER: "mp-0123456789abcdef"}
    assert api.get(f"/products/{p.id}", headers=vid).status_code == 200
    api.get(f"/products/{p.id}", headers=vid)
    api.get("/products?q=tea", headers=vid)
    api.get(f"/products/{p.id}", headers=UA)  # no id: a view, no visitor
    api.get(f"/products/{p.id}", headers={**UA, tracking.HEADER: "short"})  # malformed: ignored
    flush(app)
    c, u = counters(), uniques()
    assert c[("product", p.id)] == 4 and c[("search", 0)] == 1 and c[("site", 0)] == 5
    assert u[("product", p.id)] == {"hmp-0123456789abcdef"}


def test_add_to_cart_counts_for_the_funnel(app, api, client, factory, login):
    """Issue 19: adding to the cart (API and web alike) counts the cart
    step for the product and its seller."""
    buyer = factory.user()
    p = factory.product(seller_id=None)
    assert (
        api.post("/cart/items", user=buyer, json={"sku_id": p.skus[0].id, "quantity": 1}, headers=UA).status_code == 201
    )
    login(buyer)
    client.post("/cart/add", data={"sku_id": p.skus[0].id, "quantity": 1}, headers=UA)
    flush(app)
    c, u = counters(), uniques()
    assert c[("cart_product", p.id)] == 2 and c[("cart", 0)] == 2
    assert u[("cart", 0)] == {f"u{buyer.id}"}  # no visitor header or cookie yet: the signed-in buyer


@pytest.mark.parametrize(
    "agent",
    ["Mozilla/5.0 (compatible; Baiduspider/2.0)", "Googlebot/2.1", "curl/8.0", "python-requests/2.31", ""],
)
def test_bots_count_nothing(app, client, api, factory, agent):
    """Issue 19: crawlers, scripts and empty user agents count nothing."""
    p = factory.product()
    client.get(f"/product/{p.id}", headers={"User-Agent": agent})
    api.get(f"/products/{p.id}", headers={"User-Agent": agent, tracking.HEADER: "mp-0123456789abcdef"})
    assert flush(app) == 0
    assert counters() == {}


def test_health_metrics_static_and_errors_count_nothing(app, client):
    """Issue 19: health checks, static files and error pages count nothing."""
    for path in ("/healthz", "/readyz", "/static/css/shop.css", "/product/999999"):
        client.get(path, headers=UA)
    assert flush(app) == 0


def test_tracking_off_counts_nothing(app, client, factory, monkeypatch):
    """Issue 19: JISHI_TRACKING = False turns collection off."""
    monkeypatch.setitem(app.config, "JISHI_TRACKING", False)
    p = factory.product()
    client.get(f"/product/{p.id}", headers=UA)
    assert flush(app) == 0


def test_a_full_buffer_is_written_by_the_request_that_fills_it(app, client, factory, monkeypatch):
    """Issue 19: the batch is written when the buffer holds JISHI_TRACKING_BATCH events."""
    monkeypatch.setitem(app.config, "JISHI_TRACKING_BATCH", 3)
    monkeypatch.setitem(app.config, "JISHI_TRACKING_FLUSH_THREAD", False)
    pid = factory.product().id
    for _ in range(2):
        client.get(f"/product/{pid}", headers=UA)
    assert counters() == {}  # (ends the test's own transaction: SQLite has one writer)
    client.get(f"/product/{pid}", headers=UA).close()  # the server closes the response: then the batch is written
    assert counters()[("product", pid)] == 3


def test_a_full_buffer_is_written_by_the_writer_thread(app, client, factory, monkeypatch):
    """Issue 19: by default the process's writer thread writes the batch
    once the response is sent (no request waits for it)."""
    import time

    monkeypatch.setitem(app.config, "JISHI_TRACKING_BATCH", 2)
    pid = factory.product().id
    client.get(f"/product/{pid}", headers=UA).close()
    assert counters() == {}
    client.get(f"/product/{pid}", headers=UA).close()
    for _ in range(100):
        if counters().get(("product", pid)) == 2:
            break
        time.sleep(0.05)
    assert counters()[("product", pid)] == 2


def test_redis_buffer_and_a_redis_that_is_down(app, client, factory, monkeypatch):
    """Issue 19: with JISHI_REDIS_URL the events wait in Redis (shared by
    every process) until a flush; a Redis that is down costs no request:
    the events are buffered in the process instead."""
    from jishi.testing import redis_server_or_skip

    p = factory.product()
    with redis_server_or_skip() as url:
        monkeypatch.setitem(app.config, "JISHI_REDIS_URL", url)
        client.get(f"/product/{p.id}", headers=UA)
        import redis

        assert redis.Redis.from_url(url).llen(tracking.REDIS_KEY) == 1
        assert flush(app) == 1
        assert redis.Redis.from_url(url).llen(tracking.REDIS_KEY) == 0
    monkeypatch.setitem(app.config, "JISHI_REDIS_TIMEOUT", 0.1)
    assert client.get(f"/product/{p.id}", headers=UA).status_code == 200  # Redis gone
    assert flush(app) == 1
    assert counters()[("product", p.id)] == 2


def test_bot_answers_are_kept_per_agent(monkeypatch):
    """Issue 19 (cost): the bot regex runs once per distinct user agent;
    the answers kept are the regex's, and at most 4,096 of them."""
    monkeypatch.setattr(tracking, "_bot_agents", {})
    browser = UA["User-Agent"]
    for _ in range(2):
        assert tracking.is_bot("Mozilla/5.0 (compatible; Googlebot/2.1)")
        assert not tracking.is_bot(browser)
        assert tracking.is_bot("") and tracking.is_bot(None)
    assert tracking._bot_agents == {"Mozilla/5.0 (compatible; Googlebot/2.1)": True, browser: False}
    for i in range(5000):
        assert not tracking.is_bot(f"Mozilla/5.0 build {i}")
    assert 0 < len(tracking._bot_agents) <= 4096
    assert tracking.is_bot("curl/8.0") and not tracking.is_bot(browser)


def test_events_buffered_during_flushes_are_written_once(app, factory):
    """Issue 19 (cost): requests append to the buffer without a lock while
    flushes take from it: every event is written, none twice."""
    import threading

    from jishi.db import db

    pid = factory.product().id
    db.session.rollback()  # (SQLite's single writer: the flushes below write)
    day = "2026-12-04"

    def requests(n: int) -> None:
        with app.app_context():
            for i in range(500):
                tracking._buffer([[day, "product", pid, 0, f"hvisitor-{n}-{i % 7}"]], app)

    threads = [threading.Thread(target=requests, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    written = 0
    with app.app_context():
        while any(t.is_alive() for t in threads):
            written += tracking.flush()
        for t in threads:
            t.join()
        written += tracking.flush()
    assert written == 2000
    assert counters()[("product", pid)] == 2000 and counters()[("site", 0)] == 2000
    assert len(uniques()[("product", pid)]) == 28


def test_a_visit_counts_on_the_shop_day_of_its_moment(app, client, factory, monkeypatch):
    """Issue 19: a visit is recorded on the shop's day when it happened; the
    day is worked out once a minute, from the clock read at each request, so
    a clock that moves (here a test's) is followed at once."""
    from datetime import datetime

    from jishi import db as jishi_db
    from jishi.models import PageVisit

    p = factory.product()
    client.get(f"/product/{p.id}", headers=UA)
    monkeypatch.setattr(jishi_db, "utcnow", lambda: datetime(2026, 3, 1, 16, 30))  # 00:30 on 3-2 in Shanghai
    client.get(f"/product/{p.id}", headers=UA)
    flush(app)
    db_rows = {(v.day, v.kind): v.count for v in jishi_db.db.session.execute(jishi_db.db.select(PageVisit)).scalars()}
    jishi_db.db.session.rollback()
    assert db_rows[("2026-03-02", "product")] == 1
    assert sum(n for (day, kind), n in db_rows.items() if kind == "product") == 2


def test_a_large_batch_is_written_whole(app, factory):
    """Issue 19 (cost): a batch larger than one statement's rows (SQLite
    writes multi-row VALUES of up to 200 rows) is written whole, once."""
    from jishi.db import db

    pids = [factory.product().id for _ in range(3)]
    db.session.rollback()
    events = [["2026-12-04", "product", pids[i % 3], 0, f"hv-{i}"] for i in range(450)]
    with app.app_context():
        assert tracking.write(events) == 450
        assert tracking.write(events[:10]) == 10  # again: counted, no visitor twice
    c, u = counters(), uniques()
    assert [c[("product", pid)] for pid in pids] == [154, 153, 153] and c[("site", 0)] == 460
    assert [len(u[("product", pid)]) for pid in pids] == [150, 150, 150] and len(u[("site", 0)]) == 450
