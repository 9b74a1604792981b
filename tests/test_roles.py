"""Staff roles the operator configures (seed 000 §9 多层级权限, seed 002 §4
权限管理; SPEC K15, MS17): platform staff get roles made of named
permissions that the platform admin creates and assigns; every platform
console page and platform API endpoint asks for one permission; menus
follow. (A merchant's own roles: tests/plugins/multistore/test_staff_roles.py.)
"""

from __future__ import annotations

import re

import pytest
from jishi import roles
from jishi.access import ADMIN_ONLY, PERMISSION_ATTR
from jishi.accounts.models import StaffRole, User
from jishi.db import db
from jishi.testing import factories, principals

ALL = ("multistore", "delivery_express", "pickup", "delivery_local", "coupons", "groupbuy", "flashsale")


def platform_rules(app):
    """Every route of the platform's console and API: (rule, method, view)."""
    out = []
    for rule in app.url_map.iter_rules():
        if not (rule.rule.startswith("/console") or rule.rule.startswith("/api/v1/admin/")):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            out.append((rule, method, app.view_functions[rule.endpoint]))
    return out


def concrete(rule) -> str:
    """The rule with a value for each argument (ids that exist nowhere)."""

    def value(match):
        converter = match.group(1) or ""
        if converter.startswith("int"):
            return "999999"
        return "csv" if match.group(2) == "fmt" else "nope"

    return re.sub(r"<(?:(\w+(?:\([^)]*\))?):)?(\w+)>", value, rule.rule)


def staff_with(*codes: str) -> User:
    role = StaffRole(seller_id=None, name=f"role-{db.session.query(StaffRole).count()}")
    role.permissions = list(codes)
    db.session.add(role)
    db.session.flush()
    user = factories.user(role="platform_staff", staff_role_id=role.id)
    return user


@pytest.mark.jishi_plugins(*ALL)
def test_every_platform_route_declares_a_permission(app):
    """Every platform console page and platform API endpoint, of the kernel
    and of every first-party plugin, names the permission it asks for (a
    declared code, None for the dashboard, or admin-only)."""
    codes = {p.code for p in roles.declared("platform")}
    missing, unknown = [], []
    for rule, method, view in platform_rules(app):
        if not hasattr(view, PERMISSION_ATTR):
            missing.append(f"{method} {rule.rule}")
            continue
        permission = getattr(view, PERMISSION_ATTR)
        if permission not in codes | {None, ADMIN_ONLY}:
            unknown.append(f"{method} {rule.rule}: {permission}")
    assert not missing, "platform routes without a permission:\n" + "\n".join(missing)
    assert not unknown, "platform routes asking for an undeclared permission:\n" + "\n".join(unknown)
    assert len(platform_rules(app)) > 100


@pytest.mark.jishi_plugins(*ALL)
def test_each_platform_route_answers_by_the_role(app, factory):
    """The matrix: for every platform route, staff whose role holds exactly
    its permission get past authorization (never 403, never 5xx), staff
    holding every other permission get 403; admin-only routes refuse a
    role holding everything."""
    codes = [p.code for p in roles.declared("platform")]
    admin = factory.admin()
    everything = staff_with(*codes)
    by_code = {code: staff_with(code) for code in codes}
    without = {code: staff_with(*[c for c in codes if c != code]) for code in codes}
    nothing = staff_with()
    db.session.commit()
    clients: dict[int, object] = {}

    def call(user, rule, method):
        url = concrete(rule)
        if url.startswith("/api/"):
            token = factory.token(user)
            return app.test_client().open(url, method=method, json={}, headers={"Authorization": f"Bearer {token}"})
        if user.id not in clients:
            clients[user.id] = principals.sign_in(app.test_client(), user)
        return clients[user.id].open(url, method=method, data={})

    failures = []
    for rule, method, view in platform_rules(app):
        permission = getattr(view, PERMISSION_ATTR)
        if permission == ADMIN_ONLY:
            allowed, denied = admin, everything
        elif permission is None:
            allowed, denied = nothing, None
        else:
            allowed, denied = by_code[permission], without[permission]
        got = call(allowed, rule, method).status_code
        if got == 403 or got >= 500:
            failures.append(f"{method} {rule.rule} as holder of {permission}: {got}")
        if denied is not None:
            got = call(denied, rule, method).status_code
            if got != 403:
                failures.append(f"{method} {rule.rule} without {permission}: {got}")
    assert not failures, "\n".join(failures)


def test_platform_admin_creates_assigns_and_deletes_roles(app, factory, login, client):
    """The platform admin makes a role from the declared permissions, gives
    it to a staff member (who then sees and opens only those pages: menus
    follow), cannot delete it while held; bad input names the field and
    writes nothing; staff can never open users or roles."""
    admin = factory.admin()
    staff = factory.user(role="platform_staff")
    login(admin)
    page = client.get("/console/roles")
    assert page.status_code == 200 and "订单" in page.get_data(as_text=True)
    r = client.post("/console/roles", data={"name": "客服", "permissions": ["orders", "aftersales"]})
    assert r.status_code == 302
    role = db.session.execute(db.select(StaffRole).where(StaffRole.name == "客服")).scalar_one()
    assert role.seller_id is None and sorted(role.permissions) == ["aftersales", "orders"]
    rid = role.id
    for bad in ({"name": "", "permissions": ["orders"]}, {"name": "坏", "permissions": ["root"]}, {"name": "客服"}):
        client.post("/console/roles", data=bad, follow_redirects=False)
    assert db.session.execute(db.select(db.func.count(StaffRole.id))).scalar_one() == 1
    assert client.post("/console/roles/999999", data={"name": "x"}).status_code == 404
    r = client.post(
        f"/console/users/{staff.id}", data={"role": "platform_staff", "staff_role_id": str(role.id), "is_active": "1"}
    )
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, staff.id).staff_role_id == role.id
    assert client.post(f"/console/roles/{role.id}/delete").status_code == 302
    assert db.session.get(StaffRole, role.id) is not None  # held: refused

    login(staff)
    assert client.get("/console/orders").status_code == 200
    assert client.get("/console/refunds").status_code == 200
    assert client.get("/console/products").status_code == 403
    assert client.get("/console/roles").status_code == 403
    assert client.get("/console/users").status_code == 403
    menu = client.get("/console/").get_data(as_text=True)
    assert "/console/orders" in menu and "/console/refunds" in menu
    assert "/console/products" not in menu and "/console/reports" not in menu

    login(admin)
    client.post(f"/console/users/{staff.id}", data={"role": "platform_staff", "staff_role_id": "", "is_active": "1"})
    assert client.post(f"/console/roles/{rid}/delete").status_code == 302
    db.session.expire_all()
    assert db.session.get(StaffRole, rid) is None
    login(staff)  # back to the default staff rights
    assert client.get("/console/products").status_code == 200


def test_staff_role_changes_the_platform_api(app, factory, api):
    """A role without ``orders`` closes the platform order API and leaves
    the product API open (the permission is the role's, read per request)."""
    staff = staff_with("products")
    db.session.commit()
    assert api.get("/admin/orders", user=staff).status_code == 403
    assert api.get("/admin/products", user=staff).status_code == 200
    role = db.session.get(StaffRole, staff.staff_role_id)
    role.permissions = ["orders"]
    db.session.commit()
    assert api.get("/admin/orders", user=staff).status_code == 200
    assert api.get("/admin/products", user=staff).status_code == 403
