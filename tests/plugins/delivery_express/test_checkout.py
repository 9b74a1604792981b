"""DE-CHECKOUT: the ``express`` delivery option at checkout, single-store
(the shop itself, seller None) and with multistore."""

from __future__ import annotations

import pytest
from jishi.db import db
from jishi.orders.models import Order

from .helpers import WEIGHT, place, template


def preview(api, user, items, address=None, **kw):
    body = {
        "items": [{"sku_id": s.id, "quantity": q} for s, q in items],
        "address_id": address.id if address else None,
        **kw,
    }
    r = api.post("/checkout/preview", user=user, json=body)
    assert r.status_code == 200, r.json
    return r.json


def express(group):
    return next((o for o in group["delivery_options"] if o["code"] == "express"), None)


def test_hook_delivery_options_express_fee(api, factory, svc):
    """DE-CHECKOUT: one ``express`` option per group with the exact fee
    (platform default template, by piece: ¥10 + 2 × ¥5); the kernel's
    flat rate steps aside."""
    template()
    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product(price=3000).skus[0]
    data = preview(api, buyer, [(sku, 3)], addr)
    [group] = data["groups"]
    assert [o["code"] for o in group["delivery_options"]] == ["express"]
    opt = express(group)
    assert opt["available"] and opt["fee"] == 2000 and opt["needs_address"]
    assert group["delivery"] == "express" and group["delivery_fee"] == 2000
    assert data["totals"]["pay_amount"] == 9000 + 2000
    assert data["problems"] == []


def test_place_stores_fee_and_method(api, factory, svc):
    """DE-CHECKOUT: placing with express writes the fee, method, label and
    the templates used on the order."""
    t = template()
    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product(price=3000).skus[0]
    r = api.post(
        "/checkout/place",
        user=buyer,
        json={"items": [{"sku_id": sku.id, "quantity": 2}], "address_id": addr.id, "delivery": {"shop": "express"}},
        headers={"Idempotency-Key": "p1"},
    )
    assert r.status_code == 201, r.json
    order = db.session.get(Order, r.json["orders"][0]["id"])
    assert order.delivery_method == "express" and order.delivery_fee == 1500 and order.pay_amount == 7500
    assert order.delivery_label == "快递发货"  # stored as shown to the buyer (zh_CN by default)
    assert order.delivery_data["templates"][0]["id"] == t.id


def test_no_template_at_all_is_unavailable_with_reason(api, factory, svc):
    """DE-CHECKOUT: no product, seller or platform template: the option is
    shown unavailable with the reason, and placing is refused (422)."""
    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product(name="茶叶").skus[0]
    data = preview(api, buyer, [(sku, 1)], addr)
    opt = express(data["groups"][0])
    assert opt["available"] is False and "茶叶" in opt["reason"]
    assert data["groups"][0]["delivery"] is None
    r = api.post(
        "/checkout/place",
        user=buyer,
        json={"items": [{"sku_id": sku.id, "quantity": 1}], "address_id": addr.id},
        headers={"Idempotency-Key": "x"},
    )
    assert r.status_code == 422 and r.json["field"] == "delivery"
    assert db.session.query(Order).count() == 0


def test_virtual_goods_get_no_express(api, factory, svc):
    """DE-CHECKOUT: an all-virtual group is not offered express."""
    template()
    buyer = factory.user()
    sku = factory.product(is_virtual=True).skus[0]
    data = preview(api, buyer, [(sku, 1)])
    assert [o["code"] for o in data["groups"][0]["delivery_options"]] == ["virtual"]


def test_mixed_virtual_and_physical_charges_physical_only(api, factory, svc):
    """DE-CHECKOUT: virtual lines of a mixed group are not counted."""
    template()
    buyer = factory.user()
    addr = factory.address(buyer)
    v = factory.product(is_virtual=True).skus[0]
    p = factory.product().skus[0]
    data = preview(api, buyer, [(v, 5), (p, 1)], addr)
    assert express(data["groups"][0])["fee"] == 1000


def test_needs_an_address(api, factory, svc):
    """DE-CHECKOUT: without an address the fee is the base-rate estimate and
    placing asks for an address."""
    template()
    buyer = factory.user()
    sku = factory.product().skus[0]
    data = preview(api, buyer, [(sku, 1)])
    assert express(data["groups"][0])["fee"] == 1000
    assert any(p["field"] == "address_id" for p in data["problems"])


def test_unserved_region_names_region(api, factory, svc):
    """DE-CHECKOUT: a region not served: available False, the reason names
    the region; placing is refused."""
    template(regions=[{"province": "新疆", "served": False}])
    buyer = factory.user()
    addr = factory.address(buyer, province="新疆维吾尔自治区", city="乌鲁木齐市")
    sku = factory.product().skus[0]
    data = preview(api, buyer, [(sku, 1)], addr)
    opt = express(data["groups"][0])
    assert opt["available"] is False and "新疆" in opt["reason"]
    assert any(p["code"] == "delivery" for p in data["problems"])


def test_region_rule_price_at_checkout(api, factory, svc):
    """DE-CHECKOUT: weight template with a 浙江 rule: 1600 g to 杭州 =
    ¥6 + 2 × ¥2; to 江苏 = ¥12 + 2 × ¥4."""
    template(
        **WEIGHT,
        regions=[
            {"province": "浙江", "first_units": 1000, "first_fee": 600, "additional_units": 500, "additional_fee": 200}
        ],
    )
    buyer = factory.user()
    zj = factory.address(buyer)
    js = factory.address(buyer, province="江苏省", city="南京市", is_default=False)
    sku = factory.product(skus=[{"price": 1000, "stock": 10, "weight_grams": 800}]).skus[0]
    assert express(preview(api, buyer, [(sku, 2)], zj)["groups"][0])["fee"] == 1000
    assert express(preview(api, buyer, [(sku, 2)], js)["groups"][0])["fee"] == 2000


def test_product_template_then_seller_default_then_platform_default(api, factory, svc):
    """DE-CHOICE: a product's own template wins; else the seller's default;
    a seller with no chosen template falls back to the platform's default."""
    platform = template(name="平台默认", first_fee=800)
    chosen = template(name="店铺默认", first_fee=600)
    special = template(name="大件", first_fee=2000)
    buyer = factory.user()
    addr = factory.address(buyer)
    a = factory.product()
    b = factory.product()

    def fee(p):
        return express(preview(api, buyer, [(p.skus[0], 1)], addr)["groups"][0])["fee"]

    assert platform.is_default and fee(a) == 800
    svc.choose_templates(None, [chosen.id, special.id], chosen.id)
    assert fee(a) == 600
    svc.set_product_template(None, a, special.id)
    assert fee(a) == 2000 and fee(b) == 600
    # giving the template up drops the product's link: back to the default
    svc.choose_templates(None, [chosen.id])
    assert fee(a) == 600
    svc.choose_templates(None, [])
    assert fee(a) == 800


def test_mixed_templates_in_one_order(api, factory, svc):
    """DE-FEE at checkout: piece (¥10 first, ¥5 more) + weight (¥12 first /
    1000 g, ¥4 per 500 g): 2 pieces + 2100 g = 1200 + 3×400 + 2×500 = 3400."""
    piece = template()
    weight = template(**WEIGHT)
    svc.choose_templates(None, [piece.id, weight.id], piece.id)
    a = factory.product()
    b = factory.product(skus=[{"price": 1000, "stock": 10, "weight_grams": 700}])
    svc.set_product_template(None, b, weight.id)
    buyer = factory.user()
    addr = factory.address(buyer)
    [order] = place(buyer, [(a.skus[0], 2), (b.skus[0], 3)], addr, paid=False)
    assert order.delivery_fee == 3400


def test_free_threshold_at_checkout(api, factory, svc):
    """DE-FEE at checkout: goods of ¥99 or more under a 满99 template ship free."""
    template(free_over_amount=9900)
    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product(price=3300).skus[0]
    assert express(preview(api, buyer, [(sku, 2)], addr)["groups"][0])["fee"] == 1500
    assert express(preview(api, buyer, [(sku, 3)], addr)["groups"][0])["fee"] == 0


@pytest.mark.jishi_plugins("multistore", "delivery_express")
def test_multistore_each_merchant_its_templates(api, factory, svc, app):
    """DE-CHOICE with multistore: one express option per merchant group,
    priced by that merchant's templates; a merchant that chose none uses
    the platform's default."""
    from jishi_multistore import testing as ms

    platform = template(name="平台", first_fee=800)
    own = template(name="商户1", first_fee=300)
    m1, m2 = ms.merchant("一号"), ms.merchant("二号")
    svc.choose_templates(m1.id, [own.id])
    p1, p2 = ms.product(m1, price=1000), ms.product(m2, price=1000)
    buyer = factory.user()
    addr = factory.address(buyer)
    data = preview(api, buyer, [(p1.skus[0], 1), (p2.skus[0], 1)], addr)
    fees = {g["seller_id"]: express(g)["fee"] for g in data["groups"]}
    assert fees == {m1.id: 300, m2.id: 800}
    assert platform.is_default
    orders = place(buyer, [(p1.skus[0], 1), (p2.skus[0], 1)], addr)
    assert sorted(o.delivery_fee for o in orders) == [300, 800]
    assert all(o.delivery_method == "express" for o in orders)


@pytest.mark.jishi_plugins("multistore", "delivery_express")
def test_groups_sharing_a_template_convert_it_once(api, factory, svc, app, monkeypatch):
    """Issue 20 (prev5): the groups of one checkout share each template's
    fee spec (``to_spec`` once per template per checkout, not per group),
    and every group's fee is still its own; a later checkout converts again
    (a template edited in between is priced as it is then)."""
    from jishi_delivery_express import service as express_service
    from jishi_multistore import testing as ms

    platform = template(name="平台", first_fee=800)
    own = template(name="商户1", first_fee=300)
    m1, m2, m3 = ms.merchant("一号"), ms.merchant("二号"), ms.merchant("三号")
    svc.choose_templates(m1.id, [own.id])
    p1, p2, p3 = ms.product(m1, price=1000), ms.product(m2, price=1000), ms.product(m3, price=1000)
    buyer = factory.user()
    addr = factory.address(buyer)
    converted: list[int] = []
    real = express_service.to_spec
    monkeypatch.setattr(express_service, "to_spec", lambda t: converted.append(t.id) or real(t))
    items = [(p1.skus[0], 1), (p2.skus[0], 2), (p3.skus[0], 1)]
    data = preview(api, buyer, items, addr)
    fees = {g["seller_id"]: express(g)["fee"] for g in data["groups"]}
    assert fees == {m1.id: 300, m2.id: 800 + 500, m3.id: 800}
    assert sorted(converted) == sorted([own.id, platform.id])  # m2 and m3 share the platform's
    converted.clear()
    platform.first_fee = 900
    db.session.commit()
    data = preview(api, buyer, items, addr)
    fees = {g["seller_id"]: express(g)["fee"] for g in data["groups"]}
    assert fees == {m1.id: 300, m2.id: 900 + 500, m3.id: 900}
    assert sorted(converted) == sorted([own.id, platform.id])
    orders = place(buyer, items, addr)
    assert sorted(o.delivery_fee for o in orders) == [300, 900, 900 + 500]
