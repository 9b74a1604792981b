"""The platform console's blueprint and access rules (K15).

Every page asks for a permission (:func:`jishi.access.requires`): anonymous
visitors go to the login page, anyone without it gets 403, a page that
declares none is for platform admins only. :func:`admin_only` marks pages
no role can open (users, roles, developer pages).
"""

from __future__ import annotations

from flask import Blueprint

from jishi.access import ADMIN_ONLY, guard_platform, requires

bp = Blueprint("console", __name__, url_prefix="/console")
guard_platform(bp)

#: Platform admins only.
admin_only = requires(ADMIN_ONLY)

__all__ = ["admin_only", "bp", "requires"]
