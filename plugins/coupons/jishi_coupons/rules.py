"""The coupon rules as pure functions on plain values (no database, no Flask):
what a coupon or an activity takes off an amount, which lines it covers.

Rounding: a percentage coupon takes ``floor(base * percent_off / 10000)``
fen (rounded DOWN to the fen: the buyer never gets more than the printed
rate), then the cap (``max_discount``), then never more than the base.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from jishi.money import allocate

from jishi_coupons.models import (
    KIND_FIXED,
    KIND_PERCENT,
    SCOPE_ALL,
    SCOPE_CATEGORIES,
    SCOPE_MERCHANT,
    SCOPE_PRODUCTS,
)

BP = 10000  # basis points in a whole


@dataclass(frozen=True)
class LineFacts:
    """What the rules need of a checkout line."""

    key: str
    seller_id: int | None
    product_id: int
    category_path: str  # the category's materialised path "/1/4/", "" when none


def coupon_amount(
    kind: str, base: int, *, threshold: int = 0, amount: int = 0, percent_off: int = 0, max_discount: int | None = None
) -> int:
    """Fen a coupon takes off ``base`` (the eligible lines' payable), 0 when
    the threshold is not reached or nothing is eligible."""
    if base <= 0 or base < threshold:
        return 0
    if kind == KIND_FIXED:
        off = amount
    elif kind == KIND_PERCENT:
        off = base * percent_off // BP
        if max_discount is not None:
            off = min(off, max_discount)
    else:  # pragma: no cover - validated on input
        raise ValueError(kind)
    return max(0, min(off, base))


def tier_amount(tiers: Sequence[Sequence[int]], base: int) -> int:
    """满减 tiers [[threshold, amount], ...]: the highest tier reached."""
    reached = [(t, a) for t, a in tiers if base > 0 and base >= t]
    if not reached:
        return 0
    _threshold, amount = max(reached)
    return max(0, min(amount, base))


def covers(owner_seller_id: int | None, scope: str, scope_ids: Iterable[int], line: LineFacts) -> bool:
    """Whether a coupon/activity of ``owner_seller_id`` with ``scope`` covers ``line``.

    A merchant's coupon covers only that merchant's goods, whatever its scope.
    ``categories`` covers a category and everything under it.
    """
    if owner_seller_id is not None and line.seller_id != owner_seller_id:
        return False
    ids = list(scope_ids or ())
    if scope == SCOPE_ALL:
        return True
    if scope == SCOPE_PRODUCTS:
        return line.product_id in ids
    if scope == SCOPE_CATEGORIES:
        return any(f"/{cid}/" in (line.category_path or "") for cid in ids)
    if scope == SCOPE_MERCHANT:
        return bool(ids) and line.seller_id == ids[0]
    return False


def take(remaining: dict[str, int], keys: Sequence[str], amount: int) -> tuple[int, list[int]]:
    """Cap ``amount`` at what ``keys`` still have payable and spread it like
    the kernel does (largest remainder); updates ``remaining``.
    Returns (capped amount, shares)."""
    weights = [remaining[k] for k in keys]
    capped = max(0, min(amount, sum(weights)))
    if capped == 0:
        return 0, [0] * len(keys)
    shares = allocate(capped, weights)
    for k, s in zip(keys, shares):
        remaining[k] -= s
    return capped, shares
