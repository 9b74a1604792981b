"""Many small reads in ONE statement: :class:`~jishi.hookspecs.PageLoader`s.

A page that needs rows from several tables (the kernel's images, parameters,
specs and tags of a product, each plugin's activity or coupons) would
otherwise read each with a statement of its own. :func:`run` makes them one
``SELECT (rows of loader 1), (rows of loader 2), ...``: each loader's query
becomes a subquery whose rows are aggregated into a JSON array
(``json_agg(json_build_object(...))`` on PostgreSQL,
``json_group_array(json_object(...))`` on SQLite), and the arrays are turned
back into rows by the columns' types: model instances (merged into the
session as clean persistent objects, as :func:`jishi.catalog.service.
_load_small_lists` does) or dicts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, Integer, func, literal_column, select
from sqlalchemy.orm import make_transient_to_detached

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


def _decode(value, type_):
    if value is None:
        return None
    if isinstance(type_, DateTime):
        return datetime.fromisoformat(value) if isinstance(value, str) else value
    if isinstance(type_, Date):
        return date.fromisoformat(value[:10]) if isinstance(value, str) else value
    if isinstance(type_, Boolean):
        return bool(value)
    if isinstance(type_, JSON):
        return json.loads(value) if isinstance(value, str) else value
    if isinstance(type_, Integer):
        return int(value)
    return value


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


#: loaders' shape (their keys and their queries' cache keys) -> (statement,
#: its bound parameters in order, per loader: (entity, attrs, columns))
_CACHE: dict[tuple, tuple] = {}
_CACHE_SIZE = 256


def _decoder(query) -> tuple:
    """How to turn a loader's JSON rows back into rows: ``(entity, attrs,
    columns)``."""
    entity = _entity(query)
    if entity is None:
        return None, None, [(c.key, c.type) for c in query.subquery().c]
    mapper = entity.__mapper__
    return (
        entity,
        [(mapper.get_property_by_column(c).key, c.key, c.type) for c in mapper.columns if c.table is not None],
        None,
    )


def _build(loaders: Sequence[PageLoader], postgres: bool):
    columns = [_rows_column(ld.query, postgres, f"l{i}") for i, ld in enumerate(loaders)]
    return select(*columns)


def _statement(loaders: Sequence[PageLoader], postgres: bool) -> tuple:
    """``(statement, params, decoders)`` for ``loaders``. The statement is
    built once per shape (the loaders' keys and their queries' SQL, told by
    SQLAlchemy's cache keys) and reused with this call's bound values: a
    page then pays each query's cache key, not the building and keying of
    the whole statement (the largest part of the product page's Python
    time). ``params`` is None when the statement is new (built for this
    call, its values in it)."""
    keys = [ld.query._generate_cache_key() for ld in loaders]
    if any(k is None for k in keys):  # a query SQLAlchemy cannot key: built every time
        return _build(loaders, postgres), None, [_decoder(ld.query) for ld in loaders]
    shape = (postgres, tuple((ld.key, k.key) for ld, k in zip(loaders, keys)))
    hit = _CACHE.get(shape)
    if hit is None:
        stmt = _build(loaders, postgres)
        decoders = [_decoder(ld.query) for ld in loaders]
        # Where each of the statement's parameters comes from: (loader, its
        # n-th parameter), the same objects the loaders' keys hold.
        where = {id(bp): (i, j) for i, k in enumerate(keys) for j, bp in enumerate(k.bindparams)}
        own = stmt._generate_cache_key()
        if own is not None and len(own.bindparams) == len(where) and all(id(bp) in where for bp in own.bindparams):
            if len(_CACHE) >= _CACHE_SIZE:
                _CACHE.clear()
            _CACHE[shape] = (stmt, [(bp.key, *where[id(bp)]) for bp in own.bindparams], decoders)
        return stmt, None, decoders
    stmt, sources, decoders = hit
    return stmt, {name: keys[i].bindparams[j].effective_value for name, i, j in sources}, decoders


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
    if params is None:
        row = db.session.execute(stmt).one()
    else:
        row = db.session.connection().execute(stmt, params).one()
    for ld, raw, (entity, attrs, columns) in zip(loaders, row, decoders, strict=True):
        items = json.loads(raw) if isinstance(raw, str) else (raw or [])
        if entity is None:
            loaded[ld.key] = [{key: _decode(item.get(key), type_) for key, type_ in columns} for item in items]
            continue
        out = []
        for item in items:
            obj = entity(**{attr: _decode(item.get(key), type_) for attr, key, type_ in attrs})
            make_transient_to_detached(obj)
            out.append(db.session.merge(obj, load=False))
        loaded[ld.key] = out
    return loaded
