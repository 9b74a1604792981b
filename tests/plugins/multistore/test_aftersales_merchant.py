"""Issue 13 C1: a merchant handles the after-sales of its own orders.

The merchant's admin (and a clerk: clerks hold ``aftersales``) lists,
approves, rejects and receives returns through the merchant console and API,
on the kernel's after-sales service: the money, the recorded allocations and
the plugin's ledger reverse exactly as when the platform decides; another
merchant's request is 404; the platform can still act on any request.
"""

from __future__ import annotations

import pytest
from jishi.aftersales.models import Refund, RefundReversal
from jishi.catalog.models import Sku
from jishi.db import db
from jishi.testing import flows
from jishi_multistore import ledger
from jishi_multistore.models import LedgerJournal
from sqlalchemy import select

from .finance_helpers import DiscountPlugin, balances, place


@pytest.fixture
def extra_plugins():
    return [DiscountPlugin()]


def _world(factory, ms, *, price=3000, qty=2, shipped=False):
    buyer = factory.user()
    m, other = ms.merchant("甲店"), ms.merchant("乙店")
    p = ms.product(m, price=price, stock=10)
    [payment] = place(buyer, [(p.skus[0].id, qty)], factory.address(buyer), discounts=[(200, "platform", None)])
    flows.pay(payment)
    order = flows.fetch(payment.orders[0])
    if shipped:
        order = flows.ship(order)
    return m, other, order, p.skus[0].id


def _refund_journal(refund_id):
    return db.session.execute(
        select(LedgerJournal).where(LedgerJournal.source_type == "refund", LedgerJournal.source_id == refund_id)
    ).scalar_one_or_none()


def test_merchant_admin_approves_a_refund_through_the_api(app, api, factory, ms):
    """C1: approving a refund-only request pays it back at once, reverses the
    recorded allocation and posts the ledger reversal, as the platform's does."""
    m, _other, order, _sku = _world(factory, ms)
    pending_before = balances(m.id)[ledger.PENDING]
    r = flows.request_refund(order, [(order.lines[0].id, 1)], reason="坏了")
    listed = api.get("/merchant/refunds?status=requested", user=ms.admin_of(m))
    assert listed.status_code == 200 and [i["id"] for i in listed.json["items"]] == [r.id]
    resp = api.post(f"/merchant/refunds/{r.id}/approve", user=ms.admin_of(m), json={"note": "同意"})
    assert resp.status_code == 200, resp.json
    assert resp.json["status"] == "refunded"
    order = flows.fetch(order)
    assert order.refunded_amount == resp.json["amount"] > 0
    reversals = db.session.execute(select(RefundReversal)).scalars().all()
    assert reversals and sum(x.amount for x in reversals) == 100  # half the 200 fen allocation: 1 of 2 units
    assert _refund_journal(r.id) is not None
    assert balances(m.id)[ledger.PENDING] < pending_before


def test_clerk_rejects_and_the_web_console_receives_a_return(app, client, login, factory, ms):
    """C1: a clerk holds the after-sales right: lists, rejects one request;
    a return is approved, then "goods received back" restocks and refunds."""
    m, _other, order, sku_id = _world(factory, ms, shipped=True)
    clerk = ms.clerk(m)
    login(clerk)
    first = flows.request_refund(order, [(order.lines[0].id, 1)], kind="return_refund", reason="尺码不对")
    page = client.get("/merchant/refunds")
    assert page.status_code == 200 and first.number in page.get_data(as_text=True)
    resp = client.post(f"/merchant/refunds/{first.id}/reject", data={"reason": "已拆封"})
    assert resp.status_code == 302
    assert db.session.get(Refund, first.id).status == "rejected"
    second = flows.request_refund(order, [(order.lines[0].id, 1)], kind="return_refund")
    stock = db.session.get(Sku, sku_id).stock
    client.post(f"/merchant/refunds/{second.id}/approve")
    assert db.session.get(Refund, second.id).status == "approved"
    client.post(f"/merchant/refunds/{second.id}/confirm-returned")
    db.session.expire_all()
    assert db.session.get(Refund, second.id).status == "refunded"
    assert db.session.get(Sku, sku_id).stock == stock + 1
    assert _refund_journal(second.id) is not None


def test_a_bad_step_writes_nothing(app, api, factory, ms):
    """C1: reject without a reason is a 422 naming ``reason``; approving twice
    a 409; confirming a refund-only request a 409; nothing written."""
    m, _other, order, _sku = _world(factory, ms)
    r = flows.request_refund(order)
    admin = ms.admin_of(m)
    resp = api.post(f"/merchant/refunds/{r.id}/reject", user=admin, json={"reason": ""})
    assert resp.status_code == 422
    resp = api.post(f"/merchant/refunds/{r.id}/confirm-returned", user=admin, json={})
    assert resp.status_code == 409 and resp.json["field"] == "kind"
    assert db.session.get(Refund, r.id).status == "requested"
    assert api.post(f"/merchant/refunds/{r.id}/approve", user=admin, json={}).status_code == 200
    again = api.post(f"/merchant/refunds/{r.id}/approve", user=admin, json={})
    assert again.status_code == 409
    assert flows.fetch(order).status == "closed"


def test_other_merchant_sees_nothing_and_the_platform_still_can(app, api, client, login, factory, ms):
    """C1: another merchant's request is 404 (list leaves it out); the
    platform's console still approves a merchant's request."""
    m, other, order, _sku = _world(factory, ms)
    r = flows.request_refund(order)
    intruder = ms.admin_of(other)
    assert api.get(f"/merchant/refunds/{r.id}", user=intruder).status_code == 404
    assert api.post(f"/merchant/refunds/{r.id}/approve", user=intruder, json={}).status_code == 404
    assert api.get("/merchant/refunds", user=intruder).json["items"] == []
    login(factory.admin())
    resp = client.post(f"/console/refunds/{r.id}/approve")
    assert resp.status_code == 302
    assert db.session.get(Refund, r.id).status == "refunded"
    assert _refund_journal(r.id) is not None


def test_menu_shows_after_sales_to_staff(app, client, login, factory, ms):
    """C1: the merchant console's menu links the after-sales desk."""
    m = ms.merchant()
    login(ms.clerk(m))
    assert "/merchant/refunds" in client.get("/merchant/orders").get_data(as_text=True)
