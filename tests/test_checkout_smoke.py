"""K7/K8/K9: the pipeline end to end at the service level."""

from jishi.checkout.service import build_checkout, place_order
from jishi.models import Order, Sku
from jishi.payments import sandbox
from jishi.payments.service import handle_notification


def test_place_and_pay(app, factory):
    buyer = factory.user()
    addr = factory.address(buyer)
    p = factory.product(price=2000, stock=5)
    sku = p.skus[0]
    with app.test_request_context():
        co = build_checkout(buyer, [(sku.id, 2)], addr.id)
        assert not co.problems, co.problems
        assert co.goods_amount == 4000
        [payment] = place_order(buyer, [(sku.id, 2)], addr.id, idempotency_key="k1")
        again = place_order(buyer, [(sku.id, 2)], addr.id, idempotency_key="k1")
        assert again[0].id == payment.id
        from jishi.db import db

        assert db.session.get(Sku, sku.id).stock == 3
        trade = sandbox.create_trade(payment)
        trade.status = "paid"
        db.session.commit()
        params = sandbox.notification_for(trade)
        assert handle_notification("sandbox", params) == "success"
        assert handle_notification("sandbox", params) == "success"
        order = db.session.execute(db.select(Order)).scalar_one()
        assert order.status == "paid"
        assert len(order.events) == 2
