"""Seller-scoped pages and API for plugins (pickup points, delivery
templates, shipping...), with or without multistore.

The seller always comes from the signed-in principal through the
``seller_scope`` hook, never from the request: a single-store shop's
platform staff act for the shop itself (``seller_id`` None); multistore
answers with the merchant the user belongs to.

    from jishi.sellers import current_scope, seller_page, seller_api

    @bp.route("/seller/pickup/points")
    @seller_page("settings")
    def points():
        scope = current_scope()
        rows = PickupPoint.query.filter_by(seller_id=scope.seller_id) ...

Seller pages extend ``seller_scope().layout`` (a template global), which
shows the right console's menu.
"""

from __future__ import annotations

import functools

from flask import abort, current_app, g, request
from flask_login import current_user

from jishi.hookspecs import SellerScope

__all__ = ["SellerScope", "current_scope", "owns", "seller_api", "seller_page"]

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def current_scope(via: str = "console") -> SellerScope | None:
    """The signed-in user's :class:`SellerScope` (None: not a seller's staff).

    Cached on ``g`` per user and ``via``."""
    if not current_user.is_authenticated:
        return None
    key = (current_user.id, getattr(current_user, "session_token", None), via)
    cache = g.setdefault("jishi_seller_scope", {})
    if key not in cache:
        hook = current_app.extensions["jishi"].hook
        cache.clear()
        cache[key] = hook.seller_scope(user=current_user._get_current_object(), via=via)
    return cache[key]


def owns(scope: SellerScope | None, seller_id: int | None) -> bool:
    """Whether ``scope`` acts for the seller of a row (``seller_id``)."""
    return scope is not None and scope.seller_id == seller_id


def seller_page(permission: str | None = None):
    """Decorator for seller console pages: sign-in (redirect to login), a
    scope (else 403), ``permission`` (else 403); a read-only scope may only
    GET."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            from jishi.extensions import login_manager

            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            scope = current_scope("console")
            if scope is None:
                abort(403)
            if scope.read_only and request.method in WRITE_METHODS:
                abort(403)
            if permission and not scope.can(permission):
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorate


def seller_api(permission: str | None = None):
    """Decorator for seller API endpoints: 401 signed out, 403 without a
    scope or ``permission`` (JSON errors); read-only scopes may only GET."""

    def decorate(view):
        from jishi.api.common import documents_errors

        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            from jishi.api.common import fail
            from jishi.i18n import gettext as _

            if not current_user.is_authenticated:
                fail(401, "unauthorized", _("Sign in first."))
            scope = current_scope("api")
            if scope is None:
                fail(403, "forbidden", _("Seller staff only."))
            if scope.read_only and request.method in WRITE_METHODS:
                fail(403, "forbidden", _("This view is read-only."))
            if permission and not scope.can(permission):
                fail(403, "forbidden", _("You may not do this."))
            return view(*args, **kwargs)

        return documents_errors(wrapper, 401, 403)

    return decorate
