"""Storefront pages (K4-K11 web side): every page renders for a buyer with
demo-like data, prices show as ¥12.34, and a buyer only sees their own things."""

import re

import pytest
from jishi.db import db
from jishi.hookspecs import LoginProvider, hookimpl
from jishi.orders import service as orders_service
from webforms import page_form


class WeChatLogin:
    @hookimpl
    def login_providers(self):
        return [LoginProvider("wechat", "微信登录", "/login/wechat")]


class SlotFiller:
    """Fills storefront slots and reads a checkout option its slot adds."""

    seen_options: list = []

    @hookimpl
    def template_slot(self, slot, context):
        if slot == "product_detail_after_price":
            return f'<p class="test-slot">限时秒杀 {context["product"].name}</p>'
        if slot == "home_blocks":
            return '<section class="test-slot">首页活动</section>'
        if slot == "checkout_group":
            return f'<input name="opt.gift_note.{context["group"].key}" value="生日快乐">'
        return None

    @hookimpl
    def order_actions(self, order, principal):
        from jishi.hookspecs import MenuItem

        return [MenuItem("电子发票", "shop.order")]

    @hookimpl
    def order_placing(self, checkout, payments, orders):
        self.seen_options.append(checkout.options)

    @hookimpl
    def validate_checkout(self, checkout):
        self.seen_options.append(checkout.options)  # previews too


@pytest.fixture
def extra_plugins():
    SlotFiller.seen_options = []
    return [WeChatLogin(), SlotFiller()]


def test_browsing_pages_render(client, shop):
    """K4: home, category, search with filters and sort, product detail."""
    fruit = shop["fruit"]
    home = client.get("/").get_data(as_text=True)
    assert "龙井茶" in home and "水果" in home and "下架商品" not in home
    page = client.get("/categories").get_data(as_text=True)
    assert "水果" in page and "柑橘" in page
    page = client.get(f"/category/{fruit.id}").get_data(as_text=True)
    assert "龙井茶" in page and "柑橘" in page  # the subcategory chip
    assert "赣南脐橙" in page  # products of subcategories are listed too
    page = client.get("/search", query_string={"q": "龙井", "sort": "price_asc"}).get_data(as_text=True)
    assert "龙井茶" in page and "赣南脐橙" not in page
    page = client.get("/search", query_string={"min": "20", "max": "50"}).get_data(as_text=True)
    assert "赣南脐橙" in page and "龙井茶" not in page
    page = client.get("/search", query_string={"tag": shop["tag"].id}).get_data(as_text=True)
    assert "龙井茶" in page and "赣南脐橙" not in page
    assert client.get("/search", query_string={"min": "1.234"}).status_code == 200  # bad price: ignored with a notice
    assert (
        client.get(
            f"/category/{fruit.id}", query_string={"category_id": "2", "_scheme": "javascript", "_external": "1"}
        ).status_code
        == 200
    )
    assert client.get(f"/product/{shop['hidden'].id}").status_code == 404
    assert client.get("/category/9999").status_code == 404


def test_product_detail_shows_skus_prices_params_and_reviews_slots(client, shop, app):
    """K4: SKU picker by spec, price ¥12.34, original and member price, stock,
    params and tags; the two product slots are filled by plugins."""
    page = client.get(f"/product/{shop['tea'].id}").get_data(as_text=True)
    assert "¥12.34" in page and "¥15.00" in page and "¥11.00" in page and "¥24.68" in page
    assert "规格:100g" in page and "规格:200g" in page
    assert "产地" in page and "杭州" in page and "新品" in page
    form = page_form(client.get(f"/product/{shop['tea'].id}"), "/cart/add")
    assert form["sku_id"] == str(shop["tea"].skus[0].id)  # the sold-out 200g is not preselected


def test_keyset_more_link(client, factory):
    """K4: listings page by keyset: the "more" link carries a cursor and the
    second page continues without repeating."""
    for i in range(25):
        factory.product(name=f"批量商品{i:02d}", price=100 + i)
    first = client.get("/search", query_string={"sort": "price_asc"}).get_data(as_text=True)
    assert "批量商品00" in first and "批量商品24" not in first
    import re

    more = re.search(r'href="(/search\?[^"]*cursor=[^"]+)" rel="next"', first)
    assert more, "no more link"
    second = client.get(more.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert "批量商品24" in second and "批量商品00" not in second


def test_every_buyer_page_renders(app, client, shop, buyer, login, buy):
    """K5-K11: cart, checkout, pay, payment return, orders (each tab), order
    detail, refund request and list, review form, account, addresses."""
    login(buyer)
    order = buy(client, shop["orange"].skus[0], 2)
    assert order.status == "paid"
    orders_service.ship(order, carrier="顺丰", tracking_no="SF100", actor_kind="platform")
    client.post("/cart/add", data={"sku_id": shop["tea"].skus[0].id, "quantity": 1})
    pages = [
        "/",
        "/cart",
        "/checkout",
        "/account",
        "/account/addresses",
        "/account/addresses/new",
        "/refunds",
        f"/orders/{order.id}",
        f"/orders/{order.id}/refund",
        f"/pay/return/{order.payment.number}",
    ]
    pages += [
        f"/orders?status={s}" for s in ("all", "pending_payment", "paid", "shipped", "received", "completed", "closed")
    ]
    for url in pages:
        resp = client.get(url)
        assert resp.status_code == 200, url
    detail = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "¥79.80" in detail and "SF100" in detail and "/receive" in detail
    assert "电子发票" in detail  # a plugin's order action

    resp = client.post(f"/orders/{order.id}/receive")
    assert resp.status_code == 302
    db.session.refresh(order)
    assert order.status == "received"
    line = order.lines[0]
    review_url = f"/orders/{order.id}/lines/{line.id}/review"
    assert client.get(review_url).status_code == 200
    resp = client.post(review_url, data={"rating": "4", "content": "很甜，下次还买"})
    assert resp.status_code == 302
    page = client.get(f"/product/{shop['orange'].id}").get_data(as_text=True)
    assert "很甜，下次还买" in page and "★★★★☆" in page and "4.0" in page
    assert client.get(review_url).status_code == 302  # reviewed once only

    refund_form = client.get(f"/orders/{order.id}/refund")
    form = page_form(refund_form, "/refund") | {"kind": "return_refund", "reason": "不新鲜"}
    resp = client.post(f"/orders/{order.id}/refund", data=form)
    assert resp.status_code == 302
    refund_page = client.get(resp.headers["Location"])
    assert refund_page.status_code == 200 and "不新鲜" in refund_page.get_data(as_text=True)
    assert "¥79.80" in client.get("/refunds").get_data(as_text=True)


def test_account_page_counts_orders_by_state(app, client, shop, buyer, login, buy, factory):
    """K8, K10: the account page (我的) links to the buyer's orders by state
    (to pay, to ship, shipped, received) and to after-sales, each state
    with how many of the buyer's own orders are in it (none: no badge);
    with no plugin adding links, no empty link row."""
    login(buyer)
    shipped = buy(client, shop["orange"].skus[0])
    orders_service.ship(shipped, carrier="顺丰", tracking_no="SF1", actor_kind="platform")
    buy(client, shop["orange"].skus[0])  # paid
    buy(client, shop["orange"].skus[0], pay=False)
    buy(client, shop["tea"].skus[0], pay=False)
    other = factory.user()  # another buyer's order counts for nobody else
    from jishi.checkout.service import place_order

    with app.test_request_context("/"):
        place_order(other, [(shop["orange"].skus[0].id, 1)], factory.address(other).id, {}, idempotency_key="o")
    db.session.commit()

    page = client.get("/account").get_data(as_text=True)
    links = dict(re.findall(r'<a href="/orders\?status=([a-z_]+)" data-status="\1">(.*?)</a>', page))
    assert set(links) == {"pending_payment", "paid", "shipped", "received"}, links
    badge = {k: re.search(r'<span class="badge">(\d+)</span>', v) for k, v in links.items()}
    assert {k: int(m.group(1)) for k, m in badge.items() if m} == {"pending_payment": 2, "paid": 1, "shipped": 1}
    assert 'href="/orders">全部订单</a>' in page and 'href="/refunds"' in page
    assert 'class="card links account-grid"' not in page


def test_unpaid_order_can_be_cancelled(client, shop, buyer, login, buy):
    """K8: the buyer cancels an unpaid order from its page; stock comes back."""
    login(buyer)
    sku = shop["orange"].skus[0]
    order = buy(client, sku, 3, pay=False)
    assert order.status == "pending_payment"
    db.session.refresh(sku)
    assert sku.stock == 47
    client.post(f"/orders/{order.id}/cancel")
    db.session.refresh(order)
    db.session.refresh(sku)
    assert order.status == "closed" and sku.stock == 50


def test_cart_quantities_select_and_remove(client, shop, buyer, login):
    """K6: the cart form changes quantities, selection and removes lines;
    quantities above stock are refused with a message."""
    from jishi.cart.models import CartLine

    login(buyer)
    client.post("/cart/add", data={"sku_id": shop["tea"].skus[0].id, "quantity": 1})
    client.post("/cart/add", data={"sku_id": shop["orange"].skus[0].id, "quantity": 1})
    lines = {line.sku_id: line for line in db.session.execute(db.select(CartLine)).scalars()}
    tea_line, orange_line = lines[shop["tea"].skus[0].id], lines[shop["orange"].skus[0].id]
    form = page_form(client.get("/cart"), "/cart")
    form[f"qty-{tea_line.id}"] = "3"
    data = {k: v for k, v in form.items() if k != "selected"} | {"selected": [str(tea_line.id)], "action": "update"}
    client.post("/cart", data=data)
    db.session.refresh(tea_line)
    db.session.refresh(orange_line)
    assert tea_line.quantity == 3 and not orange_line.selected and tea_line.selected
    assert "¥37.02" in client.get("/cart").get_data(as_text=True)
    resp = client.post("/cart", data=data | {f"qty-{tea_line.id}": "11"}, follow_redirects=True)
    db.session.refresh(tea_line)
    assert tea_line.quantity == 3
    assert "flash-error" in resp.get_data(as_text=True)
    client.post("/cart", data={"remove": str(orange_line.id)})
    db.session.expire_all()
    assert db.session.execute(db.select(CartLine.sku_id)).scalars().all() == [shop["tea"].skus[0].id]


def test_other_buyers_objects_are_not_found(app, client, shop, buyer, factory, login, buy):
    """K15: another buyer's order, refund page, payment and address answer 404."""
    login(buyer)
    order = buy(client, shop["orange"].skus[0])
    other = factory.user()
    other_client = app.test_client()
    other_client.post("/login", data={"phone": other.phone, "password": "secret123"})
    from jishi.accounts.models import Address

    address = db.session.execute(db.select(Address).where(Address.user_id == buyer.id)).scalar_one()
    for url in (
        f"/orders/{order.id}",
        f"/orders/{order.id}/refund",
        f"/pay/{order.payment.number}",
        f"/pay/return/{order.payment.number}",
        f"/account/addresses/{address.id}/edit",
    ):
        assert other_client.get(url).status_code == 404, url
    assert other_client.post(f"/orders/{order.id}/cancel").status_code == 404
    assert other_client.post(f"/account/addresses/{address.id}/delete").status_code == 404


def test_anonymous_buyer_pages_ask_to_sign_in(client, shop):
    """K5: pages of a buyer send anonymous visitors to the login page."""
    for url in ("/cart", "/checkout", "/orders", "/account", "/refunds"):
        resp = client.get(url)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"], url
    assert "/login" in client.post("/cart/add", data={"sku_id": shop["tea"].skus[0].id}).headers["Location"]


def test_login_page_lists_login_providers_and_rejects_bad_password(client, buyer):
    """K5: login_providers hook entries show on the login page; a wrong
    password answers 401 with a message and no session."""
    page = client.get("/login").get_data(as_text=True)
    assert "微信登录" in page and 'href="/login/wechat"' in page
    resp = client.post("/login", data={"phone": buyer.phone, "password": "wrong-password"})
    assert resp.status_code == 401
    assert client.get("/orders").status_code == 302


def test_register_errors_name_the_field(client, factory):
    """K5: registration problems show next to the field, with a 422."""
    taken = factory.user()
    resp = client.post("/register", data={"phone": taken.phone, "password": "secret123", "password2": "secret123"})
    assert resp.status_code == 422 and "field-error" in resp.get_data(as_text=True)
    resp = client.post("/register", data={"phone": "13712345678", "password": "secret123", "password2": "other123"})
    assert resp.status_code == 422


def test_logout_ends_every_session_of_the_user(app, buyer):
    """K5: logout (POST) rotates the session token, so the user's other
    browsers are signed out too."""
    phone_a, phone_b = app.test_client(), app.test_client()
    for c in (phone_a, phone_b):
        assert c.post("/login", data={"phone": buyer.phone, "password": "secret123"}).status_code == 302
        assert c.get("/orders").status_code == 200
    assert phone_a.get("/logout").status_code == 405  # GET does not sign out
    assert phone_a.post("/logout").status_code == 302
    assert phone_a.get("/orders").status_code == 302
    assert phone_b.get("/orders").status_code == 302


def test_addresses_crud(client, buyer, login):
    """K5: add, edit, delete addresses; bad input names the field."""
    from jishi.accounts.models import Address

    login(buyer)
    resp = client.post(
        "/account/addresses/new",
        data={"name": "李四", "phone": "123", "province": "江苏省", "city": "南京市", "detail": "中山路 2 号"},
    )
    assert resp.status_code == 422
    resp = client.post(
        "/account/addresses/new",
        data={"name": "李四", "phone": "13900000000", "province": "江苏省", "city": "南京市", "detail": "中山路 2 号"},
    )
    assert resp.status_code == 302
    address = db.session.execute(db.select(Address).where(Address.name == "李四")).scalar_one()
    client.post(
        f"/account/addresses/{address.id}/edit",
        data={"name": "李四", "phone": "13900000000", "province": "江苏省", "city": "苏州市", "detail": "观前街 3 号"},
    )
    db.session.refresh(address)
    assert address.city == "苏州市"
    address_id = address.id  # the request deletes the row: the test's object is gone with it
    client.post(f"/account/addresses/{address_id}/delete")
    assert db.session.get(Address, address_id) is None


def test_description_html_is_sanitised(client, factory):
    """A product description keeps paragraphs and images but never scripts,
    event handlers or javascript: URLs."""
    p = factory.product(
        name="描述商品",
        description="<p>产地<b>直发</b></p><script>alert(1)</script>"
        '<img src="javascript:alert(2)"><img src="https://img.example/a.png" onerror="alert(3)">',
    )
    page = client.get(f"/product/{p.id}").get_data(as_text=True)
    assert "<p>产地<b>直发</b></p>" in page and '<img src="https://img.example/a.png" alt="" loading="lazy">' in page
    assert "alert(" not in page and "onerror" not in page and "javascript:" not in page


def test_plugin_slots_render_and_checkout_slot_fields_reach_the_checkout(client, shop, buyer, login):
    """K3 storefront blocks: plugins fill named slots (home, product detail,
    checkout group); fields a checkout slot adds (``opt.<name>.<group>``)
    reach ``checkout.options``."""
    assert "首页活动" in client.get("/").get_data(as_text=True)
    assert "限时秒杀 龙井茶" in client.get(f"/product/{shop['tea'].id}").get_data(as_text=True)
    login(buyer)
    client.post("/cart/add", data={"sku_id": shop["orange"].skus[0].id, "quantity": 1})
    form = page_form(client.get("/checkout"), "/checkout")
    assert form["opt.gift_note.shop"] == "生日快乐"
    client.post("/checkout", data=form | {"action": "place"})
    assert SlotFiller.seen_options[-1]["gift_note"] == {"shop": "生日快乐"}
    # "Recalculate" carries every field over, a repeated one whole.
    from werkzeug.datastructures import MultiDict

    data = MultiDict(list((form | {"action": "refresh"}).items()))
    data.add("opt.codes", "A1")
    data.add("opt.codes", "B2")
    resp = client.post("/checkout", data=data)
    assert resp.status_code == 302
    client.get(resp.headers["Location"])
    assert SlotFiller.seen_options[-1]["codes"] == ["A1", "B2"]
    assert SlotFiller.seen_options[-1]["gift_note"] == {"shop": "生日快乐"}


def test_history_notes_are_stored_once_and_shown_in_each_readers_language(app, client, shop, buyer, login, buy):
    """K8/i18n: a system note is stored as its English msgid and translated
    when shown, so the buyer reads it in zh_CN and an English reader in en."""
    from jishi.orders.models import OrderEvent

    login(buyer)
    order = buy(client, shop["tea"].skus[0])
    orders_service.force_complete(order, actor=None)
    note = db.session.execute(
        db.select(OrderEvent.note).where(OrderEvent.order_id == order.id, OrderEvent.to_status == "completed")
    ).scalar_one()
    assert note == "moved to completed by the platform"
    assert "平台改为已完成" in client.get(f"/orders/{order.id}").get_data(as_text=True)
    client.post("/locale", data={"locale": "en"})
    assert "moved to completed by the platform" in client.get(f"/orders/{order.id}").get_data(as_text=True)
