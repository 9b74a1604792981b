"""What the storefront's view modules share: the blueprint, small form
parsing helpers and the visit recorder."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import contextmanager
from urllib.parse import urlsplit

from flask import Blueprint, flash, request
from flask_wtf.csrf import CSRFError

from jishi.errors import DomainError
from jishi.flaskctx import current_app_object
from jishi.i18n import gettext as _
from jishi.money import MoneyError, parse_yuan

bp = Blueprint("shop", __name__)


def error_text(exc: Exception) -> str:
    """What to show for an error: a DomainError's message (every problem of
    a CheckoutError, which lists several), else the exception text."""
    if isinstance(exc, DomainError) and not exc.errors:
        return exc.message
    return str(exc)


def flash_error(exc: Exception) -> None:
    flash(error_text(exc), "error")


@contextmanager
def form_outcome(success: str | Callable[[], str] | None = None):
    """Run a form's action in the block: a :class:`DomainError` rolls back
    and is flashed as an error; otherwise the work is committed and
    ``success`` (default "Saved."; a callable when it depends on the result)
    is flashed. Other exceptions (``abort(404)``) pass through."""
    from jishi.db import db

    try:
        yield
    except DomainError as exc:
        db.session.rollback()
        flash_error(exc)
    else:
        db.session.commit()
        message = success() if callable(success) else success
        flash(message or _("Saved."), "success")


_WHOLE = re.compile(r"-?[0-9]{1,20}")
#: the largest whole number a form field gives (the database's integer):
#: a larger one is no id, count or sort key, as "abc" is not (it was a 500:
#: SQLite cannot bind it, PostgreSQL's integer columns refuse it)
FORM_INT_MAX = 2**31 - 1


def form_int(name: str, default: int | None = None, *, source=None, minimum: int | None = None) -> int | None:
    """An integer form / query field; ``default`` when empty, not a whole
    number, or beyond ±:data:`FORM_INT_MAX`."""
    raw = (source if source is not None else request.values).get(name, "")
    raw = str(raw).strip()
    if not _WHOLE.fullmatch(raw):  # ("--5", "²" and 4,301 digits made int() raise: a 500)
        return default
    value = int(raw)
    if not -FORM_INT_MAX <= value <= FORM_INT_MAX:
        return default
    if minimum is not None and value < minimum:
        return default
    return value


def form_money(name: str, *, source=None, required: bool = False) -> int | None:
    """A yuan amount typed in a form ("12.34") as integer fen; None when empty.

    Raises :class:`MoneyError` for garbage, negatives or more than two decimals.
    """
    raw = str((source if source is not None else request.values).get(name, "")).strip()
    if not raw:
        if required:
            raise MoneyError(_("An amount is required."))
        return None
    return parse_yuan(raw)


def query_money(name: str) -> int | None:
    """A yuan filter in the query string; bad input is ignored with a notice."""
    try:
        return form_money(name, source=request.args)
    except MoneyError:
        flash(_("Prices are amounts in yuan such as 12.50."), "error")
        return None


def safe_next(default: str) -> str:
    """A local ``next`` target only (no open redirects)."""
    target = request.values.get("next", "")
    parts = urlsplit(target)
    if target and not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
        return target
    return default


def record_visit(kind: str, ref_id: int = 0, seller_id: int | None = None) -> None:
    """Count a storefront page view for the reports (K16, issue 19): one
    "site" visit (the funnel's first step), the page's own kind for pages
    about one thing (a product, a category) and, with ``seller_id``, the
    seller's shop. Buffered after the response (:mod:`jishi.reports.tracking`):
    nothing is written in the request's transaction."""
    from jishi.reports import tracking

    tracking.track(kind, ref_id, seller_id)


@bp.app_context_processor
def _template_context():
    """``current_locale()`` and the enabled locales, for every template:
    the same two values every render of the app (made once per app, not
    a new function and dict per ``render_template``: a page's own and each
    plugin box rendered with ``render_template``)."""
    app = current_app_object()
    kept = app.extensions.get("jishi.template_context")
    locales = app.config["JISHI_LOCALES"]
    if kept is None or kept["jishi_locales"] is not locales:
        kept = app.extensions["jishi.template_context"] = {
            "current_locale": _current_locale_for(app),
            "jishi_locales": locales,
        }
    return kept


def _current_locale_for(app):
    """The app's ``current_locale()``: the request's locale code."""
    from flask.globals import _cv_app
    from flask_babel import get_locale

    # (locale object, its code): str() of a babel Locale is not free; asked 3+ times a page.
    # One tuple, read and replaced whole (threads share it).
    last: list = [(None, "")]

    def current_locale() -> str:
        # flask_babel keeps the request's choice on g._flask_babel: read it
        # there (get_locale() walks three proxies to find it; a page asks
        # 4+ times: <html lang>, each kept fragment's key), else choose.
        app_ctx = _cv_app.get(None)
        kept = getattr(app_ctx.g, "_flask_babel", None) if app_ctx is not None else None
        locale = getattr(kept, "babel_locale", None)
        if locale is None:
            locale = get_locale()
        memo = last[0]
        if locale is None or locale is not memo[0]:
            memo = last[0] = (locale, str(locale or app.config["BABEL_DEFAULT_LOCALE"]))
        return memo[1]

    return current_locale


@bp.app_template_filter("rich_text")
def _rich_text(value):
    from jishi.web.richtext import rich_text

    return rich_text(value)


@bp.app_errorhandler(CSRFError)
def _csrf_error(exc):
    """A form posted without a valid CSRF token (often an expired page)."""
    from flask import render_template

    return render_template(
        "error.html", title=_("This form has expired"), message=_("Go back, reload the page and try again.")
    ), 400
