"""K10 after-sales through the JSON API: partial refunds that reverse exactly
what was allocated, return-and-refund with restocking, approval flow,
limits, concurrency guards and ownership (K14, K15)."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from jishi import signals
from jishi.aftersales import service
from jishi.aftersales.models import Refund, RefundLine, RefundReversal
from jishi.db import db
from jishi.hookspecs import Discount, hookimpl
from jishi.models import Order, OrderAllocation, OrderLine, SandboxTrade, Sku
from sqlalchemy import func, select


class FullReduction:
    """Throwaway marketing plugin: 10 yuan off from 100 yuan (满100减10),
    and a settlement plugin recording settle_refund calls."""

    def __init__(self):
        self.settled = []

    @hookimpl
    def order_discounts(self, checkout):
        if checkout.goods_amount >= 10000:
            return [Discount(source="test_full_reduction", label="100-10", amount=1000)]
        return None

    @hookimpl
    def settle_refund(self, refund):
        # called inside the refund's transaction, with its lines and reversals recorded
        self.settled.append((refund.id, refund.status, sum(len(rl.reversals) for rl in refund.lines)))


@pytest.fixture
def plugin():
    return FullReduction()


@pytest.fixture
def extra_plugins(plugin):
    return [plugin]


def place_and_pay(api, client, buyer, items, key="k"):
    addr = buyer_address(buyer)
    r = api.post(
        "/checkout/place",
        user=buyer,
        json={"items": [{"sku_id": s.id, "quantity": q} for s, q in items], "address_id": addr.id},
        headers={"Idempotency-Key": key},
    )
    assert r.status_code == 201, r.json
    number = r.json["payments"][0]["number"]
    r2 = api.post(f"/payments/{number}/pay", user=buyer, json={"method": "sandbox"})
    client.post(urlparse(r2.json["redirect_url"]).path, data={"action": "pay"})
    return r.json["orders"][0]["id"]


def buyer_address(buyer):
    from jishi.testing import factories

    return factories.address(buyer)


def lines_of(order_id):
    db.session.expire_all()
    return (
        db.session.execute(select(OrderLine).where(OrderLine.order_id == order_id).order_by(OrderLine.id))
        .scalars()
        .all()
    )


def stock(sku):
    db.session.expire_all()
    return db.session.get(Sku, sku.id).stock


def ask(api, buyer, order_id, lines, kind="refund_only", reason="changed my mind"):
    return api.post(
        "/refunds",
        user=buyer,
        json={
            "order_id": order_id,
            "kind": kind,
            "lines": [{"order_line_id": i, "quantity": q} for i, q in lines],
            "reason": reason,
        },
    )


def test_partial_refunds_sum_exactly(api, client, factory, plugin):
    """K10/MS9: refund 1 of 3 units, then the rest: refunds sum exactly to the
    paid amount and the reversals to the recorded allocation shares."""
    buyer, admin = factory.user(), factory.admin()
    a = factory.product(price=3333, stock=10).skus[0]
    b = factory.product(price=1001, stock=10).skus[0]
    oid = place_and_pay(api, client, buyer, [(a, 3), (b, 1)])
    order = db.session.get(Order, oid)
    assert order.discount_amount == 1000 and order.delivery_fee == 0
    paid = order.pay_amount
    la, lb = lines_of(oid)

    r = api.get(f"/orders/{oid}/refundable", user=buyer)
    assert [(x["order_line_id"], x["max_quantity"], x["max_amount"]) for x in r.json["lines"]] == [
        (la.id, 3, la.pay_amount),
        (lb.id, 1, lb.pay_amount),
    ]

    r = ask(api, buyer, oid, [(la.id, 1)])
    assert r.status_code == 201, r.json
    first = r.json
    assert first["status"] == "requested"
    assert first["amount"] == la.pay_amount // 3
    r = api.post(f"/admin/refunds/{first['id']}/approve", user=admin, json={})
    assert r.status_code == 200, r.json
    assert r.json["status"] == "refunded"
    assert stock(a) == 10 - 3 + 1  # never shipped: the unit goes back on sale
    assert api.post(f"/admin/refunds/{first['id']}/approve", user=admin, json={}).status_code == 409

    r = ask(api, buyer, oid, [(la.id, 2), (lb.id, 1)])
    assert r.status_code == 201, r.json
    r = api.post(f"/admin/refunds/{r.json['id']}/approve", user=admin, json={})
    assert r.status_code == 200, r.json

    db.session.expire_all()
    order = db.session.get(Order, oid)
    refunds = db.session.execute(select(Refund).where(Refund.order_id == oid)).scalars().all()
    assert sum(rf.amount for rf in refunds) == paid == order.refunded_amount
    for line in lines_of(oid):
        assert line.refunded_quantity == line.quantity
        assert line.refunded_amount == line.pay_amount
        got = db.session.execute(
            select(func.sum(RefundLine.amount)).where(RefundLine.order_line_id == line.id)
        ).scalar_one()
        assert got == line.pay_amount
    for alloc in db.session.execute(select(OrderAllocation)).scalars():
        reversed_sum = db.session.execute(
            select(func.sum(RefundReversal.amount)).where(RefundReversal.allocation_id == alloc.id)
        ).scalar_one()
        assert reversed_sum == alloc.amount == alloc.reversed_amount
    trade = db.session.execute(select(SandboxTrade)).scalar_one()
    assert trade.refunded_amount == paid and trade.status == "refunded"
    assert order.status == "closed" and order.close_reason == "refunded"
    assert stock(a) == 10 and stock(b) == 10
    # settle_refund runs when the refund is decided ("refunding": the money
    # is committed to go back); the sandbox then confirmed it at once.
    assert [s[1] for s in plugin.settled] == ["refunding", "refunding"]
    assert all(s[2] >= 1 for s in plugin.settled)
    assert api.get(f"/orders/{oid}/refundable", user=buyer).json["lines"] == []


def test_delivery_fee_refunded_with_full_refund_before_shipment(api, client, factory):
    """K10: a full refund before shipment also gives back the delivery fee."""
    buyer, admin = factory.user(), factory.admin()
    sku = factory.product(price=1500, stock=5).skus[0]
    oid = place_and_pay(api, client, buyer, [(sku, 2)])
    order = db.session.get(Order, oid)
    assert order.delivery_fee == 1000 and order.pay_amount == 4000
    [line] = lines_of(oid)
    r = ask(api, buyer, oid, [(line.id, 2)])
    assert r.json["amount"] == 4000
    r = api.post(f"/admin/refunds/{r.json['id']}/approve", user=admin, json={})
    assert r.json["amount"] == 4000
    db.session.expire_all()
    assert db.session.get(Order, oid).refunded_amount == 4000
    assert stock(sku) == 5


def test_partial_refund_after_shipment_keeps_delivery_fee(api, client, factory):
    """K10: after shipment, refund-only money comes back but the stock does not."""
    buyer, admin = factory.user(), factory.admin()
    sku = factory.product(price=1500, stock=5).skus[0]
    oid = place_and_pay(api, client, buyer, [(sku, 2)])
    api.post(f"/admin/orders/{oid}/ship", user=admin, json={"carrier": "SF", "tracking_no": "1"})
    [line] = lines_of(oid)
    r = ask(api, buyer, oid, [(line.id, 2)])
    r = api.post(f"/admin/refunds/{r.json['id']}/approve", user=admin, json={})
    assert r.json["amount"] == 3000
    db.session.expire_all()
    order = db.session.get(Order, oid)
    assert order.status == "closed" and order.refunded_amount == 3000
    assert stock(sku) == 3


def test_return_and_refund_restocks_on_confirm(api, client, factory):
    """K10: return-and-refund: approve, the buyer ships back, the platform
    confirms; stock comes back only on confirmation."""
    buyer, admin = factory.user(), factory.admin()
    sku = factory.product(price=2000, stock=5).skus[0]
    oid = place_and_pay(api, client, buyer, [(sku, 3)])
    [line] = lines_of(oid)
    r = ask(api, buyer, oid, [(line.id, 1)], kind="return_refund")
    assert r.status_code == 422 and r.json["field"] == "kind"  # not shipped yet
    api.post(f"/admin/orders/{oid}/ship", user=admin, json={"carrier": "SF", "tracking_no": "1"})
    r = ask(api, buyer, oid, [(line.id, 1)], kind="return_refund")
    assert r.status_code == 201, r.json
    rid = r.json["id"]
    assert (
        api.post(f"/refunds/{rid}/ship-back", user=buyer, json={"carrier": "YTO", "tracking_no": "Y1"}).status_code
        == 409
    )
    r = api.post(f"/admin/refunds/{rid}/approve", user=admin, json={})
    assert r.json["status"] == "approved"
    assert stock(sku) == 2
    r = api.post(f"/refunds/{rid}/ship-back", user=buyer, json={"carrier": "YTO"})
    assert r.status_code == 422 and r.json["field"] == "tracking_no"
    r = api.post(f"/refunds/{rid}/ship-back", user=buyer, json={"carrier": "YTO", "tracking_no": "Y1"})
    assert r.status_code == 200 and r.json["status"] == "returning"
    assert stock(sku) == 2
    r = api.post(f"/admin/refunds/{rid}/confirm-returned", user=admin, json={})
    assert r.status_code == 200 and r.json["status"] == "refunded"
    assert r.json["amount"] == 2000
    assert stock(sku) == 3
    db.session.expire_all()
    order = db.session.get(Order, oid)
    assert order.status == "shipped" and order.refunded_amount == 2000
    assert api.post(f"/admin/refunds/{rid}/confirm-returned", user=admin, json={}).status_code == 409


def test_cannot_refund_more_than_refundable(api, client, factory):
    """K10: more units than bought, or than are left after open requests, is refused."""
    buyer = factory.user()
    sku = factory.product(price=2000, stock=5).skus[0]
    oid = place_and_pay(api, client, buyer, [(sku, 3)])
    [line] = lines_of(oid)
    r = ask(api, buyer, oid, [(line.id, 4)])
    assert r.status_code == 422 and r.json["field"] == "quantity"
    assert ask(api, buyer, oid, [(line.id, 2)]).status_code == 201
    r = ask(api, buyer, oid, [(line.id, 2)])
    assert r.status_code == 422 and r.json["field"] == "quantity"
    assert api.get(f"/orders/{oid}/refundable", user=buyer).json["lines"][0]["max_quantity"] == 1
    r = ask(api, buyer, oid, [(line.id, "1")])
    assert r.status_code == 422 and r.json["field"].endswith("quantity")
    r = ask(api, buyer, oid, [(line.id, 0)])
    assert r.status_code == 422 and r.json["field"].endswith("quantity")
    r = ask(api, buyer, oid, [(999999, 1)])
    assert r.status_code == 422 and r.json["field"] == "order_line_id"
    r = ask(api, buyer, oid, [(line.id, 1)], kind="everything")
    assert r.status_code == 422 and r.json["field"] == "kind"
    assert db.session.execute(select(func.count(Refund.id))).scalar_one() == 1


def test_unpaid_order_cannot_be_refunded(api, factory):
    """K10: nothing to refund before payment."""
    buyer = factory.user()
    sku = factory.product().skus[0]
    r = api.post(
        "/checkout/place",
        user=buyer,
        json={"items": [{"sku_id": sku.id, "quantity": 1}], "address_id": buyer_address(buyer).id},
        headers={"Idempotency-Key": "u"},
    )
    oid = r.json["orders"][0]["id"]
    [line] = lines_of(oid)
    assert ask(api, buyer, oid, [(line.id, 1)]).status_code == 409


def test_concurrent_duplicate_requests_refund_once(api, client, factory):
    """K10: two requests for the same units that both got through (as if at
    the same moment) cannot both be paid: the conditional UPDATE on
    refunded_quantity lets one win."""
    buyer, admin = factory.user(), factory.admin()
    sku = factory.product(price=2000, stock=5).skus[0]
    oid = place_and_pay(api, client, buyer, [(sku, 2)])
    [line] = lines_of(oid)
    first = ask(api, buyer, oid, [(line.id, 2)]).json
    # the twin request, written as a concurrent one would have been
    twin = Refund(number="RTWIN", order_id=oid, user_id=buyer.id, kind="refund_only", amount=first["amount"])
    db.session.add(twin)
    db.session.flush()
    db.session.add(RefundLine(refund_id=twin.id, order_line_id=line.id, quantity=2, amount=first["amount"]))
    db.session.commit()
    assert api.post(f"/admin/refunds/{first['id']}/approve", user=admin, json={}).status_code == 200
    r = api.post(f"/admin/refunds/{twin.id}/approve", user=admin, json={})
    assert r.status_code == 409
    db.session.expire_all()
    assert db.session.get(Refund, twin.id).status == "requested"
    order = db.session.get(Order, oid)
    assert order.refunded_amount == order.pay_amount
    assert db.session.execute(select(SandboxTrade.refunded_amount)).scalar_one() == order.pay_amount
    assert stock(sku) == 5


def test_reject_and_cancel(api, client, factory):
    """K10: the platform rejects with a reason; the buyer cancels an open request."""
    buyer, admin = factory.user(), factory.admin()
    sku = factory.product(price=2000, stock=5).skus[0]
    oid = place_and_pay(api, client, buyer, [(sku, 2)])
    [line] = lines_of(oid)
    rid = ask(api, buyer, oid, [(line.id, 1)]).json["id"]
    r = api.post(f"/admin/refunds/{rid}/reject", user=admin, json={})
    assert r.status_code == 422 and r.json["field"] == "reason"
    r = api.post(f"/admin/refunds/{rid}/reject", user=admin, json={"reason": "used"})
    assert r.json["status"] == "rejected" and r.json["reject_reason"] == "used"
    assert api.post(f"/refunds/{rid}/cancel", user=buyer).status_code == 409
    rid2 = ask(api, buyer, oid, [(line.id, 2)]).json["id"]
    r = api.post(f"/refunds/{rid2}/cancel", user=buyer)
    assert r.status_code == 200 and r.json["status"] == "cancelled"
    assert api.post(f"/admin/refunds/{rid2}/approve", user=admin, json={}).status_code == 409
    items = api.get("/refunds", user=buyer).json["items"]
    assert [i["id"] for i in items] == [rid2, rid]
    assert [i["id"] for i in api.get("/admin/refunds?status=rejected", user=admin).json["items"]] == [rid]
    db.session.expire_all()
    assert db.session.get(Order, oid).refunded_amount == 0


def test_other_buyers_refunds_are_not_found(api, client, factory):
    """K15: another buyer's order and refund answer 404."""
    buyer, other = factory.user(), factory.user()
    sku = factory.product(price=2000, stock=5).skus[0]
    oid = place_and_pay(api, client, buyer, [(sku, 2)])
    [line] = lines_of(oid)
    rid = ask(api, buyer, oid, [(line.id, 1)]).json["id"]
    assert api.get(f"/orders/{oid}/refundable", user=other).status_code == 404
    assert ask(api, other, oid, [(line.id, 1)]).status_code == 404
    assert api.get(f"/refunds/{rid}", user=other).status_code == 404
    assert api.post(f"/refunds/{rid}/cancel", user=other).status_code == 404
    assert (
        api.post(f"/refunds/{rid}/ship-back", user=other, json={"carrier": "a", "tracking_no": "b"}).status_code == 404
    )
    assert api.get("/refunds", user=other).json["items"] == []
    assert api.post(f"/admin/refunds/{rid}/approve", user=buyer, json={}).status_code == 403
    assert api.get(f"/refunds/{rid}", user=buyer).json["lines"][0]["order_line_id"] == line.id


def test_signals_sent_after_commit(api, client, factory):
    """K10: refund_requested and refund_completed are sent once each, after commit."""
    buyer, admin = factory.user(), factory.admin()
    sku = factory.product(price=2000, stock=5).skus[0]
    oid = place_and_pay(api, client, buyer, [(sku, 1)])
    [line] = lines_of(oid)
    seen = []

    def requested(sender, **kw):
        seen.append(("requested", sender.status))

    def completed(sender, **kw):
        # committed already: a fresh query sees the refund as paid
        status = db.session.execute(select(Refund.status).where(Refund.id == sender.id)).scalar_one()
        seen.append(("completed", status))

    signals.refund_requested.connect(requested)
    signals.refund_completed.connect(completed)
    try:
        rid = ask(api, buyer, oid, [(line.id, 1)]).json["id"]
        api.post(f"/admin/refunds/{rid}/approve", user=admin, json={})
    finally:
        signals.refund_requested.disconnect(requested)
        signals.refund_completed.disconnect(completed)
    assert seen == [("requested", "requested"), ("completed", "refunded")]


def test_order_detail_lists_refunds(api, client, factory):
    """K8/K10: the order detail shows its refunds and the allocations' reversals."""
    buyer, admin = factory.user(), factory.admin()
    a = factory.product(price=5000, stock=5).skus[0]
    oid = place_and_pay(api, client, buyer, [(a, 3)])
    [line] = lines_of(oid)
    rid = ask(api, buyer, oid, [(line.id, 1)]).json["id"]
    api.post(f"/admin/refunds/{rid}/approve", user=admin, json={})
    detail = api.get(f"/orders/{oid}", user=buyer).json
    assert [r["id"] for r in detail["refunds"]] == [rid]
    [alloc] = detail["lines"][0]["allocations"]
    assert alloc["amount"] == 1000 and alloc["reversed_amount"] == 333
    assert detail["lines"][0]["refunded_quantity"] == 1
    assert service.refundable_lines(db.session.get(Order, oid))[0][1] == 2


def test_racing_refunds_pay_once(app, api, client, factory):
    """K10: eight threads each ask for and approve a full refund of the same
    order at the same moment: the money goes back exactly once."""
    import threading

    from jishi.models import User

    buyer, admin = factory.user(), factory.admin()
    sku = factory.product(price=2000, stock=5).skus[0]
    oid = place_and_pay(api, client, buyer, [(sku, 2)])
    [line] = lines_of(oid)
    line_id, buyer_id, admin_id = line.id, buyer.id, admin.id
    db.session.commit()
    n = 8
    barrier = threading.Barrier(n)
    outcomes, errors = [], []

    def worker():
        with app.test_request_context(method="POST"):  # as the approving request is
            try:
                barrier.wait(timeout=30)
                user = db.session.get(User, buyer_id)
                try:
                    refund = service.request_refund(
                        user, db.session.get(Order, oid), "refund_only", [(line_id, 2)], "race"
                    )
                    service.approve(refund, db.session.get(User, admin_id))
                    outcomes.append("refunded")
                except service.AfterSalesError as exc:
                    db.session.rollback()
                    outcomes.append(exc.field)
            except Exception as exc:
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert outcomes.count("refunded") == 1, outcomes
    db.session.expire_all()
    order = db.session.get(Order, oid)
    assert order.refunded_amount == order.pay_amount
    assert db.session.execute(select(SandboxTrade.refunded_amount)).scalar_one() == order.pay_amount
    assert db.session.execute(select(func.count(Refund.id)).where(Refund.status == "refunded")).scalar_one() == 1
    assert stock(sku) == 5


class FailingSettlement:
    @hookimpl
    def settle_refund(self, refund):
        raise RuntimeError("ledger down")


def test_failing_settlement_rolls_the_refund_back(app, client, factory, plugin, api):
    """K10: settle_refund runs inside the refund's transaction: when it fails,
    no refund, reversal, stock or money moves."""
    app.extensions["jishi"].pm.register(FailingSettlement(), name="failing-settlement")
    buyer, admin = factory.user(), factory.admin()
    sku = factory.product(price=2000, stock=5).skus[0]
    oid = place_and_pay(api, client, buyer, [(sku, 2)])
    [line] = lines_of(oid)
    refund = service.request_refund(buyer, db.session.get(Order, oid), "refund_only", [(line.id, 2)], "")
    with pytest.raises(RuntimeError):
        service.approve(refund, admin)
    db.session.expire_all()
    assert db.session.get(Refund, refund.id).status == "requested"
    order = db.session.get(Order, oid)
    assert order.refunded_amount == 0 and order.status == "paid"
    assert lines_of(oid)[0].refunded_quantity == 0
    assert db.session.execute(select(SandboxTrade.refunded_amount)).scalar_one() == 0
    assert db.session.execute(select(func.count(RefundReversal.id))).scalar_one() == 0
    assert stock(sku) == 3
