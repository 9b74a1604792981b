"""The rules of local delivery, as pure functions (no database, no Flask).

- :func:`quote`: may this group be delivered locally, and for what fee?
  In order: the shop has coordinates; the address has coordinates; the
  distance (haversine, whole metres) is within the service radius
  (``distance <= radius``); the goods amount reaches the minimum; then the
  fee is the first tier whose ``max_m`` the distance does not exceed (a
  distance past the last tier but inside the radius pays the last tier),
  or 0 when a free-delivery threshold is set and reached.
- :func:`slot_grid`: the bookable slots: every daily window on each of the
  ``days_ahead`` days starting today (today counts), each bookable only if
  it starts at or after ``now + lead_minutes``.
- :func:`parse_slot_id` / :func:`find_slot`: a slot is named
  ``"YYYY-MM-DD HH:MM-HH:MM"`` (the day and the window, shop local time).

Money is integer fen; distances are integer metres; coordinates floats.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from jishi_delivery_local.geo import distance_m, valid_point

OK = "ok"
NO_SHOP_LOCATION = "no_shop_location"
NO_LOCATION = "no_location"
OUT_OF_RANGE = "out_of_range"
BELOW_MINIMUM = "below_minimum"

DEFAULT_RADIUS_M = 5000
DEFAULT_DAYS_AHEAD = 3
DEFAULT_LEAD_MINUTES = 30


@dataclass(frozen=True)
class Tier:
    """Distances up to ``max_m`` metres (inclusive) pay ``fee`` fen."""

    max_m: int
    fee: int


@dataclass(frozen=True)
class Window:
    """A recurring daily delivery window with its capacity (orders)."""

    start: time
    end: time
    capacity: int

    @property
    def key(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True)
class Config:
    """One seller's local delivery settings."""

    enabled: bool = False
    lat: float | None = None
    lng: float | None = None
    radius_m: int = DEFAULT_RADIUS_M
    tiers: tuple[Tier, ...] = ()
    min_amount: int = 0
    free_over: int | None = None
    windows: tuple[Window, ...] = ()
    days_ahead: int = DEFAULT_DAYS_AHEAD
    lead_minutes: int = DEFAULT_LEAD_MINUTES

    def window(self, key: str) -> Window | None:
        return next((w for w in self.windows if w.key == key), None)


@dataclass(frozen=True)
class Quote:
    """The answer of :func:`quote`: ``code`` is ``ok`` or why not."""

    available: bool
    code: str
    fee: int = 0
    distance_m: int | None = None
    short: int = 0  # fen still missing to reach the minimum
    free: bool = False  # the free-delivery threshold applied


def tier_fee(tiers: tuple[Tier, ...], distance: int) -> int:
    """The fee of the first tier (sorted by distance) covering ``distance``;
    past the last tier, the last tier's fee (the radius is the real cap)."""
    if not tiers:
        return 0
    for tier in tiers:
        if distance <= tier.max_m:
            return tier.fee
    return tiers[-1].fee


def quote(cfg: Config, goods_amount: int, lat: float | None, lng: float | None) -> Quote:
    """Whether a group of ``goods_amount`` fen may be delivered to (lat, lng)."""
    if cfg.lat is None or cfg.lng is None or not valid_point(cfg.lat, cfg.lng):
        return Quote(False, NO_SHOP_LOCATION)
    if lat is None or lng is None or not valid_point(lat, lng):
        return Quote(False, NO_LOCATION)
    distance = distance_m(cfg.lat, cfg.lng, lat, lng)
    if distance > cfg.radius_m:
        return Quote(False, OUT_OF_RANGE, distance_m=distance)
    if goods_amount < cfg.min_amount:
        return Quote(False, BELOW_MINIMUM, distance_m=distance, short=cfg.min_amount - goods_amount)
    if cfg.free_over is not None and goods_amount >= cfg.free_over:
        return Quote(True, OK, fee=0, distance_m=distance, free=True)
    return Quote(True, OK, fee=tier_fee(cfg.tiers, distance), distance_m=distance)


# --- Slots -------------------------------------------------------------------


_SLOT_RE = re.compile(r"^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2})-(\d{2}:\d{2})$")


@dataclass(frozen=True)
class Slot:
    day: date
    window: Window
    bookable: bool = True
    why: str = ""  # "too_soon" when it starts before now + lead time
    used: int = 0

    @property
    def id(self) -> str:
        return f"{self.day.isoformat()} {self.window.key}"

    @property
    def starts_at(self) -> datetime:
        return datetime.combine(self.day, self.window.start)

    @property
    def remaining(self) -> int:
        return max(0, self.window.capacity - self.used)

    @property
    def full(self) -> bool:
        return self.remaining <= 0


@dataclass(frozen=True)
class SlotId:
    day: date
    window_key: str


def parse_hhmm(text: str) -> time:
    """ "09:30" -> time(9, 30); ValueError for anything else."""
    if not isinstance(text, str) or not re.fullmatch(r"\d{2}:\d{2}", text.strip()):
        raise ValueError(text)
    hour, minute = (int(p) for p in text.strip().split(":"))
    return time(hour, minute)


def parse_slot_id(text) -> SlotId:
    """``"YYYY-MM-DD HH:MM-HH:MM"`` -> :class:`SlotId`; ValueError when malformed."""
    if not isinstance(text, str):
        raise ValueError("not a string")
    m = _SLOT_RE.match(text.strip())
    if not m:
        raise ValueError(text)
    day = date.fromisoformat(m.group(1))
    start, end = parse_hhmm(m.group(2)), parse_hhmm(m.group(3))
    return SlotId(day, f"{start:%H:%M}-{end:%H:%M}")


def bookable_days(today: date, days_ahead: int) -> list[date]:
    return [today + timedelta(days=i) for i in range(max(0, days_ahead))]


def slot_grid(cfg: Config, now_local: datetime, used: dict[tuple[date, str], int] | None = None) -> list[Slot]:
    """Every window on every bookable day, with whether it may be booked
    (starts at or after ``now_local + lead``) and its use (``used`` maps
    (day, window key) to orders already holding it)."""
    used = used or {}
    earliest = now_local + timedelta(minutes=cfg.lead_minutes)
    out = []
    for day in bookable_days(now_local.date(), cfg.days_ahead):
        for w in cfg.windows:
            starts = datetime.combine(day, w.start)
            ok = starts >= earliest
            out.append(Slot(day, w, bookable=ok, why="" if ok else "too_soon", used=used.get((day, w.key), 0)))
    return out


UNKNOWN = "unknown"
TOO_SOON = "too_soon"
TOO_FAR = "too_far"
FULL = "full"


@dataclass(frozen=True)
class SlotCheck:
    ok: bool
    code: str = OK
    slot: Slot | None = None


def find_slot(cfg: Config, slot_id: SlotId, now_local: datetime, used: int = 0) -> SlotCheck:
    """Whether ``slot_id`` may be booked now (``used``: orders holding it)."""
    window = cfg.window(slot_id.window_key)
    if window is None:
        return SlotCheck(False, UNKNOWN)
    days = bookable_days(now_local.date(), cfg.days_ahead)
    slot = Slot(slot_id.day, window, used=used)
    if slot_id.day < now_local.date() or slot.starts_at < now_local + timedelta(minutes=cfg.lead_minutes):
        return SlotCheck(False, TOO_SOON, slot)
    if slot_id.day not in days:
        return SlotCheck(False, TOO_FAR, slot)
    if slot.full:
        return SlotCheck(False, FULL, slot)
    return SlotCheck(True, OK, slot)
