"""Local delivery's database side: settings, slot use, the atomic slot
claim and its release, dispatch and delivery.

The slot counter (:class:`.models.SlotUsage`) only ever changes by
conditional UPDATEs inside the caller's transaction:

- claim (in ``order_placing``): ``INSERT ... ON CONFLICT DO NOTHING`` makes
  the (seller, day, window) row exist without a race, then
  ``UPDATE ... SET used = used + 1 WHERE ... AND used + 1 <= capacity``;
  no row updated means the slot is full and the whole placement rolls back.
- release (in ``order_transitioned``, when an order closes before it was
  delivered): ``UPDATE local_deliveries SET released_at = now WHERE
  order_id = ? AND released_at IS NULL AND delivered_at IS NULL`` decides
  who releases, so the counter goes down exactly once.
"""

from __future__ import annotations

import math
from datetime import date, datetime

from jishi.db import db, utcnow
from jishi.errors import DomainError
from jishi.i18n import N_, to_shop_time
from jishi.i18n import gettext as _
from sqlalchemy import select, update

from jishi_delivery_local import rules
from jishi_delivery_local.models import (
    LocalDelivery,
    LocalSettings,
    SlotUsage,
    seller_key,
)

METHOD = "local"
CARRIER = "同城配送"
MAX_RADIUS_M = 50_000
MAX_FEE = 100_000  # ¥1000
MAX_AMOUNT = 100_000_000
MAX_TIERS = 10
MAX_WINDOWS = 24
MAX_CAPACITY = 9999


class LocalDeliveryError(DomainError):
    """Bad settings input or a delivery move not possible now."""


# --- Time --------------------------------------------------------------------


def now_local(now: datetime | None = None) -> datetime:
    """The shop's local wall-clock time (naive), from naive UTC ``now``."""
    return to_shop_time(now or utcnow()).replace(tzinfo=None)


# --- Settings ----------------------------------------------------------------


def settings_row(seller_id: int | None) -> LocalSettings | None:
    return db.session.execute(
        select(LocalSettings).where(LocalSettings.seller_key == seller_key(seller_id))
    ).scalar_one_or_none()


def config_of(row: LocalSettings | None) -> rules.Config:
    if row is None:
        return rules.Config()
    return rules.Config(
        enabled=bool(row.enabled),
        lat=row.lat,
        lng=row.lng,
        radius_m=row.radius_m,
        tiers=tuple(rules.Tier(int(t["max_m"]), int(t["fee"])) for t in (row.tiers or [])),
        min_amount=row.min_amount,
        free_over=row.free_over,
        windows=tuple(
            rules.Window(rules.parse_hhmm(w["start"]), rules.parse_hhmm(w["end"]), int(w["capacity"]))
            for w in (row.windows or [])
        ),
        days_ahead=row.days_ahead,
        lead_minutes=row.lead_minutes,
    )


def config_for(seller_id: int | None) -> rules.Config:
    return config_of(settings_row(seller_id))


def configs_for(seller_ids) -> dict[int | None, rules.Config]:
    """Configs of several sellers in one query (checkout of many stores)."""
    keys = {seller_key(s): s for s in seller_ids}
    rows = (
        db.session.execute(select(LocalSettings).where(LocalSettings.seller_key.in_(list(keys)))).scalars().all()
        if keys
        else []
    )
    return configs_from_rows(seller_ids, rows)


def configs_from_rows(seller_ids, rows) -> dict[int | None, rules.Config]:
    """:func:`configs_for` from the sellers' settings rows (read already)."""
    keys = {seller_key(s): s for s in seller_ids}
    by_key = {r.seller_key: r for r in rows}
    return {sid: config_of(by_key.get(key)) for key, sid in keys.items()}


CHECKOUT_LOADER = "delivery_local.settings"
_SETTINGS_QUERY: list = []


def settings_query():
    """:func:`configs_for`'s SELECT built once (``seller_keys``: an
    expanding list), a checkout loader."""
    if not _SETTINGS_QUERY:
        from sqlalchemy import bindparam

        _SETTINGS_QUERY.append(
            select(LocalSettings).where(LocalSettings.seller_key.in_(bindparam("seller_keys", expanding=True)))
        )
    return _SETTINGS_QUERY[0]


def settings_dict(cfg: rules.Config) -> dict:
    """The settings as the API shows (and takes) them."""
    return {
        "enabled": cfg.enabled,
        "lat": cfg.lat,
        "lng": cfg.lng,
        "radius_m": cfg.radius_m,
        "tiers": [{"max_distance_m": t.max_m, "fee": t.fee} for t in cfg.tiers],
        "min_amount": cfg.min_amount,
        "free_over": cfg.free_over,
        "slots": [{"start": f"{w.start:%H:%M}", "end": f"{w.end:%H:%M}", "capacity": w.capacity} for w in cfg.windows],
        "days_ahead": cfg.days_ahead,
        "lead_minutes": cfg.lead_minutes,
    }


def _int(value, name: str, low: int, high: int, message: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not (low <= value <= high):
        raise LocalDeliveryError(name, message)
    return value


def validate(data: dict) -> rules.Config:
    """Check settings given as :func:`settings_dict` shapes them; raises
    :class:`LocalDeliveryError` naming the first bad field."""
    enabled = bool(data.get("enabled"))
    lat, lng = data.get("lat"), data.get("lng")
    if (lat is None) != (lng is None):
        raise LocalDeliveryError(
            "lat" if lat is None else "lng", _("Give both the latitude and the longitude of the shop.")
        )
    if lat is not None:
        for name, value, bound in (("lat", lat, 90), ("lng", lng, 180)):
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
                or abs(value) > bound
            ):
                raise LocalDeliveryError(
                    name, _("The latitude is a number from -90 to 90 and the longitude from -180 to 180.")
                )
        lat, lng = float(lat), float(lng)
    elif enabled:
        raise LocalDeliveryError("lat", _("Enter the shop's coordinates to offer local delivery."))
    radius = _int(
        data.get("radius_m", rules.DEFAULT_RADIUS_M),
        "radius_m",
        1,
        MAX_RADIUS_M,
        _("The service radius is 1 to %(max)d metres.", max=MAX_RADIUS_M),
    )
    tiers = []
    for i, tier in enumerate(data.get("tiers") or []):
        if not isinstance(tier, dict):
            raise LocalDeliveryError(f"tiers.{i}", _("Each fee tier has a distance and a fee."))
        max_m = _int(
            tier.get("max_distance_m"),
            f"tiers.{i}.max_distance_m",
            1,
            radius,
            _("A tier's distance is 1 metre up to the service radius (%(radius)d m).", radius=radius),
        )
        fee = _int(tier.get("fee"), f"tiers.{i}.fee", 0, MAX_FEE, _("A tier's fee is 0 to 1000 yuan, in fen."))
        tiers.append(rules.Tier(max_m, fee))
    if len(tiers) > MAX_TIERS:
        raise LocalDeliveryError("tiers", _("At most %(n)d fee tiers.", n=MAX_TIERS))
    tiers.sort(key=lambda t: t.max_m)
    for i in range(1, len(tiers)):
        if tiers[i].max_m == tiers[i - 1].max_m:
            raise LocalDeliveryError("tiers", _("Two fee tiers have the same distance."))
    if enabled and not tiers:
        raise LocalDeliveryError("tiers", _("Add at least one fee tier (a fee of 0 is fine)."))
    min_amount = _int(
        data.get("min_amount") or 0,
        "min_amount",
        0,
        MAX_AMOUNT,
        _("The minimum order amount is a whole number of fen, 0 or more."),
    )
    free_over = data.get("free_over")
    if free_over is not None:
        free_over = _int(
            free_over,
            "free_over",
            1,
            MAX_AMOUNT,
            _("The free-delivery threshold is a whole number of fen above 0, or empty."),
        )
    windows = []
    for i, w in enumerate(data.get("slots") or []):
        if not isinstance(w, dict):
            raise LocalDeliveryError(f"slots.{i}", _("Each time slot has a start, an end and a capacity."))
        try:
            start = rules.parse_hhmm(w.get("start"))
        except ValueError:
            raise LocalDeliveryError(f"slots.{i}.start", _("Times are HH:MM, e.g. 10:00.")) from None
        try:
            end = rules.parse_hhmm(w.get("end"))
        except ValueError:
            raise LocalDeliveryError(f"slots.{i}.end", _("Times are HH:MM, e.g. 10:00.")) from None
        if end <= start:
            raise LocalDeliveryError(f"slots.{i}.end", _("A time slot ends after it starts."))
        capacity = _int(
            w.get("capacity"),
            f"slots.{i}.capacity",
            1,
            MAX_CAPACITY,
            _("A time slot takes 1 to %(max)d orders.", max=MAX_CAPACITY),
        )
        windows.append(rules.Window(start, end, capacity))
    if len(windows) > MAX_WINDOWS:
        raise LocalDeliveryError("slots", _("At most %(n)d time slots a day.", n=MAX_WINDOWS))
    windows.sort(key=lambda w: (w.start, w.end))
    for i in range(1, len(windows)):
        if windows[i].start < windows[i - 1].end:
            raise LocalDeliveryError(
                "slots", _("Time slots %(a)s and %(b)s overlap.", a=windows[i - 1].key, b=windows[i].key)
            )
    if enabled and not windows:
        raise LocalDeliveryError("slots", _("Add at least one delivery time slot."))
    days_ahead = _int(
        data.get("days_ahead", rules.DEFAULT_DAYS_AHEAD),
        "days_ahead",
        1,
        14,
        _("Slots are bookable 1 to 14 days ahead."),
    )
    lead = _int(
        data.get("lead_minutes", rules.DEFAULT_LEAD_MINUTES),
        "lead_minutes",
        0,
        1440,
        _("The lead time is 0 to 1440 minutes."),
    )
    return rules.Config(
        enabled, lat, lng, radius, tuple(tiers), min_amount, free_over, tuple(windows), days_ahead, lead
    )


def save(seller_id: int | None, data: dict) -> rules.Config:
    """Validate and store a seller's settings (the caller commits)."""
    cfg = validate(data)
    row = settings_row(seller_id)
    if row is None:
        row = LocalSettings(seller_key=seller_key(seller_id))
        db.session.add(row)
    row.enabled = cfg.enabled
    row.lat, row.lng = cfg.lat, cfg.lng
    row.radius_m = cfg.radius_m
    row.tiers = [{"max_m": t.max_m, "fee": t.fee} for t in cfg.tiers]
    row.min_amount = cfg.min_amount
    row.free_over = cfg.free_over
    row.windows = [{"start": f"{w.start:%H:%M}", "end": f"{w.end:%H:%M}", "capacity": w.capacity} for w in cfg.windows]
    row.days_ahead = cfg.days_ahead
    row.lead_minutes = cfg.lead_minutes
    db.session.flush()
    return cfg


# --- Slots -------------------------------------------------------------------


def used_counts(seller_id: int | None, days) -> dict[tuple[date, str], int]:
    days = list(days)
    if not days:
        return {}
    rows = db.session.execute(
        select(SlotUsage.day, SlotUsage.slot_window, SlotUsage.used).where(
            SlotUsage.seller_key == seller_key(seller_id), SlotUsage.day.in_(days)
        )
    ).all()
    return {(r.day, r.slot_window): r.used for r in rows}


def slots(seller_id: int | None, cfg: rules.Config, now: datetime | None = None) -> list[rules.Slot]:
    """Every slot of the bookable days with its remaining capacity."""
    local = now_local(now)
    used = used_counts(seller_id, rules.bookable_days(local.date(), cfg.days_ahead))
    return rules.slot_grid(cfg, local, used)


def check_slot(seller_id: int | None, cfg: rules.Config, value, now: datetime | None = None) -> rules.SlotCheck:
    """Whether the buyer's slot ``value`` may be booked (preview time)."""
    try:
        sid = rules.parse_slot_id(value)
    except ValueError:
        return rules.SlotCheck(False, "invalid")
    used = used_counts(seller_id, [sid.day]).get((sid.day, sid.window_key), 0)
    return rules.find_slot(cfg, sid, now_local(now), used)


def _insert_ignore(values: dict):
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - other databases: a savepoint catches the duplicate
        return None
    return (
        insert(SlotUsage).values(**values).on_conflict_do_nothing(index_elements=["seller_key", "day", "slot_window"])
    )


def _ensure_usage_row(key: int, day: date, window: str) -> None:
    stmt = _insert_ignore({"seller_key": key, "day": day, "slot_window": window, "used": 0})
    if stmt is not None:
        db.session.execute(stmt)
        return
    from sqlalchemy.exc import IntegrityError  # pragma: no cover

    try:  # pragma: no cover
        with db.session.begin_nested():
            db.session.add(SlotUsage(seller_key=key, day=day, slot_window=window, used=0))
    except IntegrityError:  # pragma: no cover
        pass


def claim(order, cfg: rules.Config, day: date, window: rules.Window, distance: int) -> bool:
    """Take one place of ``window`` on ``day`` for ``order``; False when full.

    Inside the placing transaction; the caller raises to roll back."""
    key = seller_key(order.seller_id)
    _ensure_usage_row(key, day, window.key)
    usage_id = db.session.execute(
        update(SlotUsage)
        .where(
            SlotUsage.seller_key == key,
            SlotUsage.day == day,
            SlotUsage.slot_window == window.key,
            SlotUsage.used + 1 <= window.capacity,
        )
        .values(used=SlotUsage.used + 1)
        .returning(SlotUsage.id)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if usage_id is None:
        return False
    db.session.add(
        LocalDelivery(
            order_id=order.id, seller_key=key, usage_id=usage_id, day=day, slot_window=window.key, distance_m=distance
        )
    )
    return True


def release(order) -> bool:
    """Give the order's slot back, at most once, unless it was delivered."""
    usage_id = db.session.execute(
        update(LocalDelivery)
        .where(
            LocalDelivery.order_id == order.id,
            LocalDelivery.released_at.is_(None),
            LocalDelivery.delivered_at.is_(None),
        )
        .values(released_at=utcnow())
        .returning(LocalDelivery.usage_id)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if usage_id is None:
        return False
    db.session.execute(
        update(SlotUsage)
        .where(SlotUsage.id == usage_id, SlotUsage.used > 0)
        .values(used=SlotUsage.used - 1)
        .execution_options(synchronize_session=False)
    )
    return True


def delivery_of(order_id: int) -> LocalDelivery | None:
    return db.session.execute(select(LocalDelivery).where(LocalDelivery.order_id == order_id)).scalar_one_or_none()


def on_transition(order, name: str, from_status: str) -> None:
    """Keep the delivery row in step with the kernel's state machine."""
    if order.delivery_method != METHOD:
        return
    now = utcnow()
    if name in ("cancel", "close"):
        if from_status != "received":
            release(order)
    elif name == "ship":
        db.session.execute(
            update(LocalDelivery)
            .where(LocalDelivery.order_id == order.id, LocalDelivery.dispatched_at.is_(None))
            .values(dispatched_at=now)
            .execution_options(synchronize_session=False)
        )
    elif name in ("receive", "hand_over"):
        db.session.execute(
            update(LocalDelivery)
            .where(LocalDelivery.order_id == order.id, LocalDelivery.delivered_at.is_(None))
            .values(delivered_at=now)
            .execution_options(synchronize_session=False)
        )


# --- Delivery moves ------------------------------------------------------------


def dispatch(order, courier_name: str, courier_phone: str, actor=None) -> None:
    """Out for delivery: the kernel's ``ship`` with carrier 同城配送 and the
    courier in the tracking field; commits."""
    from jishi.orders import service as orders_service
    from jishi.orders import state

    name = (courier_name or "").strip()
    phone = (courier_phone or "").strip()
    if not name:
        raise LocalDeliveryError("courier_name", _("Enter the courier's name."))
    if len(name) > 40:
        raise LocalDeliveryError("courier_name", _("The courier's name is at most 40 characters."))
    if not phone:
        raise LocalDeliveryError("courier_phone", _("Enter the courier's phone."))
    if len(phone) > 20 or not all(c.isdigit() or c in "+- " for c in phone):
        raise LocalDeliveryError("courier_phone", _("The courier's phone is digits, at most 20."))
    if not state.can(order, "ship", "seller"):
        raise state.TransitionError(order, "ship")
    data = dict(order.delivery_data or {})
    data["courier_name"], data["courier_phone"] = name, phone
    order.delivery_data = data
    db.session.execute(
        update(LocalDelivery)
        .where(LocalDelivery.order_id == order.id)
        .values(courier_name=name, courier_phone=phone)
        .execution_options(synchronize_session=False)
    )
    orders_service.ship(order, carrier=CARRIER, tracking_no=f"{name} {phone}", actor=actor, actor_kind="seller")


def deliver(order, actor=None) -> None:
    """Delivered: the kernel's ``receive`` by the seller; commits."""
    from jishi.orders import service as orders_service

    orders_service.receive(order, actor=actor, actor_kind="seller", note=N_("delivered locally"))


def seller_order(scope, order_id: int):
    """A local-delivery order of the scope's seller, or None."""
    from jishi.catalog.service import MAX_ID
    from jishi.orders.models import Order

    if not (1 <= order_id <= MAX_ID):
        return None
    order = db.session.get(Order, order_id)
    if order is None or order.seller_id != scope.seller_id or order.delivery_method != METHOD:
        return None
    return order


def seller_orders(scope, status: str | None = None, day: date | None = None, limit: int = 100):
    """The scope's local-delivery orders (paid onwards), by slot."""
    from jishi.orders.models import Order

    q = (
        select(Order, LocalDelivery)
        .join(LocalDelivery, LocalDelivery.order_id == Order.id)
        .where(LocalDelivery.seller_key == seller_key(scope.seller_id), Order.delivery_method == METHOD)
    )
    if status:
        q = q.where(Order.status == status)
    else:
        q = q.where(Order.status.in_(("paid", "shipped", "received")))
    if day:
        q = q.where(LocalDelivery.day == day)
    q = q.order_by(LocalDelivery.day, LocalDelivery.slot_window, Order.id).limit(limit)
    return db.session.execute(q).all()
