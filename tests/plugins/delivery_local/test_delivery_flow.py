"""LD: out for delivery / delivered through the seller API, what the buyer
sees, and the slot given back exactly once (cancel, timeout, full refund
before delivery; never after delivery)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from jishi.aftersales import service as aftersales
from jishi.aftersales.models import KIND_REFUND
from jishi.db import db, utcnow
from jishi.models import Order, OrderEvent, PaymentOrder
from jishi.orders import service as orders_service
from jishi_delivery_local import service
from jishi_delivery_local.models import LocalDelivery


@pytest.fixture
def placed(api, factory, ld):
    """(buyer, platform admin, order id) of a placed, unpaid local order."""
    ld.setup()
    buyer = factory.user(name="买家")
    address = factory.address(buyer, lat=ld.NEAR[0], lng=ld.NEAR[1])
    sku = factory.product(name="草莓", price=3000, stock=50).skus[0].id
    resp = api.post(
        "/checkout/place",
        json=ld.body(sku, 2, address.id, slot=ld.tomorrow()),
        user=buyer,
        headers={"Idempotency-Key": "k"},
    )
    assert resp.status_code == 201, resp.json
    return buyer, factory.admin(), resp.json["orders"][0]["id"]


def _order(order_id) -> Order:
    db.session.expire_all()
    return db.session.get(Order, order_id)


def _paid(ld, order_id) -> Order:
    order = _order(order_id)
    ld.pay(order.payment)
    return _order(order_id)


def _delivery(order_id) -> LocalDelivery:
    db.session.expire_all()
    return db.session.execute(db.select(LocalDelivery).where(LocalDelivery.order_id == order_id)).scalar_one()


def test_out_for_delivery_then_delivered(api, ld, placed):
    """LD: dispatch = kernel ship (carrier 同城配送, courier as tracking);
    deliver = kernel receive by the seller; the buyer sees slot, distance,
    status and courier in the order API."""
    buyer, admin, order_id = placed
    assert (
        api.post(
            f"/seller/local/orders/{order_id}/dispatch",
            json={"courier_name": "王师傅", "courier_phone": "13900000001"},
            user=admin,
        ).status_code
        == 409
    )  # not paid yet
    _paid(ld, order_id)
    listed = api.get("/seller/local/orders", user=admin).json["items"]
    assert [(i["order_id"], i["slot"], i["status"]) for i in listed] == [(order_id, ld.tomorrow(), "paid")]
    assert api.post(f"/seller/local/orders/{order_id}/deliver", user=admin).status_code == 409  # not out yet
    bad = api.post(
        f"/seller/local/orders/{order_id}/dispatch", json={"courier_name": " ", "courier_phone": "139"}, user=admin
    )
    assert bad.status_code == 422 and bad.json["field"] == "courier_name"
    bad = api.post(
        f"/seller/local/orders/{order_id}/dispatch", json={"courier_name": "王师傅", "courier_phone": "abc"}, user=admin
    )
    assert bad.status_code == 422 and bad.json["field"] == "courier_phone"
    assert _order(order_id).status == "paid"

    resp = api.post(
        f"/seller/local/orders/{order_id}/dispatch",
        json={"courier_name": "王师傅", "courier_phone": "13900000001"},
        user=admin,
    )
    assert resp.status_code == 200, resp.json
    assert resp.json["status"] == "shipped" and resp.json["courier_name"] == "王师傅" and resp.json["dispatched_at"]
    order = _order(order_id)
    assert (order.status, order.carrier, order.tracking_no) == ("shipped", "同城配送", "王师傅 13900000001")
    buyer_view = api.get(f"/orders/{order_id}", user=buyer).json
    assert buyer_view["status"] == "shipped"
    assert buyer_view["delivery"]["carrier"] == "同城配送"
    data = buyer_view["delivery"]["data"]
    assert data["slot"] == ld.tomorrow() and data["distance_m"] > 1000 and data["courier_name"] == "王师傅"
    assert (
        api.post(
            f"/seller/local/orders/{order_id}/dispatch",
            json={"courier_name": "王师傅", "courier_phone": "139"},
            user=admin,
        ).status_code
        == 409
    )  # twice

    resp = api.post(f"/seller/local/orders/{order_id}/deliver", user=admin)
    assert resp.status_code == 200 and resp.json["status"] == "received" and resp.json["delivered_at"]
    event = (
        db.session.execute(db.select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id.desc()))
        .scalars()
        .first()
    )
    assert (event.from_status, event.to_status, event.actor_role) == ("shipped", "received", "seller")
    assert api.post(f"/seller/local/orders/{order_id}/deliver", user=admin).status_code == 409
    assert ld.used() == 1  # a delivered order keeps its slot


def test_buyer_order_page_shows_the_delivery(client, ld, login, placed, api):
    """LD: the buyer's order page shows slot, distance, status and courier (order_detail_delivery)."""
    buyer, admin, order_id = placed
    _paid(ld, order_id)
    api.post(
        f"/seller/local/orders/{order_id}/dispatch",
        json={"courier_name": "王师傅", "courier_phone": "13900000001"},
        user=admin,
    )
    login(buyer)
    page = client.get(f"/orders/{order_id}").get_data(as_text=True)
    assert ld.tomorrow() in page and "km" in page and "Out for delivery" in page and "王师傅" in page


def test_full_refund_before_delivery_releases_once(ld, placed):
    """LD: a paid order fully refunded before delivery gives its slot back, exactly once."""
    buyer, admin, order_id = placed
    order = _paid(ld, order_id)
    assert ld.used() == 1
    refund = aftersales.request_refund(buyer, order, KIND_REFUND, [(order.lines[0].id, 2)], "不要了")
    aftersales.approve(refund, admin)
    order = _order(order_id)
    assert order.status == "closed" and order.close_reason == "refunded"
    assert ld.used() == 0 and _delivery(order_id).released_at is not None
    # A second release (a replayed close, a retried job) changes nothing.
    assert service.release(order) is False
    service.on_transition(order, "close", "paid")
    db.session.commit()
    assert ld.used() == 0


def test_partial_refund_keeps_the_slot(ld, placed):
    """LD: a partial refund leaves the order open and its slot held."""
    buyer, admin, order_id = placed
    order = _paid(ld, order_id)
    refund = aftersales.request_refund(buyer, order, KIND_REFUND, [(order.lines[0].id, 1)], "少要一个")
    aftersales.approve(refund, admin)
    assert _order(order_id).status == "paid" and ld.used() == 1


def test_refund_while_out_for_delivery_releases(api, ld, placed):
    """LD: fully refunded while out for delivery (not yet delivered): released."""
    buyer, admin, order_id = placed
    order = _paid(ld, order_id)
    api.post(
        f"/seller/local/orders/{order_id}/dispatch", json={"courier_name": "王师傅", "courier_phone": "139"}, user=admin
    )
    order = _order(order_id)
    refund = aftersales.request_refund(buyer, order, KIND_REFUND, [(order.lines[0].id, 2)], "送错了")
    aftersales.approve(refund, admin)
    assert _order(order_id).status == "closed" and ld.used() == 0


def test_closed_after_delivery_keeps_the_slot(api, ld, placed):
    """LD: an order closed after it was delivered does not give the slot back."""
    _buyer, admin, order_id = placed
    _paid(ld, order_id)
    api.post(
        f"/seller/local/orders/{order_id}/dispatch", json={"courier_name": "王师傅", "courier_phone": "139"}, user=admin
    )
    api.post(f"/seller/local/orders/{order_id}/deliver", user=admin)
    orders_service.close_paid(_order(order_id), actor=admin)
    assert _order(order_id).status == "closed"
    assert ld.used() == 1 and _delivery(order_id).released_at is None


def test_buyer_cancel_releases(api, ld, placed):
    """LD: the buyer cancels the unpaid order: the slot comes back once."""
    buyer, _admin, order_id = placed
    assert api.post(f"/orders/{order_id}/cancel", user=buyer).status_code == 200
    assert _order(order_id).status == "closed" and ld.used() == 0
    assert api.post(f"/orders/{order_id}/cancel", user=buyer).status_code == 409
    assert ld.used() == 0


def test_unpaid_timeout_releases(app, ld, placed):
    """LD: the unpaid-order job closes the order: the slot comes back."""
    _buyer, _admin, order_id = placed
    order = _order(order_id)
    db.session.execute(
        db.update(PaymentOrder)
        .where(PaymentOrder.id == order.payment_id)
        .values(created_at=utcnow() - timedelta(days=1))
    )
    db.session.commit()
    assert orders_service.close_unpaid() == 1
    assert _order(order_id).close_reason == "timeout" and ld.used() == 0
    assert orders_service.close_unpaid() == 0 and ld.used() == 0


def test_released_slot_can_be_booked_again(api, factory, ld):
    """LD: capacity 1: booked, cancelled, booked again by someone else."""
    ld.setup(slots=[{"start": "10:00", "end": "12:00", "capacity": 1}])
    sku = factory.product(price=3000, stock=9).skus[0].id
    users = [factory.user() for _ in range(2)]
    addrs = [factory.address(u, lat=ld.NEAR[0], lng=ld.NEAR[1]) for u in users]
    first = api.post(
        "/checkout/place",
        json=ld.body(sku, 1, addrs[0].id, slot=ld.tomorrow()),
        user=users[0],
        headers={"Idempotency-Key": "a"},
    )
    assert first.status_code == 201
    assert (
        api.post(
            "/checkout/place",
            json=ld.body(sku, 1, addrs[1].id, slot=ld.tomorrow()),
            user=users[1],
            headers={"Idempotency-Key": "b"},
        ).status_code
        == 422
    )
    api.post(f"/orders/{first.json['orders'][0]['id']}/cancel", user=users[0])
    assert (
        api.post(
            "/checkout/place",
            json=ld.body(sku, 1, addrs[1].id, slot=ld.tomorrow()),
            user=users[1],
            headers={"Idempotency-Key": "c"},
        ).status_code
        == 201
    )
    assert ld.used() == 1
