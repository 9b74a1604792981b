"""Request bodies of the hot write endpoints loaded without marshmallow's
walk when they are plainly valid (issue 20: webargs + marshmallow were ~7 %
of a checkout preview and ~5 % of a placement).

A schema deriving from :class:`FastLoadSchema` defines ``fast_load(data)``:
``data`` (a dict) checked against exactly the rules of the schema's fields,
answering what ``Schema.load`` answers for it, or None as soon as anything
is not plainly valid (a wrong type, a bound crossed, an unknown key, a
null). Then marshmallow loads it as before, so every 422 (its message, the
field it names) is marshmallow's own. Asserted against ``Schema.load`` in
tests/api/test_fastload.py.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema


class FastLoadSchema(Schema):
    """A schema whose ``load`` tries :meth:`fast_load` first (a single
    object, no ``partial``); the OpenAPI document is the fields'."""

    def load(self, data, *, many=None, partial=None, unknown=None):
        if type(data) is dict and not many and not self.many and partial is None and not self.partial:
            out = self.fast_load(data)
            if out is not None:
                return out
        return super().load(data, many=many, partial=partial, unknown=unknown)

    def fast_load(self, data: dict) -> dict | None:  # pragma: no cover - overridden
        return None


def int_in(value: Any, low: int, high: int | None) -> bool:
    """A strict integer (``StrictInt``: not a bool, not a float) in ``low .. high``."""
    return type(value) is int and value >= low and (high is None or value <= high)


def str_dict(value: Any, max_len: int | None = None) -> dict | None:
    """``fields.Dict(keys=fields.String(), values=fields.String(...))``'s
    load of ``value`` (a new dict), None unless every key and value is a
    string (of at most ``max_len`` characters)."""
    if type(value) is not dict:
        return None
    for k, v in value.items():
        if type(k) is not str or type(v) is not str or (max_len is not None and len(v) > max_len):
            return None
    return dict(value)
