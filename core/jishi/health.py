"""Liveness and readiness (docs/operations.md#health).

- ``GET /healthz``: liveness. 200 ``{"ok": true}`` whenever the process
  serves requests; it touches nothing else (a load balancer or an
  orchestrator restarts an instance whose liveness fails, and a database
  outage is no reason to restart every instance).
- ``GET /readyz``: readiness. Runs ``SELECT 1`` on the database, checks
  its schema is up to the code (with ``JISHI_SCHEMA_CHECK``), and, when
  ``JISHI_REDIS_URL`` (or a Redis rate-limit storage) is configured, a Redis
  ``PING`` with ``JISHI_REDIS_TIMEOUT``; 200 when all pass, else 503 naming
  the failed checks::

      {"ready": false, "failed": ["database"],
       "checks": {"database": {"ok": false, "error": "OperationalError"}, "redis": {"ok": true}}}

  Take an instance out of the load balancer while it is not ready.

``GET /api/v1/ping`` stays what it was (a liveness answer in the API, no
database access).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Blueprint, current_app, jsonify

from jishi.serving import redis_timeout

log = logging.getLogger("jishi.health")

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Liveness: the process answers."""
    return jsonify(ok=True)


@bp.get("/readyz")
def readyz():
    """Readiness: the database (and Redis, when configured) answer."""
    checks: dict[str, dict[str, Any]] = {"database": _check(_database)}
    if checks["database"]["ok"]:
        schema = _schema()
        if schema is not None:
            checks["schema"] = schema
    for name, url in _redis_urls().items():
        checks[name] = _check(lambda url=url: _redis(url))
    failed = [name for name, result in checks.items() if not result["ok"]]
    response = jsonify(ready=not failed, failed=failed, checks=checks)
    response.status_code = 503 if failed else 200
    response.headers["Cache-Control"] = "no-store"
    return response


def _check(probe) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        probe()
    except Exception as exc:
        log.warning("readiness: %s", exc)
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}


def _database() -> None:
    from sqlalchemy import text

    from jishi.db import db

    with db.engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def _schema() -> dict[str, Any] | None:
    """With ``JISHI_SCHEMA_CHECK`` on: is the database schema up to the code
    (jishi.schema)? Not ready while it is behind (``jishi db upgrade``)."""
    from jishi import schema

    state = current_app.extensions.get(schema.STATE_KEY)
    if state is None or "current" not in state:
        return None  # the check is off
    if state["current"]:
        return {"ok": True}
    try:
        problems = schema.behind(current_app._get_current_object())  # type: ignore[attr-defined]
    except Exception as exc:
        log.warning("readiness: cannot read the schema version: %s", exc)
        return {"ok": False, "error": type(exc).__name__}
    if problems:
        return {"ok": False, "error": "SchemaBehind", "behind": problems}
    return {"ok": True}


def _redis_urls() -> dict[str, str]:
    """The Redis servers the app uses: ``JISHI_REDIS_URL`` (``redis``) and a
    rate-limit storage elsewhere (``ratelimit_redis``)."""
    urls = {}
    main = current_app.config.get("JISHI_REDIS_URL")
    if main:
        urls["redis"] = main
    limits = str(current_app.config.get("RATELIMIT_STORAGE_URI") or "").replace("redis+unix://", "unix://", 1)
    if limits != main and limits.startswith(("redis://", "rediss://", "unix://")):
        urls["ratelimit_redis"] = limits
    return urls


_clients: dict[tuple[str, float], Any] = {}


def _redis(url: str) -> None:
    import redis

    timeout = redis_timeout(current_app.config)
    client = _clients.get((url, timeout))
    if client is None:
        client = _clients[(url, timeout)] = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
    client.ping()
