"""MS8: the cross-store cart and checkout, through the API and the storefront.

Also the order-center notices of a shut merchant's orders (MS5) and the platform's
payment mode setting.
"""

from __future__ import annotations

import pytest
from jishi.db import db
from jishi.hookspecs import DeliveryOption, hookimpl
from jishi.models import Order, Sku
from jishi.testing import flows
from sqlalchemy import func, select

# --- helpers (imported by the other order tests) -----------------------------------


body = flows.checkout_body


def place(api, buyer, items, addr, key, **extra):
    return flows.place_api(api, buyer, items, addr, key=key, **extra)


#: pay a payment order (or the one with this number) on the sandbox gateway
pay = pay_number = flows.pay


def set_status(m, status):
    m.status = status
    db.session.commit()


def mall(factory, ms):
    """Two merchants (A, B) and a self-operated product; a buyer with an address."""
    buyer = factory.user(name="买家")
    addr = factory.address(buyer)
    a = ms.merchant("甲店")
    b = ms.merchant("乙店")
    pa = ms.product(a, name="甲茶", price=2000, stock=10)
    pb = ms.product(b, name="乙茶", price=3000, stock=10)
    own = factory.product(name="自营茶", price=5000, stock=10)
    return buyer, addr, a, b, pa.skus[0], pb.skus[0], own.skus[0]


def profile(m):
    from jishi.catalog.service import seller_profiles

    return seller_profiles([m.id])[m.id]


# --- the cart ---------------------------------------------------------------------------


def test_cart_api_groups_by_merchant_with_tags(api, factory, ms):
    """MS8/MS5: the cart API shows one group per merchant (self-operated first),
    titled with the shop's name and tagged with its business state."""
    buyer, addr, a, b, sa, sb, own = mall(factory, ms)
    for sku in (sa, sb, own):
        assert api.post("/cart/items", user=buyer, json={"sku_id": sku.id, "quantity": 1}).status_code == 201
    set_status(b, "closed_today")
    r = api.get("/cart", user=buyer)
    assert r.status_code == 200
    groups = r.json["groups"]
    assert groups[0]["key"] == "shop" and groups[0]["seller_id"] is None  # self-operated first
    assert len(groups[0]["tags"]) == 1  # 自营
    by_key = {g["key"]: g for g in groups}
    assert set(by_key) == {"shop", f"seller:{a.id}", f"seller:{b.id}"}
    assert by_key[f"seller:{a.id}"]["seller_id"] == a.id
    assert by_key[f"seller:{a.id}"]["title"] == "甲店" and by_key[f"seller:{a.id}"]["tags"] == []
    assert by_key[f"seller:{b.id}"]["title"] == "乙店"
    assert by_key[f"seller:{b.id}"]["tags"] == [profile(b).status_label] and profile(b).status_label
    assert [line["sku_id"] for line in by_key[f"seller:{b.id}"]["lines"]] == [sb.id]


def test_cart_page_groups_by_merchant(client, factory, ms, login, api):
    """MS8: the storefront cart page shows each merchant's group with its tag."""
    buyer, addr, a, b, sa, sb, own = mall(factory, ms)
    for sku in (sa, sb):
        api.post("/cart/items", user=buyer, json={"sku_id": sku.id, "quantity": 1})
    set_status(b, "shut")
    login(buyer)
    html = client.get("/cart").get_data(as_text=True)
    assert "甲店" in html and "乙店" in html
    assert html.index("甲店") < html.index("甲茶") and html.index("乙店") < html.index("乙茶")
    assert profile(b).status_label in html


# --- checking out -------------------------------------------------------------------------


def test_checkout_splits_one_order_per_merchant_one_payment(api, factory, ms):
    """MS8: one checkout across two merchants and the platform places three
    orders (one per seller) under one payment, each with its own message."""
    buyer, addr, a, b, sa, sb, own = mall(factory, ms)
    messages = {f"seller:{a.id}": "甲: 多放点茶", f"seller:{b.id}": "乙: 周末送", "shop": "自营: 谢谢"}
    data = place(api, buyer, [(sa, 1), (sb, 2), (own, 1)], addr, "split-1", messages=messages)
    assert len(data["payments"]) == 1
    orders = {o["seller_id"]: o for o in data["orders"]}
    assert set(orders) == {None, a.id, b.id}
    assert orders[a.id]["buyer_message"] == "甲: 多放点茶"
    assert orders[b.id]["buyer_message"] == "乙: 周末送"
    assert orders[None]["buyer_message"] == "自营: 谢谢"
    assert orders[a.id]["goods_amount"] == 2000 and orders[b.id]["goods_amount"] == 6000
    assert data["payments"][0]["amount"] == sum(o["pay_amount"] for o in data["orders"])
    assert {o["group_key"] for o in data["orders"]} == {"shop", f"seller:{a.id}", f"seller:{b.id}"}


class Pickup:
    """A second delivery method for merchant groups (store pickup, free)."""

    @hookimpl
    def delivery_options(self, group, address, checkout):
        if group.seller_id is None:
            return None
        return [DeliveryOption("pickup", "到店自提", 0, needs_address=False, data={"store": group.title})]


def with_plugins(*objs):
    """Register these throwaway plugin objects in the test's app."""
    return pytest.mark.parametrize("extra_plugins", [list(objs)], ids=["plugin"])


@with_plugins(Pickup())
def test_each_merchant_order_has_its_own_delivery_choice(api, factory, ms):
    """MS8: the buyer picks the delivery method per merchant group."""
    buyer, addr, a, b, sa, sb, own = mall(factory, ms)
    r = api.post("/checkout/preview", user=buyer, json=body([(sa, 1), (sb, 1)], addr))
    groups = {g["key"]: g for g in r.json["groups"]}
    assert {o["code"] for o in groups[f"seller:{a.id}"]["delivery_options"]} == {"standard", "pickup"}
    data = place(
        api,
        buyer,
        [(sa, 1), (sb, 1)],
        addr,
        "deliv-1",
        delivery={f"seller:{a.id}": "pickup", f"seller:{b.id}": "standard"},
    )
    orders = {o["seller_id"]: db.session.get(Order, o["id"]) for o in data["orders"]}
    assert orders[a.id].delivery_method == "pickup" and orders[a.id].delivery_fee == 0 and orders[a.id].address is None
    assert orders[a.id].delivery_data == {"store": "甲店"}
    assert orders[b.id].delivery_method == "standard" and orders[b.id].delivery_fee == 1000 and orders[b.id].address


@pytest.mark.parametrize("status", ["resting", "closed_today", "shut", "deleted"])
def test_checkout_refuses_lines_of_a_merchant_that_cannot_sell(api, factory, ms, status):
    """MS5/MS8: lines of a resting, closed-for-the-day, shut or deleted
    merchant in the buyer's cart stop the checkout with a problem naming the
    line and the group; nothing is written. A shut or deleted merchant's
    products are hidden: named as explicit items they are unknown SKUs (the
    answer names nothing of them), while a resting shop's are shown."""
    from jishi.db import utcnow

    buyer, addr, a, b, sa, sb, own = mall(factory, ms)
    for sku in (sa, sb):
        assert api.post("/cart/items", user=buyer, json={"sku_id": sku.id, "quantity": 1}).status_code == 201
    if status == "deleted":
        b.deleted_at = utcnow()
        db.session.commit()
    else:
        set_status(b, status)
    payload = {"address_id": addr.id}  # the buyer's cart
    r = api.post("/checkout/preview", user=buyer, json=payload)
    assert r.status_code == 200
    [problem] = [p for p in r.json["problems"] if p["code"] == "merchant_unavailable"]
    assert problem["line"] == f"sku:{sb.id}" and problem["group"] == f"seller:{b.id}" and problem["field"] == "items"
    r = api.post("/checkout/place", user=buyer, json=payload, headers={"Idempotency-Key": f"refuse-{status}"})
    assert r.status_code == 422, r.json
    assert r.json["code"] == "merchant_unavailable" and r.json["field"] == "items"
    assert [e["line"] for e in r.json["errors"] if e["code"] == "merchant_unavailable"] == [f"sku:{sb.id}"]
    explicit = body([(sa, 1), (sb, 1)], addr)
    r = api.post("/checkout/preview", user=buyer, json=explicit)
    if status in ("shut", "deleted"):
        assert r.status_code == 422 and r.json["code"] == "not_found" and r.json["field"] == "items", r.json
        assert "乙茶" not in r.get_data(as_text=True)
    else:
        assert [p["line"] for p in r.json["problems"] if p["code"] == "merchant_unavailable"] == [f"sku:{sb.id}"]
    r = api.post("/checkout/place", user=buyer, json=explicit, headers={"Idempotency-Key": f"refuse2-{status}"})
    assert r.status_code == 422, r.json
    assert db.session.execute(select(func.count()).select_from(Order)).scalar_one() == 0
    assert db.session.get(Sku, sa.id).stock == 10 and db.session.get(Sku, sb.id).stock == 10
    # Without B's line the checkout goes through.
    place(api, buyer, [(sa, 1)], addr, f"ok-{status}")


def test_payment_per_store_is_a_platform_setting(api, client, factory, ms, login):
    """MS8: the platform switches to one payment per store in its settings
    panel; a checkout across two merchants then gets two payments."""
    buyer, addr, a, b, sa, sb, own = mall(factory, ms)
    data = place(api, buyer, [(sa, 1), (sb, 1)], addr, "mode-1")
    assert len(data["payments"]) == 1
    admin = factory.admin()
    login(admin)
    html = client.get("/console/settings").get_data(as_text=True)
    assert 'name="payment.mode"' in html
    r = client.post("/console/settings", data={"panel": "payment", "payment.mode": "per_order"})
    assert r.status_code in (302, 303)
    client.delete_cookie("session", domain="shop.test")  # back to the buyer's bearer token
    data = place(api, buyer, [(sa, 1), (sb, 1)], addr, "mode-2")
    assert len(data["payments"]) == 2
    by_payment = {p["id"]: p["amount"] for p in data["payments"]}
    for o in data["orders"]:
        assert by_payment[db.session.get(Order, o["id"]).payment_id] == o["pay_amount"]
    login(admin)
    assert client.post("/console/settings", data={"panel": "payment", "payment.mode": "bogus"}).status_code == 422


def test_storefront_checkout_splits_with_messages(client, factory, ms, login, api):
    """MS8: the storefront checkout page shows a group per merchant, each with
    its own message field; placing writes one order per merchant."""
    buyer, addr, a, b, sa, sb, own = mall(factory, ms)
    for sku in (sa, sb):
        api.post("/cart/items", user=buyer, json={"sku_id": sku.id, "quantity": 1})
    login(buyer)
    html = client.get("/checkout").get_data(as_text=True)
    assert f'name="message-seller:{a.id}"' in html and f'name="message-seller:{b.id}"' in html
    assert "甲店" in html and "乙店" in html
    r = client.post(
        "/checkout",
        data={
            "address_id": addr.id,
            "idempotency_key": "web-split",
            f"message-seller:{a.id}": "甲留言",
            f"message-seller:{b.id}": "乙留言",
        },
    )
    assert r.status_code in (302, 303), r.get_data(as_text=True)[:500]
    orders = {o.seller_id: o for o in db.session.execute(select(Order)).scalars()}
    assert set(orders) == {a.id, b.id}
    assert orders[a.id].buyer_message == "甲留言" and orders[b.id].buyer_message == "乙留言"
    assert orders[a.id].payment_id == orders[b.id].payment_id


def test_storefront_checkout_names_the_closed_merchant(client, factory, ms, login, api):
    """MS8: placing from the storefront with a resting merchant's line is
    refused with its message; no order is written."""
    buyer, addr, a, b, sa, sb, own = mall(factory, ms)
    for sku in (sa, sb):
        api.post("/cart/items", user=buyer, json={"sku_id": sku.id, "quantity": 1})
    set_status(b, "resting")
    login(buyer)
    r = client.post("/checkout", data={"address_id": addr.id, "idempotency_key": "web-closed"}, follow_redirects=True)
    assert "乙店" in r.get_data(as_text=True)
    assert db.session.execute(select(func.count()).select_from(Order)).scalar_one() == 0


def test_order_detail_shows_the_merchant_with_a_link(api, client, factory, ms, login):
    """MS8: order detail shows the merchant of its products with a
    link to the shop, in the API and on the order page."""
    buyer, addr, a, b, sa, sb, own = mall(factory, ms)
    data = place(api, buyer, [(sa, 1), (own, 1)], addr, "detail-1")
    oa = next(o for o in data["orders"] if o["seller_id"] == a.id)
    mine = next(o for o in data["orders"] if o["seller_id"] is None)
    r = api.get(f"/orders/{oa['id']}", user=buyer)
    assert r.json["seller"]["id"] == a.id and r.json["seller"]["name"] == "甲店"
    assert r.json["seller"]["url"] == profile(a).url and r.json["seller"]["url"]
    assert api.get(f"/orders/{mine['id']}", user=buyer).json["seller"] is None
    login(buyer)
    html = client.get(f"/orders/{oa['id']}").get_data(as_text=True)
    assert f'href="{profile(a).url}"' in html and "甲店" in html


# --- order-center notices (MS5) -------------------------------------------------------


def test_order_notices_when_the_merchant_is_shut(api, client, factory, ms, login):
    """MS5: a shut merchant's order awaiting shipment says "if
    you have paid, contact the merchant"; awaiting receipt "if the goods do
    not arrive"; in the order API, the order page and the order list."""
    from jishi.orders import service as orders_service
    from jishi_multistore.orders import NOTICE_SHUT_PAID

    buyer, addr, a, b, sa, sb, own = mall(factory, ms)
    data = place(api, buyer, [(sa, 1), (sb, 1)], addr, "notice-1")
    pay_number(data["payments"][0]["number"])
    oa = next(o for o in data["orders"] if o["seller_id"] == a.id)
    ob = next(o for o in data["orders"] if o["seller_id"] == b.id)
    assert api.get(f"/orders/{oa['id']}", user=buyer).json["notices"] == []
    set_status(a, "shut")
    set_status(b, "shut")
    order_b = db.session.get(Order, ob["id"])
    orders_service.ship(order_b, carrier="顺丰", tracking_no="SF1", actor_kind="seller")
    assert api.get(f"/orders/{oa['id']}", user=buyer).json["notices"] == [
        "该商户已关闭，若已付款，请联系商家处理"
    ]  # zh_CN by default
    assert api.get(f"/orders/{ob['id']}", user=buyer).json["notices"] == [
        "该商户已关闭，若之后未收到货，请联系商家处理"
    ]
    login(buyer)
    assert "该商户已关闭，若已付款，请联系商家处理" in client.get(f"/orders/{oa['id']}").get_data(as_text=True)
    listing = client.get("/orders").get_data(as_text=True)
    assert "该商户已关闭，若已付款" in listing and "该商户已关闭，若之后未收到货" in listing
    assert (
        client.get(f"/orders/{oa['id']}", headers={"Accept-Language": "en"})
        .get_data(as_text=True)
        .count(NOTICE_SHUT_PAID)
        == 1
    )
    set_status(a, "resting")  # resting is not shut: no notice
    assert api.get(f"/orders/{oa['id']}", user=buyer).json["notices"] == []


class DrainsOneSku:
    """Another buyer takes one SKU's last units while this placement runs,
    after its quote read them and before it writes (their transaction,
    committed on a connection of its own), leaving every line to the
    kernel's batched stock UPDATE."""

    sku_id = None

    @hookimpl
    def order_discounts(self, checkout):
        from sqlalchemy import update

        if checkout.placing and self.sku_id is not None:
            with db.engine.begin() as conn:
                conn.execute(update(Sku).where(Sku.id == self.sku_id).values(stock=0))


DRAIN = DrainsOneSku()


@with_plugins(DRAIN)
def test_batched_stock_update_names_the_short_line_and_writes_nothing(api, factory, ms):
    """MS8/K7: the stock of every line is taken in one conditional statement;
    when one line is short at that moment (another buyer took it after the
    quote) the whole placement is refused (409 naming that line) and
    nothing is written, the other line's stock included."""
    buyer, addr, a, b, sa, sb, own = mall(factory, ms)
    DRAIN.sku_id = sb.id
    r = api.post(
        "/checkout/place", user=buyer, json=body([(sa, 2), (sb, 1)], addr), headers={"Idempotency-Key": "drain"}
    )
    assert r.status_code == 409, r.json
    assert r.json["code"] == "out_of_stock" and r.json["errors"][0]["line"] == f"sku:{sb.id}"
    db.session.expire_all()
    assert db.session.get(Sku, sa.id).stock == 10 and db.session.get(Sku, sb.id).stock == 0
    assert db.session.execute(select(func.count()).select_from(Order)).scalar_one() == 0
    DRAIN.sku_id = None
    db.session.get(Sku, sb.id).stock = 10  # restocked
    db.session.commit()
    data = place(api, buyer, [(sa, 2), (sb, 1)], addr, "drain-2")
    db.session.expire_all()
    assert db.session.get(Sku, sa.id).stock == 8 and db.session.get(Sku, sb.id).stock == 9
    assert len(data["orders"]) == 2


def test_checkout_page_shows_the_merchant_tag(client, factory, ms, login, api):
    """MS8/MS5: the checkout page titles each group with the shop and its state."""
    buyer, addr, a, b, sa, sb, own = mall(factory, ms)
    for sku in (sa, sb):
        api.post("/cart/items", user=buyer, json={"sku_id": sku.id, "quantity": 1})
    set_status(b, "resting")
    login(buyer)
    html = client.get("/checkout").get_data(as_text=True)
    assert profile(b).status_label in html and "乙店" in html
