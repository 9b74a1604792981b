"""The current Flask app read without werkzeug's ``current_app`` proxy.

An attribute read through a ``LocalProxy`` first fails on the proxy itself
(Python formats an ``AttributeError`` and throws it away) before the proxy
looks the object up: on a hot path that is measurable (issue 20: about 200
such errors a checkout placement before these reads went direct). Flask
keeps the app context in the context variable ``flask.globals._cv_app``;
this module is the kernel's one helper that answers the app from it (the
hot sites that read the context's ``g`` read the variable themselves).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import current_app
from flask.globals import _cv_app

if TYPE_CHECKING:
    from flask import Flask

__all__ = ["current_app_object", "jishi_hook"]


def current_app_object() -> Flask:
    """The app of the current app context (as ``current_app`` would give
    it); outside one, the ``RuntimeError`` ``current_app`` raises."""
    ctx = _cv_app.get(None)
    if ctx is not None:
        return ctx.app
    return current_app._get_current_object()  # type: ignore[attr-defined]  # raises: no app context


def jishi_hook() -> Any:
    """The current app's plugin hooks (``current_app.extensions["jishi"].hook``)."""
    return current_app_object().extensions["jishi"].hook
