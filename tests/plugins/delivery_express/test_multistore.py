"""DE with multistore: each merchant chooses platform templates and ships
its own orders from its merchant console; the seller is always the signed-in
member's merchant."""

from __future__ import annotations

import pytest
from jishi.db import db
from jishi.orders.models import Order

from .helpers import PIECE, WEIGHT, place

pytestmark = pytest.mark.jishi_plugins("multistore", "delivery_express")


def test_merchant_flow(api, client, factory, svc):
    """DE-CHOICE/DE-SHIP: M1's admin chooses a template (clerk: 403), points
    a product to it, the buyer pays the right fee, M1's clerk ships with a
    carrier (actor "seller") and adds a tracking event; M2 sees none of it."""
    from jishi_multistore import testing as ms

    platform = svc.save_template(PIECE)
    heavy = svc.save_template({**WEIGHT, "name": "重货"})
    m1, m2 = ms.merchant("一号店"), ms.merchant("二号店")
    admin1, clerk1, admin2 = ms.admin_of(m1), ms.clerk(m1), ms.admin_of(m2)
    assert api.put("/seller/express/templates", user=clerk1, json={"template_ids": [heavy.id]}).status_code == 403
    r = api.put(
        "/seller/express/templates",
        user=admin1,
        json={"template_ids": [platform.id, heavy.id], "default_id": platform.id},
    )
    assert r.status_code == 200
    assert svc.seller_choices(None) == [] and svc.seller_choices(m2.id) == []
    p = ms.product(m1, skus=[{"price": 1000, "stock": 10, "weight_grams": 1500}])
    assert api.put(f"/seller/express/products/{p.id}", user=admin2, json={"template_id": heavy.id}).status_code == 404
    assert api.put(f"/seller/express/products/{p.id}", user=admin1, json={"template_id": heavy.id}).status_code == 200
    assert [i["product_id"] for i in api.get("/seller/express/products", user=admin1).json["items"]] == [p.id]
    assert api.get("/seller/express/products", user=admin2).json["items"] == []

    buyer = factory.user()
    addr = factory.address(buyer)
    [order] = place(buyer, [(p.skus[0], 2)], addr)
    assert order.seller_id == m1.id and order.delivery_fee == 1200 + 4 * 400  # 3000 g: 1000 first + 4 × 500

    assert (
        api.post(
            f"/seller/express/orders/{order.id}/ship", user=admin2, json={"carrier": "sf", "tracking_no": "X"}
        ).status_code
        == 404
    )
    r = api.post(
        f"/seller/express/orders/{order.id}/ship", user=clerk1, json={"carrier": "圆通速递", "tracking_no": "YT8"}
    )
    assert r.status_code == 200, r.json
    db.session.expire_all()
    order = db.session.get(Order, order.id)
    assert (order.status, order.carrier, order.events[-1].actor_role) == ("shipped", "圆通速递", "seller")
    assert (
        api.post(
            f"/seller/express/orders/{order.id}/tracking",
            user=clerk1,
            json={"time": "2026-05-01T09:00", "text": "已揽收"},
        ).status_code
        == 201
    )
    assert api.get(f"/seller/express/orders/{order.id}/tracking", user=admin2).status_code == 404
    assert [e["text"] for e in api.get(f"/orders/{order.id}/tracking", user=buyer).json["events"]] == ["已揽收"]

    # the merchant console pages use the merchant layout and menu
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    with client.session_transaction() as sess:
        sess["_user_id"] = clerk1.get_id()
    html = client.get(f"/seller/express/orders/{order.id}").get_data(as_text=True)
    assert "Merchant console" in html and "已揽收" in html and 'href="/seller/express/orders"' in html
    assert 'href="/seller/express/settings"' not in html  # a clerk has no settings
    assert client.get("/seller/express/settings").status_code == 403
