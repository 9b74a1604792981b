"""FS / issue 15 (items 1, 2, 3, 6): flash sales survive Redis faults.

Each test injects a real fault into its OWN throwaway ``redis-server``
(:class:`jishi.testing.faults.RedisProcess`, a free loopback port, no
persistence): a stall past the client timeout (SIGSTOP ... SIGCONT: Redis
runs what it was sent meanwhile, the very fault that made duplicates), and a
restart that loses everything (kill -9, then a new empty server on the same
port). After each, the consistency checks of :func:`_consistent` hold: no
buyer has two orders, flash stock + sold = initial, flash sold = the
reservations' units, normal stock untouched, Redis's counter = the database's.

The Redis client's timeout is 0.5 s here (``JISHI_FLASHSALE_REDIS_TIMEOUT``)
so every test stays within seconds. SQLite and PostgreSQL; the buys of the
stall test run in parallel threads (truly concurrent on PostgreSQL).
"""

from __future__ import annotations

import threading
import time

import pytest
from jishi.db import db
from jishi.models import Order, Sku
from jishi.testing import parallel_config, run_parallel
from jishi_flashsale import gate, service
from jishi_flashsale import queue as fs_queue
from jishi_flashsale.models import Reservation, Ticket

from . import helpers as fs

TIMEOUT = 0.5


@pytest.fixture(scope="module")
def redis_proc():
    from jishi.testing.faults import RedisProcess

    try:
        proc = RedisProcess()
    except RuntimeError as exc:
        pytest.skip(str(exc))
    with proc:
        yield proc


@pytest.fixture
def app_config(redis_proc):
    return {
        **parallel_config(),
        "JISHI_REDIS_URL": redis_proc.url,
        "JISHI_FLASHSALE_REDIS_PREFIX": f"f{time.monotonic_ns()}:",
        "JISHI_FLASHSALE_REDIS_TIMEOUT": TIMEOUT,
        "RATELIMIT_STORAGE_URI": "memory://",
        "JISHI_FLASHSALE_EPOCH_SECONDS": 0,  # keyed sold-out attempts answered from Redis at once (issue 20)
    }


@pytest.fixture(autouse=True)
def _redis_up(redis_proc, app):
    """Every test starts and ends with its Redis running and answering."""
    if redis_proc.proc is None:
        redis_proc.start()
    if redis_proc.stopped:
        redis_proc.resume()
    fs_queue.beat()  # a consumer's heartbeat: purchases are queued
    yield
    if redis_proc.stopped:
        redis_proc.resume()
    if redis_proc.proc is None:
        redis_proc.start()


def _sale(factory, *, stock, per_user=1):
    product = factory.product(price=1000, stock=500)
    a = fs.activity(product, stock=stock, per_user=per_user, price=300)
    return product.skus[0].id, fs.flash_sku(a.id).id, a


def _left(fsid):
    v = gate.redis_client().get(gate._left_key(fsid))
    return None if v is None else int(v)


def _orders_by_user() -> dict[int, int]:
    db.session.expire_all()
    rows = db.session.execute(db.select(Order.user_id, db.func.count()).group_by(Order.user_id)).all()
    return dict(rows)


def _consistent(activity, sku_id: int, initial: int, normal_stock: int = 500) -> dict:
    """The issue's consistency checks; returns the figures."""
    db.session.expire_all()
    f = fs.flash_sku(activity.id)
    reserved = db.session.scalar(
        db.select(db.func.coalesce(db.func.sum(Reservation.quantity - Reservation.released), 0)).where(
            Reservation.flash_sku_id == f.id
        )
    )
    by_user = _orders_by_user()
    assert all(n == 1 for n in by_user.values()), f"a buyer has two orders: {by_user}"
    assert f.stock == initial and f.remaining + f.sold == initial
    assert f.sold == reserved == sum(by_user.values()), (f.sold, reserved, by_user)
    assert db.session.get(Sku, sku_id).stock == normal_stock
    return {"sold": f.sold, "orders": sum(by_user.values()), "buyers": len(by_user)}


def _tickets(**where) -> list:
    """The durable tickets (plain rows; the transaction ends, so that a
    consumer thread may write on SQLite)."""
    db.session.expire_all()
    q = db.select(Ticket.ticket, Ticket.status, Ticket.code, Ticket.user_id).filter_by(**where).order_by(Ticket.id)
    rows = db.session.execute(q).all()
    db.session.commit()
    return rows


def _bearer(user) -> dict:
    from jishi.testing import factories

    return {"Authorization": f"Bearer {factories.token(user)}"}


def _buy(app, headers, sku, key, address_id):
    resp = app.test_client().post(
        "/api/v1/flashsale/buy",
        json={"sku_id": sku, "address_id": address_id},
        headers={**headers, "Idempotency-Key": key},
    )
    return resp.status_code, resp.get_json()


def _retry(app, headers, sku, key, address_id):
    """A retry that reaches the gate (this process's sold-out flag, set by
    another buyer's refusal, would answer it first)."""
    gate.clear_all()
    return _buy(app, headers, sku, key, address_id)


def test_stall_past_the_timeout_during_buys_places_each_purchase_once(app, factory, redis_proc):
    """Issue 15.1: Redis stalls past the client timeout while 8 buyers (one
    Idempotency-Key each, no per-buyer limit, so a second order would be
    possible) buy at once: every request answers 503 within about the
    timeout, none places directly; on SIGCONT Redis runs the buffered
    scripts and queues them; the buyers' retries with their keys answer the
    same tickets; the consumer places each once. No buyer has two orders;
    admitted (tickets) <= stock."""
    sku, fsid, a = _sale(factory, stock=6, per_user=0)
    warm = fs.buyer(factory)
    assert _buy(app, _bearer(warm), sku, "warm", fs.address_id(warm))[0] == 202  # counters seeded, script loaded
    buyers = [fs.buyer(factory) for _ in range(8)]
    heads = [_bearer(u) for u in buyers]
    addrs = [fs.address_id(u) for u in buyers]
    db.session.commit()
    with redis_proc.paused():
        started = time.monotonic()
        results, errors = run_parallel(app, 8, lambda i: _buy(app, heads[i], sku, f"stall-{i}", addrs[i]))
        took = time.monotonic() - started
    assert not errors, errors
    assert [s for s, _ in results] == [503] * 8, results
    assert all(body["code"] == "unavailable" for _s, body in results)
    assert took < 8 * TIMEOUT + 5, took  # a clear error, never a hang
    assert _orders_by_user() == {}  # nothing placed in the requests
    time.sleep(0.2)  # Redis runs what it was sent
    retries = [_retry(app, heads[i], sku, f"stall-{i}", addrs[i]) for i in range(8)]
    statuses = sorted(s for s, _ in retries)
    tickets = {b["ticket"] for s, b in retries if s == 202}
    owner = {b["ticket"]: i for i, (s, b) in enumerate(retries) if s == 202}
    assert set(statuses) <= {202, 409}, retries
    admitted = len(tickets)
    assert admitted == 5 and statuses.count(409) == 8 - admitted  # Redis ran the buffered scripts: 5 units left
    fs_queue.work(idle_exit=True, block=0.05)
    for t in tickets:  # each ticket placed once
        got = app.test_client().get(f"/api/v1/flashsale/tickets/{t}", headers=heads[owner[t]])
        assert (got.status_code, got.json["status"], len(got.json["orders"])) == (200, "placed", 1), got.json
    figures = _consistent(a, sku, 6)
    assert figures["orders"] == 1 + admitted <= 6
    assert _left(fsid) == 6 - figures["sold"] == 0
    assert {t.status for t in _tickets()} <= {"placed"}


def test_a_retry_answered_by_the_sold_out_flag_still_gets_its_stalled_ticket(app, factory, redis_proc):
    """Issue 15.1 (found by the deployment fault table): a buyer's purchase
    answered 503 while Redis stalled is admitted when Redis runs the
    buffered script, which also sells the last unit; the buyer's retry with
    the same key then meets this process's sold-out flag, which must answer
    the ticket Redis queued (recorded durably now), not 409 ``sold_out``
    for a purchase that is then placed."""
    sku, _fsid, a = _sale(factory, stock=2, per_user=0)
    warm = fs.buyer(factory)
    assert _buy(app, _bearer(warm), sku, "warm", fs.address_id(warm))[0] == 202  # 1 unit left
    buyers = [fs.buyer(factory) for _ in range(2)]
    heads = [_bearer(u) for u in buyers]
    addrs = [fs.address_id(u) for u in buyers]
    db.session.commit()
    with redis_proc.paused():
        first = [_buy(app, heads[i], sku, f"flag-{i}", addrs[i]) for i in range(2)]
    assert [s for s, _ in first] == [503, 503], first
    time.sleep(0.2)  # Redis runs both buffered scripts: one admitted, one refused
    gate.mark_sold_out(sku)  # as the next refusal in this process would
    retries = [_buy(app, heads[i], sku, f"flag-{i}", addrs[i]) for i in range(2)]
    assert sorted(s for s, _ in retries) == [202, 409], retries
    admitted = next(i for i, (s, _b) in enumerate(retries) if s == 202)
    ticket = retries[admitted][1]["ticket"]
    assert [t.ticket for t in _tickets(user_id=buyers[admitted].id)] == [ticket]  # recorded by the retry
    again = _buy(app, heads[admitted], sku, f"flag-{admitted}", addrs[admitted])
    assert again == (202, retries[admitted][1])  # the same answer, nothing more taken
    fs_queue.work(idle_exit=True, block=0.05)
    got = app.test_client().get(f"/api/v1/flashsale/tickets/{ticket}", headers=heads[admitted])
    assert (got.status_code, got.json["status"], len(got.json["orders"])) == (200, "placed", 1), got.json
    figures = _consistent(a, sku, 2)
    assert figures["orders"] == 2 and _orders_by_user().get(buyers[1 - admitted].id) is None


def test_redis_timeout_while_admitting_answers_503_and_never_places_directly(app, api, factory, redis_proc):
    """Issue 15.1: with the queue on, a Redis timeout at the gate answers
    503 ``unavailable`` with Retry-After and writes nothing; the same
    buyer's retry with the same key, once Redis answers, gets the ticket
    the buffered script queued (one ticket, one order)."""
    sku, _fsid, a = _sale(factory, stock=3, per_user=2)
    u = fs.buyer(factory)
    assert fs.buy_api(api, u, sku, key="warm").status_code == 202  # counters seeded
    with redis_proc.paused():
        resp = fs.buy_api(api, u, sku, key="k1")
    assert resp.status_code == 503 and resp.headers["Retry-After"] == "1", resp.json
    assert resp.json["code"] == "unavailable"
    assert len(_tickets()) == 1 and _orders_by_user() == {}
    time.sleep(0.2)
    retry = fs.buy_api(api, u, sku, key="k1")
    assert retry.status_code == 202
    assert fs.buy_api(api, u, sku, key="k1").json["ticket"] == retry.json["ticket"]
    fs_queue.work(idle_exit=True, block=0.05)
    assert len(_tickets(status="placed")) == 2
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count()).select_from(Order)) == 2
    assert fs.flash_sku(a.id).sold == 2


def test_consumer_keeps_running_through_a_stall_and_a_restart(app, api, factory, redis_proc):
    """Issue 15.2: ``work`` survives a stall past the timeout (TimeoutError)
    and a restart (ConnectionError): it logs, backs off, reconnects and
    carries on; tickets queued before each fault are served, and purchases
    after the restart are queued and placed (its heartbeat is back)."""
    sku, fsid, a = _sale(factory, stock=10)
    before = [fs.buy_api(api, fs.buyer(factory), sku) for _ in range(3)]
    assert [r.status_code for r in before] == [202] * 3
    db.session.commit()
    stop, lines, errors = threading.Event(), [], []

    def consumer():
        with app.app_context():
            try:
                fs_queue.work(block=0.1, log=lines.append, stop=stop, recover_every=30)
            except Exception as exc:  # pragma: no cover - the failure this test is about
                errors.append(exc)
            finally:
                db.session.remove()

    redis_proc.pause()  # the consumer starts against a stalled Redis
    thread = threading.Thread(target=consumer, daemon=True)
    thread.start()
    try:
        time.sleep(3 * TIMEOUT)
        redis_proc.resume()
        _wait(lambda: len(_tickets(status="placed")) == 3)
        assert thread.is_alive() and any("TimeoutError" in line for line in lines), lines

        redis_proc.pause()
        mid_buyer = fs.buyer(factory)
        mid = fs.buy_api(api, mid_buyer, sku)
        assert mid.status_code == 503
        redis_proc.resume()
        queued = fs.buy_api(api, fs.buyer(factory), sku)
        assert queued.status_code == 202, queued.json

        redis_proc.restart_empty()
        _wait(lambda: gate.redis_client().exists(fs_queue._heartbeat_key()))  # the consumer is back
        after = [fs.buy_api(api, fs.buyer(factory), sku) for _ in range(2)]
        assert [r.status_code for r in after] == [202] * 2, [r.json for r in after]
        wanted = {queued.json["ticket"]} | {r.json["ticket"] for r in after}
        _wait(lambda: wanted <= {t.ticket for t in _tickets(status="placed")}, lambda: (_tickets(), lines))
        # it saw the restart: a lost connection, or its heartbeat gone
        assert thread.is_alive() and any("ConnectionError" in x or "heartbeat gone" in x for x in lines), lines
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not errors, errors
    figures = _consistent(a, sku, 10)
    # 3 before; the one queued just before the restart (recovered from the
    # database if Redis lost it first); 2 after; and the one answered 503
    # during the stall: Redis ran its script on SIGCONT, so it is placed
    # once if the consumer took it before the restart (its buyer's retry
    # with the key answers it), or not at all (nothing was promised)
    mid_placed = _orders_by_user().get(mid_buyer.id, 0)
    assert figures["orders"] == 6 + mid_placed == len(_tickets(status="placed"))
    assert not _tickets(status="queued")
    service.reconcile()
    assert _left(fsid) == 10 - figures["orders"]


def test_restart_empty_after_202s_places_or_fails_every_ticket(app, api, factory, redis_proc):
    """Issue 15.3: 5 buyers answered 202 (one with an address that will be
    refused), then Redis restarts empty before any is placed. Their tickets
    still answer (from the database, never 404); the counters are rebuilt
    from the database counting the queued tickets (a new buyer is refused
    sold out, a retry with a buyer's key answers its own ticket, taking
    nothing); the consumer's recovery places 4 and fails 1 visibly, its unit
    back on sale. stock + sold = initial, flash sold = reservations."""
    sku, fsid, a = _sale(factory, stock=5)
    buyers = [fs.buyer(factory) for _ in range(5)]
    stranger = fs.buyer(factory)
    answers = []
    for i, u in enumerate(buyers):
        address = fs.address_id(stranger if i == 4 else u)  # the last one's address is not hers
        resp = api.post(
            "/flashsale/buy", json={"sku_id": sku, "address_id": address}, user=u, headers={"Idempotency-Key": f"r{i}"}
        )
        assert resp.status_code == 202, resp.json
        answers.append(resp.json["ticket"])
    assert len(_tickets(status="queued")) == 5 and _left(fsid) == 0

    redis_proc.restart_empty()
    assert _left(fsid) is None and fs_queue.pending() == 0
    for u, t in zip(buyers, answers, strict=True):
        got = api.get(f"/flashsale/tickets/{t}", user=u)
        assert (got.status_code, got.json["status"]) == (202, "queued")
    assert api.get(f"/flashsale/tickets/{answers[0]}", user=stranger).status_code == 404

    fs_queue.beat()  # a consumer is alive (it is started below)
    late = fs.buy_api(api, fs.buyer(factory), sku)
    assert (late.status_code, late.json["code"]) == (409, "sold_out")  # rebuilt: 5 - 0 sold - 5 queued
    gate.clear_all()  # past the sold-out flag: the retry reaches the gate
    retry = api.post(
        "/flashsale/buy",
        json={"sku_id": sku, "address_id": fs.address_id(buyers[0])},
        user=buyers[0],
        headers={"Idempotency-Key": "r0"},
    )
    assert (retry.status_code, retry.json["ticket"]) == (202, answers[0]), retry.json  # her ticket, nothing taken
    assert len(_tickets()) == 5 and _left(fsid) == 0

    fs_queue.work(idle_exit=True, block=0.05)
    placed, failed = _tickets(status="placed"), _tickets(status="failed")
    assert (len(placed), len(failed), len(_tickets(status="queued"))) == (4, 1, 0)
    assert (failed[0].ticket, failed[0].code) == (answers[4], "address")
    for u, t in zip(buyers, answers, strict=True):
        got = api.get(f"/flashsale/tickets/{t}", user=u)
        assert got.status_code == 200 and got.json["status"] in ("placed", "failed")
        if got.json["status"] == "placed":
            assert len(got.json["orders"]) == 1
    figures = _consistent(a, sku, 5)
    assert figures["orders"] == 4 and _left(fsid) == 1  # the failed ticket's unit is on sale again
    again = fs.buy_api(api, buyers[1], sku)  # her per-buyer counter was rebuilt too
    assert (again.status_code, again.json["code"]) == (409, "flashsale_limit")
    assert fs.buy_api(api, buyers[4], sku).status_code == 202  # the failed buyer's counter came back


def test_reconcile_under_a_backlog_never_over_admits(app, api, factory):
    """Issue 15.6: 10 buyers hold 202 tickets for 10 units, none placed yet;
    the periodic reconcile runs; 10 more buyers are all refused sold out
    (before: reconcile reset the counter to stock - sold = 10 and admitted
    them all). A counter Redis lost is rebuilt by reconcile with the
    buyers' counters."""
    sku, fsid, a = _sale(factory, stock=10)
    first = [fs.buyer(factory) for _ in range(10)]
    assert [fs.buy_api(api, u, sku).status_code for u in first] == [202] * 10
    assert "1 flash SKUs reconciled" in service.reconcile()
    assert _left(fsid) == 0
    late = [fs.buy_api(api, fs.buyer(factory), sku) for _ in range(10)]
    assert {(r.status_code, r.json["code"]) for r in late} == {(409, "sold_out")}
    gate.redis_client().delete(gate._left_key(fsid), gate._user_key(fsid, first[0].id))
    assert "1 rebuilt" in service.reconcile()
    assert _left(fsid) == 0 and int(gate.redis_client().get(gate._user_key(fsid, first[0].id))) == 1
    fs_queue.work(idle_exit=True, block=0.05)
    service.reconcile()
    assert _consistent(a, sku, 10)["orders"] == 10 and _left(fsid) == 0


def test_queued_placement_uses_the_buyers_key(app, api, factory):
    """Issue 15.1: the consumer places under the buyer's own Idempotency-Key,
    so the kernel's idempotency matches a direct placement with that key: a
    purchase placed directly (no consumer alive) and then queued again with
    the same key is one order, and the ticket answers that order."""
    sku, _fsid, a = _sale(factory, stock=5, per_user=2)
    u = fs.buyer(factory)
    gate.redis_client().delete(fs_queue._heartbeat_key())
    direct = fs.buy_api(api, u, sku, key="mine")
    assert direct.status_code == 201
    fs_queue.beat()
    queued = fs.buy_api(api, u, sku, key="mine")
    assert queued.status_code == 202
    fs_queue.work(idle_exit=True, block=0.05)
    t = api.get(f"/flashsale/tickets/{queued.json['ticket']}", user=u)
    assert t.json["status"] == "placed" and [o["id"] for o in t.json["orders"]] == [
        o["id"] for o in direct.json["orders"]
    ]
    assert _consistent(a, sku, 5)["orders"] == 1


def _wait(cond, state=None, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting: {state() if state else ''}")
        time.sleep(0.05)
