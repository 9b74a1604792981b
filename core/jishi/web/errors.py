"""Errors answered as pages on the web and as JSON on the API.

Flask-smorest registers one app-wide handler for every HTTP error, which
answers JSON; the kernel replaces it with :func:`http_error`: API requests
(:func:`is_api_request`) keep the JSON answer (:meth:`jishi.api.common.JishiApi.handle_http_exception`),
every other request gets ``error.html`` in the user's language, with the
status preserved and a way back (the previous page, the storefront, and on a
console page that console's home).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, render_template, request
from werkzeug.exceptions import HTTPException, default_exceptions

from jishi.i18n import gettext as _


def is_api_request() -> bool:
    """An API request: routed to an API blueprint (``api_blueprints`` hook,
    wherever it is mounted), or under ``/api/`` (also a path no route
    matched)."""
    from jishi.extensions import is_api_request as routed_to_api

    return request.path == "/api" or request.path.startswith("/api/") or routed_to_api()


def _titles() -> dict[int, str]:
    return {
        400: _("The request could not be understood"),
        401: _("Sign in first"),
        403: _("You may not open this page"),
        404: _("Page not found"),
        405: _("This page does not accept that action"),
        409: _("This cannot be done in the current state"),
        413: _("What you sent is too large"),
        422: _("Some input is not valid"),
        429: _("Too many requests"),
    }


def _default_message(status: int) -> str:
    if status == 403:
        return _("Your account has no access to this page.")
    if status == 404:
        return _("What you are looking for does not exist or is no longer available.")
    if status == 429:
        return _("Wait a moment and try again.")
    if status >= 500:
        return _("Something went wrong on our side. Try again later.")
    return _("Go back and try again.")


def console_of_request() -> str | None:
    """The console a page belongs to, or None for storefront pages.

    ``/console/...`` is the platform console; ``/seller/...`` pages (seller
    pages of plugins) belong to the signed-in user's seller scope's console;
    a plugin's console named ``X`` lives under ``/X/`` (the multistore
    merchant console under ``/merchant/``)."""
    from jishi.sellers import current_scope

    first = request.path.strip("/").split("/", 1)[0]
    if first == "console":
        return "platform"
    try:
        scope = current_scope("console")
    except Exception:  # an error page (a 500 with the database down) must still render
        return None
    if scope is None:
        return None
    if first == "seller" or first == scope.console:
        return scope.console
    return None


def console_home(console: str | None) -> str | None:
    """The first page of ``console``'s menu the user may open (its dashboard)."""
    if console is None:
        return None
    from flask import url_for

    from jishi.web_helpers import console_menu

    try:
        items = console_menu(console)
    except Exception:  # as above: the page without this link
        return None
    return url_for(items[0].endpoint) if items else None


def _back_url() -> str | None:
    ref = request.referrer
    if not ref or not ref.startswith(request.host_url):
        return None
    parts = urlsplit(ref)
    here = urlsplit(request.url)
    if parts.path == here.path and parts.query == here.query:
        return None
    return ref


def error_page(status: int, message: str | None = None):
    """``error.html`` for ``status`` (kept as the response's status)."""
    title = _titles().get(status) or (_("Something went wrong") if status >= 500 else _("This request cannot be done"))
    console = console_of_request()
    body = render_template(
        "error.html",
        title=title,
        message=message or _default_message(status),
        status=status,
        back_url=_back_url(),
        console_home=console_home(console),
    )
    return body, status


def own_message(exc: HTTPException) -> str | None:
    """A message a view gave the error (``abort(404, "...")``), not
    werkzeug's English default, nor flask-limiter's limit ("5 per 1
    minute")."""
    from flask_limiter import RateLimitExceeded

    if isinstance(exc, RateLimitExceeded):
        return None
    default = default_exceptions.get(exc.code or 500)
    if exc.description and (default is None or exc.description != default.description):
        return str(exc.description)
    return None


def http_error(exc: HTTPException):
    """The app-wide handler of HTTP errors (aborts and unhandled exceptions)."""
    from jishi.api.common import KEPT_ERROR_HEADERS

    api = current_app.extensions["jishi"].api
    if is_api_request() or getattr(exc, "jishi", None):  # fail(...) is the API's structured error
        return api.handle_http_exception(exc)
    status = exc.code or 500
    if status >= 500:
        from jishi.db import rollback

        rollback()
    response = exc.get_response()
    page, status = error_page(status, None if status >= 500 else own_message(exc))
    headers = {k: v for k, v in response.headers.items() if k in KEPT_ERROR_HEADERS}
    return page, status, headers


def database_unavailable(exc: Exception):
    """The database could not answer (a connection dropped mid-request by a
    failover or a restart, a statement timeout, SQLite busy): the
    transaction is rolled back and the client told 503 with ``Retry-After``
    — a page on the web, JSON on the API — so it retries (with its
    Idempotency-Key, a placement is still made at most once)."""
    from werkzeug.exceptions import HTTPException, ServiceUnavailable

    from jishi.db import db, retry_read_after_unverified_drop
    from jishi.errors import DomainError

    if retry_read_after_unverified_drop(exc):
        # A read whose connection the database had dropped an instant
        # before the pool looked at it: served again from its before-request
        # functions (the failure may have been in one), on a new connection
        # (jishi.db.check_liveness_at_checkout). Its answer, or its HTTP or
        # domain error; anything else it raises answers this 503.
        current_app.logger.info("database connection dropped before the request: serving it again")
        try:
            rv = current_app.preprocess_request()
            return current_app.dispatch_request() if rv is None else rv
        except (HTTPException, DomainError) as again:
            return current_app.handle_user_exception(again)
        except Exception as again:  # the 503 below, never a 500
            exc = again
    try:
        db.session.rollback()
    except Exception:  # the connection is gone: the pool replaces it
        db.session.remove()
    current_app.logger.warning("database unavailable: %s", str(exc).splitlines()[0][:200] if str(exc) else exc)
    error = ServiceUnavailable(_("The database is unavailable for a moment. Try again."))
    error.retry_after = 2
    response = current_app.make_response(http_error(error))
    response.headers["Retry-After"] = "2"
    return response
