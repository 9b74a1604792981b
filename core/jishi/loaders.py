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
    columns = [_rows_column(ld.query, postgres, f"l{i}") for i, ld in enumerate(loaders)]
    row = db.session.execute(select(*columns)).one()
    for ld, raw in zip(loaders, row, strict=True):
        items = json.loads(raw) if isinstance(raw, str) else (raw or [])
        entity = _entity(ld.query)
        sub_columns = list(ld.query.subquery().c)
        if entity is None:
            loaded[ld.key] = [{c.key: _decode(item.get(c.key), c.type) for c in sub_columns} for item in items]
            continue
        mapper = entity.__mapper__
        attrs = [(mapper.get_property_by_column(c).key, c) for c in mapper.columns if c.table is not None]
        out = []
        for item in items:
            obj = entity(**{key: _decode(item.get(c.key), c.type) for key, c in attrs})
            make_transient_to_detached(obj)
            out.append(db.session.merge(obj, load=False))
        loaded[ld.key] = out
    return loaded
