"""LD: the pure distance, fee and slot rules (no database)."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
from jishi_delivery_local import geo, rules

SHOP = (30.2741, 120.1551)


def cfg(**kw) -> rules.Config:
    base = {
        "enabled": True,
        "lat": SHOP[0],
        "lng": SHOP[1],
        "radius_m": 5000,
        "tiers": (rules.Tier(3000, 500), rules.Tier(5000, 800)),
        "min_amount": 2000,
        "free_over": 9900,
        "windows": (rules.Window(time(10), time(12), 3), rules.Window(time(14), time(16), 3)),
        "days_ahead": 3,
        "lead_minutes": 30,
    }
    base.update(kw)
    return rules.Config(**base)


def point_east(metres: float) -> tuple[float, float]:
    """A point ``metres`` due east of SHOP along its parallel (close enough
    to the great circle at these distances to land on the same metre)."""
    import math

    dlng = math.degrees(metres / (geo.EARTH_RADIUS_M * math.cos(math.radians(SHOP[0]))))
    return SHOP[0], SHOP[1] + dlng


# --- distance -------------------------------------------------------------------


def test_haversine_known_distances():
    """LD: great-circle distances match known values."""
    assert geo.haversine_m(0, 0, 0, 0) == 0
    # One degree of longitude on the equator / of latitude on a meridian: R·π/180.
    assert geo.haversine_m(0, 0, 0, 1) == pytest.approx(111_195.08, abs=0.5)
    assert geo.haversine_m(0, 0, 1, 0) == pytest.approx(111_195.08, abs=0.5)
    # Beijing Tiananmen -> Shanghai People's Square: about 1 067 km.
    assert geo.haversine_m(39.9087, 116.3975, 31.2304, 121.4737) == pytest.approx(1_067_000, rel=0.005)
    # London (Charing Cross) -> Paris (Notre-Dame): the textbook 343.5 km.
    assert geo.haversine_m(51.5074, -0.1278, 48.8566, 2.3522) == pytest.approx(343_560, rel=0.002)
    # Antipodes: half the circumference.
    assert geo.haversine_m(0, 0, 0, 180) == pytest.approx(geo.EARTH_RADIUS_M * 3.141592653589793, rel=1e-9)
    # Symmetric.
    assert geo.haversine_m(30.1, 120.1, 30.2, 120.3) == pytest.approx(geo.haversine_m(30.2, 120.3, 30.1, 120.1))


def test_distance_is_whole_metres_and_points_are_checked():
    """LD: distances compared in whole metres; coordinates validated."""
    assert isinstance(geo.distance_m(*SHOP, *point_east(1234.4)), int)
    assert geo.distance_m(*SHOP, *point_east(1234.4)) == 1234
    assert geo.valid_point(30.0, 120.0)
    assert not geo.valid_point(91, 0) and not geo.valid_point(0, 181)
    assert not geo.valid_point(float("nan"), 0) and not geo.valid_point(None, 0) and not geo.valid_point(True, 0)


# --- fee rules ------------------------------------------------------------------


def test_tiers_pick_the_first_covering_tier():
    """LD: tiered fee by distance: <= 3 km 500 fen, <= 5 km 800 fen."""
    c = cfg()
    assert rules.quote(c, 3000, *point_east(10)).fee == 500
    assert rules.quote(c, 3000, *point_east(3000)).fee == 500  # the edge belongs to the tier
    assert rules.quote(c, 3000, *point_east(3001.2)).fee == 800
    assert rules.quote(c, 3000, *point_east(4999)).fee == 800
    q = rules.quote(c, 3000, *point_east(2500))
    assert q.available and q.code == rules.OK and q.distance_m == 2500
    assert rules.tier_fee((rules.Tier(1000, 300), rules.Tier(2000, 600)), 1500) == 600
    assert rules.tier_fee((rules.Tier(1000, 300),), 4000) == 300  # past the last tier: the last fee
    assert rules.tier_fee((), 100) == 0


def test_radius_edge():
    """LD: the radius is inclusive (distance <= radius); a metre beyond is out."""
    c = cfg()
    inside = rules.quote(c, 3000, *point_east(5000))
    assert inside.available and inside.distance_m == 5000 and inside.fee == 800
    outside = rules.quote(c, 3000, *point_east(5001))
    assert not outside.available and outside.code == rules.OUT_OF_RANGE and outside.distance_m == 5001
    # A radius larger than the last tier: the last tier's fee up to the radius.
    wide = cfg(radius_m=8000)
    assert rules.quote(wide, 3000, *point_east(7000)).fee == 800


def test_minimum_order_amount():
    """LD: below the minimum goods amount: unavailable, saying how much more."""
    c = cfg()
    q = rules.quote(c, 1999, *point_east(100))
    assert not q.available and q.code == rules.BELOW_MINIMUM and q.short == 1
    q = rules.quote(c, 500, *point_east(100))
    assert q.short == 1500
    assert rules.quote(c, 2000, *point_east(100)).available  # exactly the minimum is enough
    assert rules.quote(cfg(min_amount=0), 1, *point_east(100)).available


def test_free_delivery_threshold():
    """LD: from the free-delivery threshold the fee is 0; no threshold, never free."""
    c = cfg()
    assert rules.quote(c, 9899, *point_east(4000)).fee == 800
    q = rules.quote(c, 9900, *point_east(4000))
    assert q.available and q.fee == 0 and q.free
    assert rules.quote(cfg(free_over=None), 10**7, *point_east(4000)).fee == 800
    # The threshold never makes an out-of-range address deliverable.
    assert not rules.quote(c, 10**7, *point_east(6000)).available


def test_no_coordinates():
    """LD: an address without coordinates (or a shop without) is unavailable."""
    c = cfg()
    assert rules.quote(c, 3000, None, None).code == rules.NO_LOCATION
    assert rules.quote(c, 3000, 30.1, None).code == rules.NO_LOCATION
    assert rules.quote(c, 3000, 300.0, 120.0).code == rules.NO_LOCATION
    assert rules.quote(cfg(lat=None, lng=None), 3000, *SHOP).code == rules.NO_SHOP_LOCATION
    # Order of the checks: location before range before minimum.
    assert rules.quote(c, 1, None, None).code == rules.NO_LOCATION
    assert rules.quote(c, 1, *point_east(9000)).code == rules.OUT_OF_RANGE


def test_fees_are_integer_fen():
    """LD: fees are ints whatever the distance (no float touches money)."""
    c = cfg()
    for metres in (0, 1, 999.9, 2999.5, 3000.4, 4999.6):
        q = rules.quote(c, 5000, *point_east(metres))
        assert type(q.fee) is int


# --- slots ----------------------------------------------------------------------


def test_slot_ids_parse_strictly():
    """LD: slot ids are "YYYY-MM-DD HH:MM-HH:MM"."""
    sid = rules.parse_slot_id("2026-11-23 10:00-12:00")
    assert sid.day == date(2026, 11, 23) and sid.window_key == "10:00-12:00"
    for bad in (
        "",
        "2026-11-23",
        "2026-11-23 10:00",
        "2026-13-01 10:00-12:00",
        "2026-11-23 25:00-26:00",
        "x 10:00-12:00",
        5,
        None,
        {"a": 1},
        "2026-11-23 10:00-12:00 extra",
    ):
        with pytest.raises(ValueError):
            rules.parse_slot_id(bad)


def test_slot_grid_days_and_lead_time():
    """LD: N bookable days from today; a slot must start after now + lead time."""
    c = cfg()
    now = datetime(2026, 11, 22, 9, 40)
    grid = rules.slot_grid(c, now)
    assert [s.id for s in grid] == [
        "2026-11-22 10:00-12:00",
        "2026-11-22 14:00-16:00",
        "2026-11-23 10:00-12:00",
        "2026-11-23 14:00-16:00",
        "2026-11-24 10:00-12:00",
        "2026-11-24 14:00-16:00",
    ]
    assert not grid[0].bookable and grid[0].why == "too_soon"  # 10:00 < 09:40 + 30 min
    assert grid[1].bookable
    at_edge = rules.slot_grid(c, datetime(2026, 11, 22, 9, 30))
    assert at_edge[0].bookable  # exactly now + lead is fine
    used = rules.slot_grid(c, now, {(date(2026, 11, 23), "10:00-12:00"): 3})
    assert used[2].full and used[2].remaining == 0 and used[3].remaining == 3


def test_find_slot_codes():
    """LD: unknown / past / too far / full slots are refused with their code."""
    c = cfg()
    now = datetime(2026, 11, 22, 9, 40)
    check = rules.find_slot(c, rules.parse_slot_id("2026-11-23 10:00-12:00"), now)
    assert check.ok and check.slot.window.capacity == 3
    assert rules.find_slot(c, rules.parse_slot_id("2026-11-23 10:00-11:00"), now).code == rules.UNKNOWN
    assert rules.find_slot(c, rules.parse_slot_id("2026-11-21 14:00-16:00"), now).code == rules.TOO_SOON
    assert rules.find_slot(c, rules.parse_slot_id("2026-11-22 10:00-12:00"), now).code == rules.TOO_SOON
    assert rules.find_slot(c, rules.parse_slot_id("2026-11-25 10:00-12:00"), now).code == rules.TOO_FAR
    assert rules.find_slot(c, rules.parse_slot_id("2026-11-23 10:00-12:00"), now, used=3).code == rules.FULL
    assert rules.find_slot(c, rules.parse_slot_id("2026-11-23 10:00-12:00"), now, used=2).ok
