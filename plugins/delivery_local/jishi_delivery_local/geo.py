"""Great-circle distance (haversine), a pure function.

Coordinates are degrees as floats (they are not money); the answer is in
metres on a sphere of the Earth's mean radius (IUGG, 6 371 008.8 m), which
is within 0.5 % of the ellipsoid everywhere: plenty for a delivery radius.
"""

from __future__ import annotations

import math

EARTH_RADIUS_M = 6_371_008.8


def valid_point(lat, lng) -> bool:
    """Whether (lat, lng) are finite degrees inside the usual ranges."""
    for value in (lat, lng):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return False
    return -90.0 <= lat <= 90.0 and -180.0 <= lng <= 180.0


def haversine_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in metres between two points given in degrees."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lng2 - lng1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> int:
    """:func:`haversine_m` rounded to whole metres (what the rules compare)."""
    return round(haversine_m(lat1, lng1, lat2, lng2))
