"""FS: queued placement behind the Redis gate (``JISHI_FLASHSALE_QUEUE``,
排队下单): the buy request takes the units in Redis and queues the order in
one script, answering 202 with a ticket; ``jishi flashsale work`` places it
through the kernel's checkout (the database stays the source of truth); a
failed ticket gives its units back exactly once; a sale that ended before the
placement never becomes a normal-price order; the ticket is the buyer's own.
Runs against a real ``redis-server`` (skipped when it is not installed)."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from jishi.db import db, utcnow
from jishi.models import Order
from jishi_flashsale import gate
from jishi_flashsale import queue as fs_queue

from . import helpers as fs


@pytest.fixture
def app_config(redis_url):
    return {
        "JISHI_REDIS_URL": redis_url,
        "JISHI_FLASHSALE_REDIS_PREFIX": f"q{time.monotonic_ns()}:",
        "RATELIMIT_STORAGE_URI": "memory://",
        "JISHI_FLASHSALE_EPOCH_SECONDS": 0,  # keyed sold-out attempts answered from Redis at once (issue 20)
    }  # JISHI_FLASHSALE_QUEUE is on by default


@pytest.fixture(autouse=True)
def consumer_alive(app):
    """Purchases are queued only while a consumer's heartbeat is there."""
    with app.app_context():
        fs_queue.beat()


def _left(fsid):
    v = gate.redis_client().get(gate._left_key(fsid))
    return None if v is None else int(v)


def _orders():
    return db.session.scalar(db.select(db.func.count()).select_from(Order))


def _work():
    done = fs_queue.work(idle_exit=True, block=0.05)
    db.session.expire_all()
    return done


def _sale(factory, *, stock=3, per_user=1, price=300):
    product = factory.product(price=1000, stock=50)
    a = fs.activity(product, stock=stock, per_user=per_user, price=price)
    return product.skus[0].id, fs.flash_sku(a.id).id, a


def test_queued_purchase_is_placed_by_the_consumer(app, api, factory):
    """FS: buy answers 202 with a ticket and writes no order; the consumer
    places it at the flash price from the flash stock; the ticket then
    answers 200 with the payment order and order."""
    sku, fsid, _a = _sale(factory)
    u = fs.buyer(factory)
    resp = fs.buy_api(api, u, sku, key="q-1")
    assert resp.status_code == 202, resp.json
    assert resp.json["status"] == "queued" and resp.json["orders"] == [] and len(resp.json["ticket"]) == 32
    ticket = resp.json["ticket"]
    assert _orders() == 0 and _left(fsid) == 2
    assert api.get(f"/flashsale/tickets/{ticket}", user=u).status_code == 202
    assert _work() == 1
    placed = api.get(f"/flashsale/tickets/{ticket}", user=u)
    assert placed.status_code == 200 and placed.json["status"] == "placed", placed.json
    [order] = placed.json["orders"]
    o = fs.order(order["id"])
    assert (o.user_id, o.goods_amount, o.lines[0].unit_price, o.lines[0].stock_source) == (u.id, 300, 300, "flashsale")
    assert placed.json["payments"][0]["amount"] == o.pay_amount
    assert fs.flash_sku(_a.id).sold == 1 and fs_queue.pending() == 0


def test_the_queued_answer_is_jsonifys_bytes(app, api, factory):
    """A winner's 202 is made from ``jsonify``'s bytes of its answer, kept per
    app, with the ticket put in: the same bytes and headers as ``jsonify``
    makes, also after the app's JSON settings change (pretty-printed in
    debug, unsorted keys); a ticket that is not plain hex goes through
    ``jsonify`` itself."""
    from flask import jsonify
    from jishi_flashsale import api as fs_api

    sku, _fsid, _a = _sale(factory, stock=5, per_user=0)
    u = fs.buyer(factory)

    def same(resp):
        assert resp.status_code == 202, resp.json
        with app.test_request_context():
            want = jsonify(fs_api._queued_dict(resp.json["ticket"]))
        assert resp.get_data() == want.get_data()
        assert (resp.mimetype, resp.content_length) == (want.mimetype, want.content_length)

    same(fs.buy_api(api, u, sku, key="jb-1"))
    app.json.compact = False  # indented, as in debug
    same(fs.buy_api(api, u, sku, key="jb-2"))
    app.json.compact, app.json.sort_keys = None, False
    same(fs.buy_api(api, u, sku, key="jb-3"))
    app.json.sort_keys = True
    with app.test_request_context():
        for ticket in ('ab"cd', "ABCD", "", "é"):
            resp = fs_api._queued_answer(ticket)
            assert resp.status_code == 202 and resp.get_data() == jsonify(fs_api._queued_dict(ticket)).get_data()


def test_retry_with_the_same_key_takes_nothing_more(app, api, factory):
    """FS: the same Idempotency-Key answers the same ticket (queued, then
    placed) and takes no second unit; one order."""
    sku, fsid, _a = _sale(factory, stock=5, per_user=3)
    u = fs.buyer(factory)
    first = fs.buy_api(api, u, sku, key="same")
    again = fs.buy_api(api, u, sku, key="same")
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json["ticket"] == first.json["ticket"] and _left(fsid) == 4
    _work()
    third = fs.buy_api(api, u, sku, key="same")
    assert third.status_code == 200 and third.json["status"] == "placed" and len(third.json["orders"]) == 1
    assert _orders() == 1 and _left(fsid) == 4


def test_sold_out_and_limit_refused_at_the_gate(app, api, factory):
    """FS: past the units, 409 sold_out; past the per-buyer limit, 409
    flashsale_limit; nothing is queued for either."""
    sku, fsid, _a = _sale(factory, stock=2, per_user=1)
    u1, u2, u3 = fs.buyer(factory), fs.buyer(factory), fs.buyer(factory)
    assert fs.buy_api(api, u1, sku).status_code == 202
    limit = fs.buy_api(api, u1, sku)
    assert (limit.status_code, limit.json["code"]) == (409, "flashsale_limit")
    assert fs.buy_api(api, u2, sku).status_code == 202
    sold = fs.buy_api(api, u3, sku)
    assert (sold.status_code, sold.json["code"]) == (409, "sold_out")
    assert fs_queue.pending() == 2 and _left(fsid) == 0
    assert _work() == 2 and _orders() == 2 and fs.flash_sku(_a.id).sold == 2


def test_a_failed_ticket_gives_its_units_back_once(app, api, factory):
    """FS: a purchase the checkout refuses (the address is not the buyer's)
    fails its ticket with the reason and gives the unit and the buyer's
    count back to the gate, once however often it is failed."""
    sku, fsid, _a = _sale(factory, stock=1, per_user=1)
    u, other = fs.buyer(factory), fs.buyer(factory)
    resp = api.post(
        "/flashsale/buy",
        json={"sku_id": sku, "address_id": fs.address_id(other)},
        user=u,
        headers={"Idempotency-Key": "bad"},
    )
    assert resp.status_code == 202 and _left(fsid) == 0
    _work()
    t = api.get(f"/flashsale/tickets/{resp.json['ticket']}", user=u)
    assert (t.status_code, t.json["status"], t.json["code"]) == (200, "failed", "address"), t.json
    assert _left(fsid) == 1 and _orders() == 0
    job = {"ticket": resp.json["ticket"], "fsid": fsid, "user_id": u.id, "sku_id": sku}
    assert fs_queue._fail(job, "again", "again") is False and _left(fsid) == 1
    ok = fs.buy_api(api, u, sku)  # the buyer's count came back too
    assert ok.status_code == 202
    _work()
    assert _orders() == 1


def test_sale_ended_before_placement_is_not_a_normal_price_order(app, api, factory):
    """FS: a job whose sale ended before the consumer took it fails
    (flashsale_ended) instead of buying at the normal price; the unit goes
    back."""
    sku, fsid, a = _sale(factory, stock=2)
    u = fs.buyer(factory)
    resp = fs.buy_api(api, u, sku)
    assert resp.status_code == 202
    a.ends_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    _work()
    t = api.get(f"/flashsale/tickets/{resp.json['ticket']}", user=u)
    assert (t.json["status"], t.json["code"]) == ("failed", "flashsale_ended"), t.json
    assert _orders() == 0 and _left(fsid) == 2


def test_a_job_taken_twice_places_once(app, api, factory):
    """FS: a consumer that stopped after taking a job leaves it on the
    processing list; recover() queues it again and placing it (even twice)
    makes one order: the ticket is the placement's idempotency key."""
    sku, _fsid, _a = _sale(factory, stock=3)
    u = fs.buyer(factory)
    ticket = fs.buy_api(api, u, sku).json["ticket"]
    client = gate.redis_client()
    queue_key, processing_key = fs_queue._keys()
    raw = client.lmove(queue_key, processing_key, "LEFT", "RIGHT")  # taken, then the consumer died
    assert fs_queue.place(json.loads(raw)) == "placed"  # it had even placed it
    assert fs_queue.recover() == 1 and fs_queue.pending() == 1
    assert _work() == 1
    assert _orders() == 1 and fs_queue.pending() == 0
    assert api.get(f"/flashsale/tickets/{ticket}", user=u).json["status"] == "placed"


def test_ticket_is_the_buyers_own(app, api, factory):
    """FS / authz: the ticket route answers the buyer only: another buyer,
    a merchant or the platform gets 404 (no data), a visitor 401; an unknown
    ticket is 404."""
    sku, _fsid, _a = _sale(factory)
    u = fs.buyer(factory)
    ticket = fs.buy_api(api, u, sku).json["ticket"]
    _work()
    path = f"/flashsale/tickets/{ticket}"
    assert api.get(path, user=u).status_code == 200
    assert api.get(path).status_code == 401
    for who in (fs.buyer(factory), factory.admin()):
        resp = api.get(path, user=who)
        assert resp.status_code == 404 and "orders" not in resp.json
    assert api.get("/flashsale/tickets/" + "0" * 32, user=u).status_code == 404


def test_cli_work_until_empty(app, api, factory):
    """FS: ``jishi flashsale work --until-empty`` places what is queued and stops."""
    sku, _fsid, _a = _sale(factory, stock=3, per_user=0)
    for _ in range(2):
        assert fs.buy_api(api, fs.buyer(factory), sku).status_code == 202
    db.session.remove()
    from click.testing import CliRunner
    from flask.cli import ScriptInfo
    from jishi.cli import make_cli

    result = CliRunner().invoke(
        make_cli(), ["flashsale", "work", "--until-empty", "--quiet"], obj=ScriptInfo(create_app=lambda: app)
    )
    assert result.exit_code == 0, result.output
    assert "2 queued purchases handled" in result.output
    assert _orders() == 2


def test_without_redis_the_queue_is_off(app, api, factory):
    """FS: the queue needs the Redis gate; with Redis unset, buy places
    directly (201) and the ticket route is 404."""
    app.config["JISHI_REDIS_URL"] = None
    sku, _fsid, _a = _sale(factory)
    u = fs.buyer(factory)
    assert fs.buy_api(api, u, sku).status_code == 201
    assert api.get("/flashsale/tickets/" + "0" * 32, user=u).status_code == 404


def test_without_a_consumer_buy_places_directly(app, api, factory):
    """FS: with the queue on but no consumer's heartbeat, nothing is queued
    (no order would ever be placed): buy places directly, 201, through the
    synchronous gate."""
    gate.redis_client().delete(fs_queue._heartbeat_key())
    sku, fsid, _a = _sale(factory, stock=2)
    resp = fs.buy_api(api, fs.buyer(factory), sku)
    assert resp.status_code == 201, resp.json
    assert fs_queue.pending() == 0 and _orders() == 1 and _left(fsid) == 1


def test_a_failed_ticket_never_creates_a_dropped_counter(app, api, factory):
    """FS: when the activity changed while a job waited (its Redis counter
    dropped, to be seeded from the database), failing the ticket does not
    create the counter from its own unit: the next purchase seeds it from
    the database (2 left), not from the given-back 1."""
    sku, fsid, _a = _sale(factory, stock=2)
    u, other = fs.buyer(factory), fs.buyer(factory)
    resp = api.post(
        "/flashsale/buy",
        json={"sku_id": sku, "address_id": fs.address_id(other)},
        user=u,
        headers={"Idempotency-Key": "drop"},
    )
    assert resp.status_code == 202 and _left(fsid) == 1
    gate.forget(fsid, sku)
    _work()
    assert _left(fsid) is None
    assert fs.buy_api(api, fs.buyer(factory), sku).status_code == 202
    assert _left(fsid) == 1  # seeded 2 from the database, then this purchase took one


def test_a_winner_costs_the_token_read_and_one_insert(app, api, factory, queries):
    """FS, issue 20 (admission): an admitted purchase reads the token and
    writes its ticket, nothing else (the running offer is the process's
    for a second, the units and the buyer's count are Redis's): on
    PostgreSQL each statement commits itself (autocommit: the session's one
    commit event sends no COMMIT, see the next test); SQLite ends the read
    first (its single write lock is taken by the write alone): two commits."""
    from jishi.testing import is_postgres
    from jishi_flashsale.models import Ticket
    from sqlalchemy import event

    sku, fsid, _a = _sale(factory, stock=5)
    assert fs.buy_api(api, fs.buyer(factory), sku).status_code == 202  # the offer now known to this process
    u = fs.buyer(factory)
    body, headers = {"sku_id": sku, "address_id": fs.address_id(u)}, {**api.headers(u), "Idempotency-Key": "win-1"}
    user_id = u.id
    db.session.commit()
    commits = []
    listener = lambda conn: commits.append(1)  # noqa: E731
    event.listen(db.engine, "commit", listener)
    try:
        with queries() as q:
            resp = app.test_client().post("/api/v1/flashsale/buy", json=body, headers=headers)
    finally:
        event.remove(db.engine, "commit", listener)
    assert resp.status_code == 202, resp.json
    assert [s.split()[0] for s in q.statements] == ["SELECT", "INSERT"], q.statements
    assert "api_tokens" in q.statements[0] and "flashsale_tickets" in q.statements[1]
    assert len(commits) == (1 if is_postgres() else 2)
    row = db.session.execute(db.select(Ticket).where(Ticket.ticket == resp.json["ticket"])).scalar_one()
    assert (row.user_id, row.flash_sku_id, row.sku_id, row.quantity, row.idempotency_key, row.status) == (
        user_id,
        fsid,
        sku,
        1,
        "win-1",
        "queued",
    )
    assert json.loads(row.job)["address_id"] == body["address_id"] and row.payment_ids == row.order_ids == ""
    assert _work() == 2 and _orders() == 2


def test_a_winners_statements_commit_each_on_their_own_on_postgresql(app, api, factory, monkeypatch):
    """FS, issue 20 (admission): on PostgreSQL the queued path runs its
    statements on a connection in autocommit (no ``BEGIN``, no ``COMMIT``
    round trip): the ticket is durable when its INSERT returns (another
    connection sees it before the request's commit). Afterwards the session
    is back on a transactional connection (a consumer or a later request
    sharing it writes in transactions again), also after a refusal; a
    purchase that finds no consumer is placed directly in a real
    transaction; a session that already read (or holds pending objects)
    keeps its transaction."""
    from jishi.accounts.models import User
    from jishi.testing import is_postgres
    from jishi_flashsale import api as fs_api
    from jishi_flashsale.models import Ticket
    from sqlalchemy import event

    if not is_postgres():
        pytest.skip("PostgreSQL only: SQLite keeps its reads_only transactions")
    sku, fsid, _a = _sale(factory, stock=5, per_user=1)
    assert fs.buy_api(api, fs.buyer(factory), sku).status_code == 202  # the offer now known to this process
    u = fs.buyer(factory)
    body, headers = {"sku_id": sku, "address_id": fs.address_id(u)}, {**api.headers(u), "Idempotency-Key": "ac-1"}
    db.session.commit()
    seen_at_commit = []

    def at_commit(conn):
        with db.engine.connect() as other:  # another connection of the pool
            seen_at_commit.append(
                other.execute(db.select(db.func.count()).where(Ticket.idempotency_key == "ac-1")).scalar()
            )

    modes = []
    real_connection = fs_api._autocommit

    def spy():
        real_connection()
        modes.append(db.session.connection().connection.driver_connection.autocommit)

    monkeypatch.setattr(fs_api, "_autocommit", spy)
    event.listen(db.engine, "commit", at_commit)
    try:
        resp = app.test_client().post("/api/v1/flashsale/buy", json=body, headers=headers)
    finally:
        event.remove(db.engine, "commit", at_commit)
    assert resp.status_code == 202, resp.json
    assert modes == [True] and seen_at_commit == [1]  # committed by the INSERT itself
    assert db.session.connection().connection.driver_connection.autocommit is False

    # refused (over the limit): the session is given back too
    db.session.commit()
    again = app.test_client().post(
        "/api/v1/flashsale/buy", json=body, headers={**api.headers(u), "Idempotency-Key": "ac-2"}
    )
    assert again.status_code == 409 and again.json["code"] == "flashsale_limit"
    assert modes == [True, True] and db.session.connection().connection.driver_connection.autocommit is False

    assert _work() == 2 and _orders() == 2

    # a session in a transaction already, or holding pending objects: left as it is
    with app.test_request_context("/api/v1/flashsale/buy", method="POST"):
        db.session.execute(db.select(1))
        real_connection()
        assert db.session.connection().connection.driver_connection.autocommit is False
        db.session.rollback()
        db.session.add(User(phone="13999990000", password_hash="-", role="buyer", name="未写"))
        real_connection()
        assert db.session.new and db.session.connection().connection.driver_connection.autocommit is False
        db.session.rollback()

    # no consumer: placed directly, in a transaction (the order and its stock together)
    gate.redis_client().delete(fs_queue._heartbeat_key())
    w = fs.buyer(factory)
    body, headers = {"sku_id": sku, "address_id": fs.address_id(w)}, {**api.headers(w), "Idempotency-Key": "ac-3"}
    db.session.commit()
    resp = app.test_client().post("/api/v1/flashsale/buy", json=body, headers=headers)
    assert resp.status_code == 201, resp.json
    assert modes[-1] is True and db.session.connection().connection.driver_connection.autocommit is False
    assert _orders() == 3 and fs.flash_sku(_a.id).sold == 3


def test_ticket_recorded_first_by_the_consumer_still_answers_queued(app, api, factory, monkeypatch):
    """FS: a consumer that took the job and recorded its ticket before the
    buy request did (the request's INSERT then writes nothing): the request
    answers the same ticket, 202, and nothing is placed twice."""
    sku, fsid, _a = _sale(factory, stock=5)
    u = fs.buyer(factory)
    real = fs_queue.record_new

    def consumer_first(job):
        assert real(job)  # as the consumer's place() would: the ticket is there before the request writes
        return real(job)

    monkeypatch.setattr(fs_queue, "record_new", consumer_first)
    resp = fs.buy_api(api, u, sku, key="early")
    assert resp.status_code == 202 and resp.json["status"] == "queued", resp.json
    monkeypatch.undo()
    assert _work() == 1 and _orders() == 1 and fs.flash_sku(_a.id).sold == 1


def _push(n, start=0):
    queue_key, _processing = fs_queue._keys()
    client = gate.redis_client()
    for i in range(start, start + n):
        client.rpush(queue_key, json.dumps({"i": i}))


def _first():
    queue_key, processing_key = fs_queue._keys()
    return gate.redis_client().blmove(queue_key, processing_key, 0.1, "LEFT", "RIGHT")


def test_a_short_batch_lingers_for_jobs_arriving(app):
    """FS, issue 20 (drain during the burst): a consumer that finds fewer
    jobs than its batch waits up to the linger for more (each arriving one
    taken at once); a full batch does not wait; no linger: only what is
    waiting; every job taken is on the processing list (a stopped consumer's
    jobs are queued again by the recovery)."""
    import threading

    client = gate.redis_client()
    queue_key, processing_key = fs_queue._keys()
    _push(8)
    started = time.monotonic()
    full = fs_queue.take_batch(client, _first(), 5, linger=5.0)
    assert [json.loads(r)["i"] for r in full] == [0, 1, 2, 3, 4] and time.monotonic() - started < 2.0
    rest = fs_queue.take_batch(client, _first(), 5, linger=0.0)
    assert [json.loads(r)["i"] for r in rest] == [5, 6, 7]
    assert client.llen(processing_key) == 8 and client.llen(queue_key) == 0
    client.delete(processing_key)

    _push(1, start=10)

    def arrive():  # two jobs, 50 ms apart, while the consumer lingers
        with app.app_context():
            _push(1, start=11)
            time.sleep(0.05)
            _push(1, start=12)

    later = threading.Thread(target=arrive)
    first = _first()
    started = time.monotonic()
    later.start()
    got = fs_queue.take_batch(client, first, 5, linger=0.6)
    later.join()
    waited = time.monotonic() - started
    assert [json.loads(r)["i"] for r in got] == [10, 11, 12]
    assert 0.5 <= waited < 3.0  # short of 5: it waited out the linger
    assert fs_queue.take_batch(client, _first() or b"{}", 1, linger=5.0) == [b"{}"]  # a batch of one: no wait


def test_the_consumer_lingers_only_when_it_runs_on(app, monkeypatch):
    """FS: ``work`` takes ``JISHI_FLASHSALE_LINGER_MS`` for a consumer that
    runs on, none for one that stops when the queue is empty
    (``--until-empty``)."""
    seen = []
    monkeypatch.setattr(fs_queue, "take_batch", lambda client, first, want, linger: seen.append(linger) or [first])
    monkeypatch.setattr(fs_queue, "place", lambda job: "placed")
    monkeypatch.setitem(app.config, "JISHI_FLASHSALE_LINGER_MS", 40)
    _push(1)
    assert fs_queue.work(idle_exit=True, block=0.05) == 1
    _push(1)
    assert fs_queue.work(max_jobs=1, block=0.05) == 1
    _push(1)
    assert fs_queue.work(max_jobs=1, block=0.05, linger=0.2) == 1
    assert seen == [0.0, 0.04, 0.2]


def test_the_ticket_insert_runs_from_its_held_sql(app):
    """Issue 20: the admission's ticket INSERT ... ON CONFLICT DO NOTHING
    RETURNING is held by the kernel's public ``jishi.loaders.held_rows``
    (compiled once per dialect, no private loader internals in the
    plugin), on SQLite and PostgreSQL alike."""
    from jishi.loaders import _held

    names = (
        "ticket", "user_id", "flash_sku_id", "sku_id", "quantity", "idempotency_key",
        "status", "job", "payment_ids", "order_ids", "created_at", "updated_at",
    )  # fmt: skip
    forms: dict = {}
    assert _held(fs_queue._ticket_insert(), forms, db.session.connection(), dict.fromkeys(names)) is not None
