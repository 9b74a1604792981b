"""Issue 18: the product page shows the options (起购 N 件, 每单最多, 限购 N
件, 仅限 X 会员, 仅限立即购买); a buy-now-only product shows only 立即购买,
bought through the plugin's checkout without the cart; the console edits a
product's overrides (422 naming the field on bad input)."""

from __future__ import annotations

import re

from jishi.accounts.models import MemberLevel
from jishi.db import commit, db
from jishi.orders.models import Order

from . import helpers as so

ZH = {"Accept-Language": "zh-CN"}


def test_product_page_shows_the_options_in_chinese(client, factory):
    """Issue 18: 2 件起购, 每单最多 5 件, 限购 2 件, 仅限金卡会员 on the product page."""
    gold = MemberLevel(name="金卡", rank=2)
    db.session.add(gold)
    commit()
    p = factory.product(price=1000, stock=20)
    so.options(p, min_per_order=2, max_per_order=5, max_per_buyer=2, member_levels=[gold.id])
    html = client.get(f"/product/{p.id}", headers=ZH).get_data(as_text=True)
    for text in ("2 件起购", "每单最多 5 件", "限购 2 件", "仅限金卡会员"):
        assert text in html, text
    assert "该商品仅限金卡会员购买" in html  # the buy buttons give way to the reason


def test_product_without_options_shows_no_box(client, factory):
    """Issue 18: no options, no box."""
    p = factory.product(price=1000, stock=20)
    assert "data-shopping-options" not in client.get(f"/product/{p.id}").get_data(as_text=True)


def test_buy_now_only_product_page_and_checkout(client, factory, login):
    """Issue 18: a buy-now-only product: the cart form is hidden and 立即购买
    leads to the plugin's checkout, which places the order; the cart refuses it."""
    p = factory.product(price=1000, stock=20)
    so.options(p, buy_now_only=True)
    user = so.buyer(factory)
    login(user)
    html = client.get(f"/product/{p.id}", headers=ZH).get_data(as_text=True)
    assert "仅限立即购买" in html and "form.add-to-cart{display:none}" in html
    assert 'action="/shopping-options/checkout"' in html and "data-so-buy-now" in html
    resp = client.post("/cart/add", data={"sku_id": p.skus[0].id, "quantity": 1}, headers=ZH)
    assert resp.status_code == 302
    assert "不能加入购物车" in client.get("/", headers=ZH).get_data(as_text=True)
    page = client.get(f"/shopping-options/checkout?sku_id={p.skus[0].id}&quantity=2")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    key = re.search(r'name="idempotency_key" value="([^"]+)"', html).group(1)
    address = re.search(r'name="address_id" value="(\d+)"', html).group(1)
    resp = client.post(
        "/shopping-options/checkout",
        data={"sku_id": p.skus[0].id, "quantity": 2, "address_id": address, "idempotency_key": key, "action": "place"},
    )
    assert resp.status_code == 302 and "/pay/" in resp.headers["Location"], resp.headers.get("Location")
    order = db.session.execute(db.select(Order)).scalar_one()
    assert order.goods_amount == 2000


def test_console_edits_overrides(client, factory, login):
    """Issue 18: the console's product list links to a product's form; a
    good save sticks, min above max answers 422 and keeps the old values."""
    admin = factory.admin()
    p = factory.product(name="限购茶", price=1000, stock=20)
    login(admin)
    listing = client.get("/seller/shopping-options")
    assert listing.status_code == 200 and "限购茶" in listing.get_data(as_text=True)
    url = f"/seller/shopping-options/products/{p.id}"
    resp = client.post(url, data={"max_per_buyer": "2", "buy_now_only": "1", "levels_set": "1"})
    assert resp.status_code == 302
    resp = client.post(url, data={"min_per_order": "5", "max_per_order": "2", "levels_set": "1"}, headers=ZH)
    assert resp.status_code == 422 and "每单起购数量大于每单最多购买数量" in resp.get_data(as_text=True)
    row = so.service.overrides([p.id])[p.id]
    assert (row.max_per_buyer, row.buy_now_only, row.min_per_order) == (2, True, None)
    resp = client.post(url, data={"max_per_order": "x"})
    assert resp.status_code == 422


def test_console_product_list_links_to_each_products_options(client, factory, login, queries):
    """Issue 18: the kernel's console product list (``/console/products``)
    carries a "Shopping options" link on every product row, through the
    kernel's ``console_product_row_actions`` slot, at no extra statement."""
    admin = factory.admin()
    products = [factory.product(name=f"茶{i}") for i in range(3)]
    login(admin)
    client.get("/console/products")
    html = client.get("/console/products", headers=ZH).get_data(as_text=True)
    for p in products:
        assert f'href="/seller/shopping-options/products/{p.id}"' in html
    assert "购物选项" in html
    factory.product(name="茶3")
    with queries() as few:
        client.get("/console/products")
    for i in range(4, 10):
        factory.product(name=f"茶{i}")
    with queries() as many:
        client.get("/console/products")
    assert few.count == many.count


def test_console_override_refuses_min_above_max_naming_the_field(client, factory, login):
    """Issue 18: a per-product override whose minimum is above its maximum per
    order or per buyer is refused (422, the message and the field marked),
    nothing saved; a maximum per order above the maximum per buyer is not a
    contradiction (the per-buyer limit binds first) and saves."""
    admin = factory.admin()
    p = factory.product(name="限购茶", price=1000, stock=20)
    login(admin)
    url = f"/seller/shopping-options/products/{p.id}"
    for data, message in (
        ({"min_per_order": "5", "max_per_order": "2"}, "每单起购数量大于每单最多购买数量"),
        ({"min_per_order": "5", "max_per_buyer": "3"}, "每单起购数量大于每人限购数量"),
    ):
        resp = client.post(url, data={**data, "levels_set": "1"}, headers=ZH)
        html = resp.get_data(as_text=True)
        assert resp.status_code == 422 and message in html and 'data-error="min_per_order"' in html
        assert p.id not in so.service.overrides([p.id])
    resp = client.post(url, data={"max_per_order": "5", "max_per_buyer": "2", "levels_set": "1"})
    assert resp.status_code == 302
    assert so.service.overrides([p.id])[p.id].max_per_order == 5


def test_settings_page_refuses_inconsistent_defaults(client, factory, login):
    """Issue 18: the console's settings panel "Shopping options" refuses a
    default minimum above the default maximum per order or per buyer (422,
    the error next to ``min_per_order``) and a default maximum above its
    cap; nothing is saved. Consistent values save."""
    from jishi import settings

    admin = factory.admin()
    login(admin)
    base = {
        "panel": "shopping_options",
        "shopping_options.min_per_order": "5",
        "shopping_options.max_per_order": "2",
        "shopping_options.max_per_buyer": "0",
        "shopping_options.cap_per_order": "0",
        "shopping_options.cap_per_buyer": "0",
    }
    resp = client.post("/console/settings", data=base, headers=ZH)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "每单起购数量大于每单最多购买数量" in html
    assert settings.get("shopping_options.min_per_order") in (0, None)
    assert settings.get("shopping_options.max_per_order") in (0, None)
    bad_buyer = {**base, "shopping_options.max_per_order": "0", "shopping_options.max_per_buyer": "3"}
    resp = client.post("/console/settings", data=bad_buyer, headers=ZH)
    assert resp.status_code == 422 and "每单起购数量大于每人限购数量" in resp.get_data(as_text=True)
    over_cap = {**base, "shopping_options.min_per_order": "1", "shopping_options.cap_per_order": "1"}
    resp = client.post("/console/settings", data=over_cap)
    assert resp.status_code == 422
    assert settings.get("shopping_options.max_per_buyer") in (0, None)
    assert settings.get("shopping_options.cap_per_order") in (0, None)
    resp = client.post(
        "/console/settings",
        data={
            **base,
            "shopping_options.min_per_order": "1",
            "shopping_options.max_per_order": "3",
            "shopping_options.max_per_buyer": "6",
        },
    )
    assert resp.status_code == 302
    assert (settings.get("shopping_options.max_per_order"), settings.get("shopping_options.max_per_buyer")) == (3, 6)


def test_product_without_override_follows_the_platform_defaults(client, factory):
    """Issue 20: a product without an override takes the platform's options,
    kept with the settings' version: a default saved after a page was shown
    is on the next page, and cleared again the box is gone."""
    p = factory.product(price=1000, stock=20)
    assert "data-shopping-options" not in client.get(f"/product/{p.id}", headers=ZH).get_data(as_text=True)
    so.defaults(max_per_buyer=3)
    html = client.get(f"/product/{p.id}", headers=ZH).get_data(as_text=True)
    assert "data-shopping-options" in html and "限购 3 件" in html
    so.defaults(max_per_buyer=0)
    assert "data-shopping-options" not in client.get(f"/product/{p.id}", headers=ZH).get_data(as_text=True)
