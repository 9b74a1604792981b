"""Database: the Flask-SQLAlchemy ``db`` object and the declarative ``Base``.

Every model, the kernel's and every plugin's, derives from ``db.Model`` (whose
base is :class:`Base`), so one metadata with one naming convention holds all
tables; Alembic then gives each distribution its own history by table prefix.
"""

from __future__ import annotations

import fcntl
import functools
import json
import logging
import math
import os
import re
import select
import sqlite3
import threading
import weakref
from datetime import UTC, datetime
from time import monotonic, sleep
from typing import Any

from flask.globals import _cv_app, _cv_request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


_combine = datetime.combine


def utcnow() -> datetime:
    """Naive UTC now: every timestamp column stores naive UTC.

    (``datetime.combine`` of the aware now's date and its naive
    ``time()``: the same value as ``.replace(tzinfo=None)``, which parses
    its keyword arguments and costs about three times as much; a product
    detail asks for now five times.)"""
    now = datetime.now(UTC)
    return _combine(now.date(), now.time())


def commit() -> None:
    """Commit the session, then send the signals queued during the
    transaction, then run what :func:`after_commit` deferred."""
    from jishi import signals

    db.session.commit()
    signals.send_queued()
    for fn in db.session.info.pop("jishi_after_commit", []):
        fn()


def rollback() -> None:
    db.session.rollback()
    db.session.info.pop("jishi_signals", None)
    db.session.info.pop("jishi_after_commit", None)


def after_commit(fn) -> None:
    """Run ``fn()`` once the current transaction commits (by :func:`commit`;
    a rollback drops it): work that must not happen unless the data it acts
    on is durable, e.g. calling a payment gateway for a refund row that has
    to exist first. ``fn`` runs outside that transaction and commits its own."""
    db.session.info.setdefault("jishi_after_commit", []).append(fn)


def conflict_insert(target):
    """``INSERT`` into ``target`` (a model or a table) that takes
    ``on_conflict_do_nothing`` / ``on_conflict_do_update`` (and
    ``.excluded``), for the session's database: PostgreSQL's or SQLite's
    construct (both speak ``ON CONFLICT``). The one place that picks it, for
    the kernel and for plugins' atomic upserts."""
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    return insert(target)


def is_sqlite() -> bool:
    return db.engine.dialect.name == "sqlite"


#: SQLite's busy timeout (ms): how long a statement waits for a lock
#: another connection holds before "database is locked"
SQLITE_BUSY_TIMEOUT_MS = 15000


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):  # pragma: no cover - trivial
    """WAL, a busy timeout and foreign keys for every SQLite connection."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # Let SQLAlchemy emit BEGIN itself (see _on_begin) instead of pysqlite's
    # lazy, deferred transactions that turn a read into a failing upgrade.
    dbapi_connection.isolation_level = None
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _reads_first(ctx) -> bool:
    """Whether the request of the request context ``ctx`` reads before it
    writes: a safe method, or declared by :func:`reads_only` (``reads_first``).
    SQLite begins its transactions deferred, PostgreSQL reads them in
    autocommit (:func:`_begin_reading`)."""
    return ctx.request.method in SAFE_METHODS or bool(_cv_app.get().g.get("jishi_reads_only"))


def _sqlite_begin_statement() -> str:
    """Deferred for safe (read-only) HTTP requests, IMMEDIATE for the rest.

    A read that starts as a write transaction would take SQLite's single
    write lock for the whole request, serialising every worker behind it.
    A GET handler that must write does so in a transaction whose first
    statement is the write (commit the read first: see ``fresh_write``).
    """
    ctx = _cv_request.get(None)  # (the request and g without their proxies: every transaction asks)
    if ctx is not None and _reads_first(ctx):
        return "BEGIN"
    return "BEGIN IMMEDIATE"


def reads_only() -> None:
    """Declare, before its first statement, that this (POST...) request only
    reads until :func:`fresh_write`: on SQLite its transactions then start
    deferred instead of holding the single write lock (a flash-sale request
    whose order is queued elsewhere); on PostgreSQL with
    :func:`read_autocommit` its reads run in autocommit, as a GET's do,
    until its first statement that is not a plain read begins its
    transaction."""
    from flask import g, has_request_context

    if has_request_context():
        g.jishi_reads_only = True


def reads_first(view):
    """A view decorator: :func:`reads_only` before anything of the request
    runs in it (the signed-in user's read by ``login_required``, below it,
    included). On SQLite the request's transaction begins deferred instead
    of holding the one write lock from its first statement; a view that
    then writes does so after :func:`write_from_here` (a placement:
    ``place_order`` calls it). Served on SQLite the checkout preview's p99
    was 414 ms behind the writers before (issue 20). On PostgreSQL (with
    :func:`read_autocommit`) its reads run without ``BEGIN`` as a GET's
    do, and its first write begins the transaction: a checkout preview
    sends no ``BEGIN`` and no ``ROLLBACK`` (two round trips of its five); a
    placement's quote reads before its transaction, whose first statement
    is its first write."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        reads_only()
        return view(*args, **kwargs)

    return wrapper


def fresh_write() -> None:
    """End the current (read) transaction so the next statement starts a new
    one (a write transaction, also after :func:`reads_only`); call before
    writing from a GET handler."""
    from flask import g, has_request_context

    if has_request_context():
        g.pop("jishi_reads_only", None)
        g.jishi_writing = True  # (PostgreSQL: no more autocommit reads, read_autocommit)
    db.session.commit()


@event.listens_for(Engine, "begin")
def _on_begin(conn):  # pragma: no cover - trivial
    """Every engine's transaction start, one listener for both databases.

    SQLite: start transactions ourselves (pysqlite's lazy BEGIN is off).
    Writes start as write transactions (BEGIN IMMEDIATE): a transaction that
    reads and then writes would otherwise fail with "database is locked"
    when another writer committed in between.

    PostgreSQL (psycopg) with :func:`read_autocommit` on the engine: a safe
    request's transaction reads in autocommit (:func:`_begin_reading`).
    """
    if conn.dialect.__dict__.get("jishi_read_autocommit"):  # PostgreSQL (psycopg), jishi.db.read_autocommit
        _begin_reading(conn.connection.driver_connection)
    elif conn.dialect.name == "sqlite":
        # Straight on the DB-API connection: through exec_driver_sql this
        # BEGIN cost as much as the product list's own SELECT.
        fairy = conn.connection
        driver = fairy.driver_connection
        statement = _sqlite_begin_statement()
        if statement == "BEGIN":  # what it had changed when it began (write_from_here)
            fairy.info[_DEFERRED] = driver.total_changes
        else:
            fairy.info.pop(_DEFERRED, None)
        _sqlite_execute_begin(driver, statement)


def _sqlite_execute_begin(driver, statement: str) -> None:
    """``statement`` (``BEGIN`` or ``BEGIN IMMEDIATE``) on the DB-API
    connection ``driver``; a write transaction takes the write lock first
    (:func:`sqlite_write_lock`)."""
    if driver.__class__ is WriteLockConnection and statement == "BEGIN IMMEDIATE":
        driver.begin_immediate()
    else:
        driver.execute(statement)


_DEFERRED = "jishi_sqlite_deferred"  # the connection's info: its transaction began deferred


def write_from_here() -> bool:
    """On SQLite, make the request's read transaction (begun deferred after
    :func:`reads_only`) a write transaction from here on, as PostgreSQL's
    would be: the rest of the request's transaction holds the one write
    lock, what came before did not. No effect on PostgreSQL, outside a
    transaction (its first statement begins a write transaction), or when
    the transaction began as a write transaction. True when it did.

    SQLite cannot upgrade a read snapshot that another writer has made
    stale (``SQLITE_BUSY_SNAPSHOT`` at the first write, without waiting),
    so the read transaction ends (it wrote nothing: if it did, it already
    holds SQLite's lock and goes on as it is) and a write transaction
    begins on the same connection, the write lock first
    (:func:`sqlite_write_lock`). The session does not see it: its
    transaction and the objects it loaded go on as read. What follows may
    therefore find rows changed since they were read, as PostgreSQL's READ
    COMMITTED lets a transaction find them: it must write by atomic
    conditional updates (stock, coupons, points, as a placement does), not
    by what it read. Inside a savepoint nothing changes either. The
    placement's quote, read this way, no longer holds every other writer
    back (issue 20)."""
    from flask import g, has_request_context

    if has_request_context():
        g.pop("jishi_reads_only", None)  # this request's later transactions begin as writes
    session = db.session()
    if not session.in_transaction() or session.in_nested_transaction():
        return False  # (a savepoint: ending the read would end it too)
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        return False
    fairy = conn.connection
    began = fairy.info.pop(_DEFERRED, None)
    driver = fairy.driver_connection
    if began is None or driver is None or not driver.in_transaction or driver.total_changes != began:
        return False  # a write transaction already (or the read wrote: SQLite's lock is its own)
    driver.commit()  # the read ends; it wrote nothing
    _sqlite_execute_begin(driver, "BEGIN IMMEDIATE")
    return True


def _flock_until(fd: int, deadline: float) -> bool:
    """Take the exclusive ``flock`` on ``fd`` before ``deadline``
    (``monotonic()``); False if another process still holds it then.

    A blocking ``flock`` cannot be given a time limit, and a writer must
    not wait for ever behind a transaction that does not end (a job's long
    write, a hung request): the busy timeout is the bound, as it is for
    SQLite's own lock. So a writer that finds the lock taken asks again
    after 20 µs, then at doubling intervals of at most 0.5 ms: a free lock
    is taken within half a millisecond (SQLite's busy handler sleeps 1, 2,
    5, 10... 100 ms between its tries)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        pass
    pause = 0.00002
    while True:
        sleep(pause)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if monotonic() >= deadline:
                return False
        pause = min(pause * 2, 0.0005)


class _WriteLock:
    """One process's side of the write lock of one SQLite database: an
    exclusive ``flock`` on ``<database>.write-lock`` (other processes), taken
    under a mutex (this process's other threads; a ``flock`` belongs to an
    open file, and this process has one open for the lock). The kernel
    releases the ``flock`` when the process ends, however it ends."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.mutex = threading.Lock()
        self.file: Any = None  # opened at first use, in the process that uses it
        self.owner: int | None = None  # the thread holding it
        self.broken = False  # the lock file cannot be opened (a read-only directory): no lock
        self.pid = os.getpid()

    def acquire(self) -> bool:
        """Wait for the lock; False when not taken: this thread holds it
        already (through another connection: that connection's SQLite lock
        then decides, as without this lock), the process's other threads
        held it past the busy timeout (they are not waiting for a database
        lock: SQLite's busy timeout decides), another process held it past
        the busy timeout (:func:`_flock_until`; SQLite's lock decides), or
        no lock file."""
        me = threading.get_ident()
        if self.owner == me or self.broken:
            return False
        if self.pid != os.getpid():  # a connection made before a fork: the parent's open file is not ours
            self._forked()
        deadline = monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
        if not self.mutex.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
            return False
        try:
            if self.file is None:
                self.file = open(self.path, "ab", buffering=0)  # kept open: the flock is on it
            if not _flock_until(self.file.fileno(), deadline):
                self.mutex.release()  # held past the busy timeout: SQLite's own lock decides
                return False
        except OSError as exc:
            self.broken = True
            self.mutex.release()
            logging.getLogger("jishi.db").warning("SQLite write lock %s unusable: %s", self.path, exc)
            return False
        except BaseException:
            self.mutex.release()
            raise
        self.owner = me
        return True

    def _forked(self) -> None:
        """In a forked child: a mutex and an open file of its own (closing
        the parent's copy here leaves the parent's lock as it is)."""
        if self.file is not None:
            self.file.close()
        self.__init__(self.path)  # type: ignore[misc]

    def release(self) -> None:
        self.owner = None
        if self.pid != os.getpid():  # taken before a fork, in the parent: the parent's to give back
            return
        try:
            fcntl.flock(self.file.fileno(), fcntl.LOCK_UN)
        finally:
            self.mutex.release()

    def __del__(self) -> None:
        if self.file is not None:  # (no connection to the database left in the process)
            self.file.close()


#: the database's lock while one of its connections lives in the process
#: (each holds it): a test suite's thousand databases keep no file open
_WRITE_LOCKS: weakref.WeakValueDictionary[str, _WriteLock] = weakref.WeakValueDictionary()
_WRITE_LOCKS_MUTEX = threading.Lock()


def _forget_write_locks() -> None:
    """In a forked child: no lock held, none of the parent's open files
    used (unlocking a file shared with the parent would free the parent's
    lock)."""
    _WRITE_LOCKS.clear()


os.register_at_fork(after_in_child=_forget_write_locks)


def _write_lock(path: str) -> _WriteLock:
    with _WRITE_LOCKS_MUTEX:
        lock = _WRITE_LOCKS.get(path)
        if lock is None:
            lock = _WRITE_LOCKS[path] = _WriteLock(path)
        return lock


class WriteLockConnection(sqlite3.Connection):
    """A ``sqlite3`` connection whose write transactions (``BEGIN
    IMMEDIATE``, :func:`_on_begin`) first take the database's write lock
    (:class:`_WriteLock`) and give it back as soon as they end: commit,
    rollback, close (also a connection dropped without close). See
    :func:`sqlite_write_lock`."""

    _jishi_lock: _WriteLock | None = None
    _jishi_holding: _WriteLock | None = None

    def __init__(self, database, *args, **kwargs) -> None:
        super().__init__(database, *args, **kwargs)
        path = os.fspath(database)
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if path and path != ":memory:" and not path.startswith("file:") and not kwargs.get("uri"):
            self._jishi_lock = _write_lock(os.path.abspath(path) + ".write-lock")

    def begin_immediate(self) -> None:
        lock = self._jishi_lock
        if lock is not None and self._jishi_holding is None and lock.acquire():
            self._jishi_holding = lock
        try:
            self.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._jishi_release()
            raise

    def _jishi_release(self) -> None:
        lock = self._jishi_holding
        if lock is not None:
            self._jishi_holding = None
            lock.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._jishi_release()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._jishi_release()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._jishi_release()

    def __del__(self) -> None:
        self._jishi_release()


def _connect_write_locked(dialect, conn_rec, cargs, cparams):
    """``do_connect``: the connection pysqlite would make, as a
    :class:`WriteLockConnection`."""
    return sqlite3.connect(*cargs, **{"factory": WriteLockConnection, **cparams})


def sqlite_write_lock(engine: Engine) -> bool:
    """Queue ``engine``'s SQLite write transactions on a file lock
    (``JISHI_DB_SQLITE_WRITE_LOCK``): each ``BEGIN IMMEDIATE`` first takes an
    exclusive ``flock`` on ``<database>.write-lock`` (and, within the
    process, a mutex) and gives it back when its transaction ends.

    SQLite's own lock has no queue: a writer that finds it taken sleeps in
    SQLite's busy handler (1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100 ms,
    then 100 ms steps) and tries again, however soon the holder is done; a
    0.2 ms wait cost whole milliseconds, and a writer unlucky twice waited
    100 ms behind writers that came later (served place on SQLite: p99
    132–395 ms, a fifth of the workers' time asleep; issue 20). A writer
    waiting for this lock takes it within 0.5 ms of its release
    (:func:`_flock_until`), for at most the busy timeout. SQLite's lock
    and busy timeout stay the rule for correctness: writers that do not take
    this lock (another program, a GET that writes after ``fresh_write``)
    still meet SQLite's lock, and the busy timeout waits for them. True when
    it applies (a file database, before the engine's first connection)."""
    if engine.dialect.name != "sqlite" or engine.dialect.driver != "pysqlite":
        return False
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:") or engine.url.query.get("uri"):
        return False
    event.listen(engine, "do_connect", _connect_write_locked)
    return True


def apply_engine_config(config) -> None:
    """Fill ``SQLALCHEMY_ENGINE_OPTIONS`` from the ``JISHI_DB_*`` settings
    (docs/configuration.md#database-engine); what the options already say wins.

    - ``JISHI_DB_PRE_PING`` (default on): test each pooled connection as it
      is checked out, so connections the database dropped (a failover, a
      restart, an idle timeout) are replaced instead of failing a request.
      Not for SQLite (a local file never drops a connection).
    - ``JISHI_DB_POOL_SIZE``, ``JISHI_DB_MAX_OVERFLOW``, ``JISHI_DB_POOL_RECYCLE``
      (seconds), ``JISHI_DB_POOL_TIMEOUT`` (seconds): the pool's.
    - ``JISHI_DB_STATEMENT_TIMEOUT_MS``: PostgreSQL cancels any statement
      running longer (``-c statement_timeout``); 0 or unset: no limit.

    psycopg and SQLite engines decode JSON columns with
    :func:`exact_json_loads` (``json_deserializer``: orjson, the standard
    library's values).
    """
    uri = str(config.get("SQLALCHEMY_DATABASE_URI") or "")
    opts = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    sqlite = uri.startswith("sqlite")
    if config.get("JISHI_DB_PRE_PING", True) and not sqlite:
        opts.setdefault("pool_pre_ping", True)
    for key, option in (
        ("JISHI_DB_POOL_SIZE", "pool_size"),
        ("JISHI_DB_MAX_OVERFLOW", "max_overflow"),
        ("JISHI_DB_POOL_RECYCLE", "pool_recycle"),
        ("JISHI_DB_POOL_TIMEOUT", "pool_timeout"),
    ):
        value = config.get(key)
        if value is not None and value != "" and not (sqlite and ":memory:" in uri):
            opts.setdefault(option, int(value))
    if uri.split("://", 1)[0] == "postgresql+psycopg" or sqlite:
        # JSON columns decoded by orjson, exactly as json.loads decodes them
        # (on SQLite too: its JSON columns come as text; issue 20, prev5)
        loads = psycopg_json_loads()
        if loads is not None:
            opts.setdefault("json_deserializer", loads)
    timeout = int(config.get("JISHI_DB_STATEMENT_TIMEOUT_MS") or 0)
    if timeout > 0 and uri.startswith("postgresql"):
        connect_args = dict(opts.get("connect_args") or {})
        options = connect_args.get("options", "")
        if "statement_timeout" not in options:
            connect_args["options"] = f"{options} -c statement_timeout={timeout}".strip()
        opts["connect_args"] = connect_args
    config["SQLALCHEMY_ENGINE_OPTIONS"] = opts


#: every byte to a space but the ASCII digits, which become "0": a run of 19
#: digits (an integer orjson may not give back as the standard library does:
#: beyond 64 bits it answers a float) is then a run of 19 zeros, found by a
#: substring search. A tenth of the regular expression ``[0-9]{19}``'s time
#: (2 KB of a checkout's merchant rows: 1.8 against 36 us; the regular
#: expression cost a placement more than orjson's decoding itself)
_DIGITS_AS_ZEROS = bytes(48 if 48 <= b <= 57 else 32 for b in range(256))
_NINETEEN_ZEROS = b"0" * 19


def _has_long_digits(data) -> bool:
    """Whether ``data`` (JSON text: ``str``, ``bytes``, a buffer) holds a run
    of 19 ASCII digits, as ``re.search("[0-9]{19}", data)`` would say (a
    text's other characters encode to bytes of 0x80 and above in UTF-8,
    never to a digit; a lone surrogate is encoded as it stands)."""
    if len(data) < 19:
        return False
    if data.__class__ is str:
        data = data.encode("utf-8", "surrogatepass")
    elif data.__class__ is not bytes:
        data = bytes(data)
    return _NINETEEN_ZEROS in data.translate(_DIGITS_AS_ZEROS)


try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - orjson is a dependency
    _orjson = None  # type: ignore[assignment]


def exact_json_loads(data):
    """``json.loads(data)``'s value, by orjson when it gives the same (a
    text of JSON, ``str`` or ``bytes``): the standard library's
    ``json.loads`` for a text orjson refuses (a lone surrogate escape, an
    infinite number) or may read otherwise (19 digits in a row: integers
    beyond 64 bits become floats in orjson). The engine's JSON columns on
    psycopg (:func:`psycopg_json_loads`) and the page loaders' JSON rows
    (:mod:`jishi.loaders`) are decoded by it."""
    if _orjson is not None:
        if not _has_long_digits(data):
            try:
                return _orjson.loads(data)
            except _orjson.JSONDecodeError:
                pass
    return json.loads(data)


def psycopg_json_loads():
    """The ``json_deserializer`` of a psycopg engine (SQLAlchemy hands it to
    psycopg's ``set_json_loads`` for every connection): orjson, several times
    the standard library's speed on JSON columns, giving the same values;
    the standard library's ``json.loads`` for a text orjson refuses (a lone
    surrogate escape, an infinite number) or may read otherwise (19 digits
    in a row: integers beyond 64 bits become floats in orjson). A module
    function, not a closure (psycopg warns of a leak for a closure). None
    without orjson (psycopg then keeps ``json.loads``)."""
    return None if _orjson is None else exact_json_loads


def close_session_safely(exc: BaseException | None = None) -> None:
    """End the request's session when its connection may be dead (the
    database dropped it: a failover, a restart): the closing rollback on a
    dead connection raises, which in a teardown turns an answer already
    made into a 500. The connection is invalidated instead (the pool makes
    a new one); Flask-SQLAlchemy's own teardown then finds nothing to do."""
    if not db.session.registry.has():  # the request never used the session: nothing to end
        return
    try:
        db.session.remove()
    except (OperationalError, InterfaceError) as exc:
        logging.getLogger("jishi.db").warning("closing a dead connection: %s", str(exc).splitlines()[0][:200])
        try:
            db.session().invalidate()  # the request's Session itself
        except Exception as again:  # nothing more can be done for a dead connection
            logging.getLogger("jishi.db").warning("invalidating it failed too: %s", again)
        db.session.registry.clear()


def held_rows(conn, stmt, params: dict, forms: dict | None, direct: bool = False) -> list:
    """The rows of ``stmt`` (a SELECT, or an INSERT/UPDATE ... RETURNING)
    with ``params``, run on ``conn`` (``db.session.connection()``: in the
    session's transaction) from its SQL compiled once per dialect and kept
    in ``forms`` (a dict of your own, kept with the statement: build the
    statement once, at module level or in a per-dialect cache, with
    ``bindparam`` for every value), rows indexable by position with values
    as SQLAlchemy's result processing gives them. For a hot path's read or
    one-row write that would otherwise pay SQLAlchemy's compile-cache
    lookup and result construction on every call; a statement that cannot
    be held (literal-execute parameters, a schema translate map) runs
    through SQLAlchemy's execute, as correct and slower. ``forms=None``:
    a statement built for this call only (plain execute). ``direct``:
    accepted, no longer needed (every held statement runs on the DB-API
    cursor itself when nothing listens to the statements' events: no echo,
    no statement counter; through SQLAlchemy's cursor execute otherwise)."""
    global _loaders_held_rows
    if _loaders_held_rows is None:  # (jishi.loaders imports this module: imported at the first call, then kept)
        from jishi.loaders import held_rows as _loaders_held_rows
    return _loaders_held_rows(conn, stmt, params, forms, direct)


#: :func:`jishi.loaders.held_rows` once :func:`held_rows` has imported it (an
#: import statement run on every call cost a placement six imports, each
#: about as much as a short Python function)
_loaders_held_rows: Any = None


_KEEP_PLANS_CLASS: Any = None


def _kept_plans_connection_class() -> Any:
    """psycopg's ``Connection`` whose plain ``rollback()`` keeps the
    connection's prepared statements (made once, on first use)."""
    global _KEEP_PLANS_CLASS
    if _KEEP_PLANS_CLASS is not None:
        return _KEEP_PLANS_CLASS
    import psycopg
    from psycopg import errors, pq

    intrans = pq.TransactionStatus.INTRANS
    command_ok = pq.ExecStatus.COMMAND_OK
    conn_ok = pq.ConnStatus.OK

    class KeptPlansConnection(psycopg.Connection):
        """psycopg's connection, except that ending a transaction that is
        in progress and not failed by ``rollback()`` sends ``ROLLBACK`` and
        nothing more.

        psycopg's own ``rollback()`` also forgets every statement it has
        prepared on the connection and sends ``DEALLOCATE ALL``: a safe
        default for a transaction that may have created and dropped the
        objects those statements name. A web request's transaction creates
        none, and every read-only request ends with a rollback (the
        session's close), so with psycopg's ``rollback()`` no statement of
        a read request was ever prepared (psycopg prepares one on its 5th
        execute): the server parsed and planned the product detail's
        loaders statement anew on every request (1.8 ms of the server's
        time against 0.25 ms prepared; issue 20). Prepared statements
        outlive a rollback on the server; PostgreSQL re-plans them itself
        when a table they name changes. A failed transaction, psycopg's
        transaction blocks, two-phase commits and pipelines take psycopg's
        own ``rollback()``, as does any psycopg whose internals differ; a
        ``DROP``, ``ALTER`` or ``DISCARD`` statement still clears the cache
        (psycopg's rule, unchanged)."""

        def rollback(self) -> None:
            pgconn = self.pgconn
            if (
                pgconn.status != conn_ok
                or pgconn.transaction_status != intrans
                or getattr(self, "_num_transactions", None) != 0
                or getattr(self, "_tpc", True) is not None
                or getattr(self, "_pipeline", True) is not None
            ):
                return super().rollback()
            with self.lock:
                result = pgconn.exec_(b"ROLLBACK")
            if result.status != command_ok:
                encoding = self.info.encoding
                if pgconn.status != conn_ok:  # the server dropped it: an OperationalError, as psycopg's own says
                    raise errors.OperationalError(result.get_error_message(encoding) or "the connection is lost")
                raise errors.error_from_result(result, encoding=encoding)

    _KEEP_PLANS_CLASS = KeptPlansConnection
    return KeptPlansConnection


def _connect_keeping_plans(dialect, conn_rec, cargs, cparams):
    """``do_connect``: the connection the dialect would make, as a
    :func:`_kept_plans_connection_class` connection."""
    return _kept_plans_connection_class().connect(*cargs, **cparams)


#: ``JISHI_DB_PING_IDLE_SECONDS``' default: a pooled connection idle this
#: long is pinged with a round trip at checkout, not only looked at
PING_IDLE_SECONDS = 30.0


def _stamp_checkin(dbapi_connection, connection_record) -> None:
    """The pool's ``checkin`` event: when the connection went back to the
    pool (how long it has been idle, at its next checkout)."""
    if dbapi_connection is not None:  # None: it was invalidated
        dbapi_connection._jishi_idle_since = monotonic()


def _nothing_to_read(fd: int) -> bool:
    """Whether the socket ``fd`` has nothing to read now (no wait). An idle
    connection the server still serves has nothing to read: a killed
    backend's "terminating connection" message or its EOF makes the socket
    readable (go-sql-driver/mysql's ``connCheck`` reads the same way)."""
    return not select.select((fd,), (), (), 0)[0]


def _liveness_ping(round_trip, idle_seconds: float):
    """The ``do_ping`` of a psycopg dialect that asks the server only about
    connections idle ``idle_seconds`` or longer (``round_trip``, the
    dialect's own ping, a ``;``); see :func:`check_liveness_at_checkout`."""
    from psycopg import pq

    conn_ok = pq.ConnStatus.OK
    tx_idle = pq.TransactionStatus.IDLE

    def do_ping(dbapi_connection) -> bool:
        since = getattr(dbapi_connection, "_jishi_idle_since", None)
        pgconn = dbapi_connection.pgconn
        if since is None or monotonic() - since >= idle_seconds or pgconn.transaction_status != tx_idle:
            dbapi_connection._jishi_unverified = False
            return round_trip(dbapi_connection)  # (a transaction left open is not how the pool leaves one)
        if pgconn.status != conn_ok:  # libpq already knows it is broken
            return False
        if not _nothing_to_read(pgconn.socket):
            return False
        dbapi_connection._jishi_unverified = True  # (see _mark_unverified_drop)
        return True

    return do_ping


def check_liveness_at_checkout(engine: Engine, idle_seconds: float = PING_IDLE_SECONDS) -> bool:
    """Make the pre-ping of ``engine`` (``pool_pre_ping``, on by
    ``JISHI_DB_PRE_PING``) cost no round trip for a connection that was in
    use less than ``idle_seconds`` ago (``JISHI_DB_PING_IDLE_SECONDS``):
    the pool instead looks at the connection's socket, which has nothing to
    read while the server still holds the connection; the server's goodbye
    on a connection it dropped (a failover, a restart,
    ``pg_terminate_backend``: its FATAL message, then EOF) or a connection
    libpq knows is broken fails the ping, and SQLAlchemy replaces it and
    every other connection of the pool as after a failed round trip. A
    connection idle longer still gets the round trip: one a firewall or NAT
    dropped silently has nothing to read either. True when it applies (a
    ``postgresql+psycopg`` engine, ``idle_seconds`` > 0), before its first
    connection.

    The dialect's ``do_ping`` (SQLAlchemy's pre-ping calls it for every
    connection but a fresh one) on this engine's dialect only; the
    ``checkin`` event notes when each connection went back to the pool.

    A connection killed an instant before it is taken may look alive still
    (``pg_terminate_backend`` returns before the backend has written its
    goodbye): a statement on it then fails with a disconnect, which
    :func:`_mark_unverified_drop` marks, and a read (a GET that committed
    nothing) is served again on a new connection
    (:func:`retry_read_after_unverified_drop`); anything else answers 503
    as a connection dropped mid-request does."""
    if engine.dialect.name != "postgresql" or engine.dialect.driver != "psycopg" or idle_seconds <= 0:
        return False
    engine.dialect.do_ping = _liveness_ping(engine.dialect.do_ping, float(idle_seconds))  # type: ignore[method-assign]
    event.listen(engine.pool, "checkin", _stamp_checkin)
    event.listen(engine, "handle_error", _mark_unverified_drop)
    return True


def _mark_unverified_drop(context) -> None:
    """``handle_error``: a disconnect on a connection whose checkout looked
    at its socket instead of asking the server marks the exception
    ``jishi_unverified`` (the server may have dropped it an instant before
    the checkout: what the round trip would have caught);
    :func:`retry_read_after_unverified_drop` may then serve the request
    again."""
    if not context.is_disconnect or context.is_pre_ping or context.sqlalchemy_exception is None:
        return
    try:
        dbapi_connection = context.connection.connection.dbapi_connection
    except Exception:  # no connection to look at (closed, or none): not marked
        return
    if getattr(dbapi_connection, "_jishi_unverified", False):
        context.sqlalchemy_exception.jishi_unverified = True


def _note_commit(session) -> None:
    """``after_commit`` of every session: this session has committed
    (a request that wrote is never served twice)."""
    session.info["jishi_committed"] = True


event.listen(Session, "after_commit", _note_commit)


def retry_read_after_unverified_drop(exc: BaseException) -> bool:
    """Whether the request that failed with ``exc`` may be served again
    from its view: a safe method (GET, HEAD, OPTIONS, not a POST however
    it reads), the database dropped a connection whose checkout did not
    ask the server (:func:`check_liveness_at_checkout`), the request's
    session committed nothing, and it has not been served again already.
    Then its session is ended (the pool replaces the dead connection) and
    True answered; the caller dispatches the request again."""
    from flask import g, has_request_context, request

    if not getattr(exc, "jishi_unverified", False) or not has_request_context():
        return False
    if request.method not in SAFE_METHODS or g.get("jishi_db_retried"):
        return False
    if db.session.registry.has() and db.session().info.get("jishi_committed"):
        return False
    g.jishi_db_retried = True
    close_session_safely()
    return True


def plan_with_page_cost(engine: Engine, cost: float | int | str) -> bool:
    """Give each new PostgreSQL connection of ``engine`` the planner's
    ``random_page_cost`` ``cost`` (``JISHI_DB_RANDOM_PAGE_COST``; issue 20):
    a page found by an index priced as a page in memory, not as a disk
    seek (the server's default, 4). A session-level ``SET`` sent in
    autocommit as the connection opens, so no rollback takes it back;
    not a ``-c`` in the startup packet's ``options``, which PgBouncer and
    the poolers of managed databases refuse ("unsupported startup
    parameter"). True when it applies (a PostgreSQL engine). A value
    PostgreSQL would refuse on every connection (negative, not finite) is
    refused here, as the app starts."""
    try:
        number = float(cost)
    except (TypeError, ValueError):
        number = math.nan
    if not 0 <= number < math.inf:
        raise ValueError(f"JISHI_DB_RANDOM_PAGE_COST must be a number ≥ 0, not {cost!r}")
    cost = number
    if engine.dialect.name != "postgresql":
        return False
    statement = f"SET random_page_cost = {cost!r}"

    def _set(dbapi_connection, connection_record) -> None:
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute(statement)
            cursor.close()
        finally:
            dbapi_connection.autocommit = autocommit

    event.listen(engine, "connect", _set)
    return True


def keep_prepared_statements(engine: Engine) -> bool:
    """Make ``engine``'s psycopg connections keep their prepared statements
    across rollbacks (``JISHI_DB_KEEP_PREPARED``; see
    :func:`_kept_plans_connection_class`). True when it applies (a
    ``postgresql+psycopg`` engine), before its first connection."""
    if engine.dialect.name != "postgresql" or engine.dialect.driver != "psycopg":
        return False
    event.listen(engine, "do_connect", _connect_keeping_plans)
    return True


def libpq_reads(engine: Engine) -> bool:
    """Let the held statements (:mod:`jishi.loaders`) that ``engine`` runs
    on a psycopg connection in autocommit (a safe request's reads,
    :func:`read_autocommit`) go through libpq itself, prepared once per
    connection, instead of a psycopg cursor (``JISHI_DB_LIBPQ_READS``;
    :func:`jishi.loaders._autocommit_rows`). True when it applies (a
    ``postgresql+psycopg`` engine)."""
    dialect = engine.dialect
    if dialect.name != "postgresql" or dialect.driver != "psycopg":
        return False
    dialect.jishi_libpq_reads = True  # type: ignore[attr-defined]
    return True


# --- PostgreSQL: a safe request's reads without BEGIN and ROLLBACK ---------------------------


def read_autocommit(engine: Engine) -> bool:
    """Let the safe requests (GET, HEAD, OPTIONS) of ``engine`` read in
    autocommit, without psycopg's ``BEGIN`` before their first statement
    and the ``ROLLBACK`` (or ``COMMIT``) after their last: two round trips
    of five in a product detail (``JISHI_DB_READ_AUTOCOMMIT``; issue 20).
    True when it applies (a ``postgresql+psycopg`` engine).

    Under READ COMMITTED, PostgreSQL's default and the only level the kernel
    uses, every statement of a transaction reads its own snapshot and a
    plain ``SELECT`` holds no lock until the transaction's end, so a
    request that only reads sees exactly what it would see in a
    transaction. Anything else ends the mode before it runs (the
    connection goes back to transactions: psycopg sends ``BEGIN`` before
    that statement, and SQLAlchemy's commit or rollback ends it as
    always): a statement that is not a plain ``SELECT`` (a write, ``SET``,
    a ``WITH`` ..., a ``SELECT .. FOR UPDATE`` / ``FOR SHARE``, an advisory
    lock, ``set_config``), a server-side cursor (``yield_per``), and
    :func:`fresh_write`; a transaction at an isolation level asked for
    (``REPEATABLE READ``) is never read in autocommit. So a GET that
    writes writes atomically from its first write on, as before; only its
    reads before that ran outside the transaction, which under READ
    COMMITTED changes nothing they see.

    The mode is set at the start of a transaction of a safe request, or
    of a request that declared it reads first (:func:`reads_first`: the
    checkout's preview and placement; the engine's ``begin`` event,
    :func:`_begin_reading`), on a connection
    that is not already in autocommit (flashsale's own), and taken off when
    the connection goes back to the pool."""
    dialect = engine.dialect
    if dialect.name != "postgresql" or dialect.driver != "psycopg":
        return False
    if dialect.__dict__.get("jishi_read_autocommit"):
        return True
    for name in ("do_execute", "do_execute_no_params", "do_executemany"):
        setattr(dialect, name, _leaving_reads(getattr(dialect, name), name == "do_executemany"))
    dialect.jishi_read_autocommit = True  # type: ignore[attr-defined]
    event.listen(engine.pool, "checkin", _end_reading)
    return True


def _begin_reading(driver) -> None:
    """The ``begin`` of a transaction on a read-autocommit engine: a safe
    request, or one that declared it reads first (:func:`reads_only`,
    :func:`reads_first`), reads in autocommit until its first statement
    that is not a plain read (not after :func:`fresh_write`, nor after
    :func:`write_from_here`)."""
    ctx = _cv_request.get(None)
    if ctx is None or _cv_app.get().g.get("jishi_writing") or not _reads_first(ctx):
        return
    if driver is None or driver.autocommit or driver.pgconn.transaction_status != 0:  # (0: IDLE)
        return
    if driver.isolation_level is not None:  # a level asked for (REPEATABLE READ...): its transaction, as asked
        return
    driver.autocommit = True
    driver._jishi_reading = True


def leave_reading(driver, statement: str, server_side: bool = False) -> None:
    """Before ``statement`` on the psycopg connection ``driver``: when the
    connection reads in autocommit (:func:`read_autocommit`) and the
    statement is not a plain read (or runs on a server-side cursor), back
    to transactions first. The held reads' own path (:mod:`jishi.loaders`)
    calls it; SQLAlchemy's executes do through the dialect."""
    if getattr(driver, "_jishi_reading", False) and (server_side or not _plain_read(statement)):
        driver._jishi_reading = False
        driver.autocommit = False


#: statement text -> whether it is a plain read (kept per text: the same
#: few hundred statements run again and again)
_PLAIN_READS: dict[str, bool] = {}
_NOT_PLAIN = re.compile(r"\bFOR\s+(UPDATE|SHARE|NO\s+KEY|KEY\s+SHARE)\b|pg_advisory|set_config|nextval|setval", re.I)


def _plain_read(statement: str) -> bool:
    found = _PLAIN_READS.get(statement)
    if found is None:
        found = statement.lstrip()[:6].upper() == "SELECT" and _NOT_PLAIN.search(statement) is None
        if len(_PLAIN_READS) > 4096:
            _PLAIN_READS.clear()
        _PLAIN_READS[statement] = found
    return found


def _leaving_reads(execute, many: bool):
    def do_execute(cursor, statement, *args, **kwargs):
        driver = cursor.connection
        if getattr(driver, "_jishi_reading", False):
            leave_reading(driver, statement, many or getattr(cursor, "name", None) is not None)
        return execute(cursor, statement, *args, **kwargs)

    return do_execute


def _end_reading(dbapi_connection, connection_record) -> None:
    """The pool's ``checkin``: a connection that read in autocommit goes
    back to transactions (the next request's own mode is its own); one
    that cannot (busy: never in autocommit between statements) is dropped."""
    if dbapi_connection is not None and getattr(dbapi_connection, "_jishi_reading", False):
        dbapi_connection._jishi_reading = False
        try:
            dbapi_connection.autocommit = False
        except Exception:  # pragma: no cover - a connection left mid-statement
            connection_record.invalidate()
