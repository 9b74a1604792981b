"""Issue 13 A1: the placing request carries the total the buyer saw
(``expected_total``, fen); a checkout whose total is now different is
refused with the new total (409 ``total_changed``) and places nothing — on
SQLite and PostgreSQL (``JISHI_TEST_DATABASE_URL``). The check costs no
statement."""

from __future__ import annotations

from jishi.cart.models import CartLine
from jishi.db import db
from jishi.models import Order, OrderLine, PaymentOrder, Sku
from sqlalchemy import func, select


def _body(sku, addr, quantity=2, **extra):
    return {"items": [{"sku_id": sku.id, "quantity": quantity}], "address_id": addr.id, **extra}


def _count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def test_stale_expected_total_is_refused_with_the_new_total_and_nothing_written(api, factory):
    """A1: the buyer saw ¥40.00 + delivery but the total is now ¥50.00: 409
    total_changed naming pay_amount 5000; no payment, order, line, stock or
    cart change. The same key then places at the total shown."""
    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product(price=2000, stock=5).skus[0]
    db.session.add(CartLine(user_id=buyer.id, sku_id=sku.id, quantity=2, selected=True))
    db.session.commit()
    preview = api.post("/checkout/preview", user=buyer, json={"address_id": addr.id})
    assert preview.status_code == 200, preview.json
    assert preview.json["totals"]["pay_amount"] == 5000  # 2 x 2000 + 1000 delivery

    stale = 4000
    r = api.post(
        "/checkout/place",
        user=buyer,
        json={"address_id": addr.id, "expected_total": stale},
        headers={"Idempotency-Key": "seen-total-1"},
    )
    assert r.status_code == 409, r.json
    assert r.json["code"] == "total_changed"
    assert r.json["field"] == "expected_total"
    assert r.json["pay_amount"] == 5000
    assert _count(PaymentOrder) == _count(Order) == _count(OrderLine) == 0
    db.session.expire_all()
    assert db.session.get(Sku, sku.id).stock == 5
    assert _count(CartLine) == 1

    r = api.post(
        "/checkout/place",
        user=buyer,
        json={"address_id": addr.id, "expected_total": 5000},
        headers={"Idempotency-Key": "seen-total-1"},
    )
    assert r.status_code == 201, r.json
    assert r.json["payments"][0]["amount"] == 5000


def test_expected_total_must_be_whole_fen(api, factory):
    """A1: expected_total is integer fen (2.5 or "5000" is a 422 naming it)."""
    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product(price=2000, stock=5).skus[0]
    for bad in (2.5, "5000", -1):
        r = api.post(
            "/checkout/place", user=buyer, json=_body(sku, addr, expected_total=bad), headers={"Idempotency-Key": "b"}
        )
        assert r.status_code == 422, r.json
        assert r.json["field"] == "expected_total"
    assert _count(PaymentOrder) == 0


def test_expected_total_check_adds_no_statement(api, factory, queries):
    """A1 (performance): placing with the right expected_total takes the
    same 9 statements as without it (tests/api/test_checkout.py pins 9)."""
    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product(price=2000, stock=5).skus[0]
    api.headers(buyer)  # the token and the payload outside the measured block
    payload = _body(sku, addr, expected_total=5000)
    with queries() as q:
        r = api.post("/checkout/place", user=buyer, json=payload, headers={"Idempotency-Key": "budget-expected"})
    assert r.status_code == 201, r.json
    assert q.count == 9, "\n".join(q.statements)
