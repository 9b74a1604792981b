"""K7 checkout preview and placement through the JSON API (K14)."""

from __future__ import annotations

import pytest
from jishi.cart.models import CartLine
from jishi.db import db
from jishi.hookspecs import Discount, hookimpl
from jishi.models import Order, OrderAllocation, OrderLine, PaymentOrder, Sku
from jishi.testing import is_postgres, libpq_trips
from sqlalchemy import func, select
from werkzeug.local import LocalProxy


def body(items, addr=None, **extra):
    data = {"items": [{"sku_id": s.id if hasattr(s, "id") else s, "quantity": q} for s, q in items]}
    if addr is not None:
        data["address_id"] = addr.id
    data.update(extra)
    return data


def stock(sku_id):
    db.session.expire_all()
    return db.session.get(Sku, sku_id).stock


def test_preview_groups_delivery_and_totals(api, factory):
    """K7: the preview shows groups, delivery options, lines and totals; writes nothing."""
    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product(price=2000, stock=5).skus[0]
    r = api.post("/checkout/preview", user=buyer, json=body([(sku, 2)], addr))
    assert r.status_code == 200, r.json
    data = r.json
    [group] = data["groups"]
    assert group["delivery"] == "standard"
    assert [o["code"] for o in group["delivery_options"]] == ["standard"]
    assert group["lines"][0]["goods_amount"] == 4000
    assert data["totals"] == {"goods_amount": 4000, "discount_amount": 0, "delivery_fee": 1000, "pay_amount": 5000}
    assert data["problems"] == []
    assert db.session.execute(select(func.count(Order.id))).scalar_one() == 0
    assert stock(sku.id) == 5


def test_preview_reports_problems(api, factory):
    """K7: missing address and short stock are problems naming the field."""
    buyer = factory.user()
    sku = factory.product(price=2000, stock=1).skus[0]
    r = api.post("/checkout/preview", user=buyer, json=body([(sku, 2)]))
    assert r.status_code == 200
    fields = {p["field"] for p in r.json["problems"]}
    assert {"items", "address_id"} <= fields


def test_preview_from_selected_cart_lines(api, factory):
    """K7: without items, the preview uses the buyer's selected cart lines."""
    buyer = factory.user()
    addr = factory.address(buyer)
    a = factory.product(price=1000).skus[0]
    b = factory.product(price=3000).skus[0]
    db.session.add_all(
        [
            CartLine(user_id=buyer.id, sku_id=a.id, quantity=2),
            CartLine(user_id=buyer.id, sku_id=b.id, quantity=1, selected=False),
        ]
    )
    db.session.commit()
    r = api.post("/checkout/preview", user=buyer, json={"address_id": addr.id})
    assert r.status_code == 200
    assert [line["sku_id"] for line in r.json["groups"][0]["lines"]] == [a.id]
    assert r.json["totals"]["goods_amount"] == 2000


def test_place_is_idempotent(api, factory):
    """K7: the same Idempotency-Key twice -> one payment, stock taken once."""
    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product(price=2000, stock=5).skus[0]
    headers = {"Idempotency-Key": "place-1"}
    r1 = api.post("/checkout/place", user=buyer, json=body([(sku, 2)], addr), headers=headers)
    assert r1.status_code == 201, r1.json
    r2 = api.post("/checkout/place", user=buyer, json=body([(sku, 2)], addr), headers=headers)
    assert r2.status_code == 200, r2.json
    assert r2.json["replayed"] is True
    assert [p["id"] for p in r2.json["payments"]] == [p["id"] for p in r1.json["payments"]]
    assert [o["id"] for o in r2.json["orders"]] == [o["id"] for o in r1.json["orders"]]
    assert db.session.execute(select(func.count(PaymentOrder.id))).scalar_one() == 1
    assert db.session.execute(select(func.count(Order.id))).scalar_one() == 1
    assert stock(sku.id) == 3
    # another key places again
    r3 = api.post("/checkout/place", user=buyer, json=body([(sku, 1)], addr), headers={"Idempotency-Key": "place-2"})
    assert r3.status_code == 201
    assert stock(sku.id) == 2


def test_retry_answers_the_first_placement_when_it_could_not_place_again(api, factory):
    """K7: a retry whose checkout is no longer valid (the cart it emptied,
    the last unit it took) still answers the first placement, 200, and
    writes nothing: the key decides, not the checkout."""
    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product(price=1000, stock=1).skus[0]
    db.session.add(CartLine(user_id=buyer.id, sku_id=sku.id, quantity=1))
    db.session.commit()
    r1 = api.post("/checkout/place", user=buyer, json={"address_id": addr.id}, headers={"Idempotency-Key": "once"})
    assert r1.status_code == 201, r1.json
    r2 = api.post(
        "/checkout/place", user=buyer, json={"address_id": addr.id}, headers={"Idempotency-Key": "once"}
    )  # the cart is empty now
    assert (r2.status_code, r2.json["replayed"]) == (200, True)
    r3 = api.post(
        "/checkout/place", user=buyer, json=body([(sku, 1)], addr), headers={"Idempotency-Key": "once"}
    )  # and sold out
    assert (r3.status_code, [p["id"] for p in r3.json["payments"]]) == (200, [p["id"] for p in r1.json["payments"]])
    assert db.session.execute(select(func.count(PaymentOrder.id))).scalar_one() == 1
    assert stock(sku.id) == 0


@pytest.mark.parametrize("key", ["", "k" * 73, "a#1"])
def test_place_refuses_a_bad_idempotency_key(api, factory, key):
    """K7/K14: a key of 0 or more than 72 characters, or with "#" (the kernel
    keeps "<key>#n" for a per-store placement's other payments), is a 400
    naming the header; nothing is written."""
    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product().skus[0]
    r = api.post("/checkout/place", user=buyer, json=body([(sku, 1)], addr), headers={"Idempotency-Key": key})
    assert (r.status_code, r.json["field"]) == (400, "Idempotency-Key")
    assert db.session.execute(select(func.count(PaymentOrder.id))).scalar_one() == 0


def test_place_needs_idempotency_key(api, factory):
    """K7/K14: placing without an Idempotency-Key is a 400 naming the header."""
    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product().skus[0]
    r = api.post("/checkout/place", user=buyer, json=body([(sku, 1)], addr))
    assert r.status_code == 400
    assert r.json["field"] == "Idempotency-Key"


def test_place_problems_write_nothing(api, factory):
    """K7: a checkout with problems answers 4xx with the field and writes nothing."""
    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product(price=2000, stock=1).skus[0]
    r = api.post("/checkout/place", user=buyer, json=body([(sku, 2)], addr), headers={"Idempotency-Key": "x"})
    assert r.status_code in (409, 422)
    assert r.json["field"] == "items"
    r = api.post("/checkout/place", user=buyer, json=body([(sku, 1)]), headers={"Idempotency-Key": "y"})
    assert r.status_code == 422
    assert r.json["field"] == "address_id"
    r = api.post("/checkout/place", user=buyer, json=body([(999999, 1)], addr), headers={"Idempotency-Key": "z"})
    assert r.status_code == 422
    assert r.json["field"] == "items"
    assert db.session.execute(select(func.count(PaymentOrder.id))).scalar_one() == 0
    assert stock(sku.id) == 1


def test_place_from_cart_empties_cart_lines(api, factory):
    """K7: placing the selected cart lines removes them from the cart."""
    buyer = factory.user()
    addr = factory.address(buyer)
    a = factory.product(price=1000).skus[0]
    b = factory.product(price=3000).skus[0]
    db.session.add_all(
        [
            CartLine(user_id=buyer.id, sku_id=a.id, quantity=2),
            CartLine(user_id=buyer.id, sku_id=b.id, quantity=1, selected=False),
        ]
    )
    db.session.commit()
    r = api.post("/checkout/place", user=buyer, json={"address_id": addr.id}, headers={"Idempotency-Key": "cart"})
    assert r.status_code == 201, r.json
    left = db.session.execute(select(CartLine.sku_id).where(CartLine.user_id == buyer.id)).scalars().all()
    assert left == [b.id]


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"items": [{"sku_id": 1, "quantity": "2"}]}, "quantity"),
        ({"items": [{"sku_id": 1, "quantity": 2.5}]}, "quantity"),
        ({"items": [{"sku_id": 1, "quantity": 0}]}, "quantity"),
        ({"items": [{"sku_id": "1", "quantity": 1}]}, "sku_id"),
        ({"items": [{"sku_id": 1, "quantity": 1}], "address_id": "x"}, "address_id"),
        ({"items": []}, "items"),
    ],
)
def test_bad_input_names_the_field(api, factory, payload, field):
    """K14: bad input -> 422 naming the field, never a 500."""
    buyer = factory.user()
    factory.product()
    r = api.post("/checkout/preview", user=buyer, json=payload)
    assert r.status_code == 422, r.json
    assert r.json["field"].split(".")[-1] == field


def test_anonymous_is_401(api):
    """K14/K15: checkout needs a signed-in buyer."""
    assert api.post("/checkout/preview", json={"items": []}).status_code == 401


class FullReduction:
    """A throwaway marketing plugin: 10 yuan off orders from 100 yuan (满100减10)."""

    @hookimpl
    def order_discounts(self, checkout):
        if checkout.goods_amount >= 10000:
            return [Discount(source="test_full_reduction", label="100-10", amount=1000)]
        return None


class TestWithDiscount:
    @pytest.fixture
    def extra_plugins(self):
        return [FullReduction()]

    def test_discount_allocated_per_line(self, api, factory):
        """K7/MS9: a discount is allocated over the lines (largest remainder) and recorded."""
        buyer = factory.user()
        addr = factory.address(buyer)
        a = factory.product(price=3333, stock=10).skus[0]
        b = factory.product(price=1001, stock=10).skus[0]
        r = api.post("/checkout/preview", user=buyer, json=body([(a, 3), (b, 1)], addr))
        assert r.status_code == 200
        lines = r.json["groups"][0]["lines"]
        shares = [sum(al["amount"] for al in line["allocations"]) for line in lines]
        assert sum(shares) == 1000
        assert shares == [909, 91]  # 9999 : 1001 by largest remainder
        assert r.json["discounts"] == [
            {"source": "test_full_reduction", "label": "100-10", "amount": 1000, "funded_by": "platform"}
        ]
        assert r.json["totals"]["pay_amount"] == 11000 - 1000  # free delivery over 99 yuan
        r = api.post("/checkout/place", user=buyer, json=body([(a, 3), (b, 1)], addr), headers={"Idempotency-Key": "d"})
        assert r.status_code == 201
        allocs = (
            db.session.execute(select(OrderAllocation.amount).order_by(OrderAllocation.order_line_id)).scalars().all()
        )
        assert allocs == [909, 91]
        pays = db.session.execute(select(OrderLine.pay_amount).order_by(OrderLine.id)).scalars().all()
        assert pays == [9999 - 909, 1001 - 91]

    @pytest.mark.skipif(not is_postgres(), reason="PostgreSQL's round trips (psycopg's pipeline)")
    def test_place_writes_its_rows_in_one_round_trip(self, api, factory, tmp_path):
        """K7 (performance, issue 20): on PostgreSQL the placement's INSERTs
        of the payment, the orders, the lines, the history and the
        allocations go to the server together, one round trip (a pipeline),
        each row naming the row it belongs to by its number, and the SKUs'
        conditional stock UPDATE with them; what is written is what the
        placement answers."""
        buyer = factory.user()
        addr = factory.address(buyer)
        a = factory.product(price=3333, stock=10).skus[0]
        b = factory.product(price=1001, stock=10).skus[0]
        api.headers(buyer)  # the token issued outside the traced block
        with libpq_trips(db.engine, tmp_path) as trips:
            r = api.post(
                "/checkout/place", user=buyer, json=body([(a, 3), (b, 1)], addr), headers={"Idempotency-Key": "p"}
            )
        assert r.status_code == 201, r.json
        tables = ("payment_orders", "orders", "order_lines", "order_allocations", "order_events")
        writing = [t for t in trips if any(f"INSERT INTO {name} " in line for line in t for name in tables)]
        assert len(writing) == 1, "\n\n".join("\n".join(t) for t in trips)
        [trip] = writing
        kinds = [line.split("\t")[2] for line in trip]
        parsed = [line.split("\t")[3] for line, kind in zip(trip, kinds) if kind == "Parse"]
        assert [
            next((n for n in tables if f"INSERT INTO {n} " in p), "UPDATE skus" if '"UPDATE skus ' in p else p)
            for p in parsed
        ] == [*tables[:3], "order_events", "order_allocations", "UPDATE skus"], parsed
        assert kinds.count("Sync") == 1, trip
        [payment] = r.json["payments"]
        db.session.expire_all()
        orders = db.session.execute(select(Order)).scalars().all()
        assert [o.id for o in orders] == [o["id"] for o in payment["orders"]] and orders[0].payment_id == payment["id"]
        lines = db.session.execute(select(OrderLine).order_by(OrderLine.id)).scalars().all()
        assert {ln.order_id for ln in lines} == {orders[0].id} and len(lines) == 2
        allocations = db.session.execute(select(OrderAllocation).order_by(OrderAllocation.id)).scalars().all()
        assert sorted((al.order_line_id, al.amount) for al in allocations) == [(lines[0].id, 909), (lines[1].id, 91)]
        assert [db.session.get(Sku, s.id).stock for s in (a, b)] == [7, 9]


@pytest.mark.parametrize("n_lines", [1, 5, 10])
def test_place_query_budget(api, factory, queries, n_lines):
    """K7 (performance): placing 1, 5 or 10 lines takes the same 9 statements
    (token, lines, address, settings, INSERT payment ON CONFLICT, orders,
    lines RETURNING, history, and ONE stock UPDATE), none repeated (the
    budget is 12 + L)."""
    buyer = factory.user()
    addr = factory.address(buyer)
    skus = [factory.product(price=100 + i, stock=10).skus[0] for i in range(n_lines)]
    api.headers(buyer)  # issue the token outside the measured block
    payload = body([(s, 1) for s in skus], addr)
    with queries() as q:
        r = api.post("/checkout/place", user=buyer, json=payload, headers={"Idempotency-Key": f"budget-{n_lines}"})
    assert r.status_code == 201, r.json
    assert q.count == 9, "\n".join(q.statements)
    assert not q.duplicates(), q.duplicates()


@pytest.mark.parametrize("hidden", ["off_shelf", "inactive_sku"])
def test_explicit_items_of_a_hidden_product_are_unknown_skus(api, factory, hidden):
    """K7/K15: a checkout naming a SKU the buyer could not open (product off
    the shelf, SKU inactive) answers exactly like a SKU that does not exist:
    422 not_found on ``items``, without the product's name, price or stock;
    nothing is written. The same product in the buyer's cart is shown with
    a problem (the buyer added it while it was for sale)."""
    buyer = factory.user()
    addr = factory.address(buyer)
    product = factory.product(name="秘密新品", price=2345, stock=7)
    sku = product.skus[0]
    db.session.add(CartLine(user_id=buyer.id, sku_id=sku.id, quantity=1))
    if hidden == "off_shelf":
        product.on_shelf = False
    else:
        sku.is_active = False
    db.session.commit()
    unknown = api.post("/checkout/preview", user=buyer, json=body([(999999, 1)], addr))
    for path, key in (("/checkout/preview", None), ("/checkout/place", "hidden-1")):
        headers = {"Idempotency-Key": key} if key else {}
        r = api.post(path, user=buyer, json=body([(sku, 1)], addr), headers=headers)
        assert r.status_code == 422, r.json
        assert (
            (r.json["code"], r.json["field"]) == ("not_found", "items") == (unknown.json["code"], unknown.json["field"])
        )
        text = r.get_data(as_text=True)
        assert "秘密新品" not in text and "2345" not in text
    r = api.post("/checkout/preview", user=buyer, json={"address_id": addr.id})  # from the cart
    assert r.status_code == 200 and r.json["problems"], r.json
    assert db.session.execute(select(func.count(PaymentOrder.id))).scalar_one() == 0
    assert stock(sku.id) == 7


def test_placement_commit_expires_all_but_what_it_wrote(app, factory):
    """Issue 20: after placing, the payment orders and orders answered stay
    loaded (no statement to answer them), every other instance is expired as
    a commit expires it: one whose mapper cascades nothing (a SKU) as
    ``expire_all`` does, one that cascades "refresh-expire" (a product, to
    its SKUs) through ``session.expire``; a re-read sees the new stock."""
    from jishi.checkout.service import _cascades_expire, place_order
    from sqlalchemy import inspect

    buyer = factory.user()
    addr = factory.address(buyer)
    product = factory.product("甲", price=1000, stock=5)
    assert _cascades_expire(inspect(product).mapper) and not _cascades_expire(inspect(product.skus[0]).mapper)
    sku = product.skus[0]
    db.session.commit()
    assert (product.name, sku.stock) == ("甲", 5)  # loaded
    [payment] = place_order(buyer, [(sku.id, 2)], addr.id, {}, idempotency_key="keep-1")
    assert not inspect(payment).expired_attributes and payment.orders
    assert all(not inspect(o).expired_attributes for o in payment.orders)
    assert "stock" in inspect(sku).expired_attributes and "name" in inspect(product).expired_attributes
    assert sku.stock == 3 and product.name == "甲"


def test_preview_end_expunges_what_the_checkout_read(app, factory):
    """Issue 20: the preview's end (``_end_preview``) expunges the instances
    the checkout's reads put in the session (its SKUs and products, the
    checkout loaders' rows) instead of having the rollback expire each; what
    the session held before (the buyer) is expired by the rollback as
    before, and a later read of the same row in the session sees the row as
    it is now."""
    from jishi.api.checkout import _end_preview
    from jishi.checkout.service import build_checkout
    from sqlalchemy import inspect, update

    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product("甲", price=1000, stock=5).skus[0]
    sku_id, buyer_id, address_id, user_model = sku.id, buyer.id, addr.id, type(buyer)
    db.session.commit()
    db.session.expunge_all()
    buyer = db.session.get(user_model, buyer_id)
    session = db.session()
    held = set(session.identity_map.keys())
    co = build_checkout(buyer, [(sku_id, 2)], address_id, {})
    line_sku = co.lines[0].sku
    assert inspect(line_sku).persistent and inspect(line_sku.product).persistent
    _end_preview(session, held)
    assert inspect(line_sku).detached and inspect(line_sku.product).detached
    assert inspect(co.address).detached
    assert inspect(buyer).persistent and "phone" in inspect(buyer).expired_attributes
    assert line_sku.stock == 5  # its values stay readable
    db.session.execute(update(Sku).where(Sku.id == sku_id).values(stock=4))
    db.session.commit()
    again = db.session.get(Sku, sku_id)
    assert again is not line_sku and again.stock == 4


class SeesTheBuyer:
    """A throwaway plugin recording the ``user`` its checkout hooks get."""

    seen: list = []

    @hookimpl
    def price_rules(self, lines, user, options):
        self.seen.append((type(user), isinstance(user, LocalProxy), user.id))

    @hookimpl
    def order_discounts(self, checkout):
        user = checkout.user
        self.seen.append((type(user), isinstance(user, LocalProxy), user.id))


class TestHooksGetTheBuyer:
    @pytest.fixture
    def extra_plugins(self):
        SeesTheBuyer.seen = []
        return [SeesTheBuyer()]

    def test_hooks_get_the_buyer_not_the_proxy(self, api, factory):
        """Issue 20: ``build_checkout`` called with Flask-Login's
        ``current_user`` (the API views) hands its hooks the buyer itself,
        not the proxy (each attribute read through the proxy asked
        Flask-Login again)."""
        from jishi.models import User

        buyer = factory.user()
        addr = factory.address(buyer)
        sku = factory.product(price=2000, stock=5).skus[0]
        r = api.post("/checkout/preview", user=buyer, json=body([(sku, 1)], addr))
        assert r.status_code == 200, r.json
        assert SeesTheBuyer.seen == [(User, False, buyer.id)] * 2
