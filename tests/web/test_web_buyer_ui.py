"""Issue 13, the buyer's storefront: the web checkout carries the total the
buyer saw (A1), entrances to plugins' pages (A6) and the buying details of
A7 (sold out, confirming receipt, add-to-cart toast and badge, steppers,
gallery thumbnails), checked in the HTML; tests/browser/test_buyer_ui.py
checks them in Chromium."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from jishi.db import db
from jishi.models import Order, PaymentOrder
from jishi.orders import service as orders_service
from webforms import page_form


def _path(resp) -> str:
    return urlsplit(resp.headers["Location"]).path


def _part(html: str, start: str, end: str) -> str:
    i = html.index(start)
    return html[i : html.index(end, i)]


# -- A1: the web checkout places only at the total shown -----------------------


def test_web_checkout_sends_the_total_shown_and_a_stale_one_is_refused(app, client, shop, buyer, login):
    """A1: the checkout form always carries expected_total (the total on the
    page); posting an old total places nothing and re-renders the checkout
    with the new total and a message; the shown total places."""
    login(buyer)
    client.post("/cart/add", data={"sku_id": shop["orange"].skus[0].id, "quantity": 2})
    page = client.get("/checkout")
    form = page_form(page, "/checkout")
    html = page.get_data(as_text=True)
    assert form["expected_total"] == "8980"  # 2 x 39.90 + 10.00 delivery
    assert 'data-pay-amount="8980"' in html and "¥89.80" in html

    resp = client.post("/checkout", data=form | {"action": "place", "expected_total": "7980"})
    assert resp.status_code == 302 and _path(resp) == "/checkout"
    again = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "¥89.80" in again and "应付金额已变为 ¥89.80" in again
    assert db.session.execute(db.select(db.func.count(PaymentOrder.id))).scalar_one() == 0

    resp = client.post("/checkout", data=page_form(client.get("/checkout"), "/checkout") | {"action": "place"})
    assert resp.status_code == 302 and "/pay/" in _path(resp)
    payment = db.session.execute(db.select(PaymentOrder)).scalar_one()
    assert payment.amount == 8980


def test_recalculate_button_is_kept_for_pages_without_script(client, shop, buyer, login):
    """A1: without JavaScript the checkout's Recalculate and the cart's
    Update buttons post the form, on phones too (no stylesheet hides them);
    with it shop.js recalculates the data-live-form on every change."""
    login(buyer)
    client.post("/cart/add", data={"sku_id": shop["orange"].skus[0].id, "quantity": 1})
    checkout = client.get("/checkout").get_data(as_text=True)
    assert re.search(r'<button type="submit" name="action" value="refresh"[^>]*data-live-button', checkout)
    assert "data-live-form" in checkout and "jishi/shop.js" in checkout
    cart = client.get("/cart").get_data(as_text=True)
    assert re.search(r'<button type="submit" name="action" value="update"[^>]*data-live-button', cart)
    with client.get("/static/jishi/kernel.css") as css:
        assert ".checkout-bar .btn-ghost { display: none; }" not in css.get_data(as_text=True)


# -- A6: entrances -------------------------------------------------------------


def test_no_entrances_without_the_plugins(client, shop):
    """A6: with no plugin enabled nothing links to pages that do not exist."""
    assert "data-entrance" not in client.get("/").get_data(as_text=True)


@pytest.mark.jishi_plugins("multistore", "flashsale", "coupons")
def test_entrances_on_home_header_and_tab_bar(client, shop):
    """A6: 秒杀, 店铺街 and 领券中心 are linked from the home page and the
    header (storefront_links hook), 店铺街 from the tab bar too; each
    link opens its page."""
    html = client.get("/").get_data(as_text=True)
    expected = {"flashsale.listing": "/flashsale", "multistore.shops": "/shops", "coupons.centre": "/coupons"}
    for part, wanted in (
        (_part(html, '<ul class="entrances">', "</ul>"), expected),
        (_part(html, '<header class="site-header', "</header>"), expected),
        (_part(html, '<nav class="tabbar"', "</nav>"), {"multistore.shops": "/shops"}),
    ):
        found = dict(re.findall(r'<a href="([^"]+)" data-entrance="([^"]+)"', part))
        assert {endpoint: url for url, endpoint in found.items()} == wanted, part
    for label in ("秒杀", "店铺街", "领券中心"):
        assert label in html
    for url in expected.values():
        assert client.get(url).status_code == 200, url


# -- A7 -------------------------------------------------------------------------


def test_sold_out_product_shows_sold_out_and_no_buy_buttons(client, factory, buyer, login):
    """A7: a product whose every variant is out of stock shows 已售罄 and a
    disabled button instead of add to cart / buy now."""
    product = factory.product(name="售罄的茶", price=1000, stock=0)
    db.session.commit()
    login(buyer)
    html = client.get(f"/product/{product.id}").get_data(as_text=True)
    assert '<span class="soldout-badge">已售罄</span>' in html
    assert re.search(r'<button type="button" class="btn btn-primary" disabled>已售罄</button>', html)
    assert "加入购物车" not in html and 'name="buy_now"' not in html


def test_add_to_cart_stays_with_a_toast_and_a_cart_badge(client, shop, buyer, login):
    """A7: adding to the cart goes back to the product page with a toast and
    the cart badge (units in the cart) in the header and tab bar; the
    quantity has a stepper."""
    login(buyer)
    product_url = f"/product/{shop['orange'].id}"
    page = client.get(product_url).get_data(as_text=True)
    assert 'name="quantity" value="1" min="1" inputmode="numeric" data-stepper' in page
    assert "data-cart-badge" not in page
    resp = client.post(
        "/cart/add",
        data={"sku_id": shop["orange"].skus[0].id, "quantity": 3},
        headers={"Referer": "http://localhost" + product_url},
    )
    assert resp.status_code == 302 and _path(resp) == product_url
    html = client.get(product_url).get_data(as_text=True)
    assert re.search(r'class="flash flash-toast"[^>]*>已加入购物车。', html)
    assert html.count('<span class="badge" data-cart-badge>3</span>') == 1  # the header (no tab bar here)
    home = client.get("/").get_data(as_text=True)
    assert home.count('<span class="badge" data-cart-badge>3</span>') == 2  # header and tab bar
    cart = client.get("/cart").get_data(as_text=True)
    assert re.search(r'name="qty-\d+" value="3" min="1" inputmode="numeric" data-stepper', cart)


def test_confirm_receipt_asks_first(client, shop, buyer, login, buy):
    """A7: the 确认收货 button asks for confirmation (shop.js, data-confirm)."""
    login(buyer)
    order = buy(client, shop["orange"].skus[0])
    orders_service.ship(order, carrier="顺丰", tracking_no="SF1", actor_kind="platform")
    html = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert re.search(
        r'<button class="btn btn-primary" type="submit" data-confirm="确认已收到商品吗？[^"]*">确认收货</button>', html
    )
    assert db.session.get(Order, order.id).status == "shipped"


def test_gallery_thumbnails_name_their_picture(client, factory):
    """A7: each gallery thumbnail carries the picture shop.js shows in the
    big image when it is clicked."""
    from jishi.catalog.models import ProductImage

    product = factory.product(name="有图的茶", price=1000, stock=5)
    product.images.extend([ProductImage(url="/media/a.png", sort=0), ProductImage(url="/media/b.png", sort=1)])
    db.session.commit()
    html = client.get(f"/product/{product.id}").get_data(as_text=True)
    assert "data-gallery" in html
    assert re.findall(r'data-gallery-thumb="([^"]+)"', html) == ["/media/a.png", "/media/b.png"]
