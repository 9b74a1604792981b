"""Issue 14 profit sharing through the consoles and the API: the platform's
setting, the merchant binding its receiver (the owner is the signed-in
merchant, never the request; bad input is a 4xx naming the field), the
failures visible to the platform (list, error, to-do) and to the merchant."""

from __future__ import annotations

from jishi.db import db
from jishi.gateways import GatewayResult
from jishi.orders.models import Order
from jishi_multistore import ledger, sharing
from jishi_multistore.models import ProfitShare, ShareReceiver
from sqlalchemy import func, select

from .finance_helpers import complete, pay, place


def _setting(key, value):
    from jishi import settings

    settings.set_many({key: value})
    db.session.commit()


def test_merchant_binds_its_own_receiver_through_the_api(app, api, factory, ms):
    """Issue 14: the merchant admin binds, reads, replaces and unbinds its
    receiver; a clerk is 403; another merchant's admin binds for itself."""
    m, other = ms.merchant("甲"), ms.merchant("乙")
    admin = ms.admin_of(m)
    r = api.get("/merchant/profit-sharing", user=admin)
    assert r.status_code == 200
    body = r.get_json()
    assert body["mode"] == "withdrawal"
    assert [g["code"] for g in body["gateways"]] == ["sandbox"] and body["gateways"][0]["receiver"] is None
    r = api.put("/merchant/profit-sharing/receivers/sandbox", user=admin, json={"type": "MERCHANT_ID", "account": "1"})
    assert r.status_code == 422 and r.get_json()["field"] == "name"
    r = api.put("/merchant/profit-sharing/receivers/sandbox", user=admin, json={"type": "bank", "account": "1"})
    assert r.status_code == 422 and r.get_json()["field"] == "type"
    r = api.put("/merchant/profit-sharing/receivers/cod", user=admin, json={"type": "MERCHANT_ID", "account": "1"})
    assert r.status_code == 404
    assert db.session.scalar(select(func.count(ShareReceiver.id))) == 0
    body = {"type": "MERCHANT_ID", "account": "1900000109", "name": "甲商户", "merchant_id": other.id}
    r = api.put("/merchant/profit-sharing/receivers/sandbox", user=admin, json=body)
    assert r.status_code == 422  # unknown field: the owner is never the request's
    del body["merchant_id"]
    r = api.put("/merchant/profit-sharing/receivers/sandbox", user=admin, json=body)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["account"] == "1900000109"
    row = db.session.execute(select(ShareReceiver)).scalar_one()
    assert (row.merchant_id, row.bound_by) == (m.id, admin.id)
    assert api.get("/merchant/profit-sharing", user=ms.clerk(m)).status_code == 403
    r = api.put("/merchant/profit-sharing/receivers/sandbox", user=ms.admin_of(other), json=body)
    assert r.status_code == 200
    assert sorted(db.session.execute(select(ShareReceiver.merchant_id)).scalars()) == sorted([m.id, other.id])
    assert api.delete("/merchant/profit-sharing/receivers/sandbox", user=admin).status_code == 204
    assert api.delete("/merchant/profit-sharing/receivers/sandbox", user=admin).status_code == 404
    assert list(db.session.execute(select(ShareReceiver.merchant_id)).scalars()) == [other.id]


def test_failure_is_visible_to_platform_and_merchant(app, client, api, factory, ms, login, monkeypatch):
    """Issue 14: a refused sharing shows in the platform's list with its
    error and as a to-do; the merchant sees it too; the platform retries it
    now (same number) and releases it to withdrawal."""
    from jishi.defaults.payments import SandboxGateway
    from jishi.web_helpers import console_todos

    _setting("delivery.flat_fee", 0)
    m = ms.merchant("甲")
    login(ms.admin_of(m))
    # The platform's settings panel chooses the mode (the form's field).
    assert (
        client.post(
            "/merchant/finance/sharing/sandbox/bind", data={"type": "PERSONAL_OPENID", "account": "o-1"}
        ).status_code
        == 302
    )
    _setting(sharing.MODE_SETTING, sharing.PROFIT_SHARING)
    buyer = factory.user()
    p = ms.product(m, price=1000)
    [payment] = place(buyer, [(p.skus[0].id, 1)], factory.address(buyer))
    order = db.session.execute(select(Order).where(Order.payment_id == payment.id)).scalar_one()
    pay(payment)
    monkeypatch.setattr(
        SandboxGateway, "profit_share", lambda self, share: GatewayResult("failed", message="receiver unknown")
    )
    complete(order)
    page = client.get("/merchant/finance/sharing").get_data(as_text=True)
    assert 'data-status="failed"' in page and "receiver unknown" in page and 'data-balance="sharing">¥10.00' in page
    platform = factory.admin()
    login(platform)
    page = client.get("/console/multistore/profit-sharing?status=failed").get_data(as_text=True)
    assert "receiver unknown" in page and "PS" in page
    with app.test_request_context("/console/"):
        from flask_login import login_user

        login_user(platform)
        todos = {t.label: t.count for t in console_todos("platform")}
    assert todos["分账失败"] == 1 or todos.get("Profit sharing failed") == 1
    share = db.session.execute(select(ProfitShare)).scalar_one()
    r = api.post(f"/admin/multistore/profit-sharing/{share.id}/retry", user=platform)
    assert r.status_code == 200 and r.get_json()["attempts"] == 2 and r.get_json()["status"] == "failed"
    r = api.post(f"/admin/multistore/profit-sharing/{share.id}/release", user=platform)
    assert r.status_code == 200 and r.get_json()["status"] == "released"
    assert api.post(f"/admin/multistore/profit-sharing/{share.id}/release", user=platform).status_code == 409
    assert ledger.balances(m.id)[ledger.AVAILABLE] == 1000
    r = api.get("/admin/multistore/profit-sharing?status=released", user=platform)
    assert [i["number"] for i in r.get_json()["items"]] == [share.number]
    r = api.get("/merchant/profit-sharing/records", user=ms.admin_of(m))
    assert [i["status"] for i in r.get_json()["items"]] == ["released"]


def test_settings_panel_offers_the_mode(app, client, factory, login):
    """Issue 14: the settlement mode is a platform setting (withdrawal by default)."""
    login(factory.admin())
    page = client.get("/console/settings").get_data(as_text=True)
    assert sharing.MODE_SETTING in page and "profit_sharing" in page
    assert sharing.mode() == sharing.WITHDRAWAL
