"""The app's JSON provider: Flask's own, answering ``jsonify`` (and every
dict or list a view returns, and every flask-smorest response) with the same
bytes in fewer steps (issue 20: the fixed work of every API request).

Flask's :meth:`~flask.json.provider.DefaultJSONProvider.response` calls
``json.dumps`` with its settings, which builds a new ``json.JSONEncoder``
each time, then appends a newline to the text and lets the response encode
it to UTF-8. Here the encoder for the provider's current settings
(``default``, ``ensure_ascii``, ``sort_keys``, compact separators) is built
once and kept until a setting changes, and the body is handed over as
bytes: ``encoder.encode(obj).encode() + b"\\n"``, byte for byte what
``f"{json.dumps(obj, ...)}\\n"`` becomes. Indented output (``compact``
false, or debug mode) is Flask's path, unchanged.
"""

from __future__ import annotations

import json
import typing as t

from flask.json.provider import DefaultJSONProvider

_COMPACT = (",", ":")


class JishiJSONProvider(DefaultJSONProvider):
    def response(self, *args: t.Any, **kwargs: t.Any):
        if (self.compact is None and self._app.debug) or self.compact is False:
            return super().response(*args, **kwargs)
        obj = self._prepare_response_obj(args, kwargs)
        body = self._compact_encoder().encode(obj).encode() + b"\n"
        return self._app.response_class(body, mimetype=self.mimetype)

    def _compact_encoder(self) -> json.JSONEncoder:
        """The ``json.JSONEncoder`` that ``json.dumps(obj, separators=(",", ":"))``
        builds through :meth:`dumps` with the current settings, kept."""
        settings = (self.default, self.ensure_ascii, self.sort_keys)
        kept = self.__dict__.get("_jishi_encoder")
        if kept is None or kept[0] != settings:
            encoder = json.JSONEncoder(
                default=settings[0], ensure_ascii=settings[1], sort_keys=settings[2], separators=_COMPACT
            )
            kept = self._jishi_encoder = (settings, encoder)
        return kept[1]
