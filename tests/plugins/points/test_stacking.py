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


@pytest.mark.jishi_plugins("multistore", "coupons", "points")
def test_multistore_coupon_and_points_refund_gives_back_only_the_points_share(api, factory, ms):
    """Issue 16/Spending, MS9: A ¥20 / B ¥30 / C ¥50, a platform 满100减10
    coupon then 900 points (¥9): both spread 2 / 3 / 5; refunding C's order
    gives back exactly C's 450 points (its points allocations), not the
    coupon's share."""
    from jishi.db import db
    from jishi_points.models import PointsOrder

    buyer = factory.user()
    addr = factory.address(buyer)
    skus, merchants = [], []
    for name, price in zip("ABC", (2000, 3000, 5000)):
        m = ms.merchant(f"{name}店")
        merchants.append(m)
        skus.append(ms.product(m, name=f"{name}货", price=price, stock=20).skus[0])
    give_coupon(buyer, template())
    give(buyer, 900)
    data = flows.place_api(api, buyer, [(s, 1) for s in skus], addr, {"points": 900})
    paid = {o["seller_id"]: o["goods_amount"] - o["discount_amount"] for o in data["orders"]}
    assert [paid[m.id] for m in merchants] == [1620, 2430, 4050]
    flows.pay(data["payments"][0]["number"])
    c_order = next(o["id"] for o in data["orders"] if o["seller_id"] == merchants[2].id)
    assert db.session.get(PointsOrder, c_order).spent == 450
    flows.refund(flows.fetch(c_order))
    assert balance(buyer)[0] == 450
