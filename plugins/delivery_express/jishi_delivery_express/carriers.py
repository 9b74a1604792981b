"""The carriers a seller ships with (a fixed list of common ones, plus
"other" with a name typed by the seller). ``order.carrier`` stores the
carrier's name, so the kernel shows it with the plugin disabled."""

from __future__ import annotations

from jishi.i18n import lazy_gettext as _l

# code -> name stored on the order (brand names, as printed on the parcel)
CARRIERS: dict[str, str] = {
    "sf": "顺丰速运",
    "zto": "中通快递",
    "yto": "圆通速递",
    "yunda": "韵达快递",
    "sto": "申通快递",
    "ems": "EMS",
    "jd": "京东物流",
}
OTHER = "other"
OTHER_LABEL = _l("Other carrier")


def choices() -> list[tuple[str, str]]:
    return [*CARRIERS.items(), (OTHER, str(OTHER_LABEL))]


def resolve(carrier: str | None, other_name: str | None = None) -> str | None:
    """The name to store for ``carrier`` (a code, or a carrier's name), or
    None when unknown. ``other`` needs ``other_name`` (at most 40 characters)."""
    value = (carrier or "").strip()
    if not value:
        return None
    low = value.lower()
    if low in CARRIERS:
        return CARRIERS[low]
    for name in CARRIERS.values():
        if value == name or low == name.lower():
            return name
    if low == OTHER:
        name = (other_name or "").strip()
        return name[:40] if name else None
    return None
