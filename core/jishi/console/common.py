"""The platform console's blueprint and access rules (K15).

Every page needs a platform role: anonymous visitors go to the login page,
buyers get 403. Pages marked :func:`admin_only` need the platform admin role.
"""

from __future__ import annotations

import functools

from flask import Blueprint, abort
from flask_login import current_user

from jishi.extensions import login_manager

bp = Blueprint("console", __name__, url_prefix="/console")


@bp.before_request
def _platform_only():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not getattr(current_user, "is_platform", False):
        abort(403)
    return None


def admin_only(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_platform_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def developer_page(view):
    """A page for developers: 404 unless ``JISHI_DEVELOPER_PAGES`` is on."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        from flask import current_app

        if not current_app.config.get("JISHI_DEVELOPER_PAGES"):
            abort(404)
        return view(*args, **kwargs)

    return wrapper
