"""Many small reads in ONE statement: :class:`~jishi.hookspecs.PageLoader`s.

A page that needs rows from several tables (the kernel's images, parameters,
specs and tags of a product, each plugin's activity or coupons) would
otherwise read each with a statement of its own. :func:`run` makes them one
``SELECT (rows of loader 1), (rows of loader 2), ...``: each loader's query
becomes a subquery whose rows are aggregated into a JSON array
(``json_agg(json_build_object(...))`` on PostgreSQL,
``json_group_array(json_object(...))`` on SQLite), and the arrays are turned
back into rows by the columns' types: model instances (clean persistent
objects of the session, :func:`persistent`) or dicts. The statement is built
once per shape of loaders and run from its SQL compiled once per dialect
(:func:`held_rows`), so a page pays neither its building nor its keying.
"""

from __future__ import annotations

import functools
import json
import operator
import re
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    Integer,
    String,
    Text,
    Time,
    bindparam,
    cast,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects.sqlite.base import DATETIME as SQLiteDATETIME
from sqlalchemy.engine import Connection
from sqlalchemy.engine.interfaces import BindTyping
from sqlalchemy.orm import configure_mappers, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.visitors import replacement_traverse

from jishi.db import db, exact_json_loads, leave_reading
from jishi.hookspecs import PageLoader

try:  # orjson: the loaders' JSON rows decoded at a fraction of json.loads' cost
    from orjson import loads as _loads
except ImportError:  # pragma: no cover - orjson is a dependency; keep working without it
    _loads = json.loads

#: column types whose values orjson reads back from a loader's rows exactly
#: as ``json.loads`` does (integers of at most 64 bits, text, booleans, dates
#: as ISO text, and JSON columns, which are in the rows as their text, see
#: :func:`_rows_column`, decoded by :func:`_json_text`; floats: a finite
#: double is written with at most 17 significant digits by both databases,
#: which orjson reads as ``float()`` does, and an infinite one is a string
#: on PostgreSQL and ``Inf``, refused by both decoders, on SQLite): a loader
#: of only these decodes its rows with orjson alone; any other column
#: (``Numeric``, a type of a plugin's own) may put a long integer into the
#: rows' text, which :func:`jishi.db.exact_json_loads` reads exactly
_PLAIN_TYPES = (Integer, String, Boolean, DateTime, Date, Time, JSON, Float)


class Loaded(dict):
    """``key -> list of rows`` for every loader that ran."""

    def first(self, key: str) -> Any:
        rows = self.get(key) or ()
        return rows[0] if rows else None


def _entity(query):
    """The model a ``select(Model)`` reads, else None."""
    descriptions = query.column_descriptions
    if len(descriptions) != 1:
        return None
    d = descriptions[0]
    entity = d.get("entity")
    return entity if entity is not None and d.get("expr") is entity else None


def _iso_datetime(value):
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _iso_date(value):
    return date.fromisoformat(value[:10]) if isinstance(value, str) else value


def _json_text(value):
    return exact_json_loads(value) if isinstance(value, str) else value


def _converter(type_):
    """How a non-None JSON value of a column of ``type_`` becomes the
    column's Python value (ISO text to datetime or date, 0/1 to bool, JSON
    text decoded, a number to int), as one function chosen once (None: the
    value as it is), so that decoding a row is a call per column that needs
    one, not a walk of the type checks."""
    if isinstance(type_, DateTime):
        return _iso_datetime
    if isinstance(type_, Date):
        return _iso_date
    if isinstance(type_, Boolean):
        return bool
    if isinstance(type_, JSON):
        return _json_text
    if isinstance(type_, Integer):
        return int
    return None


def _quoted(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def _rows_column(query, postgres: bool, label: str):
    sub = query.subquery()
    pairs: list = []
    for col in sub.c:
        # (a JSON column as its text on PostgreSQL too, as SQLite's
        # json_object gives it: decoded alone by the column's converter)
        value = cast(col, Text) if postgres and isinstance(col.type, JSON) else col
        pairs += [literal_column(_quoted(col.key)), value]
    if postgres:
        # as text: decoded by orjson in :func:`decode` (psycopg's own json
        # loader is the standard library's json.loads, several times slower)
        agg = cast(func.json_agg(func.json_build_object(*pairs)), Text)
    else:
        agg = func.json_group_array(func.json_object(*pairs))
    return select(agg).select_from(sub).scalar_subquery().label(label)


#: loaders' shape -> (statement, where each of its parameters comes from,
#: per loader: (entity, attrs, columns), the declared queries held, the
#: statement's held SQL per dialect: see :func:`_held`)
_CACHE: dict[tuple, tuple] = {}
_CACHE_SIZE = 256


def _decoder(query) -> tuple:
    """How to turn a loader's JSON rows back into rows: ``(entity, attrs,
    columns, plain)``: for a model, its attributes as ``(attribute, JSON
    key, converter)``; else the columns as ``(key, key, converter)``, each
    with its :func:`_converter`; ``plain``: every column of a type orjson
    reads exactly (:data:`_PLAIN_TYPES`), else the rows' text is read by
    :func:`jishi.db.exact_json_loads`."""
    entity = _entity(query)
    if entity is None:
        cols = list(query.subquery().c)
        plain = all(isinstance(c.type, _PLAIN_TYPES) for c in cols)
        return None, None, [(c.key, c.key, _converter(c.type)) for c in cols], plain
    mapper = entity.__mapper__
    cols = [c for c in mapper.columns if c.table is not None]
    return (
        entity,
        [(mapper.get_property_by_column(c).key, c.key, _converter(c.type)) for c in cols],
        None,
        all(isinstance(c.type, _PLAIN_TYPES) for c in cols),
    )


def _decoded(item: dict, columns) -> dict:
    """One JSON row as ``{name: value}`` (``columns``: ``(name, key,
    converter)``); None stays None."""
    out = {}
    get = item.get
    for name, key, conv in columns:
        value = get(key)
        out[name] = value if value is None or conv is None else conv(value)
    return out


def _named(i: int, name: str) -> str:
    """The composite statement's name of loader ``i``'s parameter ``name``."""
    return f"l{i}_{name}"


def _renamed(i: int, query, names):
    """``query`` with its bind parameters ``names`` renamed for loader ``i``
    (loaders may use the same names: ``product_id``)."""

    def replace(element):
        if isinstance(element, BindParameter) and element.key in names:
            return bindparam(_named(i, element.key), type_=element.type, expanding=element.expanding)
        return None

    return replacement_traverse(query, {}, replace)


def _build(loaders: Sequence[PageLoader], postgres: bool):
    columns = []
    for i, ld in enumerate(loaders):
        query = ld.query if ld.params is None else _renamed(i, ld.query, set(ld.params))
        columns.append(_rows_column(query, postgres, f"l{i}"))
    return select(*columns)


def _declared_params(loaders: Sequence[PageLoader]) -> dict:
    return {_named(i, k): v for i, ld in enumerate(loaders) if ld.params is not None for k, v in ld.params.items()}


def _statement(loaders: Sequence[PageLoader], postgres: bool) -> tuple:
    """``(statement, params, decoders, forms)`` for ``loaders``. The
    statement is built once per shape and reused with this call's values;
    ``forms`` holds its compiled SQL per dialect (:func:`_held`), None for a
    statement not kept.

    A loader declared once with named parameters (``PageLoader.params``:
    the same query object every call) is told by its identity and its
    values are its ``params``: the kernel neither builds nor keys anything
    for it. Any other loader (a query built per call) is told by SQLAlchemy's
    cache key, and its values are taken from the key's bound parameters
    (mapped by where each came from): the page then pays that query's
    building and keying, not the whole statement's."""
    keys: list = []
    shape_parts: list = []
    for ld in loaders:
        if ld.params is not None:
            keys.append(None)
            # (not its key: a statement serves every key, "flashsale.running.<buyer>")
            # (its names in the order given: another order is another shape, still right)
            shape_parts.append((id(ld.query), tuple(ld.params)))
            continue
        k = ld.query._generate_cache_key()
        if k is None:  # a query SQLAlchemy cannot key: built every time
            return _build(loaders, postgres), _declared_params(loaders), [_decoder(ld.query) for ld in loaders], None
        keys.append(k)
        shape_parts.append((ld.key, k.key))
    shape = (postgres, tuple(shape_parts))
    hit = _CACHE.get(shape)
    if hit is not None and all(ld.params is None or q is ld.query for ld, q in zip(loaders, hit[3], strict=True)):
        stmt, sources, decoders, _queries, forms = hit
        params = {}
        for name, i, j in sources:
            params[name] = loaders[i].params[j] if j.__class__ is str else keys[i].bindparams[j].effective_value
        return stmt, params, decoders, forms
    stmt = _build(loaders, postgres)
    decoders = [_decoder(ld.query) for ld in loaders]
    # Where each of the statement's parameters comes from: (loader, its
    # n-th parameter) for a keyed loader, the same objects its key holds;
    # (loader, name) for a declared loader's named parameter.
    where = {id(bp): (i, j) for i, k in enumerate(keys) if k is not None for j, bp in enumerate(k.bindparams)}
    named = {_named(i, name): (i, name) for i, ld in enumerate(loaders) if ld.params is not None for name in ld.params}
    own = stmt._generate_cache_key()
    if own is not None:
        sources = []
        found = set()
        for bp in own.bindparams:
            if bp.key in named:
                sources.append((bp.key, *named[bp.key]))
            elif id(bp) in where:
                sources.append((bp.key, *where[id(bp)]))
                found.add(id(bp))
            # else: a value written into a declared query (constant), kept in the statement
        if found == set(where):
            if len(_CACHE) >= _CACHE_SIZE:
                _CACHE.clear()
            _CACHE[shape] = (stmt, sources, decoders, tuple(ld.query for ld in loaders), {})
    return stmt, _declared_params(loaders), decoders, None


#: ``%(name)s`` placeholders and ``%%`` escapes of a pyformat statement
_PYFORMAT = re.compile(r"%\(([^)]*)\)s|%%")
_FORMS_PER_STATEMENT = 8  # dialects (engines) a statement keeps its SQL for

try:  # psycopg >= 3.2: a cursor taking PostgreSQL's own $1 placeholders
    from psycopg import Connection as _PsycopgConnection
    from psycopg import Error as _PsycopgError
    from psycopg import Pipeline as _Pipeline
    from psycopg import RawCursor as _RawCursor
    from psycopg import errors as _pg_errors
    from psycopg import pq as _pq
    from psycopg.adapt import PyFormat as _PyFormat
    from psycopg.adapt import Transformer as _Transformer

    #: whether this libpq has pipeline mode (14 and later; held_rows_many)
    _PIPELINES = _Pipeline.is_supported()
    _PQ_IDLE = _pq.TransactionStatus.IDLE
    _PQ_CONN_OK = _pq.ConnStatus.OK
    _PQ_COMMAND_OK = _pq.ExecStatus.COMMAND_OK
    _PQ_TUPLES_OK = _pq.ExecStatus.TUPLES_OK
    _PQ_AUTO = _PyFormat.AUTO
except ImportError:  # pragma: no cover - psycopg 3.1 or no psycopg
    _RawCursor = _PsycopgConnection = _Transformer = None  # type: ignore[assignment,misc]
    _PsycopgError = Exception  # type: ignore[assignment,misc]  # (never raised: no pipelines)
    _PIPELINES = False


#: SQLAlchemy's side-statement execute and error handling, which
#: :meth:`_HeldSQL._fetch` uses (internals: a release without them runs the
#: held SQL through ``exec_driver_sql``)
_CURSOR_PATH = all(
    callable(getattr(Connection, name, None))
    for name in ("_cursor_execute", "_safe_close_cursor", "_handle_dbapi_exception")
) and hasattr(Connection, "_trans_context_manager")


#: the key of a held statement's constants among its call's parameters (:class:`_HeldSQL`)
_CONSTANT = object()


class _HeldSQL:
    """A statement compiled once for a dialect and run as its SQL string
    (on the DBAPI cursor in a transaction, see :meth:`rows`, else
    ``Connection.exec_driver_sql``): no cache key is made and hashed, no
    compiled-cache look-up, on every execute.

    ``plan`` gives each DBAPI parameter in order: ``(key, value,
    processor)``, ``key`` the name of the call's parameter to take (None:
    ``value``, a constant of the statement, already processed), then the
    dialect's bind processor for it (None: as it is), as SQLAlchemy's own
    execution makes them. On psycopg the SQL holds PostgreSQL's ``$n``
    placeholders and runs on a raw cursor (``raw``): psycopg turns a
    ``%(name)s`` statement into ``$n`` again on every execute unless it is
    under 4 KB, and the loaders statement is about 16 KB (~0.1 ms of
    regular-expression work per page)."""

    __slots__ = ("constants", "pick", "plan", "processed", "procs", "raw", "results", "sql")

    def __init__(self, sql: str, plan: tuple, raw, results: tuple = ()):
        self.sql, self.plan, self.raw = sql, plan, raw
        #: ``(position, result processor)`` of each column that has one
        self.results = results
        self.processed = any(proc is not None for _key, _value, proc in plan)
        # Every parameter picked in one C call (``operator.itemgetter``) from the call's
        # parameters, each processed one replaced by its processed value first (once per
        # name) and the statement's constants among them under keys no name is
        # (``(_CONSTANT, position)``): no Python step per parameter (the loaders statement
        # has 39 to 54 of them). A name its placeholders process differently (never made by
        # SQLAlchemy: one name, one type) is picked one by one (``pick`` None).
        processors: dict = {}
        mixed = False
        for key, _value, proc in plan:
            if key is not None:
                mixed = mixed or processors.get(key, proc) is not proc
                processors[key] = proc
        #: ``(name, processor)`` of each parameter taken from the call and processed
        self.procs = tuple((key, proc) for key, proc in processors.items() if proc is not None)
        self.constants = {(_CONSTANT, i): value for i, (key, value, _proc) in enumerate(plan) if key is None}
        names = [(_CONSTANT, i) if key is None else key for i, (key, _value, _proc) in enumerate(plan)]
        self.pick = operator.itemgetter(*names) if len(names) > 1 and not mixed else None

    def args(self, params: dict) -> tuple:
        """The DBAPI parameters for ``params``. A value put through a bind
        processor is processed once per call however many placeholders
        take it (SQLite's ``?`` repeat a parameter used twice, and the
        loaders' per-loader names often hold one object: every plugin's
        "now"), a processor being a pure function of its value (SQLite's
        datetime formatting was 17 calls per product page, 5 values)."""
        pick = self.pick
        done: dict = {}
        if pick is not None:
            if not self.procs:
                return pick({**params, **self.constants} if self.constants else params)
            values = {**params, **self.constants}
            for key, proc in self.procs:
                raw = params[key]
                memo = (proc, id(raw))  # (``raw`` is held by ``params`` for the call: its id is its own)
                hit = done.get(memo, done)
                if hit is done:
                    hit = done[memo] = proc(raw)
                values[key] = hit
            return pick(values)
        # no parameter or one, or a name processed two ways: one by one
        if not self.processed:
            return tuple(value if key is None else params[key] for key, value, _proc in self.plan)
        out = []
        for key, value, proc in self.plan:
            if key is None:
                out.append(value)
            elif proc is None:
                out.append(params[key])
            else:
                raw = params[key]
                memo = (proc, id(raw))
                hit = done.get(memo, done)
                if hit is done:
                    hit = done[memo] = proc(raw)
                out.append(hit)
        return tuple(out)

    def execute(self, conn, params: dict):
        """SQLAlchemy's result of the SQL (``exec_driver_sql``)."""
        return self._execute(conn, self.args(params))

    def rows(self, conn, params: dict, direct: bool = False) -> list:
        """Every row, each value as SQLAlchemy's result processing of its
        column gives it (a datetime from SQLite's text, say).

        In a transaction the connection holds (a session's), the SQL runs on
        a DBAPI cursor of the connection and its rows are fetched from it
        (:meth:`_fetch`). What that skips is SQLAlchemy's execution context
        and ``CursorResult``: its column metadata was made afresh from the
        cursor's description on every execute of SQL text (about a third of
        the execute's Python work, more on psycopg, which builds the
        description's column objects for it). The held SQL never needs it:
        its columns are known and processed by position (``results``).
        ``direct``: accepted as before; every held read now takes the
        cursor path, which is SQLAlchemy's own whenever anything could
        tell the difference (:func:`_quiet`)."""
        return self.processed_rows(self._fetch(conn, self.args(params)))

    def processed_rows(self, rows: list) -> list:
        """``rows`` fetched for the SQL, each value as SQLAlchemy's result
        processing of its column gives it."""
        if not self.results:
            return rows
        out = []
        for row in rows:
            values = list(row)
            for i, proc in self.results:
                values[i] = proc(values[i])
            out.append(values)
        return out

    def _fetch(self, conn, args: tuple) -> list:
        """The rows of the SQL with ``args`` (tuples, unprocessed), the
        one path of every held read.

        In a live transaction of the connection: on a cursor of its DBAPI
        connection (psycopg: a raw cursor, ``$n``), executed by the cursor
        itself when nothing listens (:func:`_quiet`: no statement event
        listener, no echo, no dialect ``do_execute`` hook), else by
        ``Connection._cursor_execute``, SQLAlchemy's path for its side
        statements (sequences, defaults: the ``before_cursor_execute`` /
        ``after_cursor_execute`` events with no execution context, as that
        path documents, echo logging, the dialect's hooks). A DBAPI error
        of either, or of the fetch, is raised as SQLAlchemy raises it
        (``Connection._handle_dbapi_exception``: wrapped in
        ``sqlalchemy.exc.DBAPIError``, a dropped connection invalidated).
        Outside a live transaction, or with a SQLAlchemy lacking those
        internals: ``exec_driver_sql`` (autobegin, its checks and errors)."""
        try:
            trans = conn._transaction
            dbapi = conn._dbapi_connection
        except AttributeError:  # another SQLAlchemy's internals: its execute, as correct and only slower
            trans = dbapi = None
        if (
            not _CURSOR_PATH
            or dbapi is None
            or trans is None
            or not trans.is_active
            or conn._trans_context_manager is not None
            or (conn._nested_transaction is not None and not conn._nested_transaction.is_active)
        ):
            return self._execute(conn, args).all()
        driver = dbapi.driver_connection
        if getattr(driver, "_jishi_reading", False):  # a safe request reading in autocommit (jishi.db)
            leave_reading(driver, self.sql)
        quiet = _quiet(conn)
        if quiet and self.raw is not None and driver.autocommit and getattr(conn.dialect, "jishi_libpq_reads", False):
            try:
                rows = _autocommit_rows(driver, self.sql, args)
            except BaseException as e:
                if isinstance(e, conn.dialect.loaded_dbapi.Error):
                    conn._handle_dbapi_exception(e, self.sql, args, None, None)
                raise
            if rows is not None:
                return rows
        cursor = driver.cursor() if self.raw is None else self.raw(driver)
        try:
            if quiet:
                cursor.execute(self.sql, args)
            else:
                conn._cursor_execute(cursor, self.sql, args)  # (raises wrapped, as execute does)
            rows = cursor.fetchall()
        except BaseException as e:
            conn._safe_close_cursor(cursor)
            if isinstance(e, conn.dialect.loaded_dbapi.Error):  # (not one _cursor_execute wrapped already)
                conn._handle_dbapi_exception(e, self.sql, args, None, None)
            raise
        cursor.close()
        return rows

    def _execute(self, conn, args: tuple):
        if self.raw is None:
            return conn.exec_driver_sql(self.sql, args)
        driver = conn.connection.driver_connection
        factory = driver.cursor_factory
        driver.cursor_factory = self.raw  # for this execute's cursor only
        try:
            return conn.exec_driver_sql(self.sql, args)
        finally:
            driver.cursor_factory = factory


#: prepared statements one connection keeps for :func:`_autocommit_rows`
#: (beyond them, the cursor's path: psycopg's own cache)
_PQ_MAX = 512


class _LibpqState:
    """What :func:`_autocommit_rows` keeps on a psycopg connection: its
    statements prepared there (``(SQL, parameter types)`` -> name, as
    psycopg keys its own), a :class:`psycopg.adapt.Transformer` of the
    connection (the dumpers and loaders it found for each type, kept as a
    cursor keeps them) and the connection's encoding."""

    __slots__ = ("count", "encoding", "names", "tx")

    def __init__(self, driver):
        self.names: dict[tuple, bytes] = {}
        self.count = 0
        self.tx = _Transformer.from_context(driver)
        self.encoding = driver.info.encoding


def _libpq_error(driver, result, encoding: str) -> Exception:
    """The psycopg error of a failed ``result``, as psycopg raises it: an
    ``OperationalError`` when the server dropped the connection (what
    SQLAlchemy's psycopg dialect takes for a disconnect), else the error
    class of its SQLSTATE."""
    if driver.pgconn.status != _PQ_CONN_OK:
        return _pg_errors.OperationalError(result.get_error_message(encoding) or "the connection is lost")
    return _pg_errors.error_from_result(result, encoding=encoding)


def _autocommit_rows(driver, sql: str, args: tuple) -> list | None:
    """The rows of the held ``sql`` with ``args`` on the psycopg connection
    ``driver`` in autocommit (a safe request's reads, :func:`jishi.db.read_autocommit`;
    flashsale's own connections), run through libpq itself; None when the
    connection is anywhere else (a transaction, a pipeline, closed, or its
    prepared statements at :data:`_PQ_MAX`): then the cursor's path.

    A psycopg cursor's execute and fetch cost ~40 µs of Python a statement
    on top of libpq's ~25 (its query conversion, its prepared-statement
    manager's bookkeeping, a transformer per cursor finding the dumpers
    and loaders again, its generators and waits; measured on 2026-12-08,
    issue 20); a product detail on PostgreSQL reads in three statements.
    Here the statement is prepared once per connection under a name of
    its own (``_jishi_<n>``) and then run by ``PQexecPrepared``: the
    parameters dumped and the rows loaded by psycopg's own adapters (the
    connection's :class:`~psycopg.adapt.Transformer`, C in
    ``psycopg-binary``), in the text format a cursor asks for, so the rows
    are the values a cursor's ``fetchall()`` gives. libpq's call releases
    the GIL while it waits. A name the server no longer knows (psycopg's
    own ``rollback()`` sends ``DEALLOCATE ALL`` when it had prepared
    statements, as do ``DISCARD ALL`` and poolers): the statement is
    prepared again and run once more, which in autocommit leaves nothing
    behind. Any other error is psycopg's, raised as its cursor raises it."""
    pgconn = driver.pgconn
    if (
        pgconn.transaction_status != _PQ_IDLE
        or pgconn.status != _PQ_CONN_OK
        or getattr(driver, "_pipeline", True) is not None
    ):
        return None
    state = getattr(driver, "_jishi_libpq", None)
    if state is None:
        state = driver._jishi_libpq = _LibpqState(driver)
    tx = state.tx
    names = state.names
    with driver.lock:  # (the connection's, as its cursors take it: the transformer is the connection's too)
        if args:
            params = tx.dump_sequence(args, [_PQ_AUTO] * len(args))
            types, formats = tuple(tx.types), tx.formats
        else:
            params, types, formats = None, (), None
        key = (sql, types)
        for attempt in (0, 1):
            name = names.get(key)
            if name is None:
                if len(names) >= _PQ_MAX:
                    return None
                state.count += 1
                name = b"_jishi_%d" % state.count
                result = pgconn.prepare(name, sql.encode(state.encoding), types or None)
                if result.status != _PQ_COMMAND_OK:
                    raise _libpq_error(driver, result, state.encoding)
                names[key] = name
            result = pgconn.exec_prepared(name, params, formats)
            if result.status == _PQ_TUPLES_OK:
                break
            if result.status == _PQ_COMMAND_OK:  # (a write without RETURNING: no rows)
                return []
            error = _libpq_error(driver, result, state.encoding)
            if attempt or getattr(error, "sqlstate", None) != "26000":  # invalid_sql_statement_name
                raise error
            names.clear()  # deallocated on the server: every name of this connection
        tx.set_pgresult(result)
        return tx.load_rows(0, result.ntuples, tuple)


def _quiet(conn) -> bool:
    """Whether nothing could tell a held read run by the DBAPI cursor itself
    from one run through ``Connection._cursor_execute``: no statement
    logging (``echo``), no listener of the cursor events ``_cursor_execute``
    fires (``before_cursor_execute``, ``after_cursor_execute``) on the
    connection or its engine (tests counting statements, instrumentation),
    no dialect ``do_execute`` hook."""
    try:
        if conn._echo:
            return False
        if conn._has_events or conn.engine._has_events:
            dispatch = conn.dispatch  # (the connection's and its engine's listeners)
            if dispatch.before_cursor_execute or dispatch.after_cursor_execute:
                return False
        if conn.dialect._has_events:
            dispatch = conn.dialect.dispatch
            return not (dispatch.do_execute or dispatch.do_execute_no_params)
        return True
    except AttributeError:  # another SQLAlchemy's internals: through its _cursor_execute
        return False


def held_rows(conn, stmt, params: dict, forms: dict | None, direct: bool = False) -> list:
    """The rows of ``stmt``, a SELECT (or a write ``... RETURNING``: a
    plugin's INSERT of one row) its caller builds once and keeps with
    ``forms`` (a dict of its own for the compiled SQL per dialect), run from
    that SQL (:func:`_held`) when it can be, else by SQLAlchemy (``forms``
    None: a statement built for this call only); values as SQLAlchemy's
    result processing gives them (rows indexable by position). ``direct``:
    accepted as before and no longer needed: every held read runs on the
    DB-API cursor, by the cursor itself when nothing listens
    (:meth:`_HeldSQL._fetch`)."""
    form = None if forms is None else _held(stmt, forms, conn, params)
    if form is not None and form.__class__ is _ExpandingHeld:
        form, params = form.sized(params)
    return conn.execute(stmt, params).all() if form is None else form.rows(conn, params, direct)


def held_rows_many(conn, items: Sequence[tuple[Any, dict, dict | None]]) -> list[list]:
    """The rows of each of ``items`` (``(stmt, params, forms)``, each as
    :func:`held_rows` takes them), run in their order in ``conn``'s
    transaction: a later statement sees what an earlier one wrote (the
    placement's INSERTs find the rows they belong to by their numbers).

    On psycopg, in a live transaction, with every statement held and more
    than one: sent together in ONE pipeline (libpq's pipeline mode), so the
    statements cost one round trip instead of one each (a ``BEGIN`` psycopg
    sends first, when the transaction has not begun on the server yet, is
    synced alone, as psycopg does); PostgreSQL runs them one after the other
    as it would have. An error of one (a unique key taken) is raised as
    SQLAlchemy raises it, naming that statement (wrapped in
    ``sqlalchemy.exc.DBAPIError``, a dropped connection invalidated), and
    the statements after it are not run; the transaction is then failed, as
    after any statement's error, for the caller's rollback. Listeners of the
    cursor events see each statement as they would
    (``Connection._cursor_execute``). Anywhere else (SQLite, outside a
    transaction, a statement SQLAlchemy must run): one after the other, as
    :func:`held_rows` runs each."""
    held = []
    for stmt, params, forms in items:
        form = None if forms is None else _held(stmt, forms, conn, params)
        if form is not None and form.__class__ is _ExpandingHeld:
            form, params = form.sized(params)
        held.append((stmt, form, params))
    driver = _pipeline_driver(conn) if len(held) > 1 else None
    if driver is None or any(form is None or form.raw is None for _stmt, form, _params in held):
        return [
            conn.execute(stmt, params).all() if form is None else form.rows(conn, params) for stmt, form, params in held
        ]
    for _stmt, form, _params in held:
        leave_reading(driver, form.sql)  # (a safe request reading in autocommit: a write begins a transaction)
    quiet = _quiet(conn)
    cursors: list = []
    sql, args = held[0][1].sql, ()
    early: Exception | None = None
    try:
        try:
            with driver.pipeline():
                for _stmt, form, params in held:
                    sql, args = form.sql, form.args(params)
                    cursor = form.raw(driver)
                    cursors.append(cursor)
                    # The server's error of an earlier statement may be read
                    # while this one is sent: kept, and raised after the
                    # pipeline's exit below, naming the statement that failed
                    # (psycopg's exit, failing then too, "pipeline aborted",
                    # logs a warning when an exception leaves the block: a
                    # refusal the caller handles, a unique key taken in a
                    # race, must not reach the logs).
                    sending = _Sending(cursor)
                    if quiet:
                        sending.execute(sql, args)
                    else:  # (the cursor events fire as for any statement sent)
                        conn._cursor_execute(sending, sql, args)
                    if sending.error is not None:
                        early = sending.error
                        break
        except Exception:
            if early is None:
                raise
        if early is not None:
            raise early
        fetched = [cursor.fetchall() for cursor in cursors]
    except BaseException as e:
        if isinstance(e, conn.dialect.loaded_dbapi.Error):  # (the server's error comes at the pipeline's sync)
            # the statement that failed: the first without a result (those after it were skipped)
            failed = next((i for i, cursor in enumerate(cursors) if cursor.pgresult is None), None)
            if failed is not None:
                form, params = held[failed][1], held[failed][2]
                sql, args = form.sql, form.args(params)
        for cursor in cursors:
            conn._safe_close_cursor(cursor)
        if isinstance(e, conn.dialect.loaded_dbapi.Error):
            conn._handle_dbapi_exception(e, sql, args, None, None)
        raise
    for cursor in cursors:
        cursor.close()
    return [form.processed_rows(rows) for (_stmt, form, _params), rows in zip(held, fetched)]


class _Sending:
    """A psycopg cursor in :func:`held_rows_many`'s pipeline whose
    ``execute`` keeps the driver's error (see there) instead of raising it;
    anything else is the cursor's."""

    __slots__ = ("cursor", "error")

    def __init__(self, cursor):
        self.cursor = cursor
        self.error: Exception | None = None

    def execute(self, sql, args=None):
        try:
            return self.cursor.execute(sql, args)
        except _PsycopgError as exc:
            self.error = exc
            return self.cursor

    def __getattr__(self, name):
        return getattr(self.cursor, name)


def _pipeline_driver(conn):
    """The psycopg connection under ``conn`` when :func:`held_rows_many`
    may send its statements in one pipeline: ``conn`` in a live transaction
    (as :meth:`_HeldSQL._fetch` requires for its cursor path) and a libpq
    with pipeline mode; else None."""
    if not _CURSOR_PATH or not _PIPELINES:
        return None
    try:
        trans = conn._transaction
        dbapi = conn._dbapi_connection
        nested = conn._nested_transaction
        managed = conn._trans_context_manager
    except AttributeError:  # another SQLAlchemy's internals: one by one
        return None
    if dbapi is None or trans is None or not trans.is_active or managed is not None:
        return None
    if nested is not None and not nested.is_active:
        return None
    driver = dbapi.driver_connection
    return driver if isinstance(driver, _PsycopgConnection) else None


def _held(stmt, forms: dict, conn, params: dict) -> _HeldSQL | None:
    """``stmt``'s :class:`_HeldSQL` for ``conn``'s dialect, compiled on the
    first call and kept in ``forms`` (the statement's cache entry, so it
    lives and goes with the statement); None when the statement must go
    through SQLAlchemy's execute every time: literal-execute parameters, a
    schema translate map, parameter values computed by callables, or a
    dialect binding types by ``setinputsizes``. A statement with expanding
    (``IN``) parameters is held as an :class:`_ExpandingHeld`: one SQL per
    padded size of its lists."""
    dialect = conn.dialect
    form = forms.get(dialect, False)
    if form is not False:
        return form
    form = None
    if not conn.get_execution_options().get("schema_translate_map") and (
        getattr(dialect, "bind_typing", None) is not BindTyping.SETINPUTSIZES
    ):
        try:
            form = _compile_held(stmt, dialect, set(params))
        except (AttributeError, KeyError, IndexError, TypeError):  # another SQLAlchemy's internals
            # The held form reads a few of SQLAlchemy's compiled internals;
            # a release that moved them runs the statement through
            # SQLAlchemy's own execute, as correct and only slower.
            form = None
    if len(forms) >= _FORMS_PER_STATEMENT:
        forms.clear()
    forms[dialect] = form
    return form


def _expanding_binds(compiled) -> list | None:
    """The bind names of ``compiled``'s expanding (``IN``) parameters; None
    when it has a post-compile parameter of another kind (rendered as a
    literal: not held)."""
    post = compiled.post_compile_params
    if any(not bp.expanding or bp.literal_execute for bp in post):
        return None
    names = [name for name, bp in compiled.binds.items() if bp in post]
    # one name may stand for several bind objects (the same list in two
    # ``IN``s): SQLAlchemy expands each name once and repeats its items
    # wherever the name appears, as the held SQL does
    if set(names) != {compiled.bind_names[bp] for bp in post}:
        return None
    return names


def _compile_held(stmt, dialect, keys: set):
    compiled = stmt.compile(dialect=dialect)
    if (
        compiled.literal_execute_params
        or compiled.schema_translate_map
        or getattr(compiled, "_collected_params", None)  # values of .params(): not taken here
    ):
        return None
    # (an INSERT/UPDATE ... RETURNING has no ``selected_columns``: its returned ones)
    columns = stmt.selected_columns if hasattr(stmt, "selected_columns") else stmt.exported_columns
    if len(compiled._result_columns) != len(columns):
        return None
    if compiled.post_compile_params:
        names = _expanding_binds(compiled)
        if not names:
            return None
        expanding = []
        for name in names:
            key = compiled.binds[name].key
            key = key if key in keys else name if name in keys else None
            if key is None:  # an expanding parameter with a value written in the statement
                return None
            expanding.append((key, name))
        return _ExpandingHeld(stmt, compiled, dialect, keys, tuple(expanding))
    return _held_form(compiled, dialect, keys, compiled.string, compiled.positiontup, {}, compiled._bind_processors)


#: SQLite's DATETIME text in SQLAlchemy's default storage format
_SQLITE_DATETIME_FORMAT = SQLiteDATETIME._storage_format


def _faster(proc, bp, dialect):
    """``proc`` (the dialect's bind processor of ``bp``), or a function
    giving the same text faster: SQLite's DATETIME in its default storage
    format formats a datetime from its seven fields through a ``%``-dict
    (~1.5 us; a product page binds four "now" values); a naive
    ``datetime`` gives that very text with ``isoformat(" ",
    "microseconds")`` (zero-padded year, always six digits of
    microseconds). Anything else (an aware datetime, whose offset
    SQLAlchemy's format leaves out, a date, None, a subclass) goes to
    ``proc`` itself."""
    if proc is None or bp is None or dialect.name != "sqlite":
        return proc
    try:
        impl = bp.type.dialect_impl(dialect)
    except Exception:  # (a type that cannot say: its own processor)
        return proc
    if impl.__class__ is not SQLiteDATETIME or impl._storage_format != _SQLITE_DATETIME_FORMAT:
        return proc
    return functools.partial(_sqlite_datetime, proc)


def _sqlite_datetime(proc, value):
    if value.__class__ is datetime and value.tzinfo is None:
        return value.isoformat(" ", "microseconds")
    return proc(value)


def _held_form(compiled, dialect, keys: set, sql: str, positiontup, where: dict, processors) -> _HeldSQL | None:
    """The :class:`_HeldSQL` of ``sql`` (``compiled``'s string, or its
    expansion for one size of its lists: ``where`` maps each expanded
    parameter's name to ``(key, index)``, the call's list and position)."""
    raw = None
    if compiled.positional:
        names = list(positiontup or ())
    elif dialect.paramstyle == "pyformat" and dialect.driver == "psycopg" and _RawCursor is not None:
        unescaped = {v: k for k, v in (compiled.escaped_bind_names or {}).items()}
        numbers: dict[str, int] = {}

        def number(match):
            if match.group(1) is None:
                return "%"
            name = unescaped.get(match.group(1), match.group(1))
            if name not in numbers:
                numbers[name] = len(numbers) + 1
            return f"${numbers[name]}"

        sql = _PYFORMAT.sub(number, sql)
        names = list(numbers)
        raw = _RawCursor
    else:
        return None
    plan = []
    faster: dict = {}  # (one function per processor: a value is processed once per call, _HeldSQL.args)
    for name in names:
        proc = processors.get(name)
        if proc is not None:
            proc = faster.get(proc) or faster.setdefault(proc, _faster(proc, compiled.binds.get(name), dialect))
        if name in where:
            plan.append((where[name], None, proc))
            continue
        bp = compiled.binds[name]
        if bp.key in keys:
            plan.append((bp.key, None, proc))
        elif name in keys:
            plan.append((name, None, proc))
        elif bp.callable is not None or bp.required:
            return None
        else:
            plan.append((None, bp.value if proc is None else proc(bp.value), None))
    results = []
    for i, column in enumerate(compiled._result_columns):
        proc = column[3]._cached_result_processor(dialect, None)
        if proc is not None:
            results.append((i, proc))
    return _HeldSQL(sql, tuple(plan), raw, tuple(results))


_SIZES_PER_STATEMENT = 64  # padded sizes of its lists a statement keeps SQL for


class _ExpandingHeld:
    """A statement with expanding (``IN``) parameters, held as one
    :class:`_HeldSQL` per size of its lists: each list is padded to the next
    power of two by repeating its last value (``x IN (1, 2, 3, 3)`` matches
    what ``x IN (1, 2, 3)`` does), so a few SQL strings serve every call and
    none is keyed or expanded by SQLAlchemy per execute. An empty list (the
    dialect's own "empty IN" form) runs through SQLAlchemy."""

    __slots__ = ("compiled", "dialect", "expanding", "keys", "sizes", "stmt")

    def __init__(self, stmt, compiled, dialect, keys: set, expanding: tuple):
        self.stmt, self.compiled, self.dialect, self.keys = stmt, compiled, dialect, keys
        #: ``(call's key, bind name)`` of each expanding parameter
        self.expanding = expanding
        self.sizes: dict[tuple, _HeldSQL | None] = {}

    def sized(self, params: dict) -> tuple:
        """``(form, parameters)`` for this call: its lists' :class:`_HeldSQL`
        and the parameters with each list's padded items as ``(key, index)``;
        ``(None, params)``: run through SQLAlchemy."""
        flat = dict(params)
        sizes = []
        for key, _name in self.expanding:
            values = params[key]
            if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple)) or not values:
                return None, params
            n = len(values)
            size = 1 << (n - 1).bit_length()
            last = values[-1]
            for i, value in enumerate(values):
                flat[(key, i)] = value
            for i in range(n, size):
                flat[(key, i)] = last
            sizes.append(size)
        shape = tuple(sizes)
        form = self.sizes.get(shape, False)
        if form is False:
            try:
                form = self._compile(shape)
            except (AttributeError, KeyError, IndexError, TypeError, ValueError):  # another SQLAlchemy's internals
                form = None
            if len(self.sizes) >= _SIZES_PER_STATEMENT:
                self.sizes.clear()
            self.sizes[shape] = form
        return (None, params) if form is None else (form, flat)

    def _compile(self, shape: tuple) -> _HeldSQL | None:
        compiled = self.compiled
        sample = dict.fromkeys(self.keys)
        for (key, _name), size in zip(self.expanding, shape, strict=True):
            sample[key] = [0] * size
        expanded = compiled._process_parameters_for_postcompile(compiled.construct_params(sample, _check=False))
        where = {}
        for (key, name), size in zip(self.expanding, shape, strict=True):
            names = expanded.parameter_expansion[name]
            if len(names) != size:
                return None
            for i, ename in enumerate(names):
                where[ename] = (key, i)
        return _held_form(
            compiled, self.dialect, self.keys, expanded.statement, expanded.positiontup, where, expanded.processors
        )


def persistent(session, entity, values: dict, *, existing: str = "merge"):
    """A clean persistent instance of ``entity`` in ``session`` holding
    ``values`` (every column attribute, keyed by attribute name), as the
    ORM's own loading makes one from a row: a new instance attached to the
    identity map without calling ``__init__`` or setting each attribute
    through its instrumentation (what ``merge(load=False)`` of an instance
    made by ``entity(**values)`` costs, about seven times more).

    When the session already holds that identity, or a ``load`` /
    ``loaded_as_persistent`` event listens, ``existing="merge"`` falls back
    to ``merge(load=False)`` (the held instance, its committed values
    refreshed from ``values``, and the events as they fired before);
    ``existing="none"`` returns None instead (the caller reads through the
    ORM)."""
    mapper = entity.__mapper__
    if not mapper.configured:
        # A process whose first read is this one (a fresh server worker
        # answering a bearer request first): the mappers' relationships are
        # not set up until configured, and the instance's attributes (and
        # ``set_committed_value`` on them) need them.
        configure_mappers()
    identity_class, pk = _identity(mapper)
    # (as mapper.identity_key_from_primary_key builds it, without the call)
    key = (identity_class, tuple([values[attr] for attr in pk]), None)
    identity_map = session.identity_map
    if key in identity_map or mapper.class_manager.dispatch.load or session.dispatch.loaded_as_persistent:
        if existing == "none":
            return None
        obj = mapper.class_manager.new_instance()
        obj.__dict__.update(values)
        make_transient_to_detached(obj)
        return session.merge(obj, load=False)
    obj = mapper.class_manager.new_instance()
    state = instance_state(obj)
    state.dict.update(values)
    state.key = key
    state.identity_token = None
    state.session_id = session.hash_key
    identity_map._add_unpresent(state, key)
    return obj


_PK_ATTRS: dict[Any, tuple] = {}


def _identity(mapper) -> tuple:
    """``(the class of mapper's identity keys, its primary key attributes)``."""
    hit = _PK_ATTRS.get(mapper)
    if hit is None:
        attrs = tuple(mapper.get_property_by_column(c).key for c in mapper.primary_key)
        identity_class = mapper.identity_key_from_primary_key([None] * len(attrs))[0]
        hit = _PK_ATTRS[mapper] = (identity_class, attrs)
    return hit


def bound_columns(loaders: Sequence[PageLoader], bound: dict, postgres: bool, prefix: str = "c") -> tuple[list, list]:
    """Each loader's JSON rows column (``<prefix><i>``) for a statement of
    the caller's own, and their decoders (for :func:`decode`). Every loader
    must be declared (``params`` given, possibly empty): its bind parameters
    named in ``bound`` become those SQL expressions (a scalar subquery of the
    caller's values, say), the others are renamed per loader (see
    :func:`bound_params`). Build once per shape; run with the values of
    :func:`bound_params`."""
    columns = []
    for i, ld in enumerate(loaders):
        if ld.params is None:
            raise ValueError(f"loader {ld.key!r}: declare it once with params (PageLoader.params)")
        own = set(ld.params) - set(bound)

        def replace(element, i=i, own=own):
            if isinstance(element, BindParameter):
                if element.key in bound:
                    return bound[element.key]
                if element.key in own:
                    return bindparam(_named(i, element.key), type_=element.type, expanding=element.expanding)
            return None

        query = replacement_traverse(ld.query, {}, replace)
        columns.append(_rows_column(query, postgres, f"{prefix}{i}"))
    return columns, [_decoder(ld.query) for ld in loaders]


def bound_params(loaders: Sequence[PageLoader], bound=()) -> dict:
    """The values of :func:`bound_columns`' renamed parameters."""
    return {_named(i, k): v for i, ld in enumerate(loaders) for k, v in (ld.params or {}).items() if k not in bound}


def decode(loaders: Sequence[PageLoader], raws, decoders) -> Loaded:
    """The rows of each loader from its JSON column (model instances as
    clean persistent objects of the session, see :func:`persistent`, or
    dicts); a ``Loaded`` holding every loader's key (an empty list where
    none matched)."""
    loaded = Loaded()
    session = None
    for ld, raw, (entity, attrs, columns, plain) in zip(loaders, raws, decoders, strict=True):
        if isinstance(raw, (str, bytes)):
            # ("[]" and short texts hold no 19-digit run: orjson's answer is exact)
            items = _loads(raw) if plain or len(raw) < 19 else exact_json_loads(raw)
        else:
            items = raw
        if not items:
            loaded[ld.key] = []
            continue
        if entity is None:
            loaded[ld.key] = [_decoded(item, columns) for item in items]
            continue
        if session is None:
            session = db.session()
        loaded[ld.key] = [persistent(session, entity, _decoded(item, attrs)) for item in items]
    return loaded


def run(loaders: Sequence[PageLoader]) -> Loaded:
    """Run every loader in one statement; ``Loaded`` holds each key's rows
    (an empty list where none matched). Keys must be distinct.

    A statement kept for its shape runs from its SQL compiled once per
    dialect (:func:`_held`), else through SQLAlchemy's execute."""
    if not loaders:
        return decode((), (), ())
    keys = [ld.key for ld in loaders]
    if len(set(keys)) != len(keys):
        raise ValueError(f"page loaders share a key: {sorted(keys)}")
    session = db.session()
    conn = session.connection()
    stmt, params, decoders, forms = _statement(loaders, conn.dialect.name == "postgresql")
    if session.autoflush:
        session.flush()  # as session.execute would (a no-op when nothing is pending)
    (row,) = held_rows(conn, stmt, params, forms)
    return decode(loaders, row, decoders)
