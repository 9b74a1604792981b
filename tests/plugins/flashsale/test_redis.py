"""FS: the Redis gate (JISHI_REDIS_URL): an atomic Lua script admits no
more purchases than units left and no buyer past the limit; the database
stays the source of truth (refusals give the unit back, the reconcile job
resets the counters). Runs against a real ``redis-server`` started here
(skipped when it is not installed)."""

from __future__ import annotations

import threading
import time

import pytest
from jishi.db import db
from jishi.models import Order, User

from . import helpers as fs


@pytest.fixture
def app_config(redis_url):
    from jishi.testing import is_postgres

    cfg = {
        "JISHI_REDIS_URL": redis_url,
        "JISHI_FLASHSALE_REDIS_PREFIX": f"t{time.monotonic_ns()}:",
        "RATELIMIT_STORAGE_URI": "memory://",
    }
    if is_postgres():
        cfg["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": 25, "max_overflow": 10}
    return cfg


def _left(app, fsid):
    from jishi_flashsale import gate

    with app.app_context():
        v = gate.redis_client().get(gate._left_key(fsid))
    return None if v is None else int(v)


def test_redis_gate_counts_and_answers_sold_out(app, api, factory):
    """FS: with Redis, each purchase takes a unit in Redis; the last one makes buy answer 409 sold_out from the gate."""
    product = factory.product(price=1000, stock=100)
    a = fs.activity(product, stock=2, per_user=1)
    sku = product.skus[0].id
    fsid = fs.flash_sku(a.id).id
    u1, u2, u3 = fs.buyer(factory), fs.buyer(factory), fs.buyer(factory)
    assert fs.buy_api(api, u1, sku).status_code == 201
    assert _left(app, fsid) == 1
    assert fs.buy_api(api, u2, sku).status_code == 201
    assert _left(app, fsid) == 0
    resp = fs.buy_api(api, u3, sku)
    assert resp.status_code == 409 and resp.json["code"] == "sold_out"
    assert db.session.scalar(db.select(db.func.count()).select_from(Order)) == 2


def test_redis_gate_per_user_limit_and_give_back_on_refusal(app, api, factory):
    """FS: the Redis gate refuses a buyer past the limit; a purchase the database refuses (no address) gives its Redis unit back."""
    product = factory.product(price=1000, stock=100)
    a = fs.activity(product, stock=5, per_user=1)
    sku = product.skus[0].id
    fsid = fs.flash_sku(a.id).id
    u = fs.buyer(factory)
    resp = api.post("/flashsale/buy", json={"sku_id": sku}, user=u)  # no address: the checkout refuses
    assert resp.status_code == 422
    assert _left(app, fsid) == 5
    assert fs.buy_api(api, u, sku).status_code == 201
    resp = fs.buy_api(api, u, sku)
    assert resp.status_code == 409 and resp.json["code"] == "flashsale_limit"
    assert _left(app, fsid) == 4


def test_release_and_reconcile_put_redis_back_in_line_with_the_database(app, api, factory):
    """FS: a cancelled flash order gives its unit back in Redis too; reconcile resets Redis from the database."""
    from jishi.orders import service as orders_service
    from jishi_flashsale import gate, service

    product = factory.product(price=1000, stock=100)
    a = fs.activity(product, stock=3, per_user=1)
    sku = product.skus[0].id
    fsid = fs.flash_sku(a.id).id
    u = fs.buyer(factory)
    oid = fs.buy_api(api, u, sku).json["orders"][0]["id"]
    assert _left(app, fsid) == 2
    orders_service.cancel(fs.order(oid), actor=u)
    assert _left(app, fsid) == 3
    gate.redis_client().set(gate._left_key(fsid), 0)  # drift (a crashed worker)
    assert "1 flash SKUs" in service.reconcile()
    assert _left(app, fsid) == 3
    assert fs.buy_api(api, u, sku).status_code == 201


def test_redis_gate_under_concurrency_never_oversells(app, factory):
    """FS: 20 threads through the Redis gate and the database on 5 units: 5 orders, Redis 0, the database sold 5."""
    from jishi.checkout.errors import CheckoutError
    from jishi_flashsale import gate, service

    product = factory.product(price=1000, stock=100)
    a = fs.activity(product, stock=5, per_user=1)
    sku = product.skus[0].id
    fsid = fs.flash_sku(a.id).id
    ids = [fs.buyer(factory).id for _ in range(20)]
    db.session.commit()
    barrier = threading.Barrier(20)
    results, errors = [None] * 20, []

    def worker(i):
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                row = service.running_flash(sku)
                if gate.take(row, ids[i], 1) != gate.OK:
                    results[i] = "gate"
                    return
                try:
                    fs.place(db.session.get(User, ids[i]), sku)
                    results[i] = "ok"
                except CheckoutError:
                    gate.give_back(row.id, ids[i], 1, row.per_user_limit)
                    results[i] = "db"
            except Exception as exc:
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert results.count("ok") == 5 and results.count("gate") == 15
    assert _left(app, fsid) == 0 and fs.flash_sku(a.id).sold == 5


def test_the_hot_scripts_run_on_a_connection_of_the_threads_own(app, monkeypatch):
    """Issue 20: a buy request's scripts run on the thread's own client
    (``gate.own_client``): one connection, no pool checkout per command. The
    same client for the thread's next call; another thread, or a forked
    process (another pid), gets its own; the pooled client's timeouts and
    retry (once, on a connection error only); a dropped connection is
    reconnected and the command answered."""
    import os

    import redis
    from jishi_flashsale import gate

    cfg = app.config
    own = gate.own_client(cfg)
    assert own is gate.own_client(cfg) and own is not gate.redis_client_for(cfg)
    assert own.connection is not None  # single connection: no pool checkout per command
    pooled = gate.redis_client_for(cfg).connection_pool.connection_kwargs
    assert (own.connection.socket_timeout, own.connection.socket_connect_timeout) == (
        pooled["socket_timeout"],
        pooled["socket_connect_timeout"],
    )
    retry = own.connection.retry
    assert retry.get_retries() == 1 and retry._supported_errors == (redis.ConnectionError,)  # a timeout: never

    others = []
    t = threading.Thread(target=lambda: others.append(gate.own_client(cfg)))
    t.start()
    t.join()
    assert others[0] is not None and others[0] is not own

    pid = os.getpid()
    monkeypatch.setattr(os, "getpid", lambda: pid + 1)  # as in a forked worker
    forked = gate.own_client(cfg)
    assert forked is not own and forked is gate.own_client(cfg)
    monkeypatch.undo()
    assert gate.own_client(cfg) is not forked  # back in this process: a client of its own again

    # the connection dropped under it (Redis restarted, an idle timeout): retried once, answered
    own = gate.own_client(cfg)
    assert own.ping()
    own.connection._sock.close()
    assert own.ping()
    with app.app_context():
        assert gate.own_client(cfg) is own


def test_without_redis_there_is_no_own_client(app):
    from jishi_flashsale import gate

    assert gate.own_client({"JISHI_REDIS_URL": ""}) is None
    assert gate.own_client({"JISHI_REDIS_URL": app.config["JISHI_REDIS_URL"], "JISHI_FLASHSALE_REDIS": False}) is None
