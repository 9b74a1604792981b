"""The platform console's blueprint and access rules (K15).

Every page asks for a permission (:func:`jishi.access.requires`): anonymous
visitors go to the login page, anyone without it gets 403, a page that
declares none is for platform admins only. :func:`admin_only` marks pages
no role can open (users, roles, developer pages).
"""

from __future__ import annotations

import functools

from flask import Blueprint, abort

from jishi.access import ADMIN_ONLY, guard_platform, requires

bp = Blueprint("console", __name__, url_prefix="/console")
guard_platform(bp)

#: Platform admins only.
admin_only = requires(ADMIN_ONLY)

__all__ = ["admin_only", "bp", "developer_page", "requires"]


def developer_page(view):
    """A page for developers: 404 unless ``JISHI_DEVELOPER_PAGES`` is on."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        from flask import current_app

        if not current_app.config.get("JISHI_DEVELOPER_PAGES"):
            abort(404)
        return view(*args, **kwargs)

    return wrapper
