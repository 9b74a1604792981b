"""The fast front of a flash sale: answer "sold out" without touching the
order tables, and (with Redis) let through no more buyers than there are
units.

1. A per-process flag per SKU: set when this process saw the flash stock
   at 0 (a read or a refused conditional UPDATE), valid for
   ``JISHI_FLASHSALE_SOLDOUT_TTL`` seconds (default 1). A sold-out answer is then
   a dictionary look-up. Given-back units clear the flag in this process;
   other processes see them when their flag expires (a buyer refused within
   that second of a release loses nothing: nothing was written).
2. With ``JISHI_REDIS_URL`` set (and ``JISHI_FLASHSALE_REDIS`` not False): a Lua
   script (``register_script``) holds per flash SKU the units left and per
   buyer the units taken, and decides atomically whether a purchase may go
   on to the database. A refused purchase is answered from Redis; an
   admitted one places its order through the kernel, whose conditional
   UPDATE in the database stays the source of truth. When the database
   refuses or fails, the unit is given back to Redis; the periodic
   ``flashsale_reconcile`` job resets the counters from the database.
   Counters Redis lost are rebuilt from the database (:func:`seed`),
   counting the units of durable tickets still queued (:func:`counts`).
3. Keyed attempts on a sold-out SKU (issue 20): a queued purchase's
   ``Idempotency-Key`` is indexed in Redis (:func:`key_index`, written by the
   queue's admission script with the ticket). While Redis is known to hold
   every key ever used on a flash SKU (its marker, :func:`_keyed_key`, set
   by :func:`seed` only for a sale with no ticket and no reservation in the
   database, read before its counters are in Redis, only when Redis has not
   restarted meanwhile and admitted none of its purchases unindexed), a keyed
   attempt whose key is not in the index cannot be the retry of a purchase
   made: it is answered 409 ``sold_out`` from Redis alone
   (:func:`key_unused`), without signing the buyer in or reading a table.
"""

from __future__ import annotations

import os
import threading
import time

from flask import current_app

_flags: dict[int, float] = {}
_clients: dict[str, object] = {}
_scripts: dict[str, object] = {}
_lock = threading.Lock()

TAKE = """
local left = redis.call('GET', KEYS[1])
if not left then return -2 end
local n = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
if tonumber(left) < n then return 0 end
if limit > 0 then
  local used = tonumber(redis.call('GET', KEYS[2]) or '0')
  if used + n > limit then return -1 end
  redis.call('INCRBY', KEYS[2], n)
  redis.call('EXPIRE', KEYS[2], tonumber(ARGV[3]))
end
redis.call('DECRBY', KEYS[1], n)
-- placed in the request, its key in no index: keyed attempts of this SKU
-- are no longer answered from Redis alone (see key_unused), and a seeding
-- under way marks the sale no more (KEYS[4], read by MARK)
if KEYS[3] ~= '' then
  redis.call('DEL', KEYS[3])
  redis.call('SET', KEYS[4], '1', 'EX', tonumber(ARGV[3]))
end
return 1
"""

# The marker of a sale whose keys Redis has all (see seed): set only when the
# epoch read before the database's "no history" is still Redis's epoch (an
# empty, restarted Redis has another, or none), and no purchase of the sale
# was admitted with its key in no index (KEYS[3], set by TAKE).
MARK = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
redis.call('SET', KEYS[2], '1', 'NX', 'EX', tonumber(ARGV[2]))
return 1
"""

# 1: the sale's marker is there and the key is in no index: the attempt
# cannot be a retry of a purchase made (see key_unused).
UNUSED = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
return 1
"""

OK, SOLD_OUT, LIMIT, UNKNOWN = 1, 0, -1, -2


def _ttl() -> float:
    return float(current_app.config.get("JISHI_FLASHSALE_SOLDOUT_TTL", 1.0))


def is_sold_out(sku_id: int) -> bool:
    until = _flags.get(sku_id)
    if until is None:
        return False
    if until > time.monotonic():
        return True
    _flags.pop(sku_id, None)
    return False


def any_sold_out() -> bool:
    """Whether any SKU is flagged (the WSGI gate's cheapest test after the path)."""
    return bool(_flags)


def mark_sold_out(sku_id: int, fsid: int | None = None) -> None:
    """Flag ``sku_id`` sold out in this process; ``fsid``: its flash SKU
    (queued path), which lets a keyed attempt be answered from Redis
    (:func:`key_unused`)."""
    _flags[sku_id] = time.monotonic() + _ttl()
    if fsid is not None:
        _fsids[sku_id] = fsid
    else:
        _fsids.pop(sku_id, None)


def flagged_fsid(sku_id: int) -> int | None:
    """The flash SKU of a flagged ``sku_id`` when the queued path flagged it."""
    return _fsids.get(sku_id) if is_sold_out(sku_id) else None


def clear(sku_id: int) -> None:
    _flags.pop(sku_id, None)
    _fsids.pop(sku_id, None)
    _offers.pop(sku_id, None)


def clear_all() -> None:
    _flags.clear()
    _fsids.clear()
    _offers.clear()


_fsids: dict[int, int] = {}


_offers: dict[int, tuple[float, object]] = {}


def cached_offer(sku_id: int):
    """The SKU's running flash row (:func:`jishi_flashsale.service.running_flash`
    without a buyer), remembered by this process for
    ``JISHI_FLASHSALE_SOLDOUT_TTL`` seconds: the queued path's admission reads
    no table (Redis holds the units and the buyers' counts; the placement
    reads everything afresh and refuses a sale that ended meanwhile)."""
    from jishi_flashsale import service

    hit = _offers.get(sku_id)
    now = time.monotonic()
    if hit is not None and hit[0] > now:
        return hit[1]
    row = service.running_flash(sku_id)
    if len(_offers) > 10000:
        _offers.clear()
    _offers[sku_id] = (now + _ttl(), row)
    return row


# -- Redis ---------------------------------------------------------------------------


def redis_client():
    """The Redis client when ``JISHI_REDIS_URL`` is set (and
    ``JISHI_FLASHSALE_REDIS`` is not False), else None."""
    return redis_client_for(current_app.config)


def redis_client_for(cfg):
    """:func:`redis_client` from an app's ``config`` (no app context needed:
    the WSGI gate)."""
    url = cfg.get("JISHI_REDIS_URL")
    if not url or not cfg.get("JISHI_FLASHSALE_REDIS", True):
        return None
    client = _clients.get(url)
    if client is None:
        with _lock:
            client = _clients.get(url)
            if client is None:
                client = _new_client(url, cfg)
                _scripts[url] = client.register_script(TAKE)
                _scripts["mark:" + url] = client.register_script(MARK)
                _scripts["unused:" + url] = client.register_script(UNUSED)
                _clients[url] = client
    return client


def _new_client(url: str, cfg, single: bool = False):
    """A Redis client of ``url`` with the gate's settings; ``single``: on
    one connection of its own instead of a pool (:func:`own_client`)."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    timeout = float(cfg.get("JISHI_FLASHSALE_REDIS_TIMEOUT", 2.0))
    # Retried once on a connection error only (a pooled
    # connection Redis dropped when it restarted: the command
    # never reached it), never on a timeout: a timed-out script
    # may still run, and the request must answer at once.
    return redis.Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)),
        single_connection_client=single,
    )


_own = threading.local()


def own_client(cfg):
    """This thread's own client of the gate's Redis (None without one, as
    :func:`redis_client_for`): one connection, held by the thread, for the
    scripts a buy request runs (the admission, the keyed sold-out test, the
    direct path's take). The pool's checkout and return around each command
    cost about a third of such a call's CPU (issue 20). Same settings,
    timeouts and retry as the pooled client (a connection error: the
    connection is dropped and the command sent again once on a new one; a
    timeout: dropped, not retried); a thread's connection is its own, so
    threads never wait on each other's commands, and a forked process makes
    its own (it never shares its parent's socket)."""
    client = redis_client_for(cfg)
    if client is None:
        return None
    url = cfg["JISHI_REDIS_URL"]
    pid = os.getpid()
    held = getattr(_own, "clients", None)
    if held is None or held[0] != pid:
        held = _own.clients = (pid, {})
    own = held[1].get(url)
    if own is None:
        own = held[1][url] = _new_client(url, cfg, single=True)
    return own


def redis_timeout() -> float:
    """Seconds a Redis call of the gate, the queue or the consumer may take
    (``JISHI_FLASHSALE_REDIS_TIMEOUT``, default 2)."""
    return float(current_app.config.get("JISHI_FLASHSALE_REDIS_TIMEOUT", 2.0))


def _prefix(cfg=None) -> str:
    return (cfg if cfg is not None else current_app.config).get("JISHI_FLASHSALE_REDIS_PREFIX", "jishi:flashsale:")


def _keyed_key(fsid: int, cfg=None) -> str:
    """The marker: Redis holds every ``Idempotency-Key`` used on flash SKU ``fsid``."""
    return f"{_prefix(cfg)}{fsid}:keyed"


def _unindexed_key(fsid: int) -> str:
    """Set (by the gate's script) once a purchase of flash SKU ``fsid`` was
    admitted to be placed in the request with its key in no index (the queue
    off in that process): the sale is never marked again (:data:`MARK`),
    even by a seeding that read the database before that purchase was
    written."""
    return f"{_prefix()}{fsid}:unindexed"


def key_index(key: str, cfg=None) -> str:
    """The index of an ``Idempotency-Key`` used by a queued purchase (any buyer,
    any flash SKU; written by :data:`jishi_flashsale.queue.ENQUEUE`)."""
    return f"{_prefix(cfg)}k:{key}"


def _epoch_key(cfg=None) -> str:
    return _prefix(cfg) + "epoch"


def epoch(client, cfg=None) -> tuple[str, float] | None:
    """Redis's epoch: written once (``NX``) with its time, gone when Redis
    restarts empty. Returns its value and age in seconds (None: unreadable)."""
    key = _epoch_key(cfg)
    pipe = client.pipeline(transaction=False)
    pipe.set(key, repr(time.time()), nx=True)
    pipe.get(key)
    _set, raw = pipe.execute()
    if raw is None:
        return None
    value = raw.decode() if isinstance(raw, bytes) else raw
    try:
        return value, time.time() - float(value)
    except ValueError:
        return None


def key_unused(sku_id: int, key: str, cfg=None) -> bool:
    """True when the keyed attempt ``key`` on the flagged ``sku_id`` cannot
    be the retry of a purchase made, by Redis alone: the sale's marker is
    there and no queued purchase ever used ``key``; the answer is then 409
    ``sold_out``, as the view's database reads would find. False (the view
    answers) when this process did not flag the SKU on the queued path,
    the queue is off, Redis lacks the marker, knows the key, or fails."""
    cfg = cfg if cfg is not None else current_app.config
    fsid = flagged_fsid(sku_id)
    if fsid is None or not (cfg.get("JISHI_FLASHSALE_QUEUE") and cfg.get("JISHI_FLASHSALE_KEYED_FAST", True)):
        return False
    client = own_client(cfg)
    if client is None:
        return False
    try:
        script = _scripts["unused:" + cfg["JISHI_REDIS_URL"]]
        return int(script(keys=[_keyed_key(fsid, cfg), key_index(key, cfg)], client=client)) == 1
    except Exception:  # Redis away: the view answers (and handles the fault)
        return False


def _left_key(fsid: int) -> str:
    return f"{_prefix()}{fsid}:left"


def _user_key(fsid: int, user_id: int) -> str:
    return f"{_prefix()}{fsid}:u:{user_id}"


def _expire_seconds(ends_at) -> int:
    from jishi.db import utcnow

    return max(int((ends_at - utcnow()).total_seconds()) + 3600, 60)


def take(row, user_id: int, n: int) -> int:
    """Ask the Redis gate for ``n`` units of flash SKU ``row`` (a
    :func:`jishi_flashsale.service.running_flash` row) for ``user_id``.
    Returns OK, SOLD_OUT or LIMIT; OK when Redis is not configured. A Redis
    failure lets the purchase through to the database (which decides)."""
    client = own_client(current_app.config)
    if client is None:
        return OK
    script = _scripts[current_app.config["JISHI_REDIS_URL"]]
    ttl = _expire_seconds(row.ends_at)
    # placed in the request: a queued admission that found no consumer
    # indexed its key itself; without the queue the key goes unindexed
    unindexed = not current_app.config.get("JISHI_FLASHSALE_QUEUE")
    keys = [
        _left_key(row.id),
        _user_key(row.id, user_id),
        _keyed_key(row.id) if unindexed else "",
        _unindexed_key(row.id) if unindexed else "",
    ]
    try:
        for _attempt in range(2):
            result = int(script(keys=keys, args=[n, row.per_user_limit or 0, ttl], client=client))
            if result != UNKNOWN:
                return result
            seed(row, user_id)
    except Exception as exc:
        current_app.logger.warning("flashsale: redis gate unavailable: %s", exc)
        return OK
    return OK


def seed(row, user_id: int | None = None) -> None:
    """Rebuild the counters of flash SKU ``row.id`` from the database (first
    use since Redis started, or after a Redis that restarted empty): the
    units left, and every buyer's units, atomically (one MULTI) and only
    where missing (NX: a concurrent seeding wins once, a counter a purchase
    already moved is kept). See :func:`counts` for what is counted."""
    fsid = row.id
    client = redis_client()
    if client is None:
        return
    cfg = current_app.config
    marking = bool(cfg.get("JISHI_FLASHSALE_QUEUE")) and cfg.get("JISHI_FLASHSALE_KEYED_FAST", True)
    since = epoch(client) if marking else None  # read BEFORE the database
    # The sale's history is read BEFORE its counters are in Redis: once they
    # are, other workers admit buyers and write their tickets (each indexed:
    # this Redis admitted it), and a history read after them would find one
    # and leave the sale unmarked for good (issue 20: a burst whose keyed
    # sold-out attempts all went to the view). A ticket written after this
    # read came after the epoch's first minute, so from this Redis (MARK
    # checks the epoch is still this one).
    settled = float(cfg.get("JISHI_FLASHSALE_EPOCH_SECONDS", 60))  # (seconds, not money)
    mark_epoch = since[0] if since is not None and since[1] >= settled and not history(fsid) else None
    left, users = counts(fsid)
    ttl = _expire_seconds(row.ends_at)
    pipe = client.pipeline(transaction=True)
    pipe.set(_left_key(fsid), left, ex=ttl, nx=True)
    for uid, units in users.items():
        pipe.set(_user_key(fsid, uid), units, ex=ttl, nx=True)
    pipe.execute()
    if mark_epoch is not None:
        _mark_keyed(client, mark_epoch, fsid, ttl)


def _mark_keyed(client, epoch_value: str, fsid: int, ttl: int) -> None:
    """Set the marker of :func:`key_unused` for ``fsid``. The caller read
    Redis's epoch first, then found no ticket and no reservation of the
    sale in the database: every key used on it since is indexed, unless
    Redis lost its data meanwhile (another epoch: nothing is marked). An
    epoch younger than ``JISHI_FLASHSALE_EPOCH_SECONDS`` (default 60, above
    a request's lifetime) marks nothing either: a request admitted by the
    Redis that was lost may still be recording its ticket. The marker
    expires before the oldest index entry it vouches for."""
    from jishi_flashsale.queue import TICKET_TTL

    script = _scripts["mark:" + current_app.config["JISHI_REDIS_URL"]]
    script(
        keys=[_epoch_key(), _keyed_key(fsid), _unindexed_key(fsid)],
        args=[epoch_value, max(min(ttl, TICKET_TTL - 3600), 1)],
    )


def history(fsid: int) -> bool:
    """Whether flash SKU ``fsid`` has any ticket or reservation (any
    purchase queued or placed, ever), in ONE statement."""
    from jishi.db import db
    from sqlalchemy import exists, or_, select

    from jishi_flashsale.models import Reservation, Ticket

    return bool(
        db.session.execute(
            select(
                or_(
                    exists().where(Ticket.flash_sku_id == fsid),
                    exists().where(Reservation.flash_sku_id == fsid),
                )
            )
        ).scalar()
    )


def reset_users(fsid: int, user_ids) -> None:
    """Set the counters of these buyers of flash SKU ``fsid`` from the
    database (placed plus queued units), where Redis has them (``XX``)."""
    client = redis_client()
    if client is None:
        return
    _left, users = counts(fsid)
    pipe = client.pipeline(transaction=False)
    for uid in user_ids:
        pipe.set(_user_key(fsid, uid), users.get(uid, 0), xx=True, keepttl=True)
    pipe.execute()


def counts(fsid: int, users: bool = True) -> tuple[int, dict[int, int]]:
    """From the database: the units of flash SKU ``fsid`` that may still be
    admitted, ``stock - sold - queued`` (queued: the units of durable
    tickets not placed yet, :class:`jishi_flashsale.models.Ticket`: a 202
    promised them), read in ONE statement so stock, sold and queued are of
    one moment; and (``users``) every buyer's units, placed (``Usage``) plus
    queued. A ticket placed but not yet marked placed counts twice for an
    instant: the gate then admits a unit less, never one more."""
    from jishi.db import db
    from sqlalchemy import func, select, union_all

    from jishi_flashsale.models import FlashSku, Ticket, Usage

    queued = (
        select(func.coalesce(func.sum(Ticket.quantity), 0))
        .where(Ticket.flash_sku_id == fsid, Ticket.status == "queued")
        .scalar_subquery()
    )
    found = db.session.execute(select(FlashSku.stock - FlashSku.sold - queued).where(FlashSku.id == fsid)).scalar()
    left = max(int(found or 0), 0)
    per_user: dict[int, int] = {}
    if users:
        rows = union_all(
            select(Usage.user_id.label("u"), Usage.units.label("n")).where(Usage.flash_sku_id == fsid, Usage.units > 0),
            select(Ticket.user_id.label("u"), Ticket.quantity.label("n")).where(
                Ticket.flash_sku_id == fsid, Ticket.status == "queued"
            ),
        ).subquery()
        for uid, n in db.session.execute(select(rows.c.u, func.sum(rows.c.n)).group_by(rows.c.u)):
            per_user[int(uid)] = int(n)
    return left, per_user


def give_back(fsid: int, user_id: int, n: int, limit: int) -> None:
    """Return ``n`` units taken by :func:`take` (the database refused)."""
    client = redis_client()
    if client is None:
        return
    try:
        pipe = client.pipeline()
        pipe.incrby(_left_key(fsid), n)
        if limit:
            pipe.decrby(_user_key(fsid, user_id), n)
        pipe.execute()
    except Exception as exc:
        current_app.logger.warning("flashsale: redis give-back failed: %s", exc)


def given_back(fsid: int, sku_id: int, user_id: int, n: int) -> None:
    """Units came back in the database (an order closed or returned)."""
    clear(sku_id)
    client = redis_client()
    if client is None:
        return
    try:
        if client.exists(_left_key(fsid)):
            pipe = client.pipeline()
            pipe.incrby(_left_key(fsid), n)
            pipe.decrby(_user_key(fsid, user_id), n)
            pipe.execute()
    except Exception as exc:
        current_app.logger.warning("flashsale: redis give-back failed: %s", exc)


def forget(fsid: int, sku_id: int) -> None:
    """An activity changed: drop the flag and Redis's left counter (seeded
    again from the database on next use)."""
    clear(sku_id)
    client = redis_client()
    if client is None:
        return
    try:
        client.delete(_left_key(fsid))
    except Exception as exc:
        current_app.logger.warning("flashsale: redis forget failed: %s", exc)
