"""Queued placement (排队下单) behind the Redis gate: peak shaving.

With ``JISHI_FLASHSALE_QUEUE`` on (and the Redis gate configured), an
admitted purchase is not placed inside the buyer's request. ONE Lua script
(:data:`ENQUEUE`) decides atomically: the buyer's earlier ticket for the
same ``Idempotency-Key`` (a retry takes nothing more), sold out, the
per-buyer limit; otherwise it takes the units, writes a **ticket** and
pushes the job on a Redis list, all or nothing. The request answers ``202``
with the ticket at once; a sale's burst costs the web workers a Redis call
per winner instead of a full checkout.

Purchases are queued only while a consumer is alive (its heartbeat key,
refreshed every second, checked by the same script): with none running,
buy places directly as without the queue, so turning the queue on never
strands an order.

The consumer, ``jishi flashsale work`` (one process or several), takes jobs
with ``BLMOVE`` onto a processing list and places each through the kernel's
checkout with the idempotency key ``fsq-<ticket>`` (so a job taken twice,
after a crash, places once): flash price, flash stock by the conditional
``UPDATE`` (the database stays the source of truth), per-buyer counter,
unpaid timeout, everything as for a direct purchase. Then the ticket says
``placed`` with the payment orders, or ``failed`` with the reason, and a
failed ticket gives its units back to the gate exactly once (:data:`FAIL`
moves the ticket from ``queued`` only once). The buyer polls
``GET /api/v1/flashsale/tickets/<ticket>``.

Crash safety: a consumer starting moves jobs left on the processing list
back to the queue; placing them again is idempotent (the ticket's key).
"""

from __future__ import annotations

import json
import secrets
import time

from flask import current_app

from jishi_flashsale import gate

TICKET_TTL = 2 * 24 * 3600
MAX_ATTEMPTS = 5  # a job whose placement raises (not a refusal) is tried this often

ENQUEUE = """
if KEYS[3] ~= '' then
  local t = redis.call('GET', KEYS[3])
  if t then return {2, t} end
end
if redis.call('EXISTS', KEYS[6]) == 0 then return {-3, ''} end
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
redis.call('HSET', KEYS[5], 'status', 'queued', 'user', ARGV[7], 'fsid', ARGV[8], 'n', n, 'limit', limit)
redis.call('EXPIRE', KEYS[5], tonumber(ARGV[6]))
if KEYS[3] ~= '' then redis.call('SET', KEYS[3], ARGV[4], 'EX', tonumber(ARGV[6])) end
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

QUEUED, EXISTING, NO_CONSUMER = 1, 2, -3
HEARTBEAT_SECONDS = 10  # a consumer refreshes its heartbeat at least every second

_scripts: dict[str, tuple] = {}


def enabled() -> bool:
    """The queue is on: ``JISHI_FLASHSALE_QUEUE`` and a Redis gate."""
    return bool(current_app.config.get("JISHI_FLASHSALE_QUEUE")) and gate.redis_client() is not None


def _keys():
    return gate._prefix() + "queue", gate._prefix() + "processing"


def _heartbeat_key() -> str:
    return gate._prefix() + "consumer"


def beat() -> None:
    """A consumer is alive (refreshed by :func:`work` at least every second;
    purchases are queued only while one is)."""
    gate.redis_client().set(_heartbeat_key(), "1", ex=HEARTBEAT_SECONDS)


def _ticket_key(ticket: str) -> str:
    return gate._prefix() + "ticket:" + ticket


def _by_idempotency_key(user_id: int, key: str) -> str:
    return gate._prefix() + f"tk:{user_id}:{key}"


def _script(name: str):
    client = gate.redis_client()
    url = current_app.config["JISHI_REDIS_URL"]
    if url not in _scripts:
        _scripts[url] = (client.register_script(ENQUEUE), client.register_script(FAIL))
    return _scripts[url][0 if name == "enqueue" else 1]


def enqueue(row, user_id: int, quantity: int, job: dict, idempotency_key: str | None) -> tuple[int, str]:
    """Ask the gate for the units and queue the placement, atomically.
    Returns ``(QUEUED, ticket)``, ``(EXISTING, ticket)`` for a retry with the
    same key, ``(gate.SOLD_OUT, "")``, ``(gate.LIMIT, "")``, or
    ``(NO_CONSUMER, "")`` when no consumer's heartbeat is there (nothing
    taken: the caller places directly). Raises on a Redis failure (the
    caller places directly: the database decides)."""
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
    ]
    payload = json.dumps(
        {**job, "ticket": ticket, "user_id": user_id, "fsid": row.id, "quantity": quantity}, separators=(",", ":")
    )
    args = [quantity, row.per_user_limit or 0, ttl, ticket, payload, TICKET_TTL, user_id, row.id]
    for _attempt in range(2):
        verdict, out = _script("enqueue")(keys=keys, args=args)
        verdict, out = int(verdict), out.decode() if isinstance(out, bytes) else out
        if verdict != gate.UNKNOWN:
            return verdict, out
        gate.seed(row, user_id)
    return gate.SOLD_OUT, ""


def ticket(ticket_id: str, user_id: int) -> dict | None:
    """The buyer's ticket (None: unknown, expired, or another buyer's)."""
    if not ticket_id or len(ticket_id) > 64:
        return None
    raw = gate.redis_client().hgetall(_ticket_key(ticket_id))
    data = {k.decode(): v.decode() for k, v in raw.items()}
    if not data or data.get("user") != str(user_id):
        return None
    data["ticket"] = ticket_id
    data["payment_ids"] = [int(x) for x in data.get("payments", "").split(",") if x]
    return data


# -- the consumer ------------------------------------------------------------------------


def _fail(job: dict, code: str, message: str) -> bool:
    keys = [_ticket_key(job["ticket"]), gate._left_key(job["fsid"]), gate._user_key(job["fsid"], job["user_id"])]
    given_back = bool(int(_script("fail")(keys=keys, args=[code, message])))
    if given_back:
        gate.clear(job["sku_id"])
    return given_back


def _placed(job: dict, payment_ids: list[int]) -> None:
    gate.redis_client().hset(
        _ticket_key(job["ticket"]), mapping={"status": "placed", "payments": ",".join(map(str, payment_ids))}
    )


def place(job: dict) -> str:
    """Place one queued job through the kernel's checkout, inside a request
    context in the buyer's language (messages, hooks that read the
    request); returns the ticket's new status."""
    from jishi.accounts.models import User
    from jishi.checkout import entry as checkout_entry
    from jishi.checkout.errors import CheckoutError
    from jishi.db import db, rollback

    app = current_app._get_current_object()
    headers = {"Accept-Language": job.get("locale") or app.config["BABEL_DEFAULT_LOCALE"]}
    with app.test_request_context("/api/v1/flashsale/buy", method="POST", headers=headers):
        try:
            user = db.session.get(User, job["user_id"])
            if user is None or not user.is_active:
                from jishi.i18n import gettext as _

                _fail(job, "unauthorized", _("Sign in first."))
                return "failed"
            payments = checkout_entry.place_order(
                user,
                [(job["sku_id"], job["quantity"])],
                job.get("address_id"),
                job.get("options") or {},
                idempotency_key=f"fsq-{job['ticket']}",
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
        _placed(job, [p.id for p in payments])
        return "placed"


def recover() -> int:
    """Move jobs a stopped consumer left on the processing list back to
    the queue's head; returns how many."""
    client = gate.redis_client()
    queue_key, processing_key = _keys()
    moved = 0
    while client.lmove(processing_key, queue_key, "RIGHT", "LEFT") is not None:
        moved += 1
    return moved


def work(
    *, max_jobs: int | None = None, block: float = 1.0, idle_exit: bool = False, log=None, release_session: bool = False
) -> int:
    """Take and place jobs until ``max_jobs`` are done (None: forever), or,
    with ``idle_exit``, until the queue is empty. Returns the jobs done.
    ``release_session``: a fresh database session per job (the consumer
    process; tests keep theirs)."""
    from jishi.db import db

    client = gate.redis_client()
    if client is None:
        raise RuntimeError("the flash-sale queue needs JISHI_REDIS_URL")
    queue_key, processing_key = _keys()
    done = 0
    while max_jobs is None or done < max_jobs:
        beat()
        raw = client.blmove(queue_key, processing_key, block, "LEFT", "RIGHT")
        if raw is None:
            if idle_exit:
                break
            continue
        job = json.loads(raw)
        started = time.perf_counter()
        try:
            status = place(job)
        except Exception:  # the database away, or a bug: try again, then give up
            current_app.logger.exception("flashsale queue: job %s raised", job.get("ticket"))
            job["attempts"] = job.get("attempts", 0) + 1
            if job["attempts"] < MAX_ATTEMPTS:
                pipe = client.pipeline()
                pipe.rpush(queue_key, json.dumps(job, separators=(",", ":")))
                pipe.lrem(processing_key, 1, raw)
                pipe.execute()
                time.sleep(min(0.2 * job["attempts"], 2.0))
                continue
            from jishi.i18n import gettext as _

            with current_app.test_request_context(headers={"Accept-Language": job.get("locale") or "zh_CN"}):
                _fail(job, "error", _("The order could not be placed. Please try again."))
            status = "failed"
        client.lrem(processing_key, 1, raw)
        if release_session:
            db.session.remove()
        done += 1
        if log:
            log(f"{job['ticket']} {status} in {(time.perf_counter() - started) * 1000:.0f} ms")
    return done


def pending() -> int:
    """Jobs waiting or being placed."""
    client = gate.redis_client()
    queue_key, processing_key = _keys()
    return int(client.llen(queue_key)) + int(client.llen(processing_key))
