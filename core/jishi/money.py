"""Money: integer fen, always. Parsing and display at the edges, allocation here.

No float ever touches money. ``parse_yuan("12.34") == 1234``;
``format_fen(1234) == "¥12.34"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation


class MoneyError(ValueError):
    pass


#: parse_yuan refuses amounts of 10**17 yuan and more (beyond a 64-bit fen column).
MAX_YUAN_DIGITS = 16


def parse_yuan(text: str | int) -> int:
    """Parse a yuan amount given as text ("12.3", "12.34") into fen.

    Rejects more than two decimals, negatives, amounts of 10**17 yuan or more
    and garbage with MoneyError.
    """
    if isinstance(text, bool):
        raise MoneyError("not an amount")
    if isinstance(text, int):
        return text * 100
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        raise MoneyError(f"not an amount: {text!r}") from None
    if not value.is_finite() or value < 0:
        raise MoneyError(f"not a valid amount: {text!r}")
    if value.adjusted() > MAX_YUAN_DIGITS:  # "1e999990": no billion-digit integers
        raise MoneyError(f"too large an amount: {text!r}")
    fen = value * 100
    if fen != fen.to_integral_value():
        raise MoneyError(f"more than two decimals: {text!r}")
    return int(fen)


def format_fen(fen: int | None, symbol: str = "¥") -> str:
    """1234 -> '¥12.34'; -50 -> '-¥0.50'."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(int(fen)), 100)
    return f"{sign}{symbol}{yuan}.{cents:02d}"


def fen_to_yuan_str(fen: int) -> str:
    """1234 -> '12.34' (no symbol), for forms."""
    return format_fen(fen, symbol="")


#: 100% in basis points.
MAX_BP = 10000


def parse_percent(text: str) -> int:
    """A percentage typed by a person ("5", "5.25", "0.5%") as integer basis
    points (100 = 1%): the one unit rates are entered in, stored as an int.

    Rejects garbage, negatives, more than 100% and more than two decimals
    with MoneyError."""
    raw = str(text).strip().removesuffix("%").strip()
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise MoneyError(f"not a percentage: {text!r}") from None
    if not value.is_finite() or not (0 <= value <= 100):
        raise MoneyError(f"not a percentage from 0 to 100: {text!r}")
    bp = value * 100
    if bp != bp.to_integral_value():
        raise MoneyError(f"more than two decimals: {text!r}")
    return int(bp)


def format_bp(bp: int | None) -> str:
    """Basis points as the percentage a person types: 525 -> '5.25',
    500 -> '5', 50 -> '0.5' (no % sign; None -> '')."""
    if bp is None:
        return ""
    sign = "-" if bp < 0 else ""
    whole, frac = divmod(abs(int(bp)), 100)
    return f"{sign}{whole}" + (f".{frac:02d}".rstrip("0") if frac else "")


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` fen over ``weights`` in proportion, by largest remainder.

    Invariants (property-tested): the shares sum to ``total`` exactly; when
    ``total <= sum(weights)`` no share exceeds its weight; every share is >= 0.
    Ties in the remainder go to the earlier index (deterministic).
    All-zero weights put nothing anywhere unless total is 0 (ValueError).

    >>> allocate(10, [2000, 3000, 5000])
    [2, 3, 5]
    """
    if total < 0:
        raise MoneyError("cannot allocate a negative amount")
    if any(w < 0 for w in weights):
        raise MoneyError("negative weight")
    base = sum(weights)
    if total == 0:
        return [0] * len(weights)
    if base == 0:
        raise MoneyError("nothing to allocate over")
    shares = [total * w // base for w in weights]
    remainders = [(total * w % base, -i) for i, w in enumerate(weights)]
    left = total - sum(shares)
    for _, neg_i in sorted(remainders, reverse=True)[:left]:
        shares[-neg_i] += 1
    return shares


def percent_of(amount: int, permille: int) -> int:
    """Integer share of ``amount`` at ``permille``/1000, rounded half up."""
    return (amount * permille + 500) // 1000
