"""CP: the plugin loads alone; a platform coupon takes 10 off a 100 checkout."""

from __future__ import annotations

from .helpers import body, coupon, give, template


def test_platform_coupon_applies_and_is_used(app, api, factory):
    """CP: claim, preview with the best coupon preselected, place: used once."""
    buyer = factory.user()
    addr = factory.address(buyer)
    p = factory.product(price=12000, stock=5)
    t = template()
    c = give(buyer, t)
    r = api.post("/checkout/preview", user=buyer, json=body([(p.skus[0], 1)], addr))
    assert r.status_code == 200, r.json
    assert r.json["totals"]["discount_amount"] == 1000
    r = api.post("/coupons/checkout-options", user=buyer, json=body([(p.skus[0], 1)], addr))
    assert r.status_code == 200, r.json
    assert r.json["chosen"] == [c.id]
    r = api.post("/checkout/place", user=buyer, json=body([(p.skus[0], 1)], addr), headers={"Idempotency-Key": "k1"})
    assert r.status_code == 201, r.json
    assert coupon(c.id).status == "used"
