"""Issue 20, K7 on SQLite: the API's placement reads its quote without
SQLite's one write lock (its request begins deferred) and writes holding
it (``jishi.db.write_from_here``). Another writer may commit between the
quote and the writes, as on PostgreSQL (READ COMMITTED): the stock is
taken by the conditional UPDATE, so a placement quoted on stock that is
gone meanwhile is refused (409, nothing written) and never oversells."""

from __future__ import annotations

import pytest
from jishi.checkout import service
from jishi.db import db, is_sqlite
from jishi.models import Order, OrderLine, PaymentOrder, Sku
from jishi.testing import another_sqlite_writer_after
from sqlalchemy import func, select


def _count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def test_the_quote_holds_no_write_lock_and_stock_taken_meanwhile_is_not_sold(api, factory, monkeypatch):
    if not is_sqlite():
        pytest.skip("SQLite's write lock")
    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product(price=2000, stock=3).skus[0]
    path = db.engine.url.database
    # after the quote another writer takes the write lock at once; the first time, 2 of the 3 units
    quoting, quotes = another_sqlite_writer_after(
        service.build_checkout, path, ("UPDATE skus SET stock = stock - 2 WHERE id = ?", (sku.id,))
    )
    monkeypatch.setattr(service, "build_checkout", quoting)
    body = {"items": [{"sku_id": sku.id, "quantity": 2}], "address_id": addr.id}
    r = api.post("/checkout/place", user=buyer, json=body, headers={"Idempotency-Key": "wl-1"})
    assert r.status_code == 409, r.json  # quoted with 3 in stock; 1 left when it wrote
    assert r.json["code"] == "out_of_stock", r.json
    db.session.rollback()  # (the test's own read began before the other writer's commit)
    assert _count(PaymentOrder) == _count(Order) == _count(OrderLine) == 0
    assert db.session.get(Sku, sku.id).stock == 1

    body["items"][0]["quantity"] = 1
    r = api.post("/checkout/place", user=buyer, json=body, headers={"Idempotency-Key": "wl-2"})
    assert r.status_code == 201, r.json
    db.session.rollback()
    assert db.session.get(Sku, sku.id).stock == 0
    assert _count(PaymentOrder) == 1 and _count(OrderLine) == 1
    assert len(quotes) == 2
