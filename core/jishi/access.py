"""Who may reach a plugin's pages, and how often.

Public API for plugins (see docs/writing-plugins.md):

- :func:`login_redirect`: the answer to a signed-out visitor of a page (the
  login page, back here after signing in), as ``seller_page`` answers; for a
  blueprint's own ``before_request`` guard (a platform console, say)
- :func:`rate_limit`: a rate limit shared by the views it decorates (a page
  and its API endpoint count the same attempts)

    from jishi.access import login_redirect, rate_limit

    @admin.before_request
    def _platform_only():
        if not current_user.is_authenticated:
            return login_redirect()
        if not current_user.is_platform:
            abort(403)

    verify_limit = rate_limit("10/minute", scope="myplugin-verify", methods=["POST"])

    @bp.post("/seller/myplugin/verify")
    @verify_limit
    def verify(): ...
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jishi.extensions import limiter, login_manager

__all__ = ["login_redirect", "rate_limit"]


def login_redirect() -> Any:
    """The response for a signed-out visitor: a redirect to the login page
    (Flask-Login's ``unauthorized``)."""
    return login_manager.unauthorized()


def rate_limit(
    limit: str | Callable[[], str],
    *,
    scope: str,
    key_func: Callable[[], str] | None = None,
    methods: list[str] | None = None,
) -> Any:
    """A decorator limiting the views it decorates together (Flask-Limiter's
    ``shared_limit``): ``limit`` such as ``"10/minute"`` (or a function
    answering it, read per request: a config value), counted per ``scope``
    and per ``key_func()`` (default: the client's address), for ``methods``
    only (default: every method). Over the limit the request answers 429."""
    return limiter.shared_limit(limit, scope=scope, key_func=key_func, methods=methods)
