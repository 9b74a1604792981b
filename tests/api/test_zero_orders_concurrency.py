"""¥0 orders (0元订单自动支付) under real concurrency (K7): the same ¥0
placement sent at once with one Idempotency-Key places and pays once."""

from __future__ import annotations

import pytest
from jishi import settings
from jishi.db import db
from jishi.models import OrderEvent, PaymentOrder, Sku
from jishi.payments.models import PaymentEvent
from jishi.testing import parallel_config, run_parallel
from sqlalchemy import func, select


@pytest.fixture
def app_config():
    return parallel_config()


def test_concurrent_zero_placements_with_one_key_pay_once(app, factory):
    """¥0 orders/K7: 6 identical ¥0 placements at once with one key: one
    placement (201) and 5 replays of it (200), all answering the payment
    ``paid``; one charge event of ``free``, one move to paid, one unit of
    stock taken and sold."""
    from jishi.testing.principals import bearer

    settings.set_many({"delivery.flat_fee": 0})
    db.session.commit()
    product = factory.product(price=0, stock=50)
    sku_id = product.skus[0].id
    buyer = factory.user()
    body = {"items": [{"sku_id": sku_id, "quantity": 1}], "address_id": factory.address(buyer).id}
    headers = dict(bearer(buyer), **{"Idempotency-Key": "zero-key"})

    def place(i):
        resp = app.test_client().post("/api/v1/checkout/place", json=body, headers=headers)
        return resp.status_code, resp.get_json()

    results, errors = run_parallel(app, 6, place)
    assert not errors, errors
    assert sorted(status for status, _r in results) == [200] * 5 + [201]
    assert {(r["payments"][0]["id"], r["payments"][0]["status"]) for _s, r in results} == {
        (results[0][1]["payments"][0]["id"], "paid")
    }
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(PaymentOrder)) == 1
    assert db.session.scalar(select(func.count()).select_from(PaymentEvent).where(PaymentEvent.kind == "charge")) == 1
    assert db.session.scalar(select(func.count()).select_from(OrderEvent).where(OrderEvent.to_status == "paid")) == 1
    sku = db.session.get(Sku, sku_id)
    assert sku.stock == 49 and sku.product.sales == 1
