"""Issue 20: the checkout's hot paths written without the ORM's and
marshmallow's general machinery, checked against what that machinery gives.

- the preview's answer (``jishi.api.checkout.preview_response``, a dumper
  made once from CheckoutPreviewSchema) is exactly the schema's dump;
- the placement's writes (Core INSERTs held per dialect, their RETURNING
  rows made persistent instances) leave the same rows as the ORM wrote and
  the answer's payment and orders are clean persistent instances;
- the multi-row INSERTs held as SQL per number of rows write what
  SQLAlchemy's INSERT of the same rows writes (defaults, types);
- the stock's conditional UPDATE (held per number of SKUs) takes exactly
  the quantities and refuses a short SKU.
"""

from __future__ import annotations

import json

import pytest
from jishi.cli.docs import FIRST_PARTY_PLUGINS
from jishi.db import db

pytestmark = pytest.mark.jishi_plugins(*FIRST_PARTY_PLUGINS)


def _express_template():
    from jishi_delivery_express.testing import piece_template

    piece_template(name="默认")


def _schema_dumps(monkeypatch):
    """The schema's own dump of every preview the API answers (as JSON text decodes it)."""
    from jishi.api import checkout as api_checkout
    from jishi.api.checkout import CheckoutPreviewSchema

    seen = []
    real = api_checkout.preview_response

    def checked(data):
        seen.append(json.loads(json.dumps(CheckoutPreviewSchema().dump(data), ensure_ascii=False)))
        return real(data)

    monkeypatch.setattr(api_checkout, "preview_response", checked)
    return seen


def test_preview_equals_the_schema_dump(api, factory, ms, monkeypatch):
    """Issue 20: the preview of 3 merchants' lines with a platform coupon
    allocated over them (allocations per line, discounts), a message and
    an unknown delivery method (a problem with its group),
    every plugin's extras (coupons' options), and without an address, is
    the schema's dump of the same preview, field for field."""
    from jishi_coupons import service as coupons

    _express_template()
    buyer = factory.user()
    addr = factory.address(buyer)
    shops = [ms.merchant(f"店{i}") for i in range(3)]
    skus = [ms.product(shops[i % 3], price=4000 + i, stock=50).skus[0] for i in range(5)]
    from datetime import timedelta

    from jishi.db import utcnow

    template = coupons.create_template(
        None,
        {
            "name": "满100减10",
            "kind": "fixed",
            "threshold": 10000,
            "amount": 1001,
            "scope": "all",
            "starts_at": utcnow() - timedelta(days=1),
            "ends_at": utcnow() + timedelta(days=30),
            "total_quantity": 100,
            "per_user_limit": 1,
        },
    )
    coupons.claim(buyer, template.id)
    items = [{"sku_id": s.id, "quantity": 1 + i % 2} for i, s in enumerate(skus)]
    seen = _schema_dumps(monkeypatch)
    r = api.post("/checkout/preview", user=buyer, json={"items": items, "address_id": addr.id})
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
    assert r.json == seen[-1]
    assert r.json["totals"]["discount_amount"] == 1001  # allocated over the lines, to the fen
    assert sum(a["amount"] for g in r.json["groups"] for ln in g["lines"] for a in ln["allocations"]) == 1001
    assert "coupons" in r.json["plugins"]

    key = r.json["groups"][0]["key"]
    body = {
        "items": items,
        "address_id": addr.id,
        "delivery": {key: "nowhere"},
        "messages": {r.json["groups"][1]["key"]: "放门口"},
    }
    r = api.post("/checkout/preview", user=buyer, json=body)
    assert r.status_code == 200
    assert r.json == seen[-1]
    assert r.json["problems"] and {(p["code"], p["group"]) for p in r.json["problems"]} == {("delivery", key)}
    assert r.json["groups"][1]["message"] == "放门口"

    r = api.post("/checkout/preview", user=buyer, json={"items": items[:1]})  # no address
    assert r.status_code == 200
    assert r.json == seen[-1] and r.json["address_id"] is None


def test_placed_rows_and_instances(api, factory, ms):
    """Issue 20: a placement of 5 lines from 3 merchants writes its payment,
    orders (address snapshot, delivery data), lines, history and stock as
    before; the payment and orders it answers are clean persistent
    instances of the session, each payment's ``orders`` loaded; a retry
    with the key answers them without writing."""
    from jishi.orders.models import Order, OrderEvent, OrderLine, PaymentOrder
    from sqlalchemy import func, inspect, select

    _express_template()
    buyer = factory.user()
    addr = factory.address(buyer)
    shops = [ms.merchant(f"店{i}") for i in range(3)]
    skus = [ms.product(shops[i % 3], price=1000 + i, stock=50).skus[0] for i in range(5)]
    items = [(s.id, 1 + i % 2) for i, s in enumerate(skus)]
    from jishi.checkout.service import place_order

    placed = place_order(buyer, items, addr.id, idempotency_key="fast-1")
    assert not placed.replayed
    [payment] = placed
    state = inspect(payment)
    assert state.persistent and not state.modified and state.session is db.session()
    assert "orders" in state.dict and len(payment.orders) == 3
    for order in payment.orders:
        assert inspect(order).persistent and not inspect(order).modified
        assert order.payment_id == payment.id and order.address["phone"] == addr.phone
        assert order.delivery_method == "express" and order.status == "pending_payment"
    assert payment.amount == sum(o.pay_amount for o in payment.orders)
    db.session.expire_all()
    lines = db.session.execute(select(OrderLine).order_by(OrderLine.id)).scalars().all()
    assert sorted((ln.sku_id, ln.quantity, ln.stock_source) for ln in lines) == sorted(
        (sku_id, qty, "sku") for sku_id, qty in items
    )
    assert db.session.scalar(select(func.count()).select_from(OrderEvent)) == 3
    assert db.session.scalar(select(func.count()).select_from(Order)) == 3
    for sku, (_id, qty) in zip(skus, items):
        db.session.refresh(sku)
        assert sku.stock == 50 - qty
    again = place_order(buyer, items, addr.id, idempotency_key="fast-1")
    assert again.replayed and [p.id for p in again] == [payment.id]
    assert db.session.scalar(select(func.count()).select_from(PaymentOrder)) == 1


@pytest.mark.parametrize("n", [1, 3, 5])
def test_insert_rows_held_equals_sqlalchemy_insert(app, factory, monkeypatch, n):
    """Issue 20: the placement's multi-row INSERTs run from SQL held per
    (table, keys, rows) write what SQLAlchemy's own INSERT of the same dicts
    writes: left-out columns get their Python scalar defaults, datetimes and
    JSON bound by their types; RETURNING values come back processed. Over
    ``_ROWS_HELD`` rows (here 4) the statement is SQLAlchemy's own
    ``insertmanyvalues``; a left-out callable default too."""
    from datetime import datetime

    from jishi.checkout import service
    from jishi.orders.models import Order, PaymentOrder
    from sqlalchemy import insert, select

    monkeypatch.setattr(service, "_ROWS_HELD", 4)
    monkeypatch.setattr(service, "_WRITES", {})
    buyer = factory.user()
    at = datetime(2026, 12, 5, 10, 1, 2, 345678)
    rows = [
        {"number": f"PH{n}{i}", "user_id": buyer.id, "idempotency_key": None, "amount": 100 + i, "created_at": at}
        for i in range(n)
    ]
    table = PaymentOrder.__table__
    got = service._insert_rows(table, rows, (table.c.id, table.c.number, table.c.created_at, table.c.status))
    assert sorted((r[1], r[2], r[3]) for r in got) == [(f"PH{n}{i}", at, "pending") for i in range(n)]
    db.session.connection().execute(insert(table), [{**r, "number": "S" + r["number"]} for r in rows])
    cols = [c for c in table.c if c.key not in ("id", "number")]

    def written(prefix):
        stmt = select(table.c.number, *cols).where(table.c.number.like(prefix + "%")).order_by(table.c.number)
        return [tuple(r)[1:] for r in db.session.connection().execute(stmt)]

    assert written("PH") == written("SPH") and len(written("PH")) == n
    held = [v[1] for k, v in service._WRITES.items() if k[1] == "payment_orders"]
    assert len(held) == 1 and (held[0] is None) is (n > 4)
    held = [forms for forms in held if forms is not None]
    assert all(form is not None for forms in held for form in forms.values()) and all(held)  # its SQL held
    # a JSON column, a boolean, and a callable default (delivery_data=dict) left out: SQLAlchemy's INSERT
    payment = got[0][0]
    orders = [
        {
            "number": f"OH{n}{i}",
            "payment_id": payment,
            "user_id": buyer.id,
            "address": {"phone": "1", "n": i},
            "is_virtual": bool(i % 2),
            "created_at": at,
        }
        for i in range(n)
    ]
    otable = Order.__table__
    back = service._insert_rows(otable, orders, (otable.c.number, otable.c.address, otable.c.delivery_data))
    assert sorted(tuple(r) for r in back) == [(f"OH{n}{i}", {"phone": "1", "n": i}, {}) for i in range(n)]
    orders = [{**o, "number": "D" + o["number"], "delivery_data": {"k": 1}} for o in orders]
    back = service._insert_rows(otable, orders, (otable.c.number, otable.c.is_virtual, otable.c.status))
    assert sorted(tuple(r) for r in back) == [(f"DOH{n}{i}", bool(i % 2), "pending_payment") for i in range(n)]
    db.session.rollback()


@pytest.mark.parametrize("how", ["chunks", "row by row"])
def test_placement_rows_name_their_parents_by_number(api, factory, ms, monkeypatch, how):
    """Issue 20: the placement's orders, lines and history name their
    payment and order by the number drawn for it (``_REFS``, so that the
    INSERTs need no id from one another: one round trip on PostgreSQL);
    over ``_ROWS_HELD`` rows (here 2) they go in statements of that many
    rows, and with a left-out callable default one row a statement
    (SQLAlchemy's INSERT); every row belongs to the right parent."""
    from jishi.checkout import service
    from jishi.checkout.service import place_order
    from jishi.orders.models import Order, OrderEvent, OrderLine
    from sqlalchemy import select

    monkeypatch.setattr(service, "_ROWS_HELD", 2)
    monkeypatch.setattr(service, "_WRITES", {})
    if how == "row by row":
        defaults = service._scalar_defaults
        monkeypatch.setattr(
            service,
            "_scalar_defaults",
            lambda table, keys: None if table.name != "payment_orders" else defaults(table, keys),
        )
    _express_template()
    buyer = factory.user()
    addr = factory.address(buyer)
    shops = [ms.merchant(f"店{i}") for i in range(3)]
    skus = [ms.product(shops[i % 3], price=1000 + i, stock=50).skus[0] for i in range(5)]
    placed = place_order(buyer, [(s.id, 1) for s in skus], addr.id, idempotency_key=f"refs-{how}")
    [payment] = placed
    assert len(payment.orders) == 3
    db.session.expire_all()
    orders = {o.id: o for o in db.session.execute(select(Order)).scalars()}
    assert set(orders) == {o.id for o in payment.orders} and all(o.payment_id == payment.id for o in orders.values())
    lines = db.session.execute(select(OrderLine)).scalars().all()
    seller = {s.id: shops[i % 3].id for i, s in enumerate(skus)}
    assert sorted(ln.sku_id for ln in lines) == sorted(s.id for s in skus)
    assert all(orders[ln.order_id].seller_id == seller[ln.sku_id] for ln in lines)
    events = db.session.execute(select(OrderEvent)).scalars().all()
    assert sorted(e.order_id for e in events) == sorted(orders)
    shapes = [k for k in service._WRITES if isinstance(k, tuple) and len(k) == 7 and k[1] == "order_lines"]
    assert shapes and all(k[3] <= 2 for k in shapes)
    if how == "row by row":
        assert all(service._WRITES[k][1] is None for k in shapes)


@pytest.mark.parametrize("n", [1, 3])
def test_reserve_sku_stock_takes_all_or_refuses(app, factory, n):
    """Issue 20: the held conditional UPDATE (one per number of SKUs) takes
    each SKU's quantity, summed over its lines, and names the first short
    line; a short SKU leaves the others' stock to the caller's rollback."""
    from types import SimpleNamespace

    from jishi.checkout.errors import OutOfStock
    from jishi.defaults.stock import reserve_sku_stock

    products = [factory.product(price=100, stock=5) for _ in range(n)]
    skus = [p.skus[0] for p in products]

    def line(sku, qty):
        return SimpleNamespace(sku_id=sku.id, quantity=qty, key=f"sku:{sku.id}", name="x")

    reserve_sku_stock([line(s, 2) for s in skus] + [line(skus[0], 1)])
    db.session.commit()
    for i, sku in enumerate(skus):
        db.session.refresh(sku)
        assert sku.stock == (2 if i == 0 else 3)
    with pytest.raises(OutOfStock) as exc:
        reserve_sku_stock([line(s, 3) for s in skus])
    assert exc.value.problems[0].line_key == f"sku:{skus[0].id}"
    db.session.rollback()


def test_lines_read_is_the_orm_load(app, factory, ms):
    """Issue 20: the checkout's lines are read by a held Core statement
    whose rows become clean persistent SKUs with their products loaded:
    the same values as the ORM's ``contains_eager`` read; a SKU or product
    the session holds already is the one the lines get (the ORM reads them
    as before); an invisible SKU (off the shelf) is not found."""
    from jishi.catalog.models import Sku
    from jishi.checkout.errors import CheckoutError
    from jishi.checkout.service import load_lines
    from sqlalchemy import inspect, select
    from sqlalchemy.orm import contains_eager

    shop = ms.merchant("店")
    skus = [ms.product(shop, price=1000 + i, stock=9).skus[0] for i in range(3)]
    ids = [s.id for s in skus]
    db.session.commit()
    db.session.expunge_all()
    lines = load_lines([(i, 1) for i in ids], visible_only=True)
    fast = [line.sku for line in lines]
    for sku in fast:
        state = inspect(sku)
        assert state.persistent and not state.modified and "product" in state.dict
        assert not inspect(sku.product).modified
    values = [
        (
            {c.key: getattr(s, c.key) for c in Sku.__table__.c},
            {c.key: getattr(s.product, c.key) for c in s.product.__table__.c},
        )
        for s in fast
    ]
    db.session.expunge_all()
    orm = (
        db.session.execute(
            select(Sku).join(Sku.product).options(contains_eager(Sku.product)).where(Sku.id.in_(ids)).order_by(Sku.id)
        )
        .scalars()
        .all()
    )
    assert sorted(values, key=lambda v: v[0]["id"]) == [
        (
            {c.key: getattr(s, c.key) for c in Sku.__table__.c},
            {c.key: getattr(s.product, c.key) for c in s.product.__table__.c},
        )
        for s in orm
    ]
    held = orm[1]
    assert load_lines([(held.id, 2)], visible_only=True)[0].sku is held  # the session's instance
    assert {line.sku_id for line in load_lines([(i, 1) for i in ids])} == set(ids)  # the cart's read
    held_id = held.id
    held.product.on_shelf = False
    db.session.commit()
    db.session.expunge_all()
    with pytest.raises(CheckoutError):
        load_lines([(held_id, 1)], visible_only=True)
    assert load_lines([(held_id, 1)])[0].on_shelf is False  # a cart line is shown, with a problem


def _placed_dumps(monkeypatch):
    """The schema's own dump of every placement the API answers."""
    from jishi.api import checkout as api_checkout
    from jishi.api.checkout import CheckoutPlacedSchema

    seen = []
    real = api_checkout.placed_response

    def checked(payments, replayed):
        data = CheckoutPlacedSchema().dump(api_checkout._placed(payments, replayed))
        seen.append(json.loads(json.dumps(data, ensure_ascii=False)))
        return real(payments, replayed)

    monkeypatch.setattr(api_checkout, "placed_response", checked)
    return seen


@pytest.mark.parametrize("mode", ["combined", "per_order"])
def test_placed_answer_equals_the_schema_dump(api, factory, ms, monkeypatch, app, mode):
    """Issue 20: the placement's answer (``placed_response``, a dumper made
    once from CheckoutPlacedSchema: date-times, the orders' payment number,
    nullable fields) is exactly the schema's dump, for 3 merchants' orders
    in one payment or one each, first placed (201) and replayed (200)."""
    from jishi import settings

    _express_template()
    settings.set_many({"payment.mode": mode})
    db.session.commit()
    buyer = factory.user()
    addr = factory.address(buyer)
    shops = [ms.merchant(f"店{i}") for i in range(3)]
    skus = [ms.product(shops[i % 3], price=1000 + i, stock=50).skus[0] for i in range(5)]
    body = {"items": [{"sku_id": s.id, "quantity": 1} for s in skus], "address_id": addr.id}
    seen = _placed_dumps(monkeypatch)
    for status in (201, 200):
        r = api.post("/checkout/place", user=buyer, json=body, headers={"Idempotency-Key": f"dump-{mode}"})
        assert r.status_code == status, r.json
        assert r.headers["Content-Type"] == "application/json"
        assert r.json == seen[-1]
        assert len(r.json["orders"]) == 3 and len(r.json["payments"]) == (3 if mode == "per_order" else 1)
        assert r.json["replayed"] is (status == 200)
        assert all(o["payment_number"] and o["created_at"].endswith("+00:00") for o in r.json["orders"])
