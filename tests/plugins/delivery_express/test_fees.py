"""DE-FEE: the express fee rules of :mod:`jishi_delivery_express.fees`,
against hand-worked cases (pure function, no app)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jishi_delivery_express.fees import (
    Item,
    Rate,
    RegionRule,
    Template,
    compute_fee,
    norm_region,
)

# A: by piece, first 1 piece ¥10, each additional piece ¥5
A = Template(1, "按件", "piece", Rate(1, 1000, 1, 500))
# B: by weight, first 1000 g ¥12, each additional 500 g ¥4
B = Template(2, "按重", "weight", Rate(1000, 1200, 500, 400))


def fee(items, province=None, city=None):
    return compute_fee(items, province, city).fee


def test_by_piece_first_and_additional():
    """DE-FEE: 3 pieces = first ¥10 + 2 × ¥5 = ¥20."""
    assert fee([Item(A, 1)]) == 1000
    assert fee([Item(A, 3)]) == 1000 + 2 * 500


def test_same_template_lines_are_combined():
    """DE-FEE: two products under one template count as one parcel
    (1 + 1 pieces = ¥10 + ¥5, not 2 × ¥10)."""
    assert fee([Item(A, 1), Item(A, 1)]) == 1500


def test_weight_rounds_additional_units_up():
    """DE-FEE: weight = weight_grams × quantity; additional grams are rounded
    up to whole 500 g steps."""
    assert fee([Item(B, 1, weight_grams=1000)]) == 1200
    assert fee([Item(B, 1, weight_grams=1001)]) == 1200 + 400
    assert fee([Item(B, 1, weight_grams=1600)]) == 1200 + 2 * 400  # 600 g over = 2 steps
    assert fee([Item(B, 2, weight_grams=750)]) == 1200 + 400  # 1500 g
    assert fee([Item(B, 1, weight_grams=300), Item(B, 3, weight_grams=400)]) == 1200 + 400  # 300 + 1200 = 1500 g
    assert fee([Item(B, 1, weight_grams=0)]) == 1200  # weightless goods still pay the first unit


def test_mixed_templates_highest_first_fee_leads():
    """DE-FEE (有赞): A 2 pieces + B 2100 g. B has the higher first fee
    (¥12 > ¥10): B charges 1200 + ceil(1100/500)=3 × 400 = 2400; A charges
    all its 2 pieces at its additional rate, 2 × 500 = 1000. Total 3400."""
    result = compute_fee([Item(A, 2), Item(B, 1, weight_grams=2100)])
    assert result.fee == 3400
    parts = {p.template_id: p for p in result.parts}
    assert parts[2].leading and parts[2].fee == 2400 and parts[2].units == 2100
    assert not parts[1].leading and parts[1].fee == 1000 and parts[1].units == 2


def test_mixed_following_weight_template_rounds_up():
    """DE-FEE: a following weight template charges ceil(grams / step) steps:
    A (¥15 first) leads with 1 piece; B's 1200 g = 3 × ¥4."""
    a = Template(1, "贵", "piece", Rate(1, 1500, 1, 500))
    assert fee([Item(a, 1), Item(B, 1, weight_grams=1200)]) == 1500 + 3 * 400


def test_tie_on_first_fee_lowest_id_leads():
    """DE-FEE: equal first fees: the template with the lower id leads."""
    a2 = Template(7, "A2", "piece", Rate(2, 1000, 1, 300))
    result = compute_fee([Item(a2, 3), Item(A, 2)])
    # A (id 1) leads: 1000 + 1 × 500; A2 follows: 3 × 300
    assert result.fee == 1500 + 900
    assert [p.template_id for p in result.parts if p.leading] == [1]


def test_region_override_province_and_city():
    """DE-FEE: a city's rule wins over its province's, which wins over the
    base rate; names match with or without 省/市 suffixes."""
    t = Template(
        3,
        "区域",
        "weight",
        Rate(1000, 1200, 500, 400),
        regions=(
            RegionRule("浙江", rate=Rate(1000, 600, 500, 200)),
            RegionRule("浙江省", "杭州", rate=Rate(1000, 500, 500, 100)),
        ),
    )
    items = [Item(t, 1, weight_grams=1600)]
    assert fee(items, "浙江省", "宁波市") == 600 + 2 * 200
    assert fee(items, "浙江省", "杭州市") == 500 + 2 * 100
    assert fee(items, "江苏省", "南京市") == 1200 + 2 * 400
    assert fee(items) == 1200 + 2 * 400  # no address yet: base rate


def test_region_not_served_names_the_region():
    """DE-FEE: a region marked not served makes the parcel undeliverable,
    naming the region (新疆维吾尔自治区 matches the rule 新疆)."""
    t = Template(
        4,
        "偏远",
        "piece",
        Rate(1, 1000, 1, 500),
        regions=(RegionRule("新疆", served=False), RegionRule("四川", "甘孜", served=False)),
    )
    result = compute_fee([Item(t, 1), Item(A, 1)], "新疆维吾尔自治区", "乌鲁木齐市")
    assert not result.available and result.unserved_region == "新疆"
    result = compute_fee([Item(t, 1)], "四川省", "甘孜藏族自治州")
    assert result.available  # the city rule is 甘孜, the address says 甘孜藏族自治州: no match, served
    result = compute_fee([Item(t, 1)], "四川省", "甘孜")
    assert not result.available and result.unserved_region == "四川甘孜"
    assert compute_fee([Item(t, 1)], "四川省", "成都市").fee == 1000


def test_free_threshold_excludes_that_templates_lines():
    """DE-FEE: a template whose threshold is met charges nothing and its
    lines drop out: the other template leads even with a lower first fee."""
    free = Template(5, "满99包邮", "piece", Rate(1, 2000, 1, 1000), free_over_amount=9900)
    items = [Item(free, 2, amount=10000), Item(B, 1, weight_grams=1000)]
    result = compute_fee(items)
    assert result.fee == 1200  # B leads alone
    assert {p.template_id: p.free for p in result.parts} == {5: True, 2: False}
    # below the threshold the free template leads with its ¥20 first fee
    items = [Item(free, 2, amount=9800), Item(B, 1, weight_grams=1000)]
    assert fee(items) == 2000 + 1000 + 2 * 400


def test_free_threshold_amount_and_pieces_both_needed():
    """DE-FEE: with an amount and a piece threshold, both must be met."""
    t = Template(6, "满50且3件", "piece", Rate(1, 1000, 1, 500), free_over_amount=5000, free_over_pieces=3)
    assert fee([Item(t, 2, amount=6000)]) == 1500
    assert fee([Item(t, 3, amount=4000)]) == 2000
    assert fee([Item(t, 3, amount=5000)]) == 0
    pieces_only = Template(8, "满3件", "piece", Rate(1, 1000, 1, 500), free_over_pieces=3)
    assert fee([Item(pieces_only, 3, amount=1)]) == 0


def test_empty_and_zero_quantities():
    assert compute_fee([]).fee == 0
    assert compute_fee([Item(A, 0)]).fee == 0


def test_bad_rates_are_refused():
    with pytest.raises(ValueError):
        Rate(1, -1, 1, 0)
    with pytest.raises(ValueError):
        Rate(1, 100, 0, 0)
    with pytest.raises(ValueError):
        Template(9, "x", "volume", Rate(1, 1, 1, 1))


def test_norm_region():
    assert norm_region("新疆维吾尔自治区") == "新疆"
    assert norm_region("广西壮族自治区") == "广西"
    assert norm_region("浙江省") == "浙江"
    assert norm_region("上海市") == "上海"
    assert norm_region("香港特别行政区") == "香港"
    assert norm_region("市") == "市"


# --- properties -------------------------------------------------------------------

rates = st.builds(Rate, st.integers(1, 3000), st.integers(0, 5000), st.integers(1, 1000), st.integers(0, 3000))
templates = st.lists(st.tuples(st.sampled_from(["piece", "weight"]), rates), min_size=1, max_size=4).map(
    lambda ts: [Template(i + 1, f"T{i}", by, rate) for i, (by, rate) in enumerate(ts)]
)


@st.composite
def parcels(draw):
    ts = draw(templates)
    items = draw(
        st.lists(
            st.builds(Item, st.sampled_from(ts), st.integers(1, 20), st.integers(0, 5000), st.integers(0, 100000)),
            max_size=6,
        )
    )
    extra = draw(st.builds(Item, st.sampled_from(ts), st.integers(1, 20), st.integers(0, 5000), st.integers(0, 100000)))
    return items, extra


@settings(max_examples=300, deadline=None)
@given(parcels())
def test_fee_never_negative_and_adding_never_lowers(parcel):
    """DE-FEE property: the fee is never negative, and (without free
    thresholds) adding an item never lowers it."""
    items, extra = parcel
    before = compute_fee(items)
    after = compute_fee([*items, extra])
    assert before.fee >= 0 and after.fee >= 0
    assert after.fee >= before.fee
    assert after.fee == sum(p.fee for p in after.parts)
    assert sum(1 for p in after.parts if p.leading) == 1
