"""Refuse to serve while the database schema is behind the code (issue 15).

An instance whose code is newer than its database (deployed before
``jishi db upgrade`` ran, or with a plugin enabled whose tables were never
created) would fail request after request with database errors. Instead,
while any Alembic head of the kernel's or an enabled plugin's history is
missing from the database, every request answers 503 with what to do, and
``jishi`` commands other than ``db`` (and the ones that need no database)
refuse with the same message. A database *ahead* of the code (a newer
release migrated it first, during a rolling upgrade) is served.

The check reads the version tables until it first finds the schema current
(at most every :data:`RECHECK_SECONDS` while it is behind), then never again
in this process. ``JISHI_SCHEMA_CHECK = False`` turns it off (the test
fixtures, whose tables come from ``create_all``).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

if TYPE_CHECKING:
    from jishi.migrations import History

log = logging.getLogger("jishi.schema")

RECHECK_SECONDS = 2.0
#: Served while the schema is behind: liveness (/healthz, /api/v1/ping), readiness (which reports
#: the schema itself, jishi.health) and the metrics.
EXEMPT_ENDPOINTS = frozenset({"health.healthz", "health.readyz", "metrics.metrics", "misc.ping"})
STATE_KEY = "jishi_schema"

__all__ = ["SchemaBehind", "behind", "ensure_current", "init_app", "message"]


class SchemaBehind(RuntimeError):
    """The database lacks migrations the code needs."""


def _code_heads(app) -> list[tuple[History, ScriptDirectory, set[str]]]:
    """(history, script, heads) of every history that has migrations; cached per app."""
    state = app.extensions.setdefault(STATE_KEY, {})
    heads = state.get("heads")
    if heads is None:
        from jishi import migrations

        heads = []
        with app.app_context():
            for history in migrations.histories(app):
                if history.exists:
                    script = history.script()
                    heads.append((history, script, set(script.get_heads())))
        state["heads"] = heads
    return heads


def _applied(script: ScriptDirectory, head: str, db_heads: tuple[str, ...]) -> bool:
    if head in db_heads:
        return True
    for current in db_heads:
        try:
            revisions = {r.revision for r in script.iterate_revisions(current, "base") if r is not None}
        except Exception:
            return True  # a revision this code does not know: the database is ahead
        if head in revisions:
            return True
    return False


def behind(app, connection=None) -> list[str]:
    """One line per history whose database lacks a head of the code; empty
    when the schema is current (or ahead)."""
    from jishi.db import db

    problems = []
    heads = _code_heads(app)
    with app.app_context():
        conn = connection if connection is not None else db.engine.connect()
        try:
            for history, script, code_heads in heads:
                ctx = MigrationContext.configure(conn, opts={"version_table": history.version_table})
                db_heads = tuple(ctx.get_current_heads())
                missing = sorted(h for h in code_heads if not _applied(script, h, db_heads))
                if missing:
                    at = ", ".join(db_heads) or "no schema"
                    problems.append(f"{history.name}: the database is at {at}, the code needs {', '.join(missing)}")
        finally:
            if connection is None:
                conn.close()
    return problems


def message(problems: list[str]) -> str:
    return (
        "The database schema is behind this version of Jishi ("
        + "; ".join(problems)
        + "). Run `jishi db upgrade`, then retry."
    )


def ensure_current(app) -> None:
    """Raise :class:`SchemaBehind` (with :func:`message`) when the schema is behind."""
    problems = behind(app)
    if problems:
        raise SchemaBehind(message(problems))


def init_app(app) -> None:
    """Answer 503 to every request while the schema is behind (unless
    ``JISHI_SCHEMA_CHECK`` is off)."""
    if not app.config.get("JISHI_SCHEMA_CHECK", True):
        return
    state = app.extensions.setdefault(STATE_KEY, {})
    state.update(current=False, checked=0.0, problems=[])
    lock = threading.Lock()

    def schema_is_current():
        if state["current"]:
            return None
        from flask import request

        if request.endpoint in EXEMPT_ENDPOINTS:
            return None
        with lock:
            if not state["current"] and time.monotonic() - state["checked"] >= RECHECK_SECONDS:
                try:
                    state["problems"] = behind(app)
                except Exception as exc:  # the database is unreachable: not servable either
                    log.warning("cannot read the schema version: %s", exc)
                    state["problems"] = [f"cannot read the schema version ({type(exc).__name__})"]
                state["checked"] = time.monotonic()
                if not state["problems"]:
                    state["current"] = True
                    log.info("the database schema is current: serving")
                    return None
                if state["problems"] != state.get("logged"):  # once per state, not per request
                    log.error(message(state["problems"]))
                    state["logged"] = state["problems"]
            problems = state["problems"]
        return _unavailable(problems) if problems else None

    # before every other check (a page's own guards may read the database)
    app.before_request_funcs.setdefault(None, []).insert(0, schema_is_current)


def _unavailable(problems: list[str]):
    from flask import jsonify, request
    from markupsafe import escape

    text = message(problems)
    if request.path == "/api" or request.path.startswith("/api/"):
        response = jsonify(code="schema_behind", message=text)
    else:
        response = app_html(str(escape(text)))
    response.status_code = 503
    response.headers["Retry-After"] = str(int(RECHECK_SECONDS) + 1)
    return response


def app_html(text: str):
    """A page that needs no template, session or database."""
    from flask import make_response

    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Service unavailable</title></head>'
        f"<body><h1>Service unavailable</h1><p>{text}</p></body></html>"
    )
    response = make_response(body)
    response.mimetype = "text/html"
    return response
