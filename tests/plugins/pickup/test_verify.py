"""PU5: verification at the counter (核销): a clerk or admin of the order's
seller enters the code; the order is handed over and completed. Every
refusal is a clear 4xx and changes nothing."""

from __future__ import annotations

import pytest
from jishi.db import db
from jishi.models import Order, OrderEvent
from jishi_pickup.models import PickupCode


def _snapshot(order_id):
    """Everything a refusal must leave untouched."""
    db.session.expire_all()
    order = db.session.get(Order, order_id)
    code = db.session.execute(db.select(PickupCode).where(PickupCode.order_id == order_id)).scalar_one_or_none()
    events = db.session.scalar(
        db.select(db.func.count()).select_from(OrderEvent).where(OrderEvent.order_id == order_id)
    )
    return (
        order.status,
        order.received_at,
        order.completed_at,
        events,
        (code.status, code.used_at, code.used_by) if code else None,
    )


def test_platform_admin_verifies_shop_order(app, api, factory, pk):
    """PU5: the shop's admin verifies: hand_over then complete ("picked up"),
    who and when recorded."""
    order, code = pk.paid_pickup_order(factory)
    admin = factory.admin()
    resp = api.post("/seller/pickup/verify", user=admin, json={"code": code.code})
    assert resp.status_code == 200, resp.json
    assert resp.json["order_id"] == order.id and resp.json["status"] == "completed"
    assert resp.json["verified_by"] == admin.id and resp.json["point"]["name"] == "西湖店"
    db.session.expire_all()
    o = db.session.get(Order, order.id)
    assert o.status == "completed" and o.received_at is not None and o.completed_at is not None
    events = (
        db.session.execute(db.select(OrderEvent).where(OrderEvent.order_id == order.id).order_by(OrderEvent.id))
        .scalars()
        .all()
    )
    assert [(e.from_status, e.to_status) for e in events][-2:] == [("paid", "received"), ("received", "completed")]
    assert events[-2].actor_id == admin.id and events[-2].actor_role == "platform"
    assert events[-1].actor_role == "system" and events[-1].note == "picked up"
    c = pk.code_of(order)
    assert c.status == "used" and c.used_by == admin.id and c.used_at is not None


def test_code_with_spaces_is_accepted(app, api, factory, pk):
    """PU5: the code as displayed (groups of four) verifies too."""
    _order, code = pk.paid_pickup_order(factory)
    admin = factory.admin()
    spaced = f"{code.code[:4]} {code.code[4:8]}-{code.code[8:]}"
    assert api.post("/seller/pickup/verify", user=admin, json={"code": spaced}).status_code == 200


@pytest.mark.parametrize(
    "bad", ["", "12345", "1234567890123", "abcdefghijkl", "１２３４５６７８９０１２", None, 123456789012, ["1"]]
)
def test_malformed_code_is_400(app, api, factory, pk, bad):
    """PU5: a malformed code: 400 naming field "code"; nothing changes."""
    order, _code = pk.paid_pickup_order(factory)
    before = _snapshot(order.id)
    resp = api.post("/seller/pickup/verify", user=factory.admin(), json={"code": bad} if bad is not None else {})
    assert resp.status_code == 400, resp.json
    assert resp.json["field"] == "code" and resp.json["code"] == "bad_code"
    assert _snapshot(order.id) == before


def test_wrong_code(app, api, factory, pk):
    """PU5: an unknown code: 404 wrong_code; nothing changes."""
    order, code = pk.paid_pickup_order(factory)
    before = _snapshot(order.id)
    wrong = f"{(int(code.code) + 1) % 10**12:012d}"
    resp = api.post("/seller/pickup/verify", user=factory.admin(), json={"code": wrong})
    assert resp.status_code == 404 and resp.json["code"] == "wrong_code" and resp.json["field"] == "code"
    assert _snapshot(order.id) == before


def test_used_code(app, api, factory, pk):
    """PU5: a code used once: the second try is 409 code_used; nothing changes."""
    order, code = pk.paid_pickup_order(factory)
    admin = factory.admin()
    assert api.post("/seller/pickup/verify", user=admin, json={"code": code.code}).status_code == 200
    before = _snapshot(order.id)
    resp = api.post("/seller/pickup/verify", user=admin, json={"code": code.code})
    assert resp.status_code == 409 and resp.json["code"] == "code_used"
    assert _snapshot(order.id) == before


def test_unpaid_order_code_refused(app, api, factory, pk):
    """PU5: a code whose order is not paid (pending payment) is refused (409)."""
    buyer = factory.user()
    product = factory.product(price=1500)
    pk.point(None)
    [payment] = pk.place(buyer, [(product.skus[0].id, 1)])
    order = payment.orders[0]
    # Codes exist only after payment; plant one to prove the status check.
    db.session.add(PickupCode(order_id=order.id, seller_id=None, code="000011112222", status="active"))
    db.session.commit()
    before = _snapshot(order.id)
    resp = api.post("/seller/pickup/verify", user=factory.admin(), json={"code": "000011112222"})
    assert resp.status_code == 409 and resp.json["code"] == "not_awaiting_pickup"
    assert _snapshot(order.id) == before


def test_closed_order_code_refused(app, api, factory, pk):
    """PU5: a closed order's code (even if it were still marked active) is refused."""
    order, code = pk.paid_pickup_order(factory)
    db.session.execute(db.update(Order).where(Order.id == order.id).values(status="closed"))
    db.session.commit()
    before = _snapshot(order.id)
    resp = api.post("/seller/pickup/verify", user=factory.admin(), json={"code": code.code})
    assert resp.status_code == 409 and resp.json["code"] == "code_void"
    assert _snapshot(order.id) == before


def test_staff_without_settings_may_verify_but_buyer_may_not(app, api, factory, pk):
    """PU5: platform staff (orders permission) verify; a buyer is 403, anonymous 401."""
    _order, code = pk.paid_pickup_order(factory)
    buyer = factory.user()
    assert api.post("/seller/pickup/verify", user=buyer, json={"code": code.code}).status_code == 403
    assert api.post("/seller/pickup/verify", json={"code": code.code}).status_code == 401
    staff = factory.user(role="platform_staff")
    assert api.post("/seller/pickup/verify", user=staff, json={"code": code.code}).status_code == 200


@pytest.mark.jishi_plugins("multistore", "pickup")
def test_merchant_clerk_verifies_own_and_not_other(app, api, factory, pk, ms):
    """PU5/MS17: a clerk of M1 verifies M1's code; M2's admin entering M1's code
    gets the same answer as a wrong code; the platform cannot verify a
    merchant's code either (it acts for the shop itself)."""
    m1, m2 = ms.merchant("茶庄"), ms.merchant("果园")
    p1 = pk.point(m1.id, name="茶庄门店")
    product = ms.product(m1, price=3000)
    order, code = pk.paid_pickup_order(factory, seller_id=m1.id, product=product, pt=p1)
    assert code is not None and code.seller_id == m1.id
    before = _snapshot(order.id)
    other = api.post("/seller/pickup/verify", user=ms.admin_of(m2), json={"code": code.code})
    wrong = api.post("/seller/pickup/verify", user=ms.admin_of(m2), json={"code": "999999999999"})
    assert other.status_code == wrong.status_code == 404
    assert other.json == wrong.json
    assert api.post("/seller/pickup/verify", user=factory.admin(), json={"code": code.code}).status_code == 404
    assert _snapshot(order.id) == before
    clerk = ms.clerk(m1)
    resp = api.post("/seller/pickup/verify", user=clerk, json={"code": code.code})
    assert resp.status_code == 200, resp.json
    db.session.expire_all()
    assert db.session.get(Order, order.id).status == "completed"
    events = (
        db.session.execute(db.select(OrderEvent).where(OrderEvent.order_id == order.id).order_by(OrderEvent.id))
        .scalars()
        .all()
    )
    assert events[-2].actor_role == "seller" and events[-2].actor_id == clerk.id


@pytest.mark.jishi_plugins("multistore", "pickup")
def test_multistore_completion_settles(app, api, factory, pk, ms):
    """PU5: the pickup completes the order through the kernel, so multistore's
    settlement runs (the merchant's completed order is in its ledger)."""
    from jishi_multistore import ledger

    m1 = ms.merchant("茶庄")
    p1 = pk.point(m1.id)
    _order, code = pk.paid_pickup_order(factory, seller_id=m1.id, product=ms.product(m1, price=3000), pt=p1)
    resp = api.post("/seller/pickup/verify", user=ms.admin_of(m1), json={"code": code.code})
    assert resp.status_code == 200
    kinds = {j.kind for j in ledger.journals(m1.id, limit=20)}
    assert len(kinds) >= 2, kinds  # paid, then settled on completion


@pytest.mark.parametrize(
    "app_config",
    [
        {
            "RATELIMIT_ENABLED": True,
            "JISHI_PICKUP_VERIFY_RATE_LIMIT": "3 per minute",
            "RATELIMIT_STORAGE_URI": "memory://",
        }
    ],
)
def test_verify_is_rate_limited_per_user(app, api, client, factory, pk, login):
    """PU5: verification attempts are limited per user (API and page share
    the budget); another user keeps theirs."""
    admin = factory.admin()
    for _ in range(3):
        assert api.post("/seller/pickup/verify", user=admin, json={"code": "000000000000"}).status_code == 404
    resp = api.post("/seller/pickup/verify", user=admin, json={"code": "000000000000"})
    assert resp.status_code == 429 and resp.json["code"] == "rate_limited"
    staff = factory.user(role="platform_staff")
    assert api.post("/seller/pickup/verify", user=staff, json={"code": "000000000000"}).status_code == 404
    login(admin)  # the page shares the admin's budget
    assert client.post("/seller/pickup/verify", data={"code": "000000000000"}).status_code == 429


def test_verify_page(app, client, factory, pk, login):
    """PU5: the console page verifies; refusals re-show the page with the
    message and a 4xx status."""
    order, code = pk.paid_pickup_order(factory)
    admin = factory.admin()
    login(admin)
    page = client.get("/seller/pickup/verify")
    assert page.status_code == 200 and 'name="code"' in page.get_data(as_text=True)
    bad = client.post("/seller/pickup/verify", data={"code": "12"})
    assert bad.status_code == 400 and 'data-field="code"' in bad.get_data(as_text=True)
    wrong = client.post("/seller/pickup/verify", data={"code": "000000000000"})
    assert wrong.status_code == 404
    ok = client.post("/seller/pickup/verify", data={"code": code.code}, follow_redirects=True)
    html = ok.get_data(as_text=True)
    assert ok.status_code == 200 and order.number in html and "pickup-done" in html
    again = client.post("/seller/pickup/verify", data={"code": code.code})
    assert again.status_code == 409
    db.session.expire_all()
    assert db.session.get(Order, order.id).status == "completed"
