"""K7/K8: ``checkout.entry.place_orders`` places several checkouts in ONE
transaction (a queue's consumer placing a batch), each exactly as
``place_order`` places it, a refused one rolled back alone by its savepoint,
idempotent by each request's key, ``order_placed`` sent after the one commit
for the placed ones only."""

from __future__ import annotations

import pytest
from jishi import signals
from jishi.checkout import entry as checkout_entry
from jishi.checkout.errors import CheckoutError, OutOfStock, TotalChanged
from jishi.db import db
from jishi.hookspecs import StockReservation, hookimpl
from jishi.models import Order, OrderLine, PaymentOrder, Sku


def _count(model, *where):
    db.session.expire_all()
    return db.session.scalar(db.select(db.func.count()).select_from(model).where(*where))


def test_place_orders_places_each_as_place_order_and_isolates_refusals(app, factory):
    """K7/K8: four checkouts in one call: two placed (the same prices,
    amounts and stock as ``place_order``), one refused for an address that is
    not the buyer's, one for a changed total, one for stock short; the refused
    ones write nothing, the others commit together; ``before_commit`` sees
    the answers inside the transaction; the signals follow the commit, for
    the placed ones only."""
    p = factory.product(price=2000, stock=3)
    sku = p.skus[0].id
    a, b, c, d, e = (factory.user() for _ in range(5))
    addr = {u.id: factory.address(u).id for u in (a, b, c, d, e)}
    placed_signals: list = []
    seen_in_transaction: list = []

    def on_placed(sender, **kw):
        placed_signals.append((sender.user_id, _count(PaymentOrder)))

    reqs = [
        checkout_entry.PlaceRequest(a, [(sku, 1)], addr[a.id], idempotency_key="ka"),
        checkout_entry.PlaceRequest(b, [(sku, 1)], addr[a.id], idempotency_key="kb"),  # a's address
        checkout_entry.PlaceRequest(c, [(sku, 1)], addr[c.id], idempotency_key="kc", expected_total=1),
        checkout_entry.PlaceRequest(d, [(sku, 2)], addr[d.id], idempotency_key="kd"),
        checkout_entry.PlaceRequest(e, [(sku, 2)], addr[e.id], idempotency_key="ke"),  # 1 left: short
    ]
    with app.test_request_context(), signals.order_placed.connected_to(on_placed):
        results = checkout_entry.place_orders(reqs, before_commit=lambda r: seen_in_transaction.append(list(r)))
    assert [type(r) for r in results[:3]] == [checkout_entry.Placed, CheckoutError, TotalChanged]
    assert isinstance(results[3], checkout_entry.Placed) and isinstance(results[4], OutOfStock)
    assert results[1].problems[0].code == "address" and results[2].problems[0].code == "total_changed"
    assert not results[0].replayed and not results[3].replayed
    assert seen_in_transaction == [results]
    pa, pd = results[0][0], results[3][0]
    [oa], [od] = pa.orders, pd.orders
    assert (oa.goods_amount, od.goods_amount) == (2000, 4000)
    assert (pa.amount, pd.amount) == (oa.pay_amount, od.pay_amount) == (2000 + oa.delivery_fee, 4000 + od.delivery_fee)
    assert _count(PaymentOrder) == 2 and _count(Order) == 2
    assert sorted(u for u, _n in placed_signals) == sorted([a.id, d.id])
    assert all(n == 2 for _u, n in placed_signals)  # sent after the commit
    assert db.session.get(Sku, sku).stock == 0
    lines = db.session.execute(db.select(OrderLine).order_by(OrderLine.id)).scalars().all()
    assert [(ln.quantity, ln.unit_price, ln.pay_amount) for ln in lines] == [(1, 2000, 2000), (2, 2000, 4000)]


def test_place_orders_is_idempotent_by_each_key(app, factory):
    """K8: a request whose key placed already (by ``place_order`` or an
    earlier batch) answers that placement, ``replayed``, and writes nothing;
    the same key twice in one batch places once."""
    p = factory.product(price=500, stock=10)
    sku = p.skus[0].id
    u, v = factory.user(), factory.user()
    au, av = factory.address(u).id, factory.address(v).id
    with app.test_request_context():
        [first] = checkout_entry.place_order(u, [(sku, 1)], au, idempotency_key="same")
        results = checkout_entry.place_orders(
            [
                checkout_entry.PlaceRequest(u, [(sku, 1)], au, idempotency_key="same"),
                checkout_entry.PlaceRequest(v, [(sku, 1)], av, idempotency_key="v1"),
                checkout_entry.PlaceRequest(v, [(sku, 1)], av, idempotency_key="v1"),
            ]
        )
    assert results[0].replayed and results[0][0].id == first.id
    assert not results[1].replayed and results[2].replayed and results[2][0].id == results[1][0].id
    assert _count(PaymentOrder) == 2 and db.session.get(Sku, sku).stock == 8


def test_place_orders_rolls_the_whole_batch_back_on_an_error(app, factory):
    """K7: anything but a refusal (here ``before_commit`` raising, as a
    database error would) rolls every placement of the batch back and
    propagates; no signal is sent."""
    p = factory.product(price=500, stock=10)
    sku = p.skus[0].id
    u = factory.user()
    au = factory.address(u).id
    sent: list = []

    def boom(results):
        raise RuntimeError("database away")

    with app.test_request_context(), signals.order_placed.connected_to(lambda s, **kw: sent.append(s)):
        with pytest.raises(RuntimeError):
            checkout_entry.place_orders(
                [checkout_entry.PlaceRequest(u, [(sku, 1)], au, idempotency_key=f"k{i}") for i in range(3)],
                before_commit=boom,
            )
    assert _count(PaymentOrder) == 0 and db.session.get(Sku, sku).stock == 10 and sent == []


class BatchPool:
    """A throwaway stock pool taking every line, all at once through
    ``reserve_stock_many`` (refusing when a line asks more than ``cap``)."""

    __name__ = "batch_pool"

    def __init__(self):
        self.many: list = []
        self.single: list = []
        self.cap = 10

    @hookimpl
    def reserve_stock_many(self, lines):
        self.many.append([(line.sku_id, line.quantity, order.user_id) for line, order in lines])
        if any(line.quantity > self.cap for line, _order in lines):
            raise OutOfStock(lines[0][0].key, lines[0][0].name)
        return {i: StockReservation("pool", line.quantity) for i, (line, _order) in enumerate(lines)}

    @hookimpl
    def reserve_stock(self, line, order):
        self.single.append(line.sku_id)


@pytest.mark.parametrize("extra_plugins", [[BatchPool()]], ids=["plugin"])
def test_hook_reserve_stock_many(app, factory, extra_plugins):
    """K3 (``reserve_stock_many``): place_orders offers every line of the batch
    to the pool in ONE call (no reserve_stock call for a line taken; the SKU
    stock untouched; the lines record the pool); when the pool refuses the
    batch, each checkout is offered alone and only the one that does not fit
    is refused."""
    [pool] = extra_plugins
    sku = factory.product(price=1000, stock=5).skus[0].id
    users = [factory.user() for _ in range(3)]
    addr = [factory.address(u).id for u in users]
    with app.test_request_context():
        results = checkout_entry.place_orders(
            [
                checkout_entry.PlaceRequest(u, [(sku, i + 1)], a, idempotency_key=f"m{i}")
                for i, (u, a) in enumerate(zip(users, addr))
            ]
        )
    assert all(isinstance(r, checkout_entry.Placed) for r in results)
    assert pool.many == [[(sku, 1, users[0].id), (sku, 2, users[1].id), (sku, 3, users[2].id)]] and pool.single == []
    assert {ln.stock_source for ln in db.session.execute(db.select(OrderLine)).scalars()} == {"pool"}
    assert db.session.get(Sku, sku).stock == 5
    pool.many.clear()
    pool.cap = 2
    with app.test_request_context():
        results = checkout_entry.place_orders(
            [
                checkout_entry.PlaceRequest(u, [(sku, i + 1)], a, idempotency_key=f"n{i}")
                for i, (u, a) in enumerate(zip(users, addr))
            ]
        )
    assert [type(r) for r in results] == [checkout_entry.Placed, checkout_entry.Placed, OutOfStock]
    assert len(pool.many) == 4  # the batch, then each alone
    assert _count(PaymentOrder) == 5
