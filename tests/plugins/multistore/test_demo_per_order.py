"""K13/MS5: the demo data loads in the per-store payment mode
(``JISHI_PAYMENT_MODE=per_order``) with every first-party plugin enabled, as
``jishi demo`` enables them; the cross-store checkout is paid store by store."""

from __future__ import annotations

import pytest
from jishi.db import db
from sqlalchemy import select


@pytest.fixture
def app_plugins():
    """Every installed plugin but the test suite's fixture plugin (``jishi
    demo`` never sees it)."""
    from jishi.plugins import installed_plugins

    names = sorted(name for name, _ep in installed_plugins() if name != "hello")
    assert {"multistore", "coupons", "groupbuy", "flashsale", "pickup"} <= set(names)
    return names


@pytest.fixture
def app_config():
    return {"JISHI_PAYMENT_MODE": "per_order"}


def test_demo_loads_with_per_store_payments(app, client, login):
    from jishi.demo import load_demo
    from jishi.orders.models import Order, PaymentOrder
    from jishi_multistore.models import Merchant

    logins: dict = {}
    with app.test_request_context("/"):
        summary = load_demo(logins, history=False)
    assert "1 cross-store checkout" in summary

    shops = {m.name: m.id for m in db.session.scalars(select(Merchant))}
    mall = db.session.scalars(select(PaymentOrder).where(PaymentOrder.idempotency_key.like("demo-mall-1%"))).all()
    # one payment per store, each for its own order only, each paid
    assert len(mall) == 2
    assert sorted(o.seller_id for p in mall for o in p.orders) == sorted([shops["鲜果多多"], shops["零食小铺"]])
    for payment in mall:
        assert len(payment.orders) == 1 and payment.status == "paid"
        assert payment.amount == payment.orders[0].pay_amount
    by_seller = {p.orders[0].seller_id: p.orders[0] for p in mall}
    assert by_seller[shops["鲜果多多"]].status == "completed"
    assert by_seller[shops["零食小铺"]].status == "paid"
    # no payment anywhere in the demo mixes the orders of two stores
    for payment in db.session.scalars(select(PaymentOrder)):
        assert len({o.seller_id for o in payment.orders}) <= 1, payment.number
    assert db.session.scalars(select(Order).where(Order.status == "paid")).first() is not None

    login(db.session.scalars(select(Merchant).where(Merchant.name == "鲜果多多")).one().owner)
    assert client.get("/merchant/finance").status_code == 200
