"""Visit and funnel collection (issue 19), off the request's transaction.

A view calls :func:`track` (``jishi.forms.record_visit`` does for pages;
the JSON API's catalog routes and the cart service do too). The event is
kept on ``flask.g`` until the response is made; ``after_request`` expands
it into counter keys and appends them to the buffer — one ``RPUSH`` to
Redis when ``JISHI_REDIS_URL`` is set, else a list in this process — and
nothing touches the request's database session. A batch is written when
the buffer holds ``JISHI_TRACKING_BATCH`` events or its oldest is
``JISHI_TRACKING_FLUSH_SECONDS`` old (noticed by a request; once its
response is sent, a writer thread of the process writes the batch — or the
request itself with ``JISHI_TRACKING_FLUSH_THREAD = False``), and by the
worker's ``flush_visits`` job: page views as ``page_visits`` counters
(one upsert per key) and unique visitors as ``visitor_days`` rows (one
insert-or-ignore per batch), on a connection of its own. A write that
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
import re
import threading
import time
import uuid
from collections import Counter
from datetime import datetime

from flask import Flask, current_app, g, has_request_context, request

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


def is_bot(user_agent: str | None) -> bool:
    """A crawler, a script or no user agent at all."""
    return not user_agent or bool(_BOTS.search(user_agent))


def visitor(create: bool = False) -> str | None:
    """This request's visitor id (see the module doc), worked out once the
    view has run; ``create``: a page request without the cookie gets a new
    id (set on the response)."""
    cached = g.get("_jishi_visitor")
    if cached is not None:
        return cached or None
    vid = ""
    header = request.headers.get(HEADER, "")
    cookie = request.cookies.get(COOKIE, "")
    user = g.get("_login_user")  # only if the view loaded it: tracking never reads the user
    if _VISITOR.match(header):
        vid = "h" + header
    elif _VISITOR.match(cookie):
        vid = "c" + cookie
    elif user is not None and getattr(user, "is_authenticated", False):
        vid = f"u{user.id}"
    elif create and not request.path.startswith("/api/"):
        new = uuid.uuid4().hex
        g._jishi_new_cookie = new
        vid = "c" + new
    g._jishi_visitor = vid
    return vid or None


def track(kind: str, ref_id: int = 0, seller_id: int | None = None) -> None:
    """Count ``kind`` (a page kind, or ``"cart"`` with the product's id)
    for this request's visitor today. Outside a request, for bots and when
    ``JISHI_TRACKING`` is off: nothing."""
    if not has_request_context() or not current_app.config.get("JISHI_TRACKING", True):
        return
    if request.path.startswith(_SKIP_PATHS) or is_bot(request.headers.get("User-Agent")):
        return
    g.setdefault("_jishi_events", []).append((kind[:20], int(ref_id or 0), int(seller_id or 0)))


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
    """This app's in-process buffer: ``[day, kind, ref_id, seller_id, visitor]`` events."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: list[list] = []
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


_day_cache: list = [0.0, ""]  # [good until (monotonic), the shop's day]


def _today() -> str:
    """The shop's day, worked out at most once a second."""
    now = time.monotonic()
    if now >= _day_cache[0]:
        from jishi.db import utcnow
        from jishi.i18n import to_shop_time

        _day_cache[:] = [now + 1.0, to_shop_time(utcnow()).date().isoformat()]
    return _day_cache[1]


def _buffer(events: list[list]) -> bool:
    """Append events; True when a flush is due."""
    batch = int(current_app.config.get("JISHI_TRACKING_BATCH", 200))
    client = _redis()
    if client is not None:
        try:
            length = client.rpush(REDIS_KEY, *(json.dumps(e, separators=(",", ":")) for e in events))  # type: ignore[attr-defined]
            return int(length) >= batch
        except Exception:  # a Redis that is down: count in this process
            log.warning("visit buffer: Redis unavailable, buffering in process", exc_info=True)
    buf = _local()
    with buf.lock:
        if not buf.events:
            buf.since = time.monotonic()
        buf.events.extend(events)
        age = time.monotonic() - buf.since
        return len(buf.events) >= batch or age >= float(current_app.config.get("JISHI_TRACKING_FLUSH_SECONDS", 5))


def _drain(limit: int = 5000) -> list[list]:
    buf = _local()
    with buf.lock:
        out, buf.events = buf.events, []
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


def write(events: list[list]) -> int:
    """Write events (``[day, kind, ref_id, seller_id, visitor]``) on a
    connection of its own: page-view counters and unique-visitor rows."""
    from sqlalchemy.dialects import postgresql, sqlite

    from jishi.db import db
    from jishi.models import PageVisit
    from jishi.reports.models import VisitorDay

    counts: Counter = Counter()
    seen: set[tuple[str, str, int, str]] = set()
    for day, kind, ref_id, seller_id, vid in events:
        for key in keys(kind, int(ref_id), int(seller_id)):
            counts[(day, *key)] += 1
            if vid:
                seen.add((day, key[0], key[1], vid))
    if not counts:
        return 0
    engine = db.engine
    insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    rows = [{"day": d, "kind": k, "ref_id": r, "count": n} for (d, k, r), n in sorted(counts.items())]
    upsert = insert(PageVisit)
    upsert = upsert.on_conflict_do_update(
        index_elements=["day", "kind", "ref_id"], set_={"count": PageVisit.count + upsert.excluded.count}
    )
    with engine.begin() as conn:
        # Two statements, each run for many rows (executemany: compiled once,
        # cached); the keys in one order, so two flushes never deadlock.
        conn.execute(upsert, rows)
        if seen:
            uniques = [{"day": d, "kind": k, "ref_id": r, "visitor": v} for d, k, r, v in sorted(seen)]
            conn.execute(insert(VisitorDay).on_conflict_do_nothing(), uniques)
    return len(events)


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


def _after_request(response):
    events = g.pop("_jishi_events", None)
    if events and response.status_code < 400:
        day = _today()
        vid = visitor(create=True) or ""
        try:
            due = _buffer([[day, k, r, s, vid] for k, r, s in events])
        except Exception:
            log.warning("visit buffer: events lost", exc_info=True)
            due = False
        new = g.pop("_jishi_new_cookie", None)
        if new:
            response.set_cookie(COOKIE, new, max_age=400 * 86400, httponly=True, samesite="Lax")
        if due:  # once the response is sent (and the request's session gone)
            app = current_app._get_current_object()  # type: ignore[attr-defined]
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
