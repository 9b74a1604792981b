"""Who may reach a plugin's pages, and how often.

Public API for plugins (see docs/writing-plugins.md):

- :func:`login_redirect`: the answer to a signed-out visitor of a page (the
  login page, back here after signing in), as ``seller_page`` answers; for a
  blueprint's own ``before_request`` guard (a platform console, say)
- :func:`rate_limit`: a rate limit shared by the views it decorates (a page
  and its API endpoint count the same attempts)
- :func:`requires`: the permission a platform console page asks for
  (:func:`guard_platform` checks it for every view of a blueprint, and a
  view that declares none is for platform admins only)
- :func:`platform_api`: the same for a platform JSON API endpoint
- :func:`platform_can`: whether the signed-in user holds a permission in
  the platform console (what menus and buttons ask)

    from jishi.access import login_redirect, rate_limit

    @admin.before_request
    def _platform_only():
        if not current_user.is_authenticated:
            return login_redirect()
        if not current_user.is_platform:
            abort(403)

    verify_limit = rate_limit("10/minute", scope="myplugin-verify", methods=["POST"])

    admin = Blueprint("gifts_admin", __name__, url_prefix="/console/gifts")
    guard_platform(admin)

    @admin.get("/")
    @requires("marketing")
    def gifts(): ...

    @api.post("/admin/gifts")
    @platform_api("marketing")
    def create_gift(): ...

    @bp.post("/seller/myplugin/verify")
    @verify_limit
    def verify(): ...
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import abort, current_app, request
from flask_login import current_user

from jishi.extensions import limiter, login_manager

__all__ = ["ADMIN_ONLY", "guard_platform", "login_redirect", "platform_api", "platform_can", "rate_limit", "requires"]

#: The permission word of pages only platform admins may open (users,
#: roles, developer pages): no role can hold it.
ADMIN_ONLY = "platform_admin"
#: What a view's declared permission is stored as (``None``: any platform staff).
PERMISSION_ATTR = "jishi_permission"


def requires(permission: str | None) -> Callable:
    """Declare the permission a platform console view asks for: a
    :class:`~jishi.hookspecs.Permission` code (``"orders"``),
    :data:`ADMIN_ONLY`, or ``None`` (every platform staff member: the
    dashboard). Checked by :func:`guard_platform` before the view runs."""

    def mark(view):
        setattr(view, PERMISSION_ATTR, permission)
        return view

    return mark


def platform_can(permission: str | None, user: Any = None) -> bool:
    """Whether ``user`` (default: the signed-in user) holds ``permission``
    in the platform console (:func:`jishi.roles.platform_permissions`)."""
    from jishi.roles import platform_permissions

    user = current_user if user is None else user
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_platform", False):
        return False
    if permission is None:
        return True
    if permission == ADMIN_ONLY:
        return bool(user.is_platform_admin)
    return permission in platform_permissions(user)


def view_permission(endpoint: str | None) -> tuple[bool, str | None]:
    """(declared?, permission) of the view behind ``endpoint``."""
    view = current_app.view_functions.get(endpoint or "")
    if view is None or not hasattr(view, PERMISSION_ATTR):
        return False, None
    return True, getattr(view, PERMISSION_ATTR)


def guard_platform(bp) -> None:
    """Make every view of ``bp`` a platform console page: signed-out
    visitors go to the login page; anyone without the view's permission
    (:func:`requires`) gets 403; a view that declares none is for platform
    admins only (a forgotten declaration locks the page, never opens it)."""

    @bp.before_request
    def _platform_permission():
        if not current_user.is_authenticated:
            return login_redirect()
        declared, permission = view_permission(request.endpoint)
        if not platform_can(permission if declared else ADMIN_ONLY):
            abort(403)
        return None


def platform_api(permission: str | None) -> Callable:
    """Decorator for a platform JSON API endpoint: 401 signed out, 403
    without ``permission`` (a code, :data:`ADMIN_ONLY`, or ``None`` for any
    platform staff), as JSON."""

    def decorate(view):
        from jishi.api.common import documents_errors

        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            from jishi.api.common import fail
            from jishi.i18n import gettext as _

            if not current_user.is_authenticated:
                fail(401, "unauthorized", _("Sign in first."))
            if not getattr(current_user, "is_platform", False):
                fail(403, "forbidden", _("Platform staff only."))
            if not platform_can(permission):
                fail(403, "forbidden", _("Your role does not allow that."))
            return view(*args, **kwargs)

        setattr(wrapper, PERMISSION_ATTR, permission)
        return documents_errors(wrapper, 401, 403)

    return decorate


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
