"""PU7: with the plugin disabled, "pickup" vanishes from checkout, and pickup
orders placed earlier still show their delivery data (the label naming the
point on the order page, the point's snapshot in the order API)."""

from __future__ import annotations

import pytest
from jishi import testing
from jishi.db import db


@pytest.mark.jishi_fresh_app  # a second app opens this test's database file
def test_disabled_plugin_keeps_old_orders_readable(app, tmp_path, factory, pk):
    """PU7: place and pay a pickup order with the plugin on, then read it in
    an app (same database) where the plugin is off."""
    buyer = factory.user()
    product = factory.product(price=1500, stock=10)
    pk.point(None, name="西湖店", hours="08:00-22:00")
    pt = pk.point(None, name="湖滨店", address="湖滨路 2 号", hours="10:00-20:00")
    order, code = pk.paid_pickup_order(factory, buyer=buyer, product=product, pt=pt)
    assert code is not None
    buyer_id, order_id, sku_id, code_text = buyer.id, order.id, product.skus[0].id, code.code
    db.session.commit()
    db.session.close()  # SQLite: the other app must be able to write

    off = testing.make_app(tmp_path, plugins=[])
    with off.app_context():
        from jishi.checkout.service import build_checkout
        from jishi.models import User

        user = db.session.get(User, buyer_id)
        with off.test_request_context("/"):
            co = build_checkout(user, [(sku_id, 1)])
            assert [o.code for o in co.groups[0].delivery_options] == ["standard"]
        db.session.rollback()
        client = off.test_client()
        with client.session_transaction() as sess:
            sess["_user_id"] = user.get_id()
            sess["_fresh"] = True
        page = client.get(f"/orders/{order_id}")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert "湖滨店" in html  # the stored label names the point
        assert code_text not in html  # no plugin, no code shown
        from jishi.testing import factories

        token = factories.token(user)
        resp = client.get(f"/api/v1/orders/{order_id}", headers={"Authorization": f"Bearer {token}"})
        assert resp.status_code == 200, resp.json
        delivery = resp.json["delivery"]
        assert delivery["method"] == "pickup"
        assert "湖滨店" in delivery["label"]
        assert delivery["data"]["name"] == "湖滨店" and delivery["data"]["address"] == "湖滨路 2 号"
        assert delivery["data"]["hours"] == "10:00-20:00" and delivery["data"]["phone"] == "0571-1234567"
        # The plugin's routes are gone.
        assert client.get(f"/orders/{order_id}/pickup/qr.svg").status_code == 404
        db.session.remove()
        db.engine.dispose()  # close its connections now, not at garbage collection


def test_a_pickup_order_cannot_be_shipped(app, api, factory, pk):
    """PU: a paid pickup order is handed over at the counter; shipping it
    (the platform's ship endpoint) is refused with 409 and nothing changes."""
    from jishi.db import db
    from jishi.models import Order

    admin = factory.user(role="platform_admin")
    order, _code = pk.paid_pickup_order(factory)
    resp = api.post(f"/admin/orders/{order.id}/ship", user=admin, json={"carrier": "顺丰速运", "tracking_no": "SF1"})
    assert resp.status_code == 409, resp.get_json()
    body = resp.get_json()
    assert body["field"] == "status" and order.number in body["message"] and "提货码" in body["message"]
    db.session.expire_all()
    fresh = db.session.get(Order, order.id)
    assert (fresh.status, fresh.carrier, fresh.tracking_no) == ("paid", "", "")
