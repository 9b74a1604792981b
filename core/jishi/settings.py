"""Platform settings stored in the database, with defaults from the panels.

``get("theme.active")`` falls back to the default declared by the setting's
panel (``settings_panels`` hook), then to the app config.

The stored values are read ONCE per process and shared by every request of
the app (a per-app cache), not once per request:

- a commit that changed settings (:func:`set_many` marks the session) drops
  the cache of this process right after it commits (a rollback drops the
  mark and nothing else: no uncommitted value is ever cached);
- other processes (gunicorn's other workers, the worker) see the change
  once their copy is older than ``JISHI_SETTINGS_TTL`` seconds (default 2;
  0: read every request, as before);
- within a request the values stay those the request first read (on
  ``flask.g``), and a request reads its own writes: after :func:`set_many`
  it reads the table itself until it commits.

Values are shared between requests: treat what :func:`get` answers as
read-only (copy a list or dict before changing it). :func:`derived` keeps a
value computed from settings once per version of the settings (a plugin's
defaults mapping, say) instead of once per request. :func:`kept` is a capped
store kept the same way (rendered HTML by its inputs, rows read from the
database); :func:`data_changed` makes a transaction's commit start every
such store over in this process (data other than settings that something
keeps depends on: the categories), and :func:`reads_current` says whether a
read made now may be kept with the request's version.

Outside a request (jobs, the CLI) every :func:`get` reads the table.

Public API for plugins: :func:`get`, :func:`set_many`, :func:`derived`,
:func:`kept` (and its :class:`Kept`), :func:`data_changed`,
:func:`reads_current`, and the ``Setting`` model (``key``, JSON ``value``) for a query that reads a
stored setting in the same statement as other rows; write settings with
:func:`set_many` only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from flask import current_app, g, has_app_context
from flask.globals import _cv_app, _cv_request
from sqlalchemy import event
from sqlalchemy.orm import Session

from jishi.db import db
from jishi.flaskctx import current_app_object
from jishi.models import Setting

__all__ = ["Kept", "Setting", "data_changed", "derived", "get", "kept", "reads_current", "set_many"]

#: the clock of the process cache's age (tests move it instead of sleeping)
_clock = time.monotonic
#: ``session.info`` key: the caches of the apps whose settings this transaction changed
_CHANGED = "jishi_settings_changed"
#: ``g`` key: whether this request's copy of the settings was taken while no
#: transaction of the session was open, or read in the open one
_CURRENT = "jishi_settings_current"


def _defaults() -> dict[str, Any]:
    ext = current_app_object().extensions["jishi"]
    if ext.setting_defaults is None:
        defaults = {}
        for panel in ext.settings_panels():
            for f in panel.fields:
                defaults[f.key] = f.default
        ext.setting_defaults = defaults
    return ext.setting_defaults


_READ = db.select(Setting.key, Setting.value)  # built once: no building or keying per request


class _Snapshot:
    """The stored settings as read once, and what was derived from them."""

    __slots__ = ("derived", "loaded_at", "values")

    def __init__(self, values: dict[str, Any], loaded_at: float):
        self.values = values
        self.loaded_at = loaded_at
        self.derived: dict[str, Any] = {}


class SettingsCache:
    """An app's process-wide copy of the ``settings`` table
    (``app.extensions["jishi_settings"]``)."""

    def __init__(self) -> None:
        self.snapshot: _Snapshot | None = None
        #: moved by every invalidation: a read that started before one is not kept
        self.generation = 0

    def invalidate(self) -> None:
        self.generation += 1
        self.snapshot = None


def cache(app=None) -> SettingsCache:
    """``app``'s (default: the current app's) settings cache."""
    extensions = (app or current_app).extensions
    found = extensions.get("jishi_settings")
    if found is None:
        found = extensions.setdefault("jishi_settings", SettingsCache())
    return found


def _ttl() -> float:
    value = current_app.config.get("JISHI_SETTINGS_TTL", 2)
    try:
        return max(float(value), 0.0)
    except (TypeError, ValueError):
        return 2.0


def _read() -> dict[str, Any]:
    return dict(db.session.execute(_READ).all())


def _shared() -> tuple[_Snapshot, bool]:
    """The process cache's snapshot, read again when older than the TTL,
    and whether it was read now (in the session's transaction)."""
    c = cache()
    ttl = _ttl()
    snap = c.snapshot
    now = _clock()
    if snap is not None and now - snap.loaded_at < ttl:
        return snap, False
    generation = c.generation
    snap = _Snapshot(_read(), now)
    if ttl > 0 and c.generation == generation:  # no commit changed settings meanwhile
        c.snapshot = snap
    return snap, True


def _snapshot() -> _Snapshot | None:
    """This request's snapshot (None outside a request)."""
    if _cv_request.get(None) is None:
        return None
    # g without the proxy (read for every setting, every template a page
    # loads, every kept fragment: 7+ calls a page)
    g_ = _cv_app.get().g
    snap = g_.__dict__.get("jishi_settings")
    if snap is None:
        session = db.session()
        if session.info.get(_CHANGED):
            # this transaction wrote settings: read them (own writes), keep them
            # for this request only until it commits
            snap = _Snapshot(_read(), _clock())
            current = True
        else:
            # a transaction opened before a copy taken from the process cache
            # may see less than that copy saw (SQLite reads a snapshot from
            # its first statement on): reads_current() says so
            opened = session.in_transaction()
            snap, read_now = _shared()
            current = read_now or not opened
        g_.jishi_settings = snap
        g_.__dict__[_CURRENT] = current
    return snap


def _stored() -> dict[str, Any]:
    snap = _snapshot()
    return snap.values if snap is not None else _read()


def get(key: str, default: Any = None) -> Any:
    stored = _stored()
    if key in stored:
        return stored[key]
    defaults = _defaults()
    if key in defaults and defaults[key] is not None:
        return defaults[key]
    return current_app.config.get("SETTING_" + key.replace(".", "_").upper(), default)


def derived(name: str, build: Callable[[], Any]) -> Any:
    """``build()``, computed once per version of the settings: kept with the
    settings the request reads (shared by the process's requests until the
    settings change) and called again after a change. ``build`` reads
    settings with :func:`get` only; ``name`` is unique to the caller (start
    it with the plugin's name). Outside a request, ``build()`` every call."""
    snap = _snapshot()
    if snap is None:
        return build()
    try:
        return snap.derived[name]
    except KeyError:
        value = snap.derived[name] = build()
        return value


class Kept(dict):
    """A store of values kept with the settings' version (:func:`kept`): a
    dict (read it as one: ``get``, ``in``) of at most ``limit`` entries
    written with :meth:`put`, which starts it over when it is full (cleared,
    not an LRU: the hit stays a plain ``dict.get``, and a store that fills
    up is keyed by something that varies too much to be worth keeping)."""

    __slots__ = ("limit",)

    def __init__(self, limit: int):
        super().__init__()
        self.limit = limit

    def put(self, key: Any, value: Any) -> Any:
        """Keep ``value`` under ``key`` (answers ``value``). Nothing is kept
        while the session's transaction has changed settings or kept data
        (:func:`set_many`, :func:`data_changed`) and not committed yet: what
        it reads holds its own uncommitted writes."""
        if not db.session.info.get(_CHANGED):
            if len(self) >= self.limit:
                self.clear()
            self[key] = value
        return value


def kept(name: str, limit: int = 1024) -> Kept:
    """The :class:`Kept` store ``name`` of this version of the settings
    (:func:`derived`): shared by the process's requests until the settings
    change (any saved setting, a :func:`data_changed` commit, the periodic
    re-read every ``JISHI_SETTINGS_TTL`` seconds), then a new empty one.
    Outside a request, a new empty store every call (nothing is kept).

    Keep in it what is exactly a function of its key and the settings
    (HTML keyed by every value it shows), or rows read from the database
    whose every write calls :func:`data_changed` in its transaction; a
    read is kept only when :func:`reads_current` said so before it.
    ``name`` is unique to the caller (start it with the plugin's name);
    treat what it holds as read-only."""
    return derived(name, lambda: Kept(limit))


def reads_current() -> bool:
    """Whether a database read made now may be kept with this request's
    version of the settings (:func:`kept`): it sees every commit that copy
    saw. True when no transaction of the session is open (the read opens
    one, later than the copy) or when the request took its copy while none
    was open or read it in the open one; False outside a request and while
    this transaction has changed settings or kept data (its own uncommitted
    writes). On PostgreSQL every statement sees the latest commits anyway;
    on SQLite a transaction reads the snapshot of its first statement."""
    if _cv_request.get(None) is None:
        return False
    session = db.session()
    if session.info.get(_CHANGED):
        return False
    if not session.in_transaction():
        return True
    _snapshot()
    return bool(_cv_app.get().g.__dict__.get(_CURRENT))


def data_changed(session: Session | None = None) -> None:
    """This transaction changed data that values kept with the settings
    (:func:`kept`, :func:`derived`) were read from: its commit starts every
    kept value over in this process at once, as a saved setting does
    (other processes within ``JISHI_SETTINGS_TTL``, when they read the
    settings again); until then this request keeps nothing new. A rollback
    changes nothing. Call it in the transaction that writes (a mapper
    event, or the service function); ``session``: the one writing (default
    the app's ``db.session``)."""
    _mark_changed(session)


def set_many(values: dict[str, Any]) -> None:
    """Upsert settings in the current transaction (caller commits)."""
    for key, value in values.items():
        row = db.session.get(Setting, key)
        if row is None:
            db.session.add(Setting(key=key, value=value))
        else:
            row.value = value
    _mark_changed()


def _mark_changed(session: Session | None = None) -> None:
    """This transaction changed settings: its commit drops the process's
    copy; until then this request reads the table (its own writes)."""
    c = cache()
    (session if session is not None else db.session).info.setdefault(_CHANGED, {})[id(c)] = c
    if has_app_context():
        g.pop("jishi_settings", None)
        g.pop(_CURRENT, None)


@event.listens_for(Session, "after_commit")
def _after_commit(session) -> None:
    changed = session.info.pop(_CHANGED, None)
    if changed:
        for c in changed.values():
            c.invalidate()
        if has_app_context():
            g.pop("jishi_settings", None)


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session, transaction) -> None:
    if not session.info.get(_CHANGED):
        return
    if has_app_context():
        g.pop("jishi_settings", None)  # it may hold values of a rolled-back transaction or savepoint
    if transaction.parent is None:  # rolled back (a commit popped the mark)
        session.info.pop(_CHANGED, None)
