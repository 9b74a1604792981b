"""Queued placement (排队下单) behind the Redis gate: peak shaving.

With ``JISHI_FLASHSALE_QUEUE`` on (and the Redis gate configured), an
admitted purchase is not placed inside the buyer's request. ONE Lua script
(:data:`ENQUEUE`) decides atomically: this very attempt sent again (the
ticket exists), the buyer's earlier ticket for the same
``Idempotency-Key`` (a retry takes nothing more), sold out, the per-buyer
limit; otherwise it takes the units, writes a **ticket** and pushes the job
on a Redis list, all or nothing (the ``Idempotency-Key`` is indexed too,
:func:`jishi_flashsale.gate.key_unused`). The request then records the ticket in the
database (:class:`jishi_flashsale.models.Ticket`, committed) and only then
answers ``202``: what a 202 promised survives a Redis that restarts empty.

A Redis error while admitting answers ``503`` (nothing promised, nothing
placed in the request): a timed-out script may still run later, and the
job it queues is then placed by the consumer, so placing in the request as
well could place the purchase twice (issue 15.1). The buyer's retry with
the same ``Idempotency-Key`` answers that ticket if the script did run.

Purchases are queued only while a consumer is alive (its heartbeat key,
refreshed every second, checked by the same script): with none running,
buy places directly as without the queue, so turning the queue on never
strands an order.

The consumer, ``jishi flashsale work`` (one process or several), takes jobs
with ``BLMOVE`` onto a processing list and places each through the kernel's
checkout **under the buyer's own idempotency key** (``fsq-<ticket>`` for a
purchase sent without one): a job taken twice, a job placed by the recovery
pass too, or a purchase the buyer also placed directly with that key, is
placed once (the kernel's unique key decides). The database ticket moves
from ``queued`` to ``placed`` (payment and order ids) or ``failed`` (code,
message) by a conditional UPDATE, once; then Redis's copy follows, and a
failed ticket gives its units back to the gate exactly once (:data:`FAIL`
moves Redis's ticket from ``queued`` only once). The buyer polls
``GET /api/v1/flashsale/tickets/<ticket>`` (Redis's copy, else the
database's).

Faults (issue 15.2, 15.3): the consumer survives Redis errors (timeouts,
lost connections): it logs, waits with a capped exponential backoff,
reconnects and carries on. At start, after each reconnection and every
``JISHI_FLASHSALE_RECOVER_SECONDS`` it moves jobs left on the processing list
back to the queue and runs :func:`recover_durable`: every durable ticket
still queued whose job Redis no longer holds (it restarted empty) is placed
or failed from the database.
"""

from __future__ import annotations

import functools
import io
import json
import secrets
import time
from contextlib import contextmanager

from flask import current_app

from jishi_flashsale import gate

TICKET_TTL = 2 * 24 * 3600
MAX_ATTEMPTS = 5  # a job whose placement raises (not a refusal) is tried this often
BACKOFF_FIRST = 0.1  # seconds: the consumer's first wait after a Redis error ...
BACKOFF_CAP = 5.0  # ... doubling up to this

ENQUEUE = """
if redis.call('EXISTS', KEYS[5]) == 1 then return {2, ARGV[4]} end
if KEYS[3] ~= '' then
  local t = redis.call('GET', KEYS[3])
  if t then return {2, t} end
end
if redis.call('EXISTS', KEYS[6]) == 0 then
  -- no consumer: the request places it; its key is indexed (gate.key_unused)
  if KEYS[7] ~= '' then redis.call('SET', KEYS[7], '1', 'EX', tonumber(ARGV[6])) end
  return {-3, ''}
end
local left = redis.call('GET', KEYS[1])
if not left then return {-2, ''} end
local n = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
if tonumber(left) < n then return {0, ''} end
if limit > 0 then
  local used = tonumber(redis.call('GET', KEYS[2]) or '0')
  if used + n > limit then return {-1, ''} end
  redis.call('INCRBY', KEYS[2], n)
  redis.call('EXPIRE', KEYS[2], tonumber(ARGV[3]))
end
redis.call('DECRBY', KEYS[1], n)
redis.call('HSET', KEYS[5], 'status', 'queued', 'user', ARGV[7], 'fsid', ARGV[8], 'n', n, 'limit', limit, 'job', ARGV[5])
redis.call('EXPIRE', KEYS[5], tonumber(ARGV[6]))
if KEYS[3] ~= '' then redis.call('SET', KEYS[3], ARGV[4], 'EX', tonumber(ARGV[6])) end
if KEYS[7] ~= '' then redis.call('SET', KEYS[7], '1', 'EX', tonumber(ARGV[6])) end
redis.call('RPUSH', KEYS[4], ARGV[5])
return {1, ARGV[4]}
"""

FAIL = """
if redis.call('HGET', KEYS[1], 'status') ~= 'queued' then return 0 end
redis.call('HSET', KEYS[1], 'status', 'failed', 'code', ARGV[1], 'message', ARGV[2])
local n = tonumber(redis.call('HGET', KEYS[1], 'n'))
-- a counter dropped meanwhile (the activity changed) is seeded again from
-- the database on next use: never create it from this unit alone
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('INCRBY', KEYS[2], n) end
if tonumber(redis.call('HGET', KEYS[1], 'limit')) > 0 and redis.call('EXISTS', KEYS[3]) == 1 then redis.call('DECRBY', KEYS[3], n) end
return 1
"""

PLACED = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'status', 'placed', 'payments', ARGV[1])
return 1
"""

TAKE_MORE = """
local out = {}
for i = 1, tonumber(ARGV[1]) do
  local v = redis.call('LMOVE', KEYS[1], KEYS[2], 'LEFT', 'RIGHT')
  if not v then break end
  out[i] = v
end
return out
"""

QUEUED, EXISTING, NO_CONSUMER = 1, 2, -3
DEFERRED = "deferred"  # a job's field: queued again once by the consumer, its ticket not recorded yet (place_batch)
HEARTBEAT_SECONDS = 10  # a consumer refreshes its heartbeat at least every second

_scripts: dict[str, tuple] = {}


def enabled() -> bool:
    """The queue is on: ``JISHI_FLASHSALE_QUEUE`` and a Redis gate."""
    return bool(current_app.config.get("JISHI_FLASHSALE_QUEUE")) and gate.redis_client() is not None


def redis_errors() -> tuple[type[Exception], ...]:
    """What a Redis fault raises (timeouts, lost connections, a Redis
    loading its data...): ``redis.RedisError``."""
    import redis

    return (redis.RedisError,)


def _keys():
    return gate._prefix() + "queue", gate._prefix() + "processing"


def _heartbeat_key() -> str:
    return gate._prefix() + "consumer"


def beat() -> bool:
    """A consumer is alive (refreshed by :func:`work` at least every second;
    purchases are queued only while one is). Returns whether the heartbeat
    was there: a consumer finding it gone (Redis restarted empty, or no
    consumer ran for a while) runs its recovery at once."""
    return gate.redis_client().set(_heartbeat_key(), "1", ex=HEARTBEAT_SECONDS, get=True) is not None


def _ticket_key(ticket: str) -> str:
    return gate._prefix() + "ticket:" + ticket


def _by_idempotency_key(user_id: int, key: str) -> str:
    return gate._prefix() + f"tk:{user_id}:{key}"


def _script(name: str):
    client = gate.redis_client()
    url = current_app.config["JISHI_REDIS_URL"]
    if url not in _scripts:
        _scripts[url] = tuple(client.register_script(s) for s in (ENQUEUE, FAIL, PLACED, TAKE_MORE))
    return _scripts[url][("enqueue", "fail", "placed", "take").index(name)]


def enqueue(row, user_id: int, quantity: int, job: dict, idempotency_key: str | None) -> tuple[int, str]:
    """Ask the gate for the units and queue the placement, atomically.
    Returns ``(QUEUED, ticket)``, ``(EXISTING, ticket)`` for a retry with the
    same key, ``(gate.SOLD_OUT, "")``, ``(gate.LIMIT, "")``, or
    ``(NO_CONSUMER, "")`` when no consumer's heartbeat is there (nothing
    taken: the caller places directly). Raises on a Redis failure (the
    caller answers 503: the script may still run). The same call sent
    twice (a client-level retry) queues once: the script first looks for
    its own ticket."""
    ticket = secrets.token_hex(16)
    queue_key, _ = _keys()
    ttl = gate._expire_seconds(row.ends_at)
    keys = [
        gate._left_key(row.id),
        gate._user_key(row.id, user_id),
        _by_idempotency_key(user_id, idempotency_key) if idempotency_key else "",
        queue_key,
        _ticket_key(ticket),
        _heartbeat_key(),
        gate.key_index(idempotency_key) if idempotency_key else "",
    ]
    payload = json.dumps(
        {**job, "ticket": ticket, "user_id": user_id, "fsid": row.id, "quantity": quantity, "key": idempotency_key},
        separators=(",", ":"),
    )
    args = [quantity, row.per_user_limit or 0, ttl, ticket, payload, TICKET_TTL, user_id, row.id]
    script, client = _script("enqueue"), gate.own_client(current_app.config)
    for _attempt in range(2):
        verdict, out = script(keys=keys, args=args, client=client)
        verdict, out = int(verdict), out.decode() if isinstance(out, bytes) else out
        if verdict != gate.UNKNOWN:
            return verdict, out
        gate.seed(row, user_id)
    return gate.SOLD_OUT, ""


# -- the durable ticket ----------------------------------------------------------------

_JOB_FIELDS = ("address_id", "options", "locale", "expected_total")


_TICKET_INSERT: dict[str, object] = {}  # per dialect: a statement, the same for every app


def _ticket_insert():
    """``INSERT .. ON CONFLICT DO NOTHING RETURNING id`` of a ticket, on the
    table (no ORM entity to build) with every value a bound parameter: one
    statement object, so its compiled form is found by its cache key at
    once (values written into the statement made a new key to compute,
    column by column, on every purchase)."""
    from jishi.db import conflict_insert, db
    from sqlalchemy import bindparam

    from jishi_flashsale.models import Ticket

    dialect = db.session.get_bind().dialect.name
    stmt = _TICKET_INSERT.get(dialect)
    if stmt is None:
        table = Ticket.__table__
        names = (
            "ticket",
            "user_id",
            "flash_sku_id",
            "sku_id",
            "quantity",
            "idempotency_key",
            "status",
            "job",
            "payment_ids",
            "order_ids",
            "created_at",
            "updated_at",
        )
        stmt = _TICKET_INSERT[dialect] = (
            conflict_insert(table)
            .values({n: bindparam(n, type_=table.c[n].type) for n in names})
            .on_conflict_do_nothing()
            .returning(table.c.id)
        )
    return stmt


_TICKET_INSERT_SQL: dict = {}  # per dialect: the INSERT's held SQL (jishi.db.held_rows' forms)


def _insert_ticket(params: dict) -> int | None:
    """Run :func:`_ticket_insert` with ``params``: the new ticket's id, or
    None (a conflict: nothing written). From its SQL compiled once per
    dialect (:func:`jishi.db.held_rows`, kept in ``_TICKET_INSERT_SQL``),
    on the DB-API cursor when nothing listens to the statements,
    in the session's transaction, as ``session.execute`` would run it (a
    flush first when the session autoflushes)."""
    from jishi.db import db, held_rows

    stmt = _ticket_insert()
    session = db.session()
    if session.autoflush:
        session.flush()
    rows = held_rows(session.connection(), stmt, params, _TICKET_INSERT_SQL, direct=True)
    return rows[0][0] if rows else None


def record_new(job: dict) -> bool:
    """Write ``job``'s durable ticket and commit; True when written now
    (the common case: a buy request's own ticket), False when a ticket of
    the same ``ticket`` or of the buyer's key was there (nothing written,
    nothing committed: :func:`record` tells which). ONE statement, its
    commit, no ORM object."""
    from jishi.db import commit, db, utcnow

    now = utcnow()
    inserted = _insert_ticket(
        {
            "ticket": job["ticket"],
            "user_id": job["user_id"],
            "flash_sku_id": job["fsid"],
            "sku_id": job["sku_id"],
            "quantity": job["quantity"],
            "idempotency_key": job.get("key"),
            "status": "queued",
            "job": json.dumps({k: job.get(k) for k in _JOB_FIELDS}, separators=(",", ":")),
            "payment_ids": "",
            "order_ids": "",
            "created_at": now,
            "updated_at": now,
        }
    )
    if inserted is None:
        return False
    session = db.session()
    old, session.expire_on_commit = session.expire_on_commit, False  # the buyer stays loaded
    try:
        commit()
    finally:
        session.expire_on_commit = old
    return True


def record(job: dict):
    """The durable :class:`~jishi_flashsale.models.Ticket` of ``job`` (a
    queued job's payload), written if missing and committed: ``(row,
    True)``; or, when the buyer's idempotency key already belongs to
    another ticket (a retry after Redis lost its index), ``(that ticket,
    False)``. ONE ``INSERT .. ON CONFLICT DO NOTHING``, then a read."""
    from jishi.db import commit, conflict_insert, db, utcnow
    from sqlalchemy import select

    from jishi_flashsale.models import Ticket

    now = utcnow()
    inserted = db.session.execute(
        conflict_insert(Ticket)
        .values(
            ticket=job["ticket"],
            user_id=job["user_id"],
            flash_sku_id=job["fsid"],
            sku_id=job["sku_id"],
            quantity=job["quantity"],
            idempotency_key=job.get("key"),
            status="queued",
            job=json.dumps({k: job.get(k) for k in _JOB_FIELDS}, separators=(",", ":")),
            payment_ids="",
            order_ids="",
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing()
        .returning(Ticket)
    ).scalar_one_or_none()
    if inserted is not None:  # the common case: written now, nothing more to read
        session = db.session()
        old, session.expire_on_commit = session.expire_on_commit, False
        try:
            commit()
        finally:
            session.expire_on_commit = old
        return inserted, True
    commit()
    row = db.session.execute(select(Ticket).where(Ticket.ticket == job["ticket"])).scalar_one_or_none()
    if row is not None:
        return row, True
    if job.get("key"):
        other = db.session.execute(
            select(Ticket).where(Ticket.user_id == job["user_id"], Ticket.idempotency_key == job["key"])
        ).scalar_one_or_none()
        if other is not None:
            return other, False
    raise RuntimeError(f"flash-sale ticket {job['ticket']} could not be recorded")


def stored(ticket_id: str):
    """The durable ticket ``ticket_id`` (None: unknown)."""
    from jishi.db import db
    from sqlalchemy import select

    from jishi_flashsale.models import Ticket

    return db.session.execute(select(Ticket).where(Ticket.ticket == ticket_id)).scalar_one_or_none()


def by_key(user_id: int, key: str):
    """The buyer's durable ticket for ``Idempotency-Key`` ``key`` (None: none)."""
    from jishi.db import db
    from sqlalchemy import select

    from jishi_flashsale.models import Ticket

    return db.session.execute(
        select(Ticket).where(Ticket.user_id == user_id, Ticket.idempotency_key == key)
    ).scalar_one_or_none()


def ticket_by_key(user_id: int, key: str) -> str | None:
    """The ticket Redis queued for the buyer's ``Idempotency-Key`` (None:
    none, or Redis lost it). Raises on a Redis failure."""
    client = gate.redis_client()
    if client is None:
        return None
    raw = client.get(_by_idempotency_key(user_id, key))
    return raw.decode() if isinstance(raw, bytes) else raw


def redis_job(ticket_id: str) -> dict | None:
    """The job Redis's ticket ``ticket_id`` holds (None: Redis lost it)."""
    raw = gate.redis_client().hget(_ticket_key(ticket_id), "job")
    return json.loads(raw) if raw else None


def as_data(row) -> dict:
    """A durable ticket as :func:`ticket` answers it."""
    return {
        "ticket": row.ticket,
        "status": row.status,
        "payment_ids": [int(x) for x in row.payment_ids.split(",") if x],
        "code": row.code,
        "message": row.message,
    }


def ticket(ticket_id: str, user_id: int) -> dict | None:
    """The buyer's ticket (None: unknown, expired, or another buyer's):
    Redis's copy, else (Redis lost it, or is away) the database's, so an
    accepted ticket never answers 404."""
    if not ticket_id or len(ticket_id) > 64:
        return None
    data: dict = {}
    try:
        client = gate.redis_client()
        raw = client.hgetall(_ticket_key(ticket_id)) if client is not None else {}
        data = {k.decode(): v.decode() for k, v in raw.items()}
    except redis_errors() as exc:
        current_app.logger.warning("flashsale: ticket read from the database, Redis failed: %s", exc)
    if not data:  # Redis lost it (or is away): the database's copy
        row = stored(ticket_id)
        return as_data(row) if row is not None and row.user_id == user_id else None
    if data.get("user") != str(user_id):
        return None
    data["ticket"] = ticket_id
    data["payment_ids"] = [int(x) for x in data.get("payments", "").split(",") if x]
    return data


# -- the consumer ------------------------------------------------------------------------


def _fail_redis(job: dict, code: str, message: str) -> bool:
    keys = [_ticket_key(job["ticket"]), gate._left_key(job["fsid"]), gate._user_key(job["fsid"], job["user_id"])]
    given_back = bool(int(_script("fail")(keys=keys, args=[code, message])))
    if given_back:
        gate.clear(job["sku_id"])
    return given_back


def _fail(job: dict, code: str, message: str) -> bool:
    """Fail the job's ticket: the database's first (once), then Redis's
    (which gives the units back to the gate, once). Returns whether the
    units were given back."""
    _mark(job["ticket"], "failed", code=code, message=message)
    return _fail_redis(job, code, message)


def _mark(
    ticket_id: str,
    status: str,
    *,
    payment_ids: str = "",
    order_ids: str = "",
    code: str | None = None,
    message: str | None = None,
) -> bool:
    """Move the durable ticket from ``queued`` to ``status`` (one
    conditional UPDATE, committed); False when it had moved already."""
    from jishi.db import commit, db, utcnow
    from sqlalchemy import update

    from jishi_flashsale.models import Ticket

    values: dict = {"status": status, "updated_at": utcnow()}
    if status == "placed":
        values["payment_ids"], values["order_ids"] = payment_ids[:255], order_ids[:255]
    else:
        values["code"] = (code or "")[:40]
        values["message"] = (message or "")[:255]
    won = db.session.execute(
        update(Ticket)
        .where(Ticket.ticket == ticket_id, Ticket.status == "queued")
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    commit()
    return bool(won)


def _placed_redis(job: dict, payment_ids: str) -> None:
    """Redis's copy says placed (only where Redis still has the ticket: a
    copy made from nothing would lack its buyer)."""
    _script("placed")(keys=[_ticket_key(job["ticket"])], args=[payment_ids])


def _sync_redis(job: dict, row) -> None:
    """Redis's copy of a ticket the database already decided (a job run
    again after a fault): placed, or failed (its units back, once)."""
    if row.status == "placed":
        _placed_redis(job, row.payment_ids)
    elif row.status == "failed":
        _fail_redis(job, row.code or "error", row.message or "")


def place(job: dict) -> str:
    """Place one queued job through the kernel's checkout, inside a request
    context in the buyer's language (messages, hooks that read the
    request); returns the ticket's new status. The durable ticket is
    written first if the request that queued it could not (then it decides
    whether this job is a second ticket for the buyer's key: failed,
    ``duplicate``, its units back)."""
    from jishi.accounts.models import User
    from jishi.checkout import entry as checkout_entry
    from jishi.checkout.errors import CheckoutError
    from jishi.db import db, rollback
    from jishi.i18n import gettext as _

    app = current_app._get_current_object()
    with _request(app, job):
        try:
            row, own = stored(job["ticket"]), True
            if row is None:  # the request that queued it could not record it (or Redis ran it late)
                row, own = record(job)
            if not own:
                _fail_redis(job, "duplicate", _("This purchase was already made with this Idempotency-Key."))
                return "failed"
            if row.status != "queued":
                _sync_redis(job, row)
                return row.status
            user = db.session.get(User, job["user_id"])
            if user is None or not user.is_active:
                _fail(job, "unauthorized", _("Sign in first."))
                return "failed"
            payments = checkout_entry.place_order(
                user,
                [(job["sku_id"], job["quantity"])],
                job.get("address_id"),
                job.get("options") or {},
                idempotency_key=job.get("key") or f"fsq-{job['ticket']}",
                expected_total=job.get("expected_total"),
            )
        except CheckoutError as exc:
            rollback()
            problem = exc.problems[0] if exc.problems else None
            _fail(job, problem.code if problem else "invalid", str(problem.message) if problem else "")
            return "failed"
        except Exception:
            rollback()
            raise
        # read before the commit below expires them
        payment_ids = ",".join(str(p.id) for p in payments)
        order_ids = ",".join(str(o.id) for p in payments for o in p.orders)
        _mark(job["ticket"], "placed", payment_ids=payment_ids, order_ids=order_ids)
        _placed_redis(job, payment_ids)
        return "placed"


def _request(app, job: dict):
    """A request context in the buyer's language (messages, hooks that read
    the request), as the buy request that queued the job had: what
    ``app.test_request_context("/api/v1/flashsale/buy", method="POST",
    headers={"Accept-Language": <the job's locale>})`` makes, from a copy of
    its environ made once per app and language (:func:`_job_environ`)."""
    return app.request_context(_job_environ(app, job.get("locale") or app.config["BABEL_DEFAULT_LOCALE"]))


JOB_ENVIRONS = "jishi_flashsale.job_environs"  # the app's ``extensions`` key of _job_environ's environs
JOB_ENVIRONS_MAX = 64


def _job_environ(app, locale: str) -> dict:
    """A fresh WSGI environ of a job's request in ``locale`` (a POST to the
    buy path, ``Accept-Language: <locale>``, no body): a copy of the one
    Flask's test ``EnvironBuilder`` made for this app and language (its
    server name, script root and scheme from the app's config, as
    ``test_request_context`` reads them), with a body of its own. A
    consumer makes one request context per job; building the environ each
    time was about a third of making that context."""
    cfg = app.config
    key = (locale, cfg.get("SERVER_NAME"), cfg.get("APPLICATION_ROOT"), cfg.get("PREFERRED_URL_SCHEME"))
    kept = app.extensions.get(JOB_ENVIRONS)
    if kept is None:
        kept = app.extensions[JOB_ENVIRONS] = {}
    environ = kept.get(key)
    if environ is None:
        from flask.testing import EnvironBuilder

        builder = EnvironBuilder(app, "/api/v1/flashsale/buy", method="POST", headers={"Accept-Language": locale})
        try:
            environ = builder.get_environ()
        finally:
            builder.close()
        if len(kept) >= JOB_ENVIRONS_MAX:  # (locales are the app's few; a bound all the same)
            kept.clear()
        kept[key] = environ
    environ = dict(environ)  # the request writes into its environ (werkzeug.request, ...)
    environ["wsgi.input"] = io.BytesIO()
    return environ


@contextmanager
def _job_request(app, job: dict, offers: dict):
    """The job's request (:func:`_request`), knowing the running offer of
    its SKU for its buyer as read for the whole batch."""
    from jishi_flashsale import service

    with _request(app, job):
        key = (job["sku_id"], job["user_id"])
        if key in offers:
            service.remember_running({key: offers[key]})
        yield


#: :func:`_mark_many`'s statement on PostgreSQL, built once per process
_MARK_MANY: list = []
_MARK_COLUMNS = ("b_ticket", "b_status", "b_pay", "b_ord", "b_code", "b_msg")


def _mark_many(params: list[dict]) -> None:
    """Move a batch's queued tickets to what the batch decided (``b_ticket``,
    ``b_status``, ``b_pay``, ``b_ord``, ``b_code``, ``b_msg`` each), only from
    ``queued``, in its transaction. On PostgreSQL in ONE statement whose
    rows are arrays (``UPDATE .. FROM unnest(..)``: the same short text for
    any batch, prepared once; an executemany sent a statement per ticket,
    issue 20); on SQLite an executemany."""
    from jishi.db import db, utcnow
    from sqlalchemy import String, bindparam, update

    from jishi_flashsale.models import Ticket
    from jishi_flashsale.service import unnest

    table = Ticket.__table__
    now = utcnow()
    if db.session.get_bind().dialect.name == "postgresql":
        if not _MARK_MANY:
            rows = unnest(*_MARK_COLUMNS, type_=String)
            _MARK_MANY.append(
                update(table)
                .where(table.c.ticket == rows.c.b_ticket, table.c.status == "queued")
                .values(
                    status=rows.c.b_status,
                    payment_ids=rows.c.b_pay,
                    order_ids=rows.c.b_ord,
                    code=rows.c.b_code,
                    message=rows.c.b_msg,
                    updated_at=bindparam("b_now", type_=table.c.updated_at.type),
                )
            )
        arrays = {c: [p[c] for p in params] for c in _MARK_COLUMNS}
        db.session.execute(_MARK_MANY[0], {**arrays, "b_now": now})
        return
    db.session.execute(
        update(table)
        .where(table.c.ticket == bindparam("b_ticket"), table.c.status == "queued")
        .values(
            status=bindparam("b_status"),
            payment_ids=bindparam("b_pay"),
            order_ids=bindparam("b_ord"),
            code=bindparam("b_code"),
            message=bindparam("b_msg"),
            updated_at=now,
        ),
        params,
    )


def place_batch(jobs: list[dict], defer_missing: bool = False) -> list[str]:
    """Place several queued jobs in ONE database transaction; returns each
    job's status (``placed`` or ``failed``; ``deferred``, see below).

    1. The durable tickets of the batch are read and locked (``SELECT ..
       FOR UPDATE SKIP LOCKED`` on PostgreSQL): a ticket another consumer
       is placing right now is not in this batch's transaction; its job,
       like one whose ticket is not recorded yet (or not committed yet by
       the buy request), goes through :func:`place` after the commit,
       which places it under the same key as the other consumer (the
       kernel's unique key makes one order: it waits for that consumer's
       commit and answers its placement) — never dropped, never twice.
    2. Every ticket still queued is placed by the kernel's
       :func:`jishi.checkout.entry.place_orders` (each in its buyer's
       language, under the buyer's key, in a savepoint: a refusal is rolled
       back alone), and every ticket is moved from ``queued`` to ``placed``
       or ``failed`` by one executemany UPDATE **in the same transaction**:
       one commit for the batch.
    3. Then Redis follows in one pipeline (failed tickets give their units
       back to the gate, once).

    A job whose ticket is missing (its request could not record it), a
    batch of one, or a batch that raises (the database away) goes through
    :func:`place`, job by job (the caller's retries apply).

    ``defer_missing`` (the consumer's loop, :func:`work`): a job whose
    ticket is missing and that was not deferred before is not placed but
    answered ``deferred`` (the loop queues it again at the head, once:
    :data:`DEFERRED`). During a burst such a job is, nearly always, one
    whose buy request is still writing its ticket (the job is queued by the
    Redis script a moment before the ticket's INSERT commits); placed
    alone it would cost a single placement (~13 statements, 2 commits)
    and make that request record its ticket a second way; a moment later
    it is in the next batch. A job whose request died before its ticket
    is placed alone the second time, as before."""
    from jishi.accounts.models import Address, User
    from jishi.checkout import entry as checkout_entry
    from jishi.db import db, rollback
    from jishi.i18n import gettext as _
    from sqlalchemy import select

    from jishi_flashsale import service
    from jishi_flashsale.models import Ticket

    if len(jobs) <= 1:
        return [place(job) for job in jobs]
    app = current_app._get_current_object()
    by_ticket = {job["ticket"]: job for job in jobs}
    rows = {
        row.ticket: row
        for row in db.session.execute(
            select(Ticket)
            .where(Ticket.ticket.in_(list(by_ticket)))
            .order_by(Ticket.id)
            .with_for_update(skip_locked=True)
        ).scalars()
    }
    # locked by another consumer, or not recorded (committed) yet: one by one, after this batch
    missing = [job for job in jobs if job["ticket"] not in rows]
    deferred = [job for job in missing if defer_missing and not job.get(DEFERRED)]
    if deferred:
        missing = [job for job in missing if job.get(DEFERRED)]
    todo = [by_ticket[t] for t, row in rows.items() if row.status == "queued"]
    decided = [(by_ticket[t], row) for t, row in rows.items() if row.status != "queued"]
    users = {
        u.id: u for u in db.session.execute(select(User).where(User.id.in_({job["user_id"] for job in todo}))).scalars()
    }
    # What each placement reads, for the whole batch in two statements: the
    # addresses (then in the session: the checkout's look-up costs none)
    # and the running offers with each buyer's units
    address_ids = {job["address_id"] for job in todo if isinstance(job.get("address_id"), int)}
    addresses = (  # held here: the session's identity map keeps only referenced rows
        db.session.execute(select(Address).where(Address.id.in_(address_ids))).scalars().all() if address_ids else []
    )
    offers = service.running_flash_for_buyers([(job["sku_id"], job["user_id"]) for job in todo])
    refused: dict[str, tuple[str, str]] = {}
    requests, placing = [], []
    for job in todo:
        user = users.get(job["user_id"])
        if user is None or not user.is_active:
            with _request(app, job):
                refused[job["ticket"]] = ("unauthorized", _("Sign in first."))
            continue
        placing.append(job)
        requests.append(
            checkout_entry.PlaceRequest(
                user,
                [(job["sku_id"], job["quantity"])],
                job.get("address_id"),
                job.get("options") or {},
                idempotency_key=job.get("key") or f"fsq-{job['ticket']}",
                expected_total=job.get("expected_total"),
                context=functools.partial(_job_request, app, job, offers),
            )
        )
    placed: dict[str, tuple[str, str]] = {}

    def mark(results) -> None:
        for job, result in zip(placing, results, strict=True):
            if isinstance(result, list):
                placed[job["ticket"]] = (
                    ",".join(str(p.id) for p in result),
                    ",".join(str(o.id) for p in result for o in p.orders),
                )
            else:
                problem = result.problems[0] if result.problems else None
                refused[job["ticket"]] = (
                    problem.code if problem else "invalid",
                    str(problem.message) if problem else "",
                )
        params = [
            {"b_ticket": t, "b_status": "placed", "b_pay": p[:255], "b_ord": o[:255], "b_code": None, "b_msg": None}
            for t, (p, o) in placed.items()
        ] + [
            {"b_ticket": t, "b_status": "failed", "b_pay": "", "b_ord": "", "b_code": c[:40], "b_msg": m[:255]}
            for t, (c, m) in refused.items()
        ]
        if params:
            _mark_many(params)

    with _request(app, jobs[0]):  # the order_placed receivers run after the commit, in a request as before
        try:
            checkout_entry.place_orders(requests, before_commit=mark)
            del addresses
        except Exception:
            rollback()
            raise
    pipe = gate.redis_client().pipeline(transaction=False)
    for t, (payment_ids, _order_ids) in placed.items():
        _script("placed")(keys=[_ticket_key(t)], args=[payment_ids], client=pipe)
    given = []
    for t, (code, message) in refused.items():
        job = by_ticket[t]
        keys = [_ticket_key(t), gate._left_key(job["fsid"]), gate._user_key(job["fsid"], job["user_id"])]
        _script("fail")(keys=keys, args=[code, message], client=pipe)
        given.append(job)
    out = pipe.execute()
    for job, back in zip(given, out[len(placed) :], strict=True):
        if int(back):
            gate.clear(job["sku_id"])
    status = dict.fromkeys(placed, "placed") | dict.fromkeys(refused, "failed")
    status.update((job["ticket"], "deferred") for job in deferred)
    for job, row in decided:
        _sync_redis(job, row)
        status[job["ticket"]] = row.status
    for job in missing:
        status[job["ticket"]] = place(job)
    return [status[job["ticket"]] for job in jobs]


def recover() -> int:
    """Move jobs a stopped consumer left on the processing list back to
    the queue's head; returns how many."""
    client = gate.redis_client()
    queue_key, processing_key = _keys()
    moved = 0
    while client.lmove(processing_key, queue_key, "RIGHT", "LEFT") is not None:
        moved += 1
    return moved


def job_of(row) -> dict:
    """A durable ticket as a queued job's payload."""
    job = json.loads(row.job or "{}")
    job.update(
        ticket=row.ticket,
        user_id=row.user_id,
        fsid=row.flash_sku_id,
        sku_id=row.sku_id,
        quantity=row.quantity,
        key=row.idempotency_key,
    )
    return job


def recover_durable(limit: int = 500, log=None) -> dict[str, int]:
    """Place (or fail, visibly) every durable ticket still queued whose job
    Redis no longer holds (Redis restarted empty, or the ticket expired
    there), oldest first, at most ``limit`` per call; then set the gate's
    counters of the flash SKUs concerned from the database. A job also
    placed elsewhere at the same moment is placed once (the same
    idempotency key). Returns ``{"placed": n, "failed": n}``."""
    from jishi.db import db
    from sqlalchemy import select

    from jishi_flashsale import service
    from jishi_flashsale.models import Ticket

    client = gate.redis_client()
    jobs = [
        job_of(row)
        for row in db.session.execute(
            select(Ticket).where(Ticket.status == "queued").order_by(Ticket.created_at, Ticket.id).limit(limit)
        ).scalars()
    ]
    db.session.rollback()  # no transaction held while placing
    out = {"placed": 0, "failed": 0}
    if not jobs:
        return out
    pipe = client.pipeline(transaction=False)
    for job in jobs:
        pipe.exists(_ticket_key(job["ticket"]))
    held = pipe.execute()
    touched: dict[int, set[int]] = {}
    for job, in_redis in zip(jobs, held, strict=True):
        if in_redis:
            continue  # Redis still holds the job: the queue places it
        try:
            status = place(job)
        except redis_errors():
            raise
        except Exception:
            current_app.logger.exception("flashsale recovery: ticket %s raised", job["ticket"])
            continue
        out[status if status in out else "failed"] += 1
        touched.setdefault(job["fsid"], set()).add(job["user_id"])
        if log:
            log(f"{job['ticket']} {status} (recovered from the database)")
    if touched:  # the units of failed tickets back on sale, their buyers' counters too
        service.reconcile()
        for fsid, users in touched.items():
            gate.reset_users(fsid, users)
    return out


def _place_one(client, job: dict, raw, queue_key: str, processing_key: str) -> str:
    """Place one job (:func:`place`); a placement that raises (the database
    away, or a bug) is queued again (``"retry"``: it stays counted as not
    done) until :data:`MAX_ATTEMPTS`, then failed."""
    from jishi.db import rollback
    from jishi.i18n import gettext as _

    try:
        return place(job)
    except redis_errors():
        raise
    except Exception:
        current_app.logger.exception("flashsale queue: job %s raised", job.get("ticket"))
        rollback()
        job["attempts"] = job.get("attempts", 0) + 1
        if job["attempts"] < MAX_ATTEMPTS:
            pipe = client.pipeline()
            pipe.rpush(queue_key, json.dumps(job, separators=(",", ":")))
            pipe.lrem(processing_key, 1, raw)
            pipe.execute()
            time.sleep(min(0.2 * job["attempts"], 2.0))
            return "retry"
        with current_app.test_request_context(headers={"Accept-Language": job.get("locale") or "zh_CN"}):
            _fail(job, "error", _("The order could not be placed. Please try again."))
        return "failed"


def take_batch(client, first, want: int, linger: float) -> list:
    """The batch that starts with ``first`` (a job just moved onto the
    processing list): the jobs waiting behind it too, up to ``want`` in
    all, moved by ONE script call (:data:`TAKE_MORE`); then, while the
    batch is short, jobs arriving within ``linger`` seconds of the first
    (each waited for by a blocking ``BLMOVE``, the ones behind it taken by
    the script). During a burst the buy requests queue a job each, one at
    a time: a consumer that took each alone would place it alone (a
    transaction, two commits and ~13 statements per order, issue 20), and
    would take it before its request has committed the ticket (then
    placed alone again, after the batch). Lingering a moment makes
    batches of them; a queue that already holds ``want`` jobs is not
    waited on."""
    queue_key, processing_key = _keys()
    raws = [first]
    if want <= 1:
        return raws
    take = _script("take")
    raws += take(keys=[queue_key, processing_key], args=[want - 1])
    deadline = time.monotonic() + linger
    while len(raws) < want:
        remaining = deadline - time.monotonic()
        if remaining < 0.001:  # (a BLMOVE timeout of 0 would block for ever)
            break
        raw = client.blmove(queue_key, processing_key, round(remaining, 3), "LEFT", "RIGHT")
        if raw is None:
            break
        raws.append(raw)
        if len(raws) < want:
            raws += take(keys=[queue_key, processing_key], args=[want - len(raws)])
    return raws


def _backoff(failures: int) -> float:
    return min(BACKOFF_FIRST * 2 ** max(failures - 1, 0), BACKOFF_CAP)


def work(
    *,
    max_jobs: int | None = None,
    block: float = 1.0,
    idle_exit: bool = False,
    log=None,
    release_session: bool = False,
    recover_every: float | None = None,
    max_failures: int | None = None,
    stop=None,
    batch: int | None = None,
    linger: float | None = None,
) -> int:
    """Take and place jobs until ``max_jobs`` are done (None: forever), or,
    with ``idle_exit``, until the queue is empty. Returns the jobs done.
    ``release_session``: a fresh database session per job (the consumer
    process; tests keep theirs).

    Redis errors never stop it: it logs, waits (:data:`BACKOFF_FIRST`
    doubling up to :data:`BACKOFF_CAP`), and carries on; after a fault, and
    every ``recover_every`` seconds (``JISHI_FLASHSALE_RECOVER_SECONDS``,
    default 30), it queues again what the processing list holds and runs
    :func:`recover_durable`. ``max_failures``: give up (raise) after that
    many Redis errors in a row (None: never). ``stop``: an event (its
    ``is_set()``) that ends the loop between jobs. ``batch``: take up to
    this many waiting jobs at once and place them in one transaction
    (:func:`place_batch`; ``JISHI_FLASHSALE_BATCH``, default 50; 1: one
    by one). ``linger``: seconds a short batch waits for more jobs to
    arrive (:func:`take_batch`; ``JISHI_FLASHSALE_LINGER_MS``, default
    300; none with ``idle_exit``: a run that stops when the queue is empty
    takes what is there)."""
    from jishi.db import db, rollback

    client = gate.redis_client()
    if client is None:
        raise RuntimeError("the flash-sale queue needs JISHI_REDIS_URL")
    if recover_every is None:
        recover_every = float(current_app.config.get("JISHI_FLASHSALE_RECOVER_SECONDS", 30))
    if batch is None:
        batch = int(current_app.config.get("JISHI_FLASHSALE_BATCH", 50))
    batch = max(batch, 1)
    if linger is None:
        linger = 0.0 if idle_exit else float(current_app.config.get("JISHI_FLASHSALE_LINGER_MS", 300)) / 1000
    linger = min(max(linger, 0.0), gate.redis_timeout() / 2)  # each wait is a blocking pop, as ``block``
    block = min(block, gate.redis_timeout() / 2)  # a blocking pop must end before the socket times out
    queue_key, processing_key = _keys()
    done = 0
    failures = 0
    next_recovery = time.monotonic() + recover_every
    recovering = True  # at start: what a stopped consumer, or a lost Redis, left
    try:
        beat()  # the first beat finds no heartbeat of ours: not a lost Redis
    except redis_errors():
        pass  # Redis away already: the loop below waits for it
    while (max_jobs is None or done < max_jobs) and not (stop is not None and stop.is_set()):
        try:
            if recovering or time.monotonic() >= next_recovery:
                moved = recover()
                found = recover_durable(log=log)
                if log and (moved or any(found.values())):
                    log(f"recovery: {moved} jobs queued again, {found['placed']} placed, {found['failed']} failed")
                recovering = False
                next_recovery = time.monotonic() + recover_every
            if not beat() and not recovering:
                current_app.logger.warning("flashsale queue: the heartbeat was gone (Redis restarted?); recovering")
                if log:
                    log("heartbeat gone: recovering")
                recovering = True
                continue
            raw = client.blmove(queue_key, processing_key, block, "LEFT", "RIGHT")
            failures = 0
            if raw is None:
                if idle_exit:
                    break
                continue
            want = batch if max_jobs is None else min(batch, max_jobs - done)
            raws = take_batch(client, raw, want, linger)
            jobs = [json.loads(r) for r in raws]
            started = time.perf_counter()
            statuses = None
            if len(jobs) > 1:
                try:
                    statuses = place_batch(jobs, defer_missing=True)
                except redis_errors():
                    raise
                except Exception:  # one by one below, with their retries
                    current_app.logger.exception("flashsale queue: a batch of %d raised; one by one", len(jobs))
                    rollback()
            if statuses is None:
                statuses = [_place_one(client, job, r, queue_key, processing_key) for job, r in zip(jobs, raws)]
            # (a job deferred is queued again at the head, in the same
            # MULTI that takes it off the processing list: on one list always)
            pipe = client.pipeline(transaction="deferred" in statuses)
            for job, r, st in zip(jobs, raws, statuses):
                if st == "deferred":
                    pipe.lpush(queue_key, json.dumps({**job, DEFERRED: 1}, separators=(",", ":")))
                if st != "retry":
                    pipe.lrem(processing_key, 1, r)
            pipe.execute()
        except redis_errors() as exc:
            # Redis stalled, restarted or is away: the job in hand (if any)
            # stays on the processing list and is queued again on recovery
            rollback()
            failures += 1
            if max_failures is not None and failures >= max_failures:
                raise
            wait = _backoff(failures)
            current_app.logger.warning(
                "flashsale queue: Redis failed (%s: %s); retrying in %.1f s", type(exc).__name__, exc, wait
            )
            if log:
                log(f"Redis failed ({type(exc).__name__}); retrying in {wait:.1f} s")
            if stop is not None:
                stop.wait(wait)
            else:
                time.sleep(wait)
            recovering = True
            continue
        if release_session:
            db.session.remove()
        else:
            rollback()  # no transaction (on SQLite: no write lock) held between jobs
        handled = sum(1 for st in statuses if st not in ("retry", "deferred"))
        done += handled
        if log:
            ms = (time.perf_counter() - started) * 1000
            if len(jobs) == 1:
                log(f"{jobs[0]['ticket']} {statuses[0]} in {ms:.0f} ms")
            else:
                counts = {st: statuses.count(st) for st in dict.fromkeys(statuses)}
                log(f"{len(jobs)} jobs in {ms:.0f} ms: " + ", ".join(f"{n} {st}" for st, n in counts.items()))
    return done


def pending() -> int:
    """Jobs waiting or being placed."""
    client = gate.redis_client()
    queue_key, processing_key = _keys()
    return int(client.llen(queue_key)) + int(client.llen(processing_key))
