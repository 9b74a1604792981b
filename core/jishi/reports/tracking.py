"""Visit and funnel collection (issue 19), off the request's transaction.

A view calls :func:`track` (``jishi.forms.record_visit`` does for pages;
the JSON API's catalog routes and the cart service do too). The event is
kept on ``flask.g`` until the response is made; ``after_request`` expands
it into counter keys and appends them to the buffer — one ``RPUSH`` to
Redis when ``JISHI_REDIS_URL`` is set, else a list in this process — and
nothing touches the request's database session. (Per request that costs a
few microseconds: the bot check is kept per user agent, the in-process
buffer is a deque appended without a lock, the day is worked out once a
second.) A batch is written when
the buffer holds ``JISHI_TRACKING_BATCH`` events or its oldest is
``JISHI_TRACKING_FLUSH_SECONDS`` old (noticed by a request; once its
response is sent, a writer thread of the process writes the batch — or the
request itself with ``JISHI_TRACKING_FLUSH_THREAD = False``), and by the
worker's ``flush_visits`` job: page views as ``page_visits`` counters
(one upsert per batch) and unique visitors as ``visitor_days`` rows (one
insert-or-ignore per batch), as plain SQL on a connection of its own. A write that
fails, a Redis that is down or a process that dies loses counts, never a
request.

Who is a visitor — the client first, so one device is one visitor before
and after its buyer signs in, and tracking never reads the user: the
client header ``X-Jishi-Visitor`` (8 to 64 letters, digits, ``-`` or
``_``: the mini-program keeps a random id in its storage and sends it with
every call; ``h<id>``); else the first-party cookie ``jishi_vid`` this
module sets on the first tracked page a browser opens (``c<id>``); else
the signed-in user when the view loaded it (``u<id>``: an API client
without the header). An API call with none of them counts its page view,
not a visitor. Requests from bots (the user agent
names a crawler, a command-line client or is empty), and the health,
metrics and static routes, count nothing.

Counter keys of one event (``kind``, ``ref_id``, ``seller_id``):

- a page view: ``("site", 0)``, ``(kind, ref_id)`` and, for a seller's
  page or product, ``("seller", seller_id)``;
- an add to cart: ``("cart", 0)``, ``("cart_product", product_id)`` and
  ``("cart_seller", seller_id)``.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import threading
import time
from collections import Counter, deque
from datetime import UTC, datetime

from flask import Flask, current_app, g, request
from flask.globals import _cv_app, _cv_request
from werkzeug.http import http_date

log = logging.getLogger("jishi.reports")

COOKIE = "jishi_vid"
HEADER = "X-Jishi-Visitor"
REDIS_KEY = "jishi:visits"
_VISITOR = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_BOTS = re.compile(
    r"bot|spider|crawl|slurp|curl|wget|python-|httpclient|okhttp|java/|go-http|libwww|scrapy|"
    r"headlesschrome|phantomjs|monitor|uptime|pingdom|lighthouse|preview|facebookexternalhit",
    re.I,
)
_SKIP_PATHS = ("/static/", "/healthz", "/readyz", "/livez", "/metrics", "/health")

__all__ = ["COOKIE", "HEADER", "flush", "install", "is_bot", "track", "visitor"]


_bot_agents: dict[str, bool] = {}  # user agent -> is_bot: the regex runs once per distinct agent


def is_bot(user_agent: str | None) -> bool:
    """A crawler, a script or no user agent at all. (The answer is kept per
    agent string — the regex costs 10-50 µs on a browser's agent, the
    lookup well under one; at most 4,096 agents are kept.)"""
    if not user_agent:
        return True
    hit = _bot_agents.get(user_agent)
    if hit is None:
        hit = bool(_BOTS.search(user_agent))
        if len(_bot_agents) >= 4096:
            _bot_agents.clear()
        _bot_agents[user_agent] = hit
    return hit


def visitor(create: bool = False) -> str | None:
    """This request's visitor id (see the module doc), worked out once the
    view has run; ``create``: a page request without the cookie gets a new
    id (set on the response)."""
    cached = g.get("_jishi_visitor")
    if cached is not None:
        return cached or None
    vid = _visitor(request._get_current_object(), create)  # type: ignore[attr-defined]
    g._jishi_visitor = vid
    return vid or None


_HEADER_KEY = "HTTP_" + HEADER.upper().replace("-", "_")


def _visitor(req, create: bool) -> str:
    header = req.environ.get(_HEADER_KEY)
    if header and _VISITOR.match(header):
        return "h" + header
    if "HTTP_COOKIE" in req.environ:  # (no header: no cookie to parse)
        cookie = req.cookies.get(COOKIE)
        if cookie and _VISITOR.match(cookie):
            return "c" + cookie
    g_ = _cv_app.get().g
    user = getattr(g_, "_login_user", None)  # only if the view loaded it: tracking never reads the user
    if user is not None and getattr(user, "is_authenticated", False):
        return f"u{user.id}"
    if create and not req.path.startswith("/api/"):
        new = _uuid4_hex()
        g_._jishi_new_cookie = new
        return "c" + new
    return ""


# uuid.uuid4().hex without the UUID object (its constructor's checks cost
# more than the random bytes): 128 random bits with the version (4) and
# variant (RFC 4122) bits set as uuid4 sets them, as 32 hex digits.
_UUID4_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))
_UUID4_SET = (0x8000 << 48) | (4 << 76)


def _uuid4_hex() -> str:
    return "%032x" % (int.from_bytes(os.urandom(16), "big") & _UUID4_CLEAR | _UUID4_SET)


def track(kind: str, ref_id: int = 0, seller_id: int | None = None) -> None:
    """Count ``kind`` (a page kind, or ``"cart"`` with the product's id)
    for this request's visitor today. Outside a request, for bots and when
    ``JISHI_TRACKING`` is off: nothing."""
    ctx = _cv_request.get(None)  # (the request context itself: no proxies, this runs on every page)
    if ctx is None or not ctx.app.config.get("JISHI_TRACKING", True):
        return
    req = ctx.request
    if req.path.startswith(_SKIP_PATHS) or is_bot(req.environ.get("HTTP_USER_AGENT")):
        return
    event = (kind[:20], int(ref_id or 0), int(seller_id or 0))
    g_ = _cv_app.get().g
    events = getattr(g_, "_jishi_events", None)
    if events is None:
        g_._jishi_events = [event]
    else:
        events.append(event)


def keys(kind: str, ref_id: int, seller_id: int) -> list[tuple[str, int]]:
    """The counter keys one event counts for (see the module doc)."""
    if kind == "cart":
        out = [("cart", 0), ("cart_product", ref_id)]
        if seller_id:
            out.append(("cart_seller", seller_id))
        return out
    out = [("site", 0)]
    if kind != "site":
        out.append((kind, ref_id))
    if seller_id:
        out.append(("seller", seller_id))
    return list(dict.fromkeys(out))


# -- the buffer ------------------------------------------------------------------


class _Buffer:
    """This app's in-process buffer: ``[day, kind, ref_id, seller_id, visitor]``
    events in a deque (appended and taken without a lock: each append and
    ``popleft`` is atomic)."""

    def __init__(self) -> None:
        self.events: deque[list] = deque()
        self.since = 0.0  # monotonic time of the oldest buffered event


def _local() -> _Buffer:
    buf = current_app.extensions.get("jishi_visit_buffer")
    if buf is None:
        buf = current_app.extensions["jishi_visit_buffer"] = _Buffer()
    return buf


_redis_clients: dict[str, object] = {}


def _redis():
    url = current_app.config.get("JISHI_REDIS_URL")
    if not url or current_app.config.get("JISHI_TRACKING_BUFFER") == "memory":
        return None
    client = _redis_clients.get(url)
    if client is None:
        import redis

        from jishi.serving import redis_timeout

        timeout = redis_timeout(current_app.config)
        client = _redis_clients[url] = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    return client


_day_cache: dict[tuple, str] = {}  # (UTC minute, shop time zone) -> the shop's day


def _today() -> str:
    """The shop's day now, worked out once per UTC minute and time zone (a
    shop day starts on a whole minute in every zone): the clock is read each
    time, so a moved clock (a test's, or the shop's zone changed) is seen at
    once."""
    from jishi.db import utcnow
    from jishi.i18n import to_shop_time

    now = utcnow()
    # (the minute as the date, hour and minute: ``replace`` of the seconds costs more than the rest)
    key = (now.date(), now.hour, now.minute, current_app.config.get("BABEL_DEFAULT_TIMEZONE"))
    day = _day_cache.get(key)
    if day is None:
        if len(_day_cache) > 64:
            _day_cache.clear()
        day = _day_cache[key] = to_shop_time(now).date().isoformat()
    return day


def _buffer(events: list[list], app: Flask | None = None) -> bool:
    """Append events; True when a flush is due."""
    config = (app or current_app).config
    batch = int(config.get("JISHI_TRACKING_BATCH", 1000))
    if config.get("JISHI_REDIS_URL") and config.get("JISHI_TRACKING_BUFFER") != "memory":
        client = _redis()
        if client is not None:
            try:
                length = client.rpush(REDIS_KEY, *(json.dumps(e, separators=(",", ":")) for e in events))  # type: ignore[attr-defined]
                return int(length) >= batch
            except Exception:  # a Redis that is down: count in this process
                log.warning("visit buffer: Redis unavailable, buffering in process", exc_info=True)
    buf = (app or current_app).extensions.get("jishi_visit_buffer") or _local()
    queue, now = buf.events, time.monotonic()
    if not queue:
        buf.since = now
    queue.extend(events)
    return len(queue) >= batch or now - buf.since >= float(config.get("JISHI_TRACKING_FLUSH_SECONDS", 5))


def _drain(limit: int = 5000) -> list[list]:
    queue = _local().events
    out: list[list] = []
    take = queue.popleft
    try:
        for _ in range(len(queue)):  # what is there now; requests append meanwhile
            out.append(take())
    except IndexError:  # another flush took the rest
        pass
    client = _redis()
    if client is not None:
        try:
            pipe = client.pipeline(transaction=True)  # type: ignore[attr-defined]
            pipe.lrange(REDIS_KEY, 0, limit - 1)
            pipe.ltrim(REDIS_KEY, limit, -1)
            raw, _ = pipe.execute()
            out.extend(json.loads(r) for r in raw)
        except Exception:
            log.warning("visit buffer: Redis unavailable, its events wait", exc_info=True)
    return out


_keys = functools.lru_cache(maxsize=8192)(lambda kind, ref_id, seller_id: tuple(keys(kind, ref_id, seller_id)))

# A batch is two statements whatever its size, written as SQL (no ORM, no
# statement compiled per batch): PostgreSQL gets each column as one array
# (``unnest``: one row of parameters, not one per row); SQLite runs the
# statement for the rows in the driver (``executemany``: its C loop).
_PG_COUNTS = (
    "INSERT INTO page_visits (day, kind, ref_id, count) "
    "SELECT * FROM unnest(%s::varchar[], %s::varchar[], %s::int[], %s::int[]) "
    "ON CONFLICT (day, kind, ref_id) DO UPDATE SET count = page_visits.count + excluded.count"
)
_PG_UNIQUES = (
    "INSERT INTO visitor_days (day, kind, ref_id, visitor) "
    "SELECT * FROM unnest(%s::varchar[], %s::varchar[], %s::int[], %s::varchar[]) ON CONFLICT DO NOTHING"
)
_SQL_COUNTS = (
    "INSERT INTO page_visits (day, kind, ref_id, count) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (day, kind, ref_id) DO UPDATE SET count = page_visits.count + excluded.count"
)
_SQL_UNIQUES = "INSERT INTO visitor_days (day, kind, ref_id, visitor) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"


def write(events: list[list]) -> int:
    """Write events (``[day, kind, ref_id, seller_id, visitor]``, a signed-in
    buyer's product view followed by ``user_id, unix time``) on a
    connection of its own: page-view counters and unique-visitor rows; then
    hand the product views to the ``products_viewed`` hook."""
    from jishi.db import db

    counts: Counter = Counter()
    seen: set[tuple[str, str, int, str]] = set()
    views: list[tuple[int, int, int]] = []
    for event in events:
        day, kind, ref_id, seller_id, vid = event[:5]
        if len(event) == 7 and kind == "product":
            views.append((int(event[5]), int(ref_id), int(event[6])))
        for k, r in _keys(kind, int(ref_id), int(seller_id)):
            counts[(day, k, r)] += 1
            if vid:
                seen.add((day, k, r, vid))
    if not counts:
        return 0
    engine = db.engine
    # The keys in one order, so two flushes never deadlock.
    rows = sorted((d, k, r, n) for (d, k, r), n in counts.items())
    uniques = sorted(seen)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql(_PG_COUNTS, tuple(list(c) for c in zip(*rows)))
            if uniques:
                conn.exec_driver_sql(_PG_UNIQUES, tuple(list(c) for c in zip(*uniques)))
        else:
            _sqlite_rows(conn, _SQL_COUNTS, rows)
            if uniques:
                _sqlite_rows(conn, _SQL_UNIQUES, uniques)
    if views:
        _viewed(views)
    return len(events)


def _viewed(views: list[tuple[int, int, int]]) -> None:
    """The ``products_viewed`` hook with a batch's views, oldest first; what
    it raises is logged (its part of the batch is lost, the counters are
    written)."""
    from jishi.db import db
    from jishi.flaskctx import jishi_hook
    from jishi.hookspecs import ProductView

    views.sort(key=lambda v: v[2])
    batch = [
        ProductView(user_id, product_id, datetime.fromtimestamp(at, UTC).replace(tzinfo=None))
        for user_id, product_id, at in views
    ]
    try:
        jishi_hook().products_viewed(views=batch)
    except Exception:
        log.exception("products_viewed: %d views lost", len(batch))
        db.session.rollback()


_SQLITE_CHUNK = 200  # rows per statement: 800 bound values, under SQLite's oldest limit (999)


def _sqlite_rows(conn, statement: str, rows: list[tuple]) -> None:
    """``statement`` (one ``VALUES (?, ?, ?, ?)`` row) for every row, as
    multi-row ``VALUES`` of up to :data:`_SQLITE_CHUNK` rows: one step of
    SQLite per chunk. (``executemany`` steps once per row, and the driver
    lets go of the GIL around each step: with requests running in other
    threads each row cost a thread switch, ten times the insert itself.)"""
    head, _, tail = statement.partition("VALUES (?, ?, ?, ?)")
    for i in range(0, len(rows), _SQLITE_CHUNK):
        chunk = rows[i : i + _SQLITE_CHUNK]
        sql = head + "VALUES " + ", ".join(["(?, ?, ?, ?)"] * len(chunk)) + tail
        conn.exec_driver_sql(sql, tuple(v for row in chunk for v in row))


def flush() -> int:
    """Write what the buffer holds (this process's, and Redis's); the
    number of events written. Failures are logged: the counts are lost."""
    events = _drain()
    if not events:
        return 0
    try:
        return write(events)
    except Exception:
        log.exception("visit buffer: %d events lost", len(events))
        return 0


_COOKIE_AGE = 400 * 86400
_cookie_tails: dict[int, str] = {}  # whole second -> the attributes after the new visitor's id


def _cookie_tail() -> str:
    """What ``response.set_cookie(COOKIE, id, max_age=400 days,
    httponly=True, samesite="Lax")`` writes after ``jishi_vid=<id>``
    (werkzeug's ``dump_cookie``: the id is 32 hex digits, never quoted),
    made once per second: ``Expires`` is now + ``Max-Age`` to the second."""
    now = int(time.time())
    tail = _cookie_tails.get(now)
    if tail is None:
        _cookie_tails.clear()
        tail = _cookie_tails[now] = (
            f"; Expires={http_date(now + _COOKIE_AGE)}; Max-Age={_COOKIE_AGE}; HttpOnly; Path=/; SameSite=Lax"
        )
    return tail


def _after_request(response):
    app_ctx = _cv_app.get()  # (g without the proxy: this runs for every request)
    g_ = app_ctx.g
    events = g_.pop("_jishi_events", None)
    if events and response.status_code < 400:
        app = app_ctx.app
        day = _today()
        vid = getattr(g_, "_jishi_visitor", None)
        if vid is None:  # (as visitor(create=True), without keeping it)
            vid = _visitor(_cv_request.get().request, True)
        rows = [[day, k, r, s, vid] for k, r, s in events]
        user = getattr(g_, "_login_user", None)  # (loaded by the view, or not at all: never read here)
        if user is not None and getattr(user, "is_authenticated", False):
            now = int(time.time())
            for row in rows:
                if row[1] == "product":  # a signed-in buyer's product view: products_viewed
                    row += [user.id, now]
        try:
            due = _buffer(rows, app)
        except Exception:
            log.warning("visit buffer: events lost", exc_info=True)
            due = False
        new = g_.pop("_jishi_new_cookie", None)
        if new is not None:
            response.headers.add("Set-Cookie", f"{COOKIE}={new}{_cookie_tail()}")
        if due:  # once the response is sent (and the request's session gone)
            if app.config.get("JISHI_TRACKING_FLUSH_THREAD", True):
                response.call_on_close(app.extensions["jishi_visit_flusher"].kick)
            else:
                response.call_on_close(functools.partial(_flush_in, app))
    return response


def _flush_in(app: Flask) -> None:
    with app.app_context():
        flush()


class _Flusher:
    """This process's writer thread: a due batch is written beside the
    requests, not by one of them (started on first use, so after a
    pre-forking server's fork)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.wake = threading.Event()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def kick(self) -> None:
        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="jishi-visit-flusher", daemon=True)
                self.thread.start()
        self.wake.set()

    def _run(self) -> None:
        while True:
            self.wake.wait()
            self.wake.clear()
            try:
                _flush_in(self.app)
            except Exception:  # never let the thread die on a bad batch
                log.exception("visit buffer: flush failed")


def install(app: Flask) -> None:
    """Buffer each request's events after its response is made."""
    app.extensions["jishi_visit_buffer"] = _Buffer()
    app.extensions["jishi_visit_flusher"] = _Flusher(app)
    app.after_request(_after_request)


def day_of(moment: datetime) -> str:
    from jishi.i18n import to_shop_time

    return to_shop_time(moment).date().isoformat()
