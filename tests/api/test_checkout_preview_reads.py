"""K4, K7, issue 20: the checkout preview only reads. It begins its
transaction deferred on SQLite (``jishi.db.reads_only`` before the bearer
user's read), so it answers while a placement holds the one write lock,
and with every first-party plugin enabled it sends no write statement."""

from __future__ import annotations

import sqlite3

import pytest
from jishi.cli.docs import FIRST_PARTY_PLUGINS
from jishi.db import db
from jishi.testing import count_queries, is_postgres

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def _body(skus, addr):
    return {"items": [{"sku_id": s.id, "quantity": 1} for s in skus], "address_id": addr.id}


@pytest.mark.skipif(is_postgres(), reason="SQLite's write lock")
def test_a_preview_answers_while_another_connection_holds_the_write_lock(app, api, factory):
    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product(price=2000, stock=5).skus[0]
    json = _body([sku], addr)
    headers = api.headers(buyer)  # (its token written now)
    db.session.commit()  # the set-up's writes done: no lock held by this test's own session
    db.session.close()
    path = db.engine.url.database
    writer = sqlite3.connect(path, timeout=0.2, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # a placement in progress elsewhere
    try:
        r = api.post("/checkout/preview", json=json, headers=headers)
        assert r.status_code == 200, r.json
        assert r.json["totals"]["goods_amount"] == 2000
    finally:
        writer.execute("ROLLBACK")
        writer.close()


@pytest.mark.jishi_plugins(*FIRST_PARTY_PLUGINS)
def test_a_preview_with_every_plugin_sends_no_write(app, api, factory):
    buyer = factory.user()
    addr = factory.address(buyer)
    skus = [factory.product(price=1000 + i, stock=5).skus[0] for i in range(3)]
    api.post("/checkout/preview", user=buyer, json=_body(skus, addr))  # the process's first: what it keeps
    with app.app_context():
        engine = db.engine
    with count_queries(engine, this_thread=True) as q:
        r = api.post("/checkout/preview", user=buyer, json=_body(skus, addr))
    assert r.status_code == 200, r.json
    writes = [s for s in q.statements if s.lstrip().upper().startswith(WRITES)]
    assert q.count > 0 and writes == []
