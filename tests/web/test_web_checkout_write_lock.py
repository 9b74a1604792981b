"""Issue 20, K7 on SQLite: the storefront's checkout form (``POST
/checkout``) quotes in a deferred read, without SQLite's one write lock,
and writes holding it (``jishi.db.reads_first``, ``write_from_here``), as
the API's placement does (tests/api/test_checkout_place_write_lock.py).
Stock another buyer took meanwhile is not sold: the form comes back with
the out-of-stock message and nothing is written."""

from __future__ import annotations

import pytest
from jishi.cart.models import CartLine
from jishi.checkout import service
from jishi.db import db, is_sqlite
from jishi.models import Order, PaymentOrder, Sku
from jishi.testing import another_sqlite_writer_after
from sqlalchemy import func, select, update
from webforms import page_form


def _count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def test_the_form_quotes_without_the_write_lock_and_stock_taken_meanwhile_is_not_sold(
    app, factory, buyer, buyer_client, monkeypatch
):
    if not is_sqlite():
        pytest.skip("SQLite's write lock")
    factory.address(buyer)
    sku = factory.product(name="龙井茶", price=2000, stock=3).skus[0]
    sku_id = sku.id
    db.session.commit()
    path = db.engine.url.database
    # after the quote another writer takes the write lock at once; the first time, 2 of the 3 units
    quoting, quotes = another_sqlite_writer_after(
        service.build_checkout, path, ("UPDATE skus SET stock = stock - 2 WHERE id = ?", (sku_id,))
    )

    assert buyer_client.post("/cart/add", data={"sku_id": sku_id, "quantity": 2}).status_code == 302
    form = page_form(buyer_client.get("/checkout"), "/checkout")
    monkeypatch.setattr(service, "build_checkout", quoting)
    refused = buyer_client.post("/checkout", data=form | {"action": "place"}, follow_redirects=True)
    assert refused.status_code == 200
    assert "/pay/" not in refused.request.path
    db.session.rollback()  # (the test's own read may predate the other writer's commit)
    assert _count(PaymentOrder) == _count(Order) == 0
    assert db.session.get(Sku, sku_id).stock == 1

    db.session.execute(update(CartLine).where(CartLine.sku_id == sku_id).values(quantity=1))
    db.session.commit()
    form = page_form(buyer_client.get("/checkout"), "/checkout")
    placed = buyer_client.post("/checkout", data=form | {"action": "place"})
    assert placed.status_code == 302 and "/pay/" in placed.headers["Location"], placed.headers.get("Location")
    db.session.rollback()
    assert db.session.get(Sku, sku_id).stock == 0
    assert _count(PaymentOrder) == 1
    assert len(quotes) == 2
