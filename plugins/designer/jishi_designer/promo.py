"""Promotion slots (推广, seed 002 #3: 页面广告、商家推荐、商品推荐).

The platform defines slots (:class:`PromoSlot`, a ``code`` and where it
shows) and fills them with entries (:class:`PromoAd`): a picture with a
link checked like every designer link, a recommended merchant or product;
each with a schedule (``starts_at``/``ends_at``), a target (everyone, new
buyers: no paid order yet, or buyers at given member levels) and a sort.
Entries are edited in place and deleted softly (their stats stay). The ``designer.ad_slot`` block
shows a slot's current entries.

Impressions and clicks are counted off the database of the request: each
is added to a buffer (a Redis hash ``jishi:designer:promo`` when
``JISHI_REDIS_URL`` is set, else a counter in this process) and written as
daily ``design_promo_stats`` rows in one batch by the ``designer_flush_promo``
job (every minute) and, in a single process, by a request once the buffer
holds ``JISHI_TRACKING_BATCH`` counts. A lost buffer loses counts, never a
request. Clicks go through ``/p/ad/<id>``, which redirects only to the
entry's validated link (never to an address from the request).
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from flask import current_app, has_request_context, request
from jishi.db import db, utcnow
from jishi.hookspecs import BlockField, BlockType
from jishi.i18n import gettext as _
from jishi.i18n import to_shop_time
from sqlalchemy import func, select

from jishi_designer.models import (
    SLOT_ADS,
    SLOT_KINDS,
    TARGET_LEVELS,
    TARGET_NEW,
    TARGETS,
    PromoAd,
    PromoSlot,
    PromoStat,
)
from jishi_designer.schema import DesignError, clean

log = logging.getLogger("jishi.designer")
REDIS_KEY = "jishi:designer:promo"
# the user agents the kernel's visit tracking does not count either
BOTS = re.compile(
    r"bot|spider|crawl|slurp|curl|wget|python-|httpclient|okhttp|java/|go-http|libwww|scrapy|"
    r"headlesschrome|phantomjs|monitor|uptime|pingdom|lighthouse|preview|facebookexternalhit",
    re.I,
)
CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


# -- slots and entries -------------------------------------------------------------


def create_slot(code: str, name: str, kind: str = SLOT_ADS) -> PromoSlot:
    """A new slot (the caller commits). Raises :class:`DesignError` naming the field."""
    code, name = (code or "").strip(), (name or "").strip()
    if not CODE.match(code):
        raise DesignError("code", _("A slot code is 1 to 40 lowercase letters, digits, - or _."))
    if not name or len(name) > 60:
        raise DesignError("name", _("Give the slot a name of at most 60 characters."))
    if kind not in SLOT_KINDS:
        raise DesignError("kind", _("Unknown slot kind."))
    if db.session.scalar(select(PromoSlot.id).where(PromoSlot.code == code)) is not None:
        raise DesignError("code", _("A slot with this code exists."), status=409)
    slot = PromoSlot(code=code, name=name, kind=kind)
    db.session.add(slot)
    db.session.flush()
    return slot


def _entry_type() -> BlockType:
    return BlockType(
        "designer.promo_entry",
        _("Slot entry"),
        (
            BlockField("title", _("Title"), max_length=60),
            BlockField("image", _("Image"), kind="image"),
            BlockField("link", _("Link"), kind="link"),
            BlockField("ref_id", _("Merchant or product id"), kind="int", min=1),
            BlockField(
                "target",
                _("Shown to"),
                kind="choice",
                choices=(("all", _("Everyone")), ("new", _("New buyers")), ("levels", _("Member levels"))),
                default="all",
            ),
            BlockField("level_ids", _("Member levels"), kind="ids", max_items=20),
            BlockField("sort", _("Sort"), kind="int", min=0, max=9999, default=0),
        ),
    )


def _when(raw: Any, field: str) -> datetime | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, datetime):
        return raw
    try:
        return datetime.fromisoformat(str(raw).replace("Z", "")).replace(tzinfo=None)
    except ValueError:
        raise DesignError(field, _("Give a date and time like 2026-12-31T20:00.")) from None


def member_levels() -> list:
    """The kernel's member levels, by rank (for the entry forms)."""
    from jishi.accounts.models import MemberLevel

    return list(db.session.scalars(select(MemberLevel).order_by(MemberLevel.rank, MemberLevel.id)))


def _entry_fields(slot: PromoSlot, raw: Mapping[str, Any]) -> dict[str, Any]:
    """The validated columns of an entry of ``slot`` (add and edit alike):
    an ads slot needs an image, a merchants or products slot a ``ref_id``;
    the end after the start; a ``levels`` target names existing member
    levels (one statement)."""
    data = clean(_entry_type(), raw, None, prefix="entry")
    if slot.kind == SLOT_ADS and not data.get("image"):
        raise DesignError("entry.image", _("%(field)s is required.", field=_("Image")))
    if slot.kind != SLOT_ADS and not data.get("ref_id"):
        raise DesignError("entry.ref_id", _("%(field)s is required.", field=_("Merchant or product id")))
    starts, ends = _when(raw.get("starts_at"), "entry.starts_at"), _when(raw.get("ends_at"), "entry.ends_at")
    if starts and ends and ends <= starts:
        raise DesignError("entry.ends_at", _("The end must be after the start."))
    target = data.get("target") or "all"
    assert target in TARGETS
    levels: list[int] | None = None
    if target == TARGET_LEVELS:
        levels = sorted(data.get("level_ids") or [])
        if not levels:
            raise DesignError("entry.level_ids", _("Pick at least one member level."))
        from jishi.accounts.models import MemberLevel

        known = set(db.session.scalars(select(MemberLevel.id).where(MemberLevel.id.in_(levels))))
        if known != set(levels):
            raise DesignError("entry.level_ids", _("Unknown member level."))
    return {
        "title": data.get("title") or "",
        "image": data.get("image") or "",
        "link": data.get("link"),
        "ref_id": data.get("ref_id"),
        "starts_at": starts,
        "ends_at": ends,
        "target": target,
        "level_ids": levels,
        "sort": data.get("sort") or 0,
    }


def add_entry(slot: PromoSlot, raw: Mapping[str, Any]) -> PromoAd:
    """A validated entry of ``slot`` (the caller commits); see :func:`_entry_fields`."""
    ad = PromoAd(slot_id=slot.id, **_entry_fields(slot, raw))
    db.session.add(ad)
    db.session.flush()
    return ad


def update_entry(ad: PromoAd, raw: Mapping[str, Any]) -> PromoAd:
    """Replace every field of ``ad`` with ``raw``, validated exactly like
    :func:`add_entry` (the caller commits); a refused edit changes nothing.
    Its stats rows stay: they belong to the entry, whatever it now shows."""
    slot = db.session.get(PromoSlot, ad.slot_id)
    assert slot is not None
    fields = _entry_fields(slot, raw)
    for key, value in fields.items():
        setattr(ad, key, value)
    db.session.flush()
    return ad


def delete_entry(ad: PromoAd) -> None:
    """Delete ``ad`` softly (the caller commits): it is never shown, clicked
    or listed again, but its daily ``design_promo_stats`` rows stay and keep
    counting in the slot's report (the impressions and clicks happened)."""
    ad.deleted_at = utcnow()
    ad.enabled = False
    db.session.flush()


def live_entry(slot: PromoSlot, entry_id: int) -> PromoAd | None:
    """Entry ``entry_id`` of ``slot`` unless it is missing or deleted."""
    ad = db.session.get(PromoAd, entry_id)
    if ad is None or ad.slot_id != slot.id or ad.deleted_at is not None:
        return None
    return ad


def _is_new_buyer(user) -> bool:
    if user is None or not getattr(user, "id", None):
        return True  # a visitor has bought nothing yet
    from jishi.orders.models import Order

    paid = db.session.scalar(select(Order.id).where(Order.user_id == user.id, Order.paid_at.is_not(None)).limit(1))
    return paid is None


def _shown_to(ad: PromoAd, level_id: int | None) -> bool:
    if ad.target != TARGET_LEVELS:
        return True
    return level_id is not None and level_id in (ad.level_ids or ())


def current(codes: Iterable[str], user, now: datetime | None = None) -> dict[str, tuple[PromoSlot, list[PromoAd]]]:
    """code -> (slot, its entries live at ``now`` for ``user``): two
    statements for any number of slots (three when an entry targets new
    buyers). Member-level targets cost nothing more: the buyer's level is a
    column of the signed-in user, already loaded."""
    at = now or utcnow()
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    slots = {s.id: s for s in db.session.scalars(select(PromoSlot).where(PromoSlot.code.in_(wanted)))}
    live = [s.id for s in slots.values() if s.enabled]
    rows: list[PromoAd] = []
    if live:
        rows = list(
            db.session.scalars(
                select(PromoAd)
                .where(
                    PromoAd.slot_id.in_(live),
                    PromoAd.enabled.is_(True),
                    PromoAd.deleted_at.is_(None),
                    (PromoAd.starts_at.is_(None)) | (PromoAd.starts_at <= at),
                    (PromoAd.ends_at.is_(None)) | (PromoAd.ends_at > at),
                )
                .order_by(PromoAd.slot_id, PromoAd.sort, PromoAd.id)
            )
        )
    if any(r.target == TARGET_NEW for r in rows) and not _is_new_buyer(user):
        rows = [r for r in rows if r.target != TARGET_NEW]
    level_id = getattr(user, "member_level_id", None) if user is not None and getattr(user, "id", None) else None
    rows = [r for r in rows if _shown_to(r, level_id)]
    out: dict[str, tuple[PromoSlot, list[PromoAd]]] = {s.code: (s, []) for s in slots.values()}
    for r in rows:
        out[slots[r.slot_id].code][1].append(r)
    return out


# -- counting ----------------------------------------------------------------------


class _Buffer:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: Counter = Counter()


def _local() -> _Buffer:
    buf = current_app.extensions.get("jishi_designer_promo")
    if buf is None:
        buf = current_app.extensions["jishi_designer_promo"] = _Buffer()
    return buf


def _redis():
    url = current_app.config.get("JISHI_REDIS_URL")
    if not url or current_app.config.get("JISHI_TRACKING_BUFFER") == "memory":
        return None
    clients = current_app.extensions.setdefault("jishi_designer_redis", {})
    if url not in clients:
        import redis

        clients[url] = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
    return clients[url]


def _counting() -> bool:
    """Whether this request counts: not outside one, not a bot, not with tracking off."""
    if not current_app.config.get("JISHI_TRACKING", True):
        return False
    if not has_request_context():
        return True
    agent = request.headers.get("User-Agent")
    return bool(agent) and not BOTS.search(agent)


def record(what: str, ad_ids: Iterable[int]) -> None:
    """Count an ``impression`` or a ``click`` of each ad, today (buffered)."""
    ids = list(ad_ids)
    if not ids or not _counting():
        return
    day = to_shop_time(utcnow()).date().isoformat()
    keys = [f"{day}:{int(i)}:{what[0]}" for i in ids]
    client = _redis()
    if client is not None:
        try:
            pipe = client.pipeline(transaction=False)
            for k in keys:
                pipe.hincrby(REDIS_KEY, k, 1)
            pipe.execute()
            return
        except Exception:  # Redis down: count in this process
            log.warning("promo buffer: Redis unavailable, counting in process", exc_info=True)
    buf = _local()
    with buf.lock:
        buf.counts.update(keys)
        due = sum(buf.counts.values()) >= int(current_app.config.get("JISHI_TRACKING_BATCH", 200))
    if due:
        flush()


def _drain() -> Counter:
    buf = _local()
    with buf.lock:
        out, buf.counts = buf.counts, Counter()
    client = _redis()
    if client is not None:
        try:
            tmp = f"{REDIS_KEY}:{uuid.uuid4().hex}"
            if client.exists(REDIS_KEY):
                client.rename(REDIS_KEY, tmp)  # atomic: new counts go to a fresh hash
                for k, v in client.hgetall(tmp).items():
                    out[k.decode() if isinstance(k, bytes) else k] += int(v)
                client.delete(tmp)
        except Exception:
            log.warning("promo buffer: Redis unavailable, its counts wait", exc_info=True)
    return out


def write(counts: Mapping[str, int]) -> int:
    """Add buffered counts (``day:ad_id:i|c`` -> n) to the daily rows, in
    one transaction of its own (one upsert statement for many rows)."""
    from sqlalchemy.dialects import postgresql, sqlite

    rows: dict[tuple[str, int], dict] = {}
    for key, n in counts.items():
        day, ad_id, what = key.split(":")
        row = rows.setdefault((day, int(ad_id)), {"day": day, "ad_id": int(ad_id), "impressions": 0, "clicks": 0})
        row["impressions" if what == "i" else "clicks"] += int(n)
    if not rows:
        return 0
    engine = db.engine
    insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(PromoStat)
    stmt = stmt.on_conflict_do_update(
        index_elements=["day", "ad_id"],
        set_={
            "impressions": PromoStat.impressions + stmt.excluded.impressions,
            "clicks": PromoStat.clicks + stmt.excluded.clicks,
        },
    )
    with engine.begin() as conn:
        conn.execute(stmt, [rows[k] for k in sorted(rows)])
    return len(rows)


def flush() -> str:
    """Write what the buffer holds (the ``designer_flush_promo`` job)."""
    counts = _drain()
    if not counts:
        return "nothing to write"
    try:
        return f"{write(counts)} rows"
    except Exception:
        log.exception("promo buffer: %d counts lost", sum(counts.values()))
        return "lost"


def click_target(ad_id: int, href) -> str | None:
    """Where a click on ad ``ad_id`` goes (its validated link, through the
    designer's link resolver ``href``), counted; None: no such live ad."""
    ad = db.session.get(PromoAd, ad_id)
    if ad is None or not ad.enabled or ad.deleted_at is not None:
        return None
    slot = db.session.get(PromoSlot, ad.slot_id)
    if slot is None or not slot.enabled:
        return None
    url = href(ad.link)
    if not url:
        return None
    record("click", [ad.id])
    return url


def report(slot: PromoSlot, days: int = 30, today: str | None = None) -> list[dict]:
    """The slot's impressions, clicks and CTR (per cent, one decimal) per
    day, newest first, over ``days`` days (one statement)."""
    end = today or to_shop_time(utcnow()).date().isoformat()
    start = (datetime.fromisoformat(end) - timedelta(days=days - 1)).date().isoformat()
    rows = db.session.execute(
        select(PromoStat.day, func.sum(PromoStat.impressions), func.sum(PromoStat.clicks))
        .join(PromoAd, PromoAd.id == PromoStat.ad_id)
        .where(PromoAd.slot_id == slot.id, PromoStat.day >= start, PromoStat.day <= end)
        .group_by(PromoStat.day)
        .order_by(PromoStat.day.desc())
    ).all()
    out = []
    for day, imps, clicks in rows:
        imps, clicks = int(imps or 0), int(clicks or 0)
        out.append(
            {"day": day, "impressions": imps, "clicks": clicks, "ctr": round(clicks * 100 / imps, 1) if imps else 0.0}
        )
    return out
