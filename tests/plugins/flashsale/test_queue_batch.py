"""FS (issue 20): the queue's consumer places waiting purchases in batches,
one database transaction for many orders (``checkout.entry.place_orders``),
each exactly as a single placement (flash price, flash stock, the buyer's
limit, idempotent by its ticket), a refused one failed alone with its units
back; the durable tickets are marked in the same transaction; several
consumers at once never place a job twice. Runs against a real
``redis-server`` (skipped when it is not installed), on SQLite and
PostgreSQL."""

from __future__ import annotations

import json
import time

import pytest
from jishi import signals
from jishi.db import db
from jishi.hookspecs import Discount, hookimpl
from jishi.models import Order, User
from jishi.orders.models import OrderAllocation, OrderEvent, OrderLine, PaymentOrder
from jishi.testing import parallel_config, run_parallel
from jishi_flashsale import gate
from jishi_flashsale import queue as fs_queue
from jishi_flashsale.models import Reservation, Ticket, Usage
from sqlalchemy import event

from . import helpers as fs


@pytest.fixture
def app_config(redis_url):
    return {
        "JISHI_REDIS_URL": redis_url,
        "JISHI_FLASHSALE_REDIS_PREFIX": f"qb{time.monotonic_ns()}:",
        "RATELIMIT_STORAGE_URI": "memory://",
        **parallel_config(),
    }


@pytest.fixture(autouse=True)
def consumer_alive(app):
    with app.app_context():
        fs_queue.beat()


def _count(model, *where):
    db.session.expire_all()
    return db.session.scalar(db.select(db.func.count()).select_from(model).where(*where))


def _left(fsid):
    v = gate.redis_client().get(gate._left_key(fsid))
    return None if v is None else int(v)


def _sale(factory, *, stock, per_user=1, price=300):
    """(SKU id, flash SKU id, activity id) of a running sale."""
    product = factory.product(price=1000, stock=50)
    a = fs.activity(product, stock=stock, per_user=per_user, price=price)
    return product.skus[0].id, fs.flash_sku(a.id).id, a.id


def test_a_batch_is_one_transaction_and_a_refusal_fails_alone(app, api, factory):
    """FS: six queued purchases (one with another buyer's address) placed by
    one consumer in ONE commit: five orders at the flash price from the flash
    stock, each with its reservation and the buyer's counter; the refused one
    failed (``address``) with its unit and its buyer's count back at the
    gate; every durable ticket and Redis copy says so."""
    sku, fsid, a = _sale(factory, stock=6)
    buyers = [fs.buyer(factory) for _ in range(6)]
    tickets = []
    for i, u in enumerate(buyers):
        addr = fs.address_id(buyers[0] if i == 3 else u)
        resp = api.post(
            "/flashsale/buy", json={"sku_id": sku, "address_id": addr}, user=u, headers={"Idempotency-Key": f"b{i}"}
        )
        assert resp.status_code == 202, resp.json
        tickets.append(resp.json["ticket"])
    assert _left(fsid) == 0 and fs_queue.pending() == 6
    db.session.commit()
    commits = []
    listener = lambda conn: commits.append(1)  # noqa: E731
    event.listen(db.engine, "commit", listener)
    try:
        done = fs_queue.work(idle_exit=True, block=0.05, batch=10)
    finally:
        event.remove(db.engine, "commit", listener)
    assert done == 6 and fs_queue.pending() == 0
    assert len(commits) == 1  # six placements, six tickets: one transaction
    rows = {t.ticket: t for t in db.session.execute(db.select(Ticket)).scalars()}
    assert [rows[t].status for t in tickets] == ["placed"] * 3 + ["failed"] + ["placed"] * 2
    assert rows[tickets[3]].code == "address"
    assert _count(Order) == 5 and _count(Reservation) == 5 and fs.flash_sku(a).sold == 5
    lines = db.session.execute(db.select(OrderLine)).scalars().all()
    assert {(ln.unit_price, ln.stock_source, ln.quantity) for ln in lines} == {(300, "flashsale", 1)}
    for i, t in enumerate(tickets):
        answer = api.get(f"/flashsale/tickets/{t}", user=buyers[i])
        assert answer.status_code == 200 and answer.json["status"] == rows[t].status
        if rows[t].status == "placed":
            [order] = answer.json["orders"]
            assert str(order["id"]) == rows[t].order_ids and fs.order(order["id"]).user_id == buyers[i].id
    assert _left(fsid) == 1 and _count(Usage, Usage.units == 1) == 5
    again = fs.buy_api(api, buyers[3], sku)  # the refused buyer's count came back with the unit
    assert again.status_code == 202, again.json


def test_several_consumers_never_place_a_job_twice(app, api, factory):
    """FS: three consumers at once, batches of 4, on 12 queued purchases each
    queued TWICE (a recovery pass re-queues the jobs a live consumer holds):
    exactly 12 orders, one per buyer and ticket, 12 flash units sold and
    reserved; every ticket placed; nothing left queued."""
    sku, fsid, a = _sale(factory, stock=12, per_user=1)
    buyers = [fs.buyer(factory) for _ in range(12)]
    for u in buyers:
        assert fs.buy_api(api, u, sku).status_code == 202
    client = gate.redis_client()
    queue_key, _processing = fs_queue._keys()
    for raw in client.lrange(queue_key, 0, -1):
        client.rpush(queue_key, raw)
    assert fs_queue.pending() == 24
    db.session.commit()

    def consume(_i):
        return fs_queue.work(idle_exit=True, block=0.2, batch=4)

    results, errors = run_parallel(app, 3, consume)
    assert not errors, errors
    # each consumer's start-up recovery may queue again a job another holds: handled more often, placed once
    assert sum(results) >= 24 and fs_queue.pending() == 0
    assert _count(Order) == 12 and _count(Reservation) == 12
    per_buyer = db.session.execute(db.select(Order.user_id, db.func.count()).group_by(Order.user_id)).all()
    assert sorted(n for _u, n in per_buyer) == [1] * 12
    assert {t.status for t in db.session.execute(db.select(Ticket)).scalars()} == {"placed"}
    f = fs.flash_sku(a)
    assert (f.sold, f.stock) == (12, 12) and _left(fsid) == 0


def test_a_batch_with_an_inactive_buyer_and_a_ticket_decided_already(app, api, factory):
    """FS: in one batch, a buyer deactivated since queueing is failed
    (``unauthorized``, unit back); a job whose ticket a recovery already
    placed is not placed again (its Redis copy follows the database)."""
    sku, fsid, _a = _sale(factory, stock=3)
    u1, u2, u3 = (fs.buyer(factory) for _ in range(3))
    t = [fs.buy_api(api, u, sku).json["ticket"] for u in (u1, u2, u3)]
    client = gate.redis_client()
    queue_key, processing_key = fs_queue._keys()
    raw = client.lmove(queue_key, processing_key, "LEFT", "RIGHT")
    assert fs_queue.place(json.loads(raw)) == "placed"  # placed, then the consumer died holding it
    assert fs_queue.recover() == 1
    db.session.get(User, u2.id).is_active = False
    db.session.commit()
    db.session.commit()
    assert fs_queue.work(idle_exit=True, block=0.05, batch=10) == 3
    rows = {r.ticket: r for r in db.session.execute(db.select(Ticket)).scalars()}
    assert [rows[x].status for x in t] == ["placed", "failed", "placed"]
    assert rows[t[1]].code == "unauthorized"
    assert _count(Order) == 2 and _left(fsid) == 1
    assert api.get(f"/flashsale/tickets/{t[0]}", user=u1).json["status"] == "placed"


def test_a_refusal_at_write_time_falls_back_to_one_by_one(app, api, factory):
    """FS: when the batch's one write refuses (here one buyer's two tickets
    pass the limit, lowered to 1 after the gate admitted both under 2: each
    checkout alone is within it), the batch is placed one by one in
    savepoints: the buyer's second ticket fails ``flashsale_limit`` with its
    unit back, the others are placed, still in one commit."""
    from jishi_flashsale.models import Activity

    sku, fsid, aid = _sale(factory, stock=4, per_user=2)
    b0, b1, b2 = (fs.buyer(factory) for _ in range(3))
    tickets = [fs.buy_api(api, u, sku).json["ticket"] for u in (b0, b2, b1, b2)]
    db.session.get(Activity, aid).per_user_limit = 1
    db.session.commit()
    commits = []
    listener = lambda conn: commits.append(1)  # noqa: E731
    event.listen(db.engine, "commit", listener)
    try:
        assert fs_queue.work(idle_exit=True, block=0.05, batch=10) == 4
    finally:
        event.remove(db.engine, "commit", listener)
    assert len(commits) == 1
    rows = {r.ticket: r for r in db.session.execute(db.select(Ticket)).scalars()}
    assert [rows[t].status for t in tickets] == ["placed", "placed", "placed", "failed"]
    assert rows[tickets[3]].code == "flashsale_limit"
    assert _count(Order) == 3 and fs.flash_sku(aid).sold == 3 and _left(fsid) == 1


def test_a_buyer_past_the_limit_by_an_earlier_order_is_refused_by_the_batch(app, api, factory):
    """FS: b0 holds one unit from an earlier order and the limit is lowered
    to 1 after the gate admitted b0's second: the batch refuses that ticket
    ``limit`` (its unit back), places b1's and b2's, every counter exact."""
    from jishi_flashsale.models import Activity

    sku, fsid, aid = _sale(factory, stock=5, per_user=2)
    b0, b1, b2 = (fs.buyer(factory) for _ in range(3))
    first = fs.buy_api(api, b0, sku).json["ticket"]
    assert fs_queue.work(idle_exit=True, block=0.05, batch=10) == 1
    tickets = [fs.buy_api(api, u, sku).json["ticket"] for u in (b1, b0, b2)]
    db.session.get(Activity, aid).per_user_limit = 1
    db.session.commit()
    assert fs_queue.work(idle_exit=True, block=0.05, batch=10) == 3
    rows = {r.ticket: r for r in db.session.execute(db.select(Ticket)).scalars()}
    assert rows[first].status == "placed"
    assert [rows[t].status for t in tickets] == ["placed", "failed", "placed"]
    assert rows[tickets[1]].code == "limit"
    db.session.expire_all()
    units = {u.user_id: u.units for u in db.session.execute(db.select(Usage)).scalars()}
    assert units == {b0.id: 1, b1.id: 1, b2.id: 1}
    assert _count(Reservation) == 3 and _count(Order) == 3
    assert fs.flash_sku(aid).sold == 3 and _left(fsid) == 2


def test_the_batch_upsert_of_the_buyers_counters_stops_each_at_the_limit(app, factory):
    """FS: the batch's one statement for every buyer's counter (arrays on
    PostgreSQL, rows on SQLite) adds each buyer's units while the sum stays
    within the limit, creates the missing rows, and answers the buyers it
    wrote: one already at the limit is left out and left as it was."""
    from jishi_flashsale import service

    _sku, fsid, _aid = _sale(factory, stock=10, per_user=2)
    b0, b1, b2 = (fs.buyer(factory) for _ in range(3))
    db.session.add_all(
        [Usage(flash_sku_id=fsid, user_id=b0.id, units=2), Usage(flash_sku_id=fsid, user_id=b1.id, units=1)]
    )
    db.session.commit()
    written = service._add_usage(fsid, {b2.id: 2, b0.id: 1, b1.id: 1}, 2)
    db.session.commit()
    assert sorted(r.user_id for r in written) == sorted([b1.id, b2.id])
    db.session.expire_all()
    units = {u.user_id: u.units for u in db.session.execute(db.select(Usage)).scalars()}
    assert units == {b0.id: 2, b1.id: 2, b2.id: 2}


class _PlatformDiscount:
    """A throwaway marketing plugin: 37 fen off every checkout (platform
    funded), so the orders compared below carry an allocation."""

    __name__ = "batch_equivalence_discount"

    @hookimpl
    def order_discounts(self, checkout):
        return [Discount("test_off", "立减", 37)]


def _placed_shape(order_id: int, user_id: int) -> dict:
    """Everything a placement wrote for one order, ids and numbers left out."""
    db.session.expire_all()
    order = db.session.get(Order, order_id)
    payment = db.session.get(PaymentOrder, order.payment_id)
    skip = {"id", "number", "order_id", "payment_id", "user_id", "actor_id", "idempotency_key", "created_at"}
    skip |= {"updated_at", "order_line_id"}  # the buyer's own ids, keys and moments

    def shape(row):
        return {c.key: getattr(row, c.key) for c in row.__table__.columns if c.key not in skip}

    def rows(model, *where):
        return [shape(r) for r in db.session.execute(db.select(model).where(*where)).scalars()]

    return {
        "payment": shape(payment),
        "order": shape(order),
        "lines": rows(OrderLine, OrderLine.order_id == order_id),
        "allocations": rows(OrderAllocation, OrderAllocation.order_id == order_id),
        "history": rows(OrderEvent, OrderEvent.order_id == order_id),
        "reservations": rows(Reservation, Reservation.order_id == order_id),
        "usage": rows(Usage, Usage.user_id == user_id),
    }


@pytest.mark.parametrize("extra_plugins", [[_PlatformDiscount()]], ids=["discount"])
def test_an_order_placed_in_a_batch_is_the_one_placed_alone(app, api, factory, extra_plugins):
    """FS (issue 20): the same purchase placed one by one (``batch=1``, the
    kernel's ``place_order``) and inside a batch (``place_batch``:
    ``place_orders``, the flash stock through ``reserve_stock_many``'s
    executemany statements) writes the same payment, order, lines,
    allocations, history, reservation and buyer's counter, and sends the
    same ``order_placed`` signal."""
    sku, _fsid, aid = _sale(factory, stock=10, per_user=2)
    buyers = [fs.buyer(factory) for _ in range(3)]
    received: list = []

    def on_placed(sender, **kw):
        received.append(
            (sender.user_id, sender.amount, [(o.goods_amount, o.discount_amount, o.pay_amount) for o in kw["orders"]])
        )

    tickets = {}
    with signals.order_placed.connected_to(on_placed):
        tickets[buyers[0].id] = fs.buy_api(api, buyers[0], sku, quantity=2).json["ticket"]
        db.session.commit()
        assert fs_queue.work(idle_exit=True, block=0.05, batch=1) == 1  # alone
        for u in buyers[1:]:
            tickets[u.id] = fs.buy_api(api, u, sku, quantity=2).json["ticket"]
        db.session.commit()
        assert fs_queue.work(idle_exit=True, block=0.05, batch=10) == 2  # one batch
    rows = {t.user_id: t for t in db.session.execute(db.select(Ticket)).scalars()}
    assert {rows[u.id].status for u in buyers} == {"placed"}
    shapes = [_placed_shape(int(rows[u.id].order_ids), u.id) for u in buyers]
    assert shapes[0]["allocations"] and shapes[0]["reservations"] and shapes[0]["usage"]
    assert shapes[0]["lines"][0]["unit_price"] == 300 and shapes[0]["lines"][0]["stock_source"] == "flashsale"
    assert shapes[1] == shapes[0] and shapes[2] == shapes[0]
    for u in buyers:  # each under its buyer's key, its history the buyer's
        order = db.session.get(Order, int(rows[u.id].order_ids))
        assert db.session.get(PaymentOrder, order.payment_id).idempotency_key == rows[u.id].idempotency_key
        assert db.session.scalar(db.select(OrderEvent.actor_id).where(OrderEvent.order_id == order.id)) == u.id
    assert sorted(received) == sorted((u.id, *received[0][1:]) for u in buyers)
    assert received[0][2] == [(600, 37, 600 - 37 + shapes[0]["order"]["delivery_fee"])]
    assert fs.flash_sku(aid).sold == 6


def _queued_unrecorded(api, monkeypatch, buyers, sku):
    """Purchases queued in Redis whose durable tickets are not written yet
    (as while their buy requests are between the Redis script and the
    ticket's INSERT): here the INSERT fails, so each answers 503 and its
    job waits in the queue for the consumer."""
    from sqlalchemy.exc import OperationalError

    def down(job):
        raise OperationalError("INSERT INTO flashsale_tickets", {}, Exception("the database went away"))

    with monkeypatch.context() as m:
        m.setattr(fs_queue, "record_new", down)
        for u in buyers:
            assert fs.buy_api(api, u, sku).status_code == 503


def _spy(monkeypatch, between=None):
    """Record each ``place_batch`` call's tickets and statuses, and each
    job placed alone (:func:`jishi_flashsale.queue.place`); ``between``
    runs after the first batch."""
    batches, alone = [], []
    real_batch, real_place = fs_queue.place_batch, fs_queue.place

    def place_batch(jobs, defer_missing=False):
        out = real_batch(jobs, defer_missing=defer_missing)
        batches.append(list(zip([j["ticket"] for j in jobs], out, strict=True)))
        if between is not None and len(batches) == 1:
            between([j for j, st in zip(jobs, out, strict=True) if st == "deferred"])
        return out

    def place(job):
        alone.append(job["ticket"])
        return real_place(job)

    monkeypatch.setattr(fs_queue, "place_batch", place_batch)
    monkeypatch.setattr(fs_queue, "place", place)
    return batches, alone


def test_a_job_whose_ticket_is_being_written_waits_for_the_next_batch(app, api, factory, monkeypatch):
    """FS (issue 20): in a burst the consumer may take a job before its buy
    request has committed the ticket (the Redis script queues it a moment
    before the INSERT). Such a job is queued again at the head, once, not
    placed alone (a single placement: ~13 statements and 2 commits, and
    its request then records its ticket a second way): its ticket
    recorded meanwhile, it is placed in the next batch. Exactly one order
    each, every ticket placed."""
    sku, fsid, a = _sale(factory, stock=5)
    buyers = [fs.buyer(factory) for _ in range(5)]
    for u in buyers[:3]:
        assert fs.buy_api(api, u, sku).status_code == 202
    _queued_unrecorded(api, monkeypatch, buyers[3:], sku)
    db.session.commit()

    def requests_record(jobs):  # the two buy requests commit their tickets meanwhile
        for job in jobs:
            assert fs_queue.record_new(job)

    batches, alone = _spy(monkeypatch, requests_record)
    assert fs_queue.work(idle_exit=True, block=0.05, batch=10) == 5
    assert [st for _t, st in batches[0]] == ["placed"] * 3 + ["deferred"] * 2
    assert sorted(st for _t, st in batches[1]) == ["placed"] * 2 and len(batches) == 2
    assert alone == [] and fs_queue.pending() == 0
    assert _count(Order) == 5 and fs.flash_sku(a).sold == 5
    assert {t.status for t in db.session.execute(db.select(Ticket)).scalars()} == {"placed"}
    per_buyer = db.session.execute(db.select(Order.user_id, db.func.count()).group_by(Order.user_id)).all()
    assert sorted(n for _u, n in per_buyer) == [1] * 5


def test_a_job_whose_ticket_never_comes_is_placed_alone_the_second_time(app, api, factory, monkeypatch):
    """FS: a job deferred once whose ticket is still missing (its request
    died before writing it) is not deferred again: the consumer records
    its ticket and places it alone, as before; nothing is placed twice."""
    sku, fsid, a = _sale(factory, stock=4)
    buyers = [fs.buyer(factory) for _ in range(4)]
    for u in buyers[:2]:
        assert fs.buy_api(api, u, sku).status_code == 202
    _queued_unrecorded(api, monkeypatch, buyers[2:], sku)
    db.session.commit()
    batches, alone = _spy(monkeypatch)
    assert fs_queue.work(idle_exit=True, block=0.05, batch=10) == 4
    assert [st for _t, st in batches[0]] == ["placed"] * 2 + ["deferred"] * 2
    deferred = {t for t, st in batches[0] if st == "deferred"}
    assert set(alone) == deferred and fs_queue.pending() == 0
    assert _count(Order) == 4 and fs.flash_sku(a).sold == 4 and _left(fsid) == 0
    rows = db.session.execute(db.select(Ticket)).scalars().all()
    assert len(rows) == 4 and {t.status for t in rows} == {"placed"}


def test_a_jobs_request_is_the_test_request_context_it_replaces(app):
    """The consumer's request per job (``queue._request``) is what
    ``test_request_context`` made for it: the same environ (path, method,
    server name, script root, the job's language), from a copy kept per app
    and language; every job gets an environ and a body of its own."""
    app.config.update(SERVER_NAME="shop.example:8443", APPLICATION_ROOT="/mall", PREFERRED_URL_SCHEME="https")
    skip = {"wsgi.input", "werkzeug.request"}
    for locale in ("en", "zh_CN", None):
        job = {"locale": locale}
        headers = {"Accept-Language": locale or app.config["BABEL_DEFAULT_LOCALE"]}
        with app.test_request_context("/api/v1/flashsale/buy", method="POST", headers=headers):
            from flask import request

            want = {k: v for k, v in request.environ.items() if k not in skip}
            want_url, want_lang = request.url, request.accept_languages.best
        for _ in range(2):
            with fs_queue._request(app, job):
                from flask import request

                environ = request.environ
                assert {k: v for k, v in environ.items() if k not in skip} == want
                assert (request.url, request.accept_languages.best) == (want_url, want_lang)
                assert request.get_data() == b""
                environ["jishi.test.mark"] = 1  # what one job's request writes stays its own
            with fs_queue._request(app, job):
                from flask import request

                assert "jishi.test.mark" not in request.environ and request.environ is not environ
    # the config read at each request: another server name, another environ
    app.config["SERVER_NAME"] = "other.example"
    with fs_queue._request(app, {"locale": "en"}):
        from flask import request

        assert request.host == "other.example"
