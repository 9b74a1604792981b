"""Who is acting for which merchant (MS17).

The merchant of every merchant-scoped read and write comes from the signed-in
principal, never from the request:

- a member (admin or clerk) of an approved, not deleted merchant acts for it;
- a platform user who opened a merchant's console from the platform console
  (``session["multistore_view"]``) sees it read-only (MS4): every write is 403.

A merchant admin holds every seller permission (``jishi.roles.declared``);
a clerk holds its role's (a ``StaffRole`` of the merchant, made by the
admin), or :data:`CLERK_PERMISSIONS` without one. Only the admin manages
staff and roles (:data:`MERCHANT_ADMIN`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from flask import abort, g, request, session
from flask_login import current_user
from jishi.db import db
from sqlalchemy import select

from jishi_multistore.models import REVIEW_APPROVED, ROLE_ADMIN, Merchant, MerchantMember

# What a permission covers:
#   orders    list, ship, change status, packing slips, export orders
#   aftersales  the merchant's after-sales requests: approve, reject, goods received back
#   comments  see, reply to and delete the merchant's product reviews
#   products  add and edit products, choose listing
#   money     ledger, withdrawals, withdrawal account
#   settings  shop profile, return and delivery settings, staff
#   data      the merchant data page
#   aftersales  the after-sales (refund and return) requests of its orders
#   (and what the kernel and other plugins declare: marketing...)
PERMISSIONS = ("orders", "aftersales", "comments", "products", "money", "settings", "data")
#: What a clerk without a role may do (``member_permissions``).
CLERK_PERMISSIONS = frozenset({"orders", "aftersales", "comments"})
#: The word of pages only the merchant's admin may open (staff and roles):
#: no role holds it, so no clerk can hand out rights.
MERCHANT_ADMIN = "merchant_admin"
SESSION_VIEW_KEY = "multistore_view"


@dataclass(frozen=True)
class MerchantPrincipal:
    merchant: Merchant
    role: str  # "admin", "clerk" or "platform" (read-only view)
    user: object
    permissions: frozenset = frozenset()

    @property
    def read_only(self) -> bool:
        return self.role == "platform"

    def can(self, permission: str) -> bool:
        if self.role in ("platform", ROLE_ADMIN):
            return True  # the platform's view reads only: writes are refused before this is asked
        return permission in self.permissions


def all_permissions() -> tuple[str, ...]:
    """Every seller permission word, in order: this plugin's and those the
    kernel and other plugins declare (``permissions`` hook)."""
    from jishi.roles import declared

    return tuple(dict.fromkeys([*PERMISSIONS, *(p.code for p in declared("seller"))]))


def member_permissions(member: MerchantMember) -> frozenset:
    """What ``member`` may do: every seller permission for the admin; the
    clerk's role (of this merchant), else :data:`CLERK_PERMISSIONS`."""
    from jishi.roles import get_role

    if member.role == ROLE_ADMIN:
        return frozenset(all_permissions())
    if member.role_id is not None:
        role = get_role(member.role_id, member.merchant_id)
        return frozenset(role.permissions or ()) if role is not None else frozenset()
    return CLERK_PERMISSIONS


def membership(user) -> MerchantMember | None:
    """The user's membership of an approved, live merchant (or None)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return db.session.execute(
        select(MerchantMember)
        .join(MerchantMember.merchant)
        .where(
            MerchantMember.user_id == user.id,
            Merchant.review_status == REVIEW_APPROVED,
            Merchant.deleted_at.is_(None),
        )
    ).scalar_one_or_none()


def current_principal(*, allow_platform_view: bool = True) -> MerchantPrincipal | None:
    """The merchant principal of this request (cached on ``g`` per user and
    mode: tests share one app context between requests)."""
    key = (
        getattr(current_user, "id", None),
        getattr(current_user, "session_token", None),
        session.get(SESSION_VIEW_KEY),
        allow_platform_view,
    )
    cached = g.get("multistore_principal")
    if cached is not None and cached[0] == key:
        return cached[1]
    principal = None
    if current_user.is_authenticated:
        member = membership(current_user)
        if member is not None:
            principal = MerchantPrincipal(member.merchant, member.role, current_user, member_permissions(member))
        elif allow_platform_view and getattr(current_user, "is_platform", False):
            viewing = session.get(SESSION_VIEW_KEY)
            merchant = db.session.get(Merchant, viewing) if isinstance(viewing, int) else None
            if merchant is not None and merchant.deleted_at is None:
                principal = MerchantPrincipal(merchant, "platform", current_user, frozenset(all_permissions()))
    g.multistore_principal = (key, principal)
    return principal


def merchant_page(permission: str | None = None):
    """Decorator for merchant console pages: login, membership, permission;
    a platform read-only view may only GET."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            from jishi.access import login_redirect

            if not current_user.is_authenticated:
                return login_redirect()
            principal = current_principal()
            if principal is None:
                abort(403)
            if principal.read_only and request.method not in ("GET", "HEAD"):
                abort(403)
            if permission and not principal.can(permission):
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorate


def merchant_api(permission: str | None = None):
    """Decorator for ``/api/v1/merchant/...``: 401 signed out, 403 not a
    member (or lacking ``permission``). The platform's read-only view is a
    console feature: the API answers members only."""

    def decorate(view):
        from jishi.api.common import documents_errors

        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            from jishi.api.common import fail
            from jishi.i18n import gettext as _

            if not current_user.is_authenticated:
                fail(401, "unauthorized", _("Sign in first."))
            principal = current_principal(allow_platform_view=False)
            if principal is None:
                fail(403, "forbidden", _("Merchant staff only."))
            if permission and not principal.can(permission):
                fail(403, "forbidden", _("Your role in this shop does not allow that."))
            return view(*args, **kwargs)

        return documents_errors(wrapper, 401, 403)

    return decorate


def merchant() -> Merchant:
    """The acting merchant (call only behind ``merchant_page``/``merchant_api``)."""
    principal = current_principal()
    assert principal is not None
    return principal.merchant
