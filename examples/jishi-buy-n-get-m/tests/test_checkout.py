"""Checkout with buy N pay M through the JSON API: the discount, its
allocation (largest remainder, seller-funded) and the placed orders,
with and without multistore."""

from __future__ import annotations

import pytest
from jishi.hookspecs import PriceRule, hookimpl
from jishi.money import allocate


def body(items, address=None, **extra):
    data = {"items": [{"sku_id": sku.id, "quantity": qty} for sku, qty in items]}
    if address is not None:
        data["address_id"] = address.id
    data.update(extra)
    return data


def preview(api, buyer, items, address=None):
    r = api.post("/checkout/preview", user=buyer, json=body(items, address))
    assert r.status_code == 200, r.json
    return r.json


def lines_by_sku(data):
    return {line["sku_id"]: line for g in data["groups"] for line in g["lines"]}


@pytest.fixture
def shop_rule(factory, login, post_rule):
    """A shop product (¥10) with "buy 3 pay 2", set through the seller page."""
    product = factory.product(price=1000, stock=50)
    login(factory.admin())
    assert post_rule(product.id, 3, 2).status_code == 302
    login(None)
    return product


def test_quantity_7_gets_2_units_free(api, factory, shop_rule):
    """K3/K7: buy 3 pay 2 with quantity 7: 2 complete sets, 2 free units (¥20 off),
    a seller-funded discount."""
    buyer = factory.user()
    sku = shop_rule.skus[0]
    data = preview(api, buyer, [(sku, 7)])
    assert data["discounts"] == [{"source": "buy_n_get_m", "label": "买3付2", "amount": 2000, "funded_by": "seller"}]
    line = lines_by_sku(data)[sku.id]
    assert (line["goods_amount"], line["discount"], line["payable"]) == (7000, 2000, 5000)
    assert data["totals"]["discount_amount"] == 2000


def test_below_a_full_set_nothing_is_free(api, factory, shop_rule):
    """K3: quantity 2 under buy 3 pay 2: no discount at all."""
    data = preview(api, factory.user(), [(shop_rule.skus[0], 2)])
    assert data["discounts"] == []
    assert data["totals"]["discount_amount"] == 0


def test_mixed_with_other_lines(api, factory, shop_rule):
    """K3: lines of other products are neither counted nor discounted."""
    other = factory.product(price=500, stock=50).skus[0]
    sku = shop_rule.skus[0]
    data = preview(api, factory.user(), [(sku, 4), (other, 6)])
    by = lines_by_sku(data)
    assert by[sku.id]["discount"] == 1000  # 4 units: one set, one free
    assert by[other.id]["discount"] == 0 and by[other.id]["allocations"] == []
    assert data["totals"]["goods_amount"] == 4000 + 3000
    assert data["totals"]["discount_amount"] == 1000


def test_cheapest_sku_free_and_allocated_by_largest_remainder(api, factory, login, post_rule):
    """K3/MS9: two SKUs of one product count together; the cheapest unit is free and
    the kernel spreads that amount over both lines by largest remainder."""
    product = factory.product(
        skus=[
            {"price": 1000, "stock": 9, "spec_values": {"规格": "大"}},
            {"price": 800, "stock": 9, "spec_values": {"规格": "小"}},
        ]
    )
    login(factory.admin())
    assert post_rule(product.id, 3, 2).status_code == 302
    login(None)
    big, small = product.skus
    data = preview(api, factory.user(), [(big, 2), (small, 1)])
    assert data["discounts"][0]["amount"] == 800
    by = lines_by_sku(data)
    assert [by[big.id]["discount"], by[small.id]["discount"]] == allocate(800, [2000, 800])


def test_inactive_rule_gives_nothing(api, factory, login, post_rule):
    """K3: a rule saved inactive takes no part in checkout."""
    product = factory.product(price=1000)
    login(factory.admin())
    assert post_rule(product.id, 2, 1, active=False).status_code == 302
    login(None)
    assert preview(api, factory.user(), [(product.skus[0], 4)])["discounts"] == []


class FlashSale:
    """A throwaway price plugin: every line at a flash price (priority 100)."""

    __name__ = "test_flash_sale"

    @staticmethod
    @hookimpl
    def line_price_rules(line, user):
        return [PriceRule(source="flash", unit_price=600, priority=100, label="flash")]


@pytest.mark.parametrize("extra_plugins", [[FlashSale]])
def test_lines_at_a_promotional_price_are_left_out(api, factory, shop_rule, extra_plugins):
    """K3 (price precedence): no double deal: a line priced by another promotion (flash, group)
    gets no free units; base and member prices do."""
    data = preview(api, factory.user(), [(shop_rule.skus[0], 6)])
    assert lines_by_sku(data)[shop_rule.skus[0].id]["unit_price"] == 600
    assert data["discounts"] == []


def test_place_records_seller_funded_allocation(api, factory, shop_rule):
    """K7/K8: placing writes the discount on the order and its line, funded by the seller."""
    buyer = factory.user()
    address = factory.address(buyer)
    sku = shop_rule.skus[0]
    r = api.post("/checkout/place", user=buyer, json=body([(sku, 7)], address), headers={"Idempotency-Key": "bngm-1"})
    assert r.status_code == 201, r.json
    [order] = r.json["orders"]
    assert order["discount_amount"] == 2000
    assert order["goods_amount"] == 7000
    detail = api.get(f"/orders/{order['id']}", user=buyer).json
    [line] = detail["lines"]
    assert line["discount_amount"] == 2000 and line["pay_amount"] == 5000
    assert [(a["source"], a["funded_by"], a["amount"]) for a in line["allocations"]] == [
        ("buy_n_get_m", "seller", 2000)
    ]


@pytest.mark.jishi_plugins("multistore", "buy_n_get_m")
def test_multistore_discount_stays_in_its_merchants_order(api, factory, ms, login, post_rule):
    """MS8/MS9: with multistore, merchant A's rule discounts only A's order (funded by
    A); merchant B's order in the same checkout is untouched."""
    a, b = ms.merchant("甲店"), ms.merchant("乙店")
    pa = ms.product(a, price=1000, stock=20)
    pb = ms.product(b, price=1000, stock=20)
    login(ms.admin_of(a))
    assert post_rule(pa.id, 3, 2).status_code == 302
    login(None)
    buyer = factory.user()
    address = factory.address(buyer)
    items = [(pa.skus[0], 7), (pb.skus[0], 7)]
    data = preview(api, buyer, items, address)
    groups = {g["seller_id"]: g for g in data["groups"]}
    assert groups[a.id]["discount_amount"] == 2000
    assert groups[b.id]["discount_amount"] == 0
    r = api.post("/checkout/place", user=buyer, json=body(items, address), headers={"Idempotency-Key": "bngm-ms"})
    assert r.status_code == 201, r.json
    orders = {o["seller_id"]: o for o in r.json["orders"]}
    assert orders[a.id]["discount_amount"] == 2000 and orders[b.id]["discount_amount"] == 0
    [line] = api.get(f"/orders/{orders[a.id]['id']}", user=buyer).json["lines"]
    assert [(a_["funded_by"], a_["amount"]) for a_ in line["allocations"]] == [("seller", 2000)]


@pytest.mark.jishi_plugins("multistore", "buy_n_get_m")
def test_multistore_rule_of_a_shop_product_still_applies(api, factory, ms, login, post_rule):
    """MS1/MS9: with multistore on, the platform's own (self-operated) products keep
    their rules (seller_id None)."""
    own = factory.product(price=1000, stock=20)
    login(factory.admin())
    assert post_rule(own.id, 2, 1).status_code == 302
    login(None)
    data = preview(api, factory.user(), [(own.skus[0], 4)])
    assert data["discounts"][0]["amount"] == 2000


def test_product_page_shows_the_rule(client, factory, shop_rule):
    """K3 (page blocks): the product page's slot shows the rule to buyers, in their language
    (the plugin ships its own zh_CN catalog)."""
    html = client.get(f"/product/{shop_rule.id}").get_data(as_text=True)
    assert 'class="promo-badge buy-n-get-m"' in html and "买3付2" in html
    html = client.get(f"/product/{shop_rule.id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Buy 3 pay 2" in html
