"""DE-AUTHZ: who may call every route of the plugin.

Each row is tried, with multistore on, as {anonymous, another buyer, the
order's buyer, clerk of M1, admin of M1, admin of M2, platform admin} ×
{M1's object, M2's object}: denied calls answer 401/403/404 (a page may
send an anonymous visitor to the login page), never data; allowed ones
anything else but a 5xx. A plugin route without a row fails
:func:`test_every_route_has_a_row`. Single-store (no multistore) access is
checked by :func:`test_single_store_scope`.

``access``:
- ``platform``: the platform admin only (templates are platform settings);
- ``buyer``: the buyer who placed the order;
- ``seller:<permission>``: staff of the object's seller holding the
  permission (clerks hold ``orders`` only here); without an object, any
  seller scope with it, including the platform admin acting for the shop.
"""

from __future__ import annotations

import pytest
from jishi.db import db
from jishi.testing import authz, principals
from jishi.testing.authz import Row

from .helpers import PIECE, WEIGHT, place

pytestmark = pytest.mark.jishi_plugins("multistore", "delivery_express")

PRINCIPALS = ("anonymous", "other_buyer", "buyer", "clerk1", "admin1", "admin2", "platform")
BLUEPRINTS = ("express_admin", "express_seller", "express_api")
SHIP = {"carrier": "sf", "tracking_no": "SF1"}


ROWS = [
    # platform console
    Row("GET", "/console/express/templates", "platform"),
    Row("GET", "/console/express/templates/new", "platform"),
    Row("POST", "/console/express/templates/new", "platform", data={"name": ""}),
    Row("GET", "/console/express/templates/{obj}", "platform", "template"),
    Row("POST", "/console/express/templates/{obj}", "platform", "template", data={"name": ""}),
    Row("POST", "/console/express/templates/{obj}/default", "platform", "template"),
    Row("POST", "/console/express/templates/{obj}/delete", "platform", "template"),
    # platform API
    Row("GET", "/api/v1/admin/express/templates", "platform"),
    Row("POST", "/api/v1/admin/express/templates", "platform", json=PIECE),
    Row("GET", "/api/v1/admin/express/templates/{obj}", "platform", "template"),
    Row("PUT", "/api/v1/admin/express/templates/{obj}", "platform", "template", json=WEIGHT),
    Row("DELETE", "/api/v1/admin/express/templates/{obj}", "platform", "template"),
    Row("POST", "/api/v1/admin/express/templates/{obj}/default", "platform", "template"),
    # seller console
    Row("GET", "/seller/express/settings", "seller:settings"),
    Row("POST", "/seller/express/settings", "seller:settings", data={}),
    Row("GET", "/seller/express/products", "seller:products"),
    Row("POST", "/seller/express/products", "seller:products", "product", data={"template-{obj}": ""}),
    Row("GET", "/seller/express/orders", "seller:orders"),
    Row("POST", "/seller/express/orders/ship", "seller:orders", data={}),
    Row("POST", "/seller/express/orders/import", "seller:orders", data={}),
    Row("GET", "/seller/express/orders/{obj}", "seller:orders", "order"),
    Row("POST", "/seller/express/orders/{obj}/ship", "seller:orders", "order", data=SHIP),
    Row(
        "POST",
        "/seller/express/orders/{obj}/events",
        "seller:orders",
        "shipped",
        data={"time": "2026-05-01T10:00", "text": "到了"},
    ),
    # seller API
    Row("GET", "/api/v1/seller/express/templates", "seller:settings"),
    Row("PUT", "/api/v1/seller/express/templates", "seller:settings", json={"template_ids": []}),
    Row("GET", "/api/v1/seller/express/products", "seller:products"),
    Row("PUT", "/api/v1/seller/express/products/{obj}", "seller:products", "product", json={"template_id": None}),
    Row("POST", "/api/v1/seller/express/orders/{obj}/ship", "seller:orders", "order", json=SHIP),
    Row("POST", "/api/v1/seller/express/orders/ship-batch", "seller:orders", json={"items": [{"order_id": 1, **SHIP}]}),
    Row("GET", "/api/v1/seller/express/orders/{obj}/tracking", "seller:orders", "shipped"),
    Row(
        "POST",
        "/api/v1/seller/express/orders/{obj}/tracking",
        "seller:orders",
        "shipped",
        json={"time": "2026-05-01T10:00", "text": "到了"},
    ),
    # buyer API
    Row("GET", "/api/v1/orders/{obj}/tracking", "buyer", "shipped"),
]


def build_world(factory):
    from jishi_delivery_express import service
    from jishi_multistore import testing as ms

    t1 = service.save_template(PIECE)
    t2 = service.save_template(WEIGHT)
    who = principals.standard(factory, multistore=True)
    orderer = who["buyer"]
    addr = factory.address(orderer)
    objects = {("template", "m1"): t1.id, ("template", "m2"): t2.id}
    for key, m in who.merchants.items():
        service.choose_templates(m.id, [t1.id])
        product = ms.product(m, price=2000, stock=20)
        paid = place(orderer, [(product.skus[0], 1)], addr)[0]
        shipped = place(orderer, [(product.skus[0], 1)], addr)[0]
        service.ship(m.id, shipped, "zto", f"ZT{key}", actor=ms.admin_of(m))
        assert paid.seller_id == m.id and paid.delivery_method == "express"
        objects.update({("product", key): product.id, ("order", key): paid.id, ("shipped", key): shipped.id})
    return who.users, objects


@pytest.mark.parametrize("row", ROWS, ids=authz.label)
def test_matrix(app, client, api, factory, row):
    """DE-AUTHZ: every route × principal × own/other merchant's object."""
    users, objects = build_world(factory)
    authz.assert_row(
        row, authz.World(users, objects), client=client, api=api, principals=PRINCIPALS, allowed=authz.standard_access
    )


def test_every_route_has_a_row(app):
    """DE-AUTHZ: a route of the plugin without a row here fails."""
    covered = authz.assert_every_route_has_a_row(app, ROWS, blueprints=BLUEPRINTS)
    assert len(covered) == len(ROWS)


def test_batch_and_csv_refuse_other_merchants_orders(app, client, api, factory):
    """DE-AUTHZ: admin of M2 naming M1's orders in a batch or a CSV gets
    "unknown order" per row; nothing of M1 ships, nothing of M1 shows."""
    import io

    from jishi.orders.models import Order

    users, objects = build_world(factory)
    m1_order = db.session.get(Order, objects[("order", "m1")])
    r = api.post(
        "/seller/express/orders/ship-batch", user=users["admin2"], json={"items": [{"order_id": m1_order.id, **SHIP}]}
    )
    assert r.status_code == 200 and r.json["items"][0]["code"] == "not_found" and r.json["shipped"] == 0
    with client.session_transaction() as sess:
        sess["_user_id"] = users["admin2"].get_id()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    csv_raw = f"{m1_order.number},sf,X1\n".encode()
    r = client.post(
        "/seller/express/orders/import",
        data={"file": (io.BytesIO(csv_raw), "a.csv")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 200 and "Unknown order." in r.get_data(as_text=True)
    r = client.post(
        "/seller/express/orders/ship",
        data={"order_id": str(m1_order.id), f"carrier-{m1_order.id}": "sf", f"tracking-{m1_order.id}": "X2"},
    )
    assert r.status_code == 200 and "Unknown order." in r.get_data(as_text=True)
    html = client.get("/seller/express/orders").get_data(as_text=True)
    assert m1_order.number not in html
    db.session.expire_all()
    assert db.session.get(Order, m1_order.id).status == "paid"
    # and M1's own clerk can ship it in a batch
    with client.session_transaction() as sess:
        sess.clear()
    r = api.post(
        "/seller/express/orders/ship-batch", user=users["clerk1"], json={"items": [{"order_id": m1_order.id, **SHIP}]}
    )
    assert r.json["shipped"] == 1


@pytest.mark.jishi_plugins("delivery_express")
def test_single_store_scope(app, api, factory):
    """DE-AUTHZ without multistore: the platform admin acts for the shop
    (every seller route); platform staff hold orders and products but not
    settings; buyers and visitors get nothing."""
    staff = factory.user(role="platform_staff")
    admin, buyer = factory.admin(), factory.user()
    checks = [
        ("GET", "/seller/express/templates", "settings"),
        ("GET", "/seller/express/products", "products"),
        ("POST", "/seller/express/orders/ship-batch", "orders"),
        ("GET", "/admin/express/templates", "platform"),
    ]
    body = {"items": [{"order_id": 1, **SHIP}]}
    for method, path, perm in checks:
        json = body if method == "POST" else None
        assert api.call(method, path, json=json).status_code == 401
        assert api.call(method, path, user=buyer, json=json).status_code == 403
        assert api.call(method, path, user=admin, json=json).status_code == 200, path
        staff_ok = perm in ("orders", "products")
        assert api.call(method, path, user=staff, json=json).status_code == (200 if staff_ok else 403), path
