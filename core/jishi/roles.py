"""Staff roles made of named permissions (seed 000 §9 多层级权限, seed 002 §4
权限管理), for the platform's staff and for a seller's staff.

Public API for plugins (see docs/writing-plugins.md §6):

- :func:`declared` — the permissions (``permissions`` hook) that roles of a
  console (``"platform"`` or ``"seller"``) can hold, in order;
- :func:`roles_of` / :func:`get_role` — a seller's (or the platform's,
  ``seller_id`` None) roles;
- :func:`save_role` / :func:`delete_role` — create, rename, change, delete
  (raising :class:`RoleError` naming the field);
- :func:`platform_permissions` — what a platform user may do.

A platform admin holds every platform permission; platform staff hold their
role's (:attr:`User.staff_role_id`), or :data:`DEFAULT_PLATFORM_STAFF` when
they have none. Only admins manage roles: a role can never grant the right
to hand out rights.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import current_app, g
from sqlalchemy import func, select

from jishi.accounts.models import StaffRole, User
from jishi.db import db
from jishi.errors import DomainError
from jishi.hookspecs import Permission
from jishi.i18n import gettext as _
from jishi.i18n import lazy_gettext as _l

__all__ = [
    "DEFAULT_PLATFORM_STAFF",
    "Permission",
    "RoleError",
    "declared",
    "delete_role",
    "get_role",
    "platform_permissions",
    "role_holders",
    "roles_of",
    "save_role",
]

#: What platform staff without a role may do (what the staff role allowed
#: before roles could be configured).
DEFAULT_PLATFORM_STAFF = frozenset({"products", "orders", "aftersales", "comments", "marketing", "data"})

MAX_NAME = 40


def kernel_permissions() -> list[Permission]:
    """The kernel's permissions (its ``permissions`` hook implementation)."""
    return [
        Permission("products", str(_l("Products")), sort=10),
        Permission("orders", str(_l("Orders")), sort=20),
        Permission("aftersales", str(_l("After-sales")), sort=30),
        Permission("comments", str(_l("Reviews")), sort=40),
        Permission("marketing", str(_l("Marketing")), sort=50),
        Permission("money", str(_l("Finance")), sort=60),
        Permission("data", str(_l("Reports")), sort=70),
        Permission("settings", str(_l("Settings")), sort=80),
    ]


class RoleError(DomainError):
    """Bad role input; ``field`` names the offending field."""


def declared(console: str) -> list[Permission]:
    """The permissions a role of ``console`` (``"platform"`` or ``"seller"``)
    may hold, by ``sort``: each code once (its first declaration)."""
    seen: dict[str, Permission] = {}
    for result in current_app.extensions["jishi"].hook.permissions():
        for permission in result or ():
            if console in permission.consoles and permission.code not in seen:
                seen[permission.code] = permission
    return sorted(seen.values(), key=lambda p: (p.sort, p.code))


def roles_of(seller_id: int | None) -> list[StaffRole]:
    """The roles of a seller (``None``: the platform's), by name."""
    where = StaffRole.seller_id.is_(None) if seller_id is None else StaffRole.seller_id == seller_id
    return list(db.session.execute(select(StaffRole).where(where).order_by(StaffRole.name)).scalars())


def get_role(role_id, seller_id: int | None) -> StaffRole | None:
    """Role ``role_id`` if it belongs to ``seller_id`` (None: the platform)."""
    if not isinstance(role_id, int) or isinstance(role_id, bool) or not 0 < role_id < 2**31:
        return None
    role = db.session.get(StaffRole, role_id)
    if role is None or role.seller_id != seller_id:
        return None
    return role


def save_role(seller_id: int | None, name, permissions: Iterable, role: StaffRole | None = None) -> StaffRole:
    """Create (``role`` None) or change a role of ``seller_id``; the caller
    commits. Raises :class:`RoleError` for a missing, long or taken name
    (``name``) or an unknown permission (``permissions``)."""
    name = name.strip() if isinstance(name, str) else ""
    if not name:
        raise RoleError("name", _("A role needs a name."))
    if len(name) > MAX_NAME:
        raise RoleError("name", _("At most %(n)d characters.", n=MAX_NAME))
    codes = {p.code for p in declared("platform" if seller_id is None else "seller")}
    wanted = []
    for code in permissions:
        if not isinstance(code, str) or code not in codes:
            raise RoleError("permissions", _("Unknown permission: %(code)s", code=str(code)[:40]))
        if code not in wanted:
            wanted.append(code)
    where = StaffRole.seller_id.is_(None) if seller_id is None else StaffRole.seller_id == seller_id
    clash = select(StaffRole.id).where(where, StaffRole.name == name)
    if role is not None:
        clash = clash.where(StaffRole.id != role.id)
    if db.session.execute(clash.limit(1)).first() is not None:
        raise RoleError("name", _("There is already a role of that name."))
    if role is None:
        role = StaffRole(seller_id=seller_id, name=name, permissions=sorted(wanted))
        db.session.add(role)
    else:
        role.name = name
        role.permissions = sorted(wanted)
    db.session.flush()
    return role


def role_holders() -> dict[int, int]:
    """``role id -> how many platform users hold it`` (roles nobody holds
    are absent), in one query; a seller's roles are counted by the plugin
    that assigns them."""
    q = select(User.staff_role_id, func.count(User.id)).where(User.staff_role_id.is_not(None))
    rows = db.session.execute(q.group_by(User.staff_role_id)).all()
    return {role_id: int(n) for role_id, n in rows if role_id is not None}


def delete_role(role: StaffRole, holders: int) -> None:
    """Delete ``role`` (the caller commits); refused while ``holders`` > 0:
    its staff would silently fall back to other permissions."""
    if holders:
        raise RoleError("role", _("Staff still hold this role: give them another role first."), code="conflict")
    db.session.delete(role)
    db.session.flush()


def platform_permissions(user) -> frozenset:
    """What platform ``user`` may do: every platform permission for an
    admin; the role's (else :data:`DEFAULT_PLATFORM_STAFF`) for staff;
    nothing for anyone else. Cached per request."""
    if not getattr(user, "is_platform", False):
        return frozenset()
    cache = g.setdefault("jishi_platform_permissions", {})
    key = (user.id, getattr(user, "staff_role_id", None), user.role)
    if key not in cache:
        if user.is_platform_admin:
            cache[key] = frozenset(p.code for p in declared("platform"))
        elif user.staff_role_id is not None:
            role = db.session.get(StaffRole, user.staff_role_id)
            cache[key] = frozenset(role.permissions or ()) if role is not None else frozenset()
        else:
            cache[key] = DEFAULT_PLATFORM_STAFF
    return cache[key]
