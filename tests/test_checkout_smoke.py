"""K7/K8/K9: the pipeline end to end at the service level."""

from jishi.checkout.service import build_checkout, place_order
from jishi.hookspecs import CartGroup, hookimpl
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
        trade = sandbox.trade_for(payment)
        trade.status = "paid"
        db.session.commit()
        params = sandbox.notification_for(trade)
        assert handle_notification("sandbox", params) == "success"
        assert handle_notification("sandbox", params) == "success"
        order = db.session.execute(db.select(Order)).scalar_one()
        assert order.status == "paid"
        assert len(order.events) == 2


class SplitBySeller:
    """A throwaway split_cart plugin: one group per seller_id."""

    __name__ = "split_by_seller"

    @hookimpl
    def split_cart(self, lines, user):
        groups = {}
        for line in lines:
            groups.setdefault(line.seller_id, []).append(line.key)
        return [CartGroup(key=f"seller:{s}", title=str(s), line_keys=tuple(k), seller_id=s) for s, k in groups.items()]


def test_pay_per_store_mode_is_idempotent(tmp_path):
    """K9 (订单按店铺支付): one payment order per order; a retry returns them all."""
    from jishi.db import db
    from jishi.models import PaymentOrder
    from jishi.testing import factories, make_app, reset_database

    app = make_app(tmp_path, config={"JISHI_PAYMENT_MODE": "per_order"}, extra_plugins=[SplitBySeller()])
    try:
        with app.test_request_context():
            buyer = factories.user()
            addr = factories.address(buyer)
            a = factories.product(price=2000, seller_id=1)
            b = factories.product(price=3000, seller_id=2)
            items = [(a.skus[0].id, 1), (b.skus[0].id, 1)]
            first = place_order(buyer, items, addr.id, idempotency_key="pp")
            again = place_order(buyer, items, addr.id, idempotency_key="pp")
            assert [p.id for p in first] == [p.id for p in again]
            assert sorted(p.amount for p in first) == [2000 + 1000, 3000 + 1000]
            assert db.session.scalar(db.select(db.func.count()).select_from(PaymentOrder)) == 2
            assert all(len(p.orders) == 1 for p in first)
    finally:
        with app.app_context():
            db.session.remove()
        reset_database(app)
