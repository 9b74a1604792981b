"""Request ids and request log lines, and the JSON log option.

Every request gets an id: the client's (or the proxy's) ``X-Request-Id``
when it is a plausible one (1–128 of ``A-Z a-z 0-9 . _ - : @``), else a new
one; the response echoes it in ``X-Request-Id``. Each request writes one
line at INFO to the ``jishi.request`` logger (method, path, route, status,
duration, user id, client address) when that level is enabled.

With ``JISHI_LOG_JSON`` on, the root logger writes one JSON object per line
to standard error (python-json-logger), and every line written while a
request is served — the request line, a plugin's warning, an error with its
traceback — carries ``request_id``, ``user_id`` and ``route``.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections import deque
from time import perf_counter

from flask import Flask, g, has_request_context, request
from flask.globals import _cv_app, _cv_request
from werkzeug.datastructures import Headers

from jishi import metrics

request_log = logging.getLogger("jishi.request")

REQUEST_ID_HEADER = "X-Request-Id"
_VALID_ID = re.compile(r"[A-Za-z0-9._\-:@]{1,128}")


def request_id() -> str | None:
    """The current request's id (None outside a request)."""
    if not has_request_context():
        return None
    rid = g.get("request_id")
    if rid is None:  # a before_request that ran ahead of ours answered
        rid = g.request_id = _incoming_id()
    return rid


def _incoming_id() -> str:
    given = request.environ.get(_REQUEST_ID_KEY, "")  # request.headers.get(REQUEST_ID_HEADER, ""), without the proxy
    return given if given and _VALID_ID.fullmatch(given) else _new_id()


_REQUEST_ID_LOWER = REQUEST_ID_HEADER.lower()
_REQUEST_ID_KEY = "HTTP_" + REQUEST_ID_HEADER.upper().replace("-", "_")
_UUID4_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))
_UUID4_SET = (0x8000 << 48) | (0x4000 << 64)


def _new_id() -> str:
    """``uuid.uuid4().hex``: the same random bits (``os.urandom``), variant
    and version, and the same 32 hex digits, without building a
    ``uuid.UUID``, and read 64 at a time (one ``os.urandom`` call instead
    of one a request). ``deque.popleft`` hands each to one caller only
    (threads); a forked process (a gunicorn worker) starts with none of its
    parent's."""
    try:
        return _ids.popleft()
    except IndexError:
        raw = os.urandom(16 * _ID_BATCH)
        _ids.extend(
            "%032x" % ((int.from_bytes(raw[i : i + 16], "big") & _UUID4_CLEAR) | _UUID4_SET)
            for i in range(16, len(raw), 16)
        )
        return "%032x" % ((int.from_bytes(raw[:16], "big") & _UUID4_CLEAR) | _UUID4_SET)


_ID_BATCH = 64
_ids: deque[str] = deque()
os.register_at_fork(after_in_child=_ids.clear)


def current_user_id() -> int | None:
    """The signed-in user's id as far as the request already knows it,
    without loading the user for a request that never asked (a query)
    nor marking the session accessed (``Vary: Cookie``)."""
    if not has_request_context():
        return None
    user = g.get("_login_user")
    if user is not None:
        return getattr(user, "id", None) if getattr(user, "is_authenticated", False) else None
    from flask.globals import request_ctx

    ctx = vars(request_ctx._get_current_object())  # type: ignore[attr-defined]
    session = ctx.get("_session", ctx.get("session"))  # not the property: it marks the session accessed
    raw = dict.get(session, "_user_id") if isinstance(session, dict) else None
    try:  # "<id>:<session token>" (jishi.accounts), or a bare id
        return int(str(raw).split(":", 1)[0]) if raw is not None else None
    except ValueError:
        return None


def route() -> str | None:
    """The endpoint name serving the request (``shop.login``), not its raw
    path; ``None`` for a path no route matched."""
    if not has_request_context():
        return None
    return request.endpoint


def install(app: Flask) -> None:
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    # after_request functions run last-registered first: ours goes first in
    # the list to run last and see the final response.
    app.after_request_funcs.setdefault(None, []).insert(0, _finish)


def _start() -> None:
    ctx = _cv_request.get()  # (the request context: no proxies for what runs every request)
    ctx_g = _cv_app.get().g
    ctx_g.request_started = perf_counter()
    given = ctx.request.environ.get(_REQUEST_ID_KEY, "")  # as _incoming_id()
    ctx_g.request_id = given if given and _VALID_ID.fullmatch(given) else _new_id()


def _finish(response):
    ctx_g = _cv_app.get().g
    req = _cv_request.get().request
    rid = getattr(ctx_g, "request_id", None)
    if rid is None:  # as request_id(): a before_request that ran ahead of ours answered
        rid = ctx_g.request_id = _incoming_id()
    headers = response.headers
    if type(headers) is Headers and not any(k.lower() == _REQUEST_ID_LOWER for k, _ in headers._list):
        # what ``headers[REQUEST_ID_HEADER] = rid`` does when the response has
        # none, without its checks: the id is a valid one (_VALID_ID) or ours
        headers._list.append((REQUEST_ID_HEADER, rid))
    else:
        headers[REQUEST_ID_HEADER] = rid
    started = getattr(ctx_g, "request_started", None)
    elapsed = perf_counter() - started if started is not None else 0.0
    rule = req.url_rule  # (request.endpoint)
    status = response.status_code
    metrics.observe_request(req.method, rule.endpoint if rule is not None else "<unmatched>", status, elapsed)
    if request_log.isEnabledFor(logging.INFO):
        request_log.info(
            "%s %s %s %.1fms",
            req.method,
            req.path,
            status,
            elapsed * 1000,
            extra={
                "method": req.method,
                "path": req.path,
                "status": status,
                "duration_ms": round(elapsed * 1000, 2),
                "remote_addr": req.remote_addr,
            },
        )
    return response


class RequestContextFilter(logging.Filter):
    """Adds ``request_id``, ``user_id`` and ``route`` to every record (None
    outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            record.request_id = request_id()
            record.user_id = current_user_id()
            record.route = route()
        else:
            record.request_id = record.user_id = record.route = None
        return True


def json_formatter() -> logging.Formatter:
    try:
        from pythonjsonlogger.json import JsonFormatter
    except ImportError:  # python-json-logger before 3.1
        from pythonjsonlogger.jsonlogger import JsonFormatter
    return JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s",
        rename_fields={"levelname": "level", "name": "logger", "asctime": "time"},
        json_ensure_ascii=False,
    )


def use_json_logs(level: str | int = "INFO") -> logging.Handler:
    """Send every log record to standard error as one JSON object a line
    (once per process: a second app reuses the handler)."""
    root = logging.getLogger()
    for handler in root.handlers:
        if getattr(handler, "jishi_json", False):
            break
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.jishi_json = True  # type: ignore[attr-defined]
        handler.setFormatter(json_formatter())
        handler.addFilter(RequestContextFilter())
        root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    # Flask's own text handler on the app's logger would print each line twice.
    from flask.logging import default_handler

    logging.getLogger("jishi").removeHandler(default_handler)
    return handler
