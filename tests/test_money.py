"""Money is integer fen; allocation sums exactly (SPEC MS9, non-functional)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jishi.checkout.pricing import resolve_price
from jishi.hookspecs import PriceRule
from jishi.money import MoneyError, allocate, format_fen, parse_yuan


def test_seed_example_100_minus_10():
    """MS9: 100−10 over A 20, B 30, C 50 -> 2, 3, 5 off (pays 18, 27, 45)."""
    shares = allocate(1000, [2000, 3000, 5000])
    assert shares == [200, 300, 500]
    assert [w - s for w, s in zip([2000, 3000, 5000], shares)] == [1800, 2700, 4500]


def test_largest_remainder_is_deterministic():
    assert allocate(1, [1, 1, 1]) == [1, 0, 0]
    assert allocate(2, [1, 1, 1]) == [1, 1, 0]
    assert allocate(100, [333, 333, 334]) == [33, 33, 34]


@given(
    total=st.integers(min_value=0, max_value=10**9),
    weights=st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=30),
)
def test_allocation_invariants(total, weights):
    """MS9: shares sum to the total exactly; 0 <= share <= weight when total <= sum."""
    if sum(weights) == 0:
        if total == 0:
            assert allocate(total, weights) == [0] * len(weights)
        else:
            with pytest.raises(MoneyError):
                allocate(total, weights)
        return
    total = min(total, sum(weights))
    shares = allocate(total, weights)
    assert sum(shares) == total
    assert all(0 <= s <= w for s, w in zip(shares, weights))
    assert all(isinstance(s, int) for s in shares)


@pytest.mark.parametrize("text,fen", [("12.34", 1234), ("0.5", 50), ("3", 300), (" 7.00 ", 700), (5, 500)])
def test_parse_yuan(text, fen):
    assert parse_yuan(text) == fen


@pytest.mark.parametrize(
    "text", ["1.234", "-1", "abc", "", "NaN", "inf", True, "1e17", "1e999990", "1e999999", "1e99999999"]
)
def test_parse_yuan_rejects(text):
    with pytest.raises(MoneyError):
        parse_yuan(text)


def test_format_fen():
    assert format_fen(1234) == "¥12.34"
    assert format_fen(5) == "¥0.05"
    assert format_fen(-50) == "-¥0.50"


def test_price_precedence():
    """K3: highest priority wins, then lowest price; base price has priority 0."""
    rules = [PriceRule("member", 900, 10), PriceRule("flash", 950, 100), PriceRule("other", 800, 10)]
    assert resolve_price(1000, rules).source == "flash"
    assert resolve_price(1000, rules[:1] + rules[2:]).source == "other"
    assert resolve_price(1000, []).source == "base"


@pytest.mark.parametrize(
    ("text", "bp"), [("5", 500), ("5.25", 525), ("0.5%", 50), (" 12.3 ", 1230), ("0", 0), ("100", 10000)]
)
def test_parse_percent(text, bp):
    """C5: rates are typed as percentages (two decimals at most), stored as basis points."""
    from jishi.money import format_bp, parse_percent

    assert parse_percent(text) == bp
    assert parse_percent(format_bp(bp)) == bp


@pytest.mark.parametrize("text", ["", "abc", "-1", "100.01", "1.234", "nan", "inf", "1e9"])
def test_parse_percent_refuses(text):
    from jishi.money import parse_percent

    with pytest.raises(MoneyError):
        parse_percent(text)


def test_format_bp():
    from jishi.money import format_bp

    assert [format_bp(v) for v in (525, 500, 50, 5, 0, None)] == ["5.25", "5", "0.5", "0.05", "0", ""]
