"""CP: the coupon rules as pure functions — threshold, amount off,
percentage with cap and rounding, 满减 tiers, scope; and a property test of
the allocation the plan mirrors (shares sum exactly, never above a line)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from jishi_coupons.rules import LineFacts, coupon_amount, covers, take, tier_amount


def test_fixed_with_threshold():
    """CP: 满100减10 takes 10 yuan at 100 and above, nothing below."""
    assert coupon_amount("fixed", 9999, threshold=10000, amount=1000) == 0
    assert coupon_amount("fixed", 10000, threshold=10000, amount=1000) == 1000
    assert coupon_amount("fixed", 25000, threshold=10000, amount=1000) == 1000


def test_no_threshold_never_more_than_the_goods():
    """CP: a no-threshold 5 yuan coupon on 3 yuan of goods takes 3 yuan; on nothing, nothing."""
    assert coupon_amount("fixed", 300, threshold=0, amount=500) == 300
    assert coupon_amount("fixed", 0, threshold=0, amount=500) == 0


def test_percentage_with_cap_and_rounding_down():
    """CP: 9折 (1000 bp off) takes floor(10%) to the fen, at most the cap."""
    assert coupon_amount("percent", 12345, percent_off=1000) == 1234  # 1234.5 fen rounds down
    assert coupon_amount("percent", 12345, percent_off=1000, max_discount=2000) == 1234
    assert coupon_amount("percent", 50000, percent_off=1000, max_discount=2000) == 2000
    assert coupon_amount("percent", 999, percent_off=1500) == 149  # 8.5折 on 9.99: 149.85 -> 149
    assert coupon_amount("percent", 1, percent_off=9999) == 0
    assert coupon_amount("percent", 5000, percent_off=1000, threshold=6000) == 0


def test_tiers_highest_reached():
    """CP: 满100减10 / 满200减30: 150 -> 10, 200 -> 30, 99 -> 0."""
    tiers = [[10000, 1000], [20000, 3000]]
    assert tier_amount(tiers, 9999) == 0
    assert tier_amount(tiers, 15000) == 1000
    assert tier_amount(tiers, 20000) == 3000
    assert tier_amount(tiers, 90000) == 3000
    assert tier_amount(tiers, 0) == 0


def test_scope():
    """CP: scope all / categories (with subcategories) / products / one merchant;
    a merchant's coupon covers only its own goods."""
    tea = LineFacts("a", 7, 11, "/1/4/")
    shop_tea = LineFacts("b", None, 12, "/1/")
    assert covers(None, "all", [], tea) and covers(None, "all", [], shop_tea)
    assert covers(None, "categories", [1], tea) and covers(None, "categories", [4], tea)
    assert not covers(None, "categories", [4], shop_tea)
    assert not covers(None, "categories", [41], LineFacts("c", None, 1, "/1/4/"))  # not a prefix match
    assert covers(None, "products", [11], tea) and not covers(None, "products", [11], shop_tea)
    assert covers(None, "merchant", [7], tea) and not covers(None, "merchant", [8], tea)
    assert covers(7, "all", [], tea) and not covers(8, "all", [], tea) and not covers(7, "all", [], shop_tea)
    assert not covers(8, "products", [11], tea)  # another merchant's coupon naming my product
    assert not covers(None, "categories", [1], LineFacts("d", None, 1, ""))


@settings(max_examples=300, deadline=None)
@given(
    payables=st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=8),
    discounts=st.lists(
        st.tuples(st.integers(min_value=0, max_value=10**7), st.lists(st.integers(0, 7), min_size=1, max_size=8)),
        min_size=1,
        max_size=6,
    ),
)
def test_property_allocation_sums_exactly_and_never_exceeds_a_line(payables, discounts):
    """CP/MS9: applying discounts in sequence (activities, then coupons),
    each one's shares sum exactly to its capped amount, no share exceeds what
    its line still had payable, and no line goes below zero."""
    remaining = {f"l{i}": p for i, p in enumerate(payables)}
    for amount, idx in discounts:
        keys = tuple(dict.fromkeys(f"l{i}" for i in idx if i < len(payables)))
        if not keys:
            continue
        before = dict(remaining)
        capped, shares = take(remaining, keys, amount)
        assert capped == min(amount, sum(before[k] for k in keys))
        assert sum(shares) == capped
        for k, s in zip(keys, shares):
            assert 0 <= s <= before[k]
            assert remaining[k] == before[k] - s >= 0
