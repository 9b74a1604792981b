"""A merchant's own staff roles (seed 002 §4 权限管理, MS17): the shop admin
makes roles from the seller permissions and gives them to clerks; a clerk
can do what its role holds (else the default clerk rights), never manage
staff or roles; another shop's roles and clerks are unknown. Menus follow."""

from __future__ import annotations

from jishi.accounts.models import StaffRole
from jishi.db import db
from jishi_multistore.models import MerchantMember
from sqlalchemy import select


def member_of(user):
    return db.session.execute(select(MerchantMember).where(MerchantMember.user_id == user.id)).scalar_one()


def test_shop_admin_makes_and_assigns_a_role(api, factory, ms, client, login):
    m1, m2 = ms.merchant("一号店"), ms.merchant("二号店")
    admin1, admin2 = ms.admin_of(m1), ms.admin_of(m2)
    clerk = ms.clerk(m1)
    member_id = member_of(clerk).id

    # Default clerk rights: orders, no products; never staff or roles.
    assert api.get("/merchant/orders", user=clerk).status_code == 200
    assert api.get("/merchant/products", user=clerk).status_code == 403
    assert api.get("/merchant/roles", user=clerk).status_code == 403
    assert api.post("/merchant/roles", user=clerk, json={"name": "x", "permissions": []}).status_code == 403

    listing = api.get("/merchant/roles", user=admin1).json
    codes = {p["code"] for p in listing["permissions"]}
    assert {"products", "orders", "aftersales", "marketing", "money"} <= codes
    assert "merchants" not in codes and "commission" not in codes  # platform-only rights
    r = api.post("/merchant/roles", user=admin1, json={"name": "上架员", "permissions": ["products"]})
    assert r.status_code == 201, r.json
    role_id = r.json["id"]
    bad = api.post("/merchant/roles", user=admin1, json={"name": "坏", "permissions": ["merchants"]})
    assert bad.status_code == 422 and bad.json["field"] == "permissions"
    dup = api.post("/merchant/roles", user=admin1, json={"name": "上架员", "permissions": []})
    assert dup.status_code == 422 and dup.json["field"] == "name"
    # Another shop cannot see, change or give this role, nor touch this clerk.
    assert api.patch(f"/merchant/roles/{role_id}", user=admin2, json={"name": "偷"}).status_code == 404
    assert api.put(f"/merchant/staff/{member_id}/role", user=admin2, json={"role_id": None}).status_code == 404
    other = api.post("/merchant/roles", user=admin2, json={"name": "别家", "permissions": ["orders"]}).json["id"]
    r = api.put(f"/merchant/staff/{member_id}/role", user=admin1, json={"role_id": other})
    assert r.status_code == 422 and r.json["field"] == "role_id"
    assert member_of(clerk).role_id is None

    r = api.put(f"/merchant/staff/{member_id}/role", user=admin1, json={"role_id": role_id})
    assert r.status_code == 200 and r.json["role_id"] == role_id
    assert api.get("/merchant/products", user=clerk).status_code == 200
    assert api.get("/merchant/orders", user=clerk).status_code == 403
    assert api.get("/merchant/staff", user=clerk).status_code == 403
    assert sorted(api.get("/merchant/dashboard", user=clerk).json["permissions"]) == ["products"]
    login(clerk)
    menu = client.get("/merchant/").get_data(as_text=True)
    assert "/merchant/products" in menu and "/merchant/orders" not in menu and "/merchant/roles" not in menu

    # A held role is not deleted; changing it changes what the clerk may do.
    r = api.delete(f"/merchant/roles/{role_id}", user=admin1)
    assert r.status_code == 409
    api.patch(f"/merchant/roles/{role_id}", user=admin1, json={"permissions": ["orders", "aftersales"]})
    assert api.get("/merchant/orders", user=clerk).status_code == 200
    assert api.get("/merchant/products", user=clerk).status_code == 403
    api.put(f"/merchant/staff/{member_id}/role", user=admin1, json={"role_id": None})
    assert api.delete(f"/merchant/roles/{role_id}", user=admin1).status_code == 204
    db.session.expire_all()
    assert db.session.get(StaffRole, role_id) is None


def test_merchant_console_role_pages(client, login, factory, ms):
    """The shop admin's roles page makes a role and the staff page gives it."""
    m = ms.merchant("一号店")
    admin = ms.admin_of(m)
    clerk = ms.clerk(m)
    member_id = member_of(clerk).id
    login(admin)
    page = client.get("/merchant/roles")
    assert page.status_code == 200 and "营销" in page.get_data(as_text=True)
    assert client.post("/merchant/roles", data={"name": "财务", "permissions": ["money", "data"]}).status_code == 302
    role = db.session.execute(select(StaffRole).where(StaffRole.seller_id == m.id)).scalar_one()
    assert sorted(role.permissions) == ["data", "money"]
    staff = client.get("/merchant/staff").get_data(as_text=True)
    assert "财务" in staff and f"/merchant/staff/{member_id}/role" in staff
    assert client.post(f"/merchant/staff/{member_id}/role", data={"role_id": str(role.id)}).status_code == 302
    db.session.expire_all()
    assert member_of(clerk).role_id == role.id
    login(clerk)
    assert client.get("/merchant/finance").status_code == 200
    assert client.get("/merchant/orders").status_code == 403
    assert client.get("/merchant/roles").status_code == 403
