"""Issue 16 "Spending": stacking with coupons and 满减. Documented order:
activities (满减), then coupons, then points LAST; the points' cap is a
share of the goods amount, and the kernel caps their money at what the
other discounts left payable; the buyer is charged exactly the points for
the money actually taken off."""

from __future__ import annotations

import pytest
from jishi import settings
from jishi.db import commit
from jishi.testing import flows
from jishi_points import service

from ..coupons.helpers import activity, template
from ..coupons.helpers import give as give_coupon
from .helpers import balance, give

pytestmark = pytest.mark.jishi_plugins("coupons", "points")


def test_points_after_activity_and_coupon(api, factory):
    """Issue 16/Spending: ¥100 of goods, 满100减10 activity, then a 满90减10
    platform coupon, then points with a 100% cap: points take the ¥80 left
    (8,000 points of the 20,000 available), applied last."""
    settings.set_many({service.CAP_BP: 10000})
    commit()
    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product(price=10000, stock=5).skus[0]
    activity(tiers=[[10000, 1000]])
    give_coupon(buyer, template(name="满90减10", threshold=9000, amount=1000))
    give(buyer, 20000)
    body = flows.checkout_body([(sku, 1)], addr, {"points": True})
    preview = api.post("/checkout/preview", user=buyer, json=body).json
    assert [d["source"].split(":")[0] for d in preview["discounts"]] == ["activity", "coupon", "points"]
    assert [d["amount"] for d in preview["discounts"]] == [1000, 1000, 8000]
    assert (preview["plugins"]["points"]["used"], preview["plugins"]["points"]["money"]) == (8000, 8000)


def test_placed_with_a_coupon_charges_the_points_for_the_money_taken(api, factory):
    """Issue 16/Spending: with a coupon, 3,000 points take ¥30 off what the
    coupon left; the buyer keeps the rest."""
    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product(price=10000, stock=5).skus[0]
    give_coupon(buyer, template())
    give(buyer, 5000)
    data = flows.place_api(api, buyer, [(sku, 1)], addr, {"points": 3000})
    assert data["orders"][0]["discount_amount"] == 1000 + 3000
    assert balance(buyer) == (2000, 0)
