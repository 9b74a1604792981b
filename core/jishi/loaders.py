"""Many small reads in ONE statement: :class:`~jishi.hookspecs.PageLoader`s.

A page that needs rows from several tables (the kernel's images, parameters,
specs and tags of a product, each plugin's activity or coupons) would
otherwise read each with a statement of its own. :func:`run` makes them one
``SELECT (rows of loader 1), (rows of loader 2), ...``: each loader's query
becomes a subquery whose rows are aggregated into a JSON array
(``json_agg(json_build_object(...))`` on PostgreSQL,
``json_group_array(json_object(...))`` on SQLite), and the arrays are turned
back into rows by the columns' types: model instances (clean persistent
objects of the session, :func:`persistent`) or dicts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, Integer, bindparam, func, literal_column, select
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.visitors import replacement_traverse

from jishi.db import db
from jishi.hookspecs import PageLoader


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
    return json.loads(value) if isinstance(value, str) else value


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
        pairs += [literal_column(_quoted(col.key)), col]
    if postgres:
        agg = func.json_agg(func.json_build_object(*pairs))
    else:
        agg = func.json_group_array(func.json_object(*pairs))
    return select(agg).select_from(sub).scalar_subquery().label(label)


#: loaders' shape -> (statement, where each of its parameters comes from,
#: per loader: (entity, attrs, columns), the declared queries held)
_CACHE: dict[tuple, tuple] = {}
_CACHE_SIZE = 256


def _decoder(query) -> tuple:
    """How to turn a loader's JSON rows back into rows: ``(entity, attrs,
    columns)``, each column with its :func:`_converter`."""
    entity = _entity(query)
    if entity is None:
        return None, None, [(c.key, _converter(c.type)) for c in query.subquery().c]
    mapper = entity.__mapper__
    return (
        entity,
        [
            (mapper.get_property_by_column(c).key, c.key, _converter(c.type))
            for c in mapper.columns
            if c.table is not None
        ],
        None,
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
    """``(statement, params, decoders)`` for ``loaders``. The statement is
    built once per shape and reused with this call's values.

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
            shape_parts.append((id(ld.query), tuple(sorted(ld.params))))
            continue
        k = ld.query._generate_cache_key()
        if k is None:  # a query SQLAlchemy cannot key: built every time
            return _build(loaders, postgres), _declared_params(loaders), [_decoder(ld.query) for ld in loaders]
        keys.append(k)
        shape_parts.append((ld.key, k.key))
    shape = (postgres, tuple(shape_parts))
    hit = _CACHE.get(shape)
    if hit is not None and all(ld.params is None or q is ld.query for ld, q in zip(loaders, hit[3], strict=True)):
        stmt, sources, decoders, _held = hit
        params = {}
        for name, i, j in sources:
            params[name] = loaders[i].params[j] if j.__class__ is str else keys[i].bindparams[j].effective_value
        return stmt, params, decoders
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
            _CACHE[shape] = (stmt, sources, decoders, tuple(ld.query for ld in loaders))
    return stmt, _declared_params(loaders), decoders


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
    key = mapper.identity_key_from_primary_key([values[attr] for attr in _pk_attrs(mapper)])
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


def _pk_attrs(mapper) -> tuple:
    attrs = _PK_ATTRS.get(mapper)
    if attrs is None:
        attrs = _PK_ATTRS[mapper] = tuple(mapper.get_property_by_column(c).key for c in mapper.primary_key)
    return attrs


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
    dicts)."""
    session = db.session()
    loaded = Loaded()
    for ld, raw, (entity, attrs, columns) in zip(loaders, raws, decoders, strict=True):
        items = json.loads(raw) if isinstance(raw, str) else (raw or [])
        if entity is None:
            named = [(key, key, conv) for key, conv in columns]
            loaded[ld.key] = [_decoded(item, named) for item in items]
            continue
        loaded[ld.key] = [persistent(session, entity, _decoded(item, attrs)) for item in items]
    return loaded


def run(loaders: Sequence[PageLoader]) -> Loaded:
    """Run every loader in one statement; ``Loaded`` holds each key's rows
    (an empty list where none matched). Keys must be distinct."""
    loaded = Loaded()
    if not loaders:
        return loaded
    keys = [ld.key for ld in loaders]
    if len(set(keys)) != len(keys):
        raise ValueError(f"page loaders share a key: {sorted(keys)}")
    postgres = db.session.get_bind().dialect.name == "postgresql"
    stmt, params, decoders = _statement(loaders, postgres)
    session = db.session()
    if session.autoflush:
        session.flush()  # as session.execute would (a no-op when nothing is pending)
    row = session.connection().execute(stmt, params).one()
    return decode(loaders, row, decoders)
