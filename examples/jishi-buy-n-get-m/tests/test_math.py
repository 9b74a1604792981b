"""The discount math, without an app: free units per quantity and which
units are free (the cheapest)."""

from __future__ import annotations

import pytest
from jishi_buy_n_get_m.rules import free_amount, free_units


@pytest.mark.parametrize(
    ("quantity", "buy", "pay", "free"),
    [
        (7, 3, 2, 2),  # 2 complete sets of 3 -> 2 free units
        (6, 3, 2, 2),
        (5, 3, 2, 1),
        (2, 3, 2, 0),  # below the set size: nothing free
        (0, 3, 2, 0),
        (10, 5, 3, 4),  # buy 5 pay 3: 2 free per set
        (9, 2, 1, 4),  # buy 2 pay 1 (第二件免费)
    ],
)
def test_free_units(quantity, buy, pay, free):
    """K3: buy N pay M: free units = complete sets x (N - M)."""
    assert free_units(quantity, buy, pay) == free


def test_cheapest_units_are_free():
    """K3: across a product's SKUs, the free units are the cheapest ones."""
    assert free_amount([(1000, 2), (800, 1)], 1) == 800
    assert free_amount([(1000, 5), (800, 1)], 2) == 1800
    assert free_amount([(1000, 3)], 0) == 0
    assert free_amount([(999, 1)], 5) == 999  # never more units than bought
