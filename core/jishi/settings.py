"""Platform settings stored in the database, with defaults from the panels.

``get("theme.active")`` reads the ``settings`` table once per request (cached
on ``flask.g``) and falls back to the default declared by the setting's
panel (``settings_panels`` hook), then to the app config.

Public API for plugins: :func:`get`, :func:`set_many`, and the ``Setting``
model (``key``, JSON ``value``) for a query that reads a stored setting in
the same statement as other rows; write settings with :func:`set_many` only.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, g, has_request_context

from jishi.db import db
from jishi.models import Setting

__all__ = ["Setting", "get", "set_many"]


def _defaults() -> dict[str, Any]:
    ext = current_app.extensions["jishi"]
    if ext.setting_defaults is None:
        defaults = {}
        for panel in ext.settings_panels():
            for f in panel.fields:
                defaults[f.key] = f.default
        ext.setting_defaults = defaults
    return ext.setting_defaults


_READ = db.select(Setting.key, Setting.value)  # built once: no building or keying per request


def _stored() -> dict[str, Any]:
    in_request = has_request_context()
    if in_request:
        stored = g.get("jishi_settings")
        if stored is not None:
            return stored
    rows = db.session.execute(_READ).all()
    stored = dict(rows)
    if in_request:
        g.jishi_settings = stored
    return stored


def get(key: str, default: Any = None) -> Any:
    stored = _stored()
    if key in stored:
        return stored[key]
    defaults = _defaults()
    if key in defaults and defaults[key] is not None:
        return defaults[key]
    return current_app.config.get("SETTING_" + key.replace(".", "_").upper(), default)


def set_many(values: dict[str, Any]) -> None:
    """Upsert settings in the current transaction (caller commits)."""
    for key, value in values.items():
        row = db.session.get(Setting, key)
        if row is None:
            db.session.add(Setting(key=key, value=value))
        else:
            row.value = value
    if has_request_context():
        g.pop("jishi_settings", None)
