"""DE-OFF: with the plugin disabled, checkout offers no express option (the
kernel's flat rate is back) and orders placed with it still show their
delivery (method label, carrier, tracking number: kernel fields)."""

from __future__ import annotations

import pytest
from jishi import testing
from jishi.db import db

from .helpers import place, template


@pytest.mark.jishi_plugins()
def test_disabled_no_express_option(api, factory):
    """DE-OFF: plugin off -> the kernel's standard delivery only."""
    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product().skus[0]
    r = api.post(
        "/checkout/preview", user=buyer, json={"items": [{"sku_id": sku.id, "quantity": 1}], "address_id": addr.id}
    )
    codes = [o["code"] for o in r.json["groups"][0]["delivery_options"]]
    assert "express" not in codes and codes == ["standard"]


@pytest.mark.jishi_fresh_app  # a second app opens this test's database file
def test_existing_orders_show_delivery_when_disabled(app, factory, svc, tmp_path):
    """DE-OFF: an express order shipped while the plugin was on still shows
    its delivery label, carrier and tracking number on the buyer's page, the
    buyer API and the platform console after the plugin is turned off."""
    template()
    admin, buyer = factory.admin(), factory.user()
    addr = factory.address(buyer)
    sku = factory.product().skus[0]
    [order] = place(buyer, [(sku, 1)], addr)
    svc.ship(None, order, "yunda", "YD42", actor=admin)
    svc.add_event(None, order, "2026-05-01T10:00", "已揽收", actor=admin)
    oid, buyer_id, admin_id = order.id, buyer.id, admin.id
    db.session.remove()

    off = testing.make_app(tmp_path, plugins=[])
    with off.app_context():
        from jishi.accounts.models import User

        assert "delivery_express" not in off.extensions["jishi"].enabled_plugin_names()
        client = off.test_client()
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        for uid, path in ((buyer_id, f"/orders/{oid}"), (admin_id, f"/console/orders/{oid}")):
            with client.session_transaction() as sess:
                sess["_user_id"] = db.session.get(User, uid).get_id()
                sess["_fresh"] = True
            r = client.get(path)
            assert r.status_code == 200, path
            html = r.get_data(as_text=True)
            assert "快递发货" in html and "韵达快递" in html and "YD42" in html, path
            assert "已揽收" not in html  # the timeline is the plugin's
        from jishi.testing import factories

        token = factories.token(db.session.get(User, buyer_id))
        with client.session_transaction() as sess:
            sess.clear()
        r = client.get(f"/api/v1/orders/{oid}", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200
        d = r.json["delivery"]
        assert (d["method"], d["label"], d["carrier"], d["tracking_no"]) == ("express", "快递发货", "韵达快递", "YD42")
        assert (
            client.get(f"/api/v1/orders/{oid}/tracking", headers={"Authorization": f"Bearer {token}"}).status_code
            == 404
        )
        db.session.remove()
        db.engine.dispose()  # the second app's connections (PostgreSQL) go now
