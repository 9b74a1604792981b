"""LD: the web side: the seller's settings and orders pages, the checkout
page's slot select (opt.local_slot.<group>), the order pages' delivery
block, and single-store authorization of the pages."""

from __future__ import annotations

import re

import pytest
from jishi.db import db
from jishi.models import Order
from jishi_delivery_local import service


def test_settings_page_saves_and_names_bad_fields(client, factory, login, ld):
    """LD: the platform admin sets the shop's local delivery in the console
    (yuan in the form, fen stored); bad input is a 422 naming the field, nothing saved."""
    admin = factory.admin()
    login(admin)
    page = client.get("/seller/local/settings")
    assert page.status_code == 200 and "Local delivery" in page.get_data(as_text=True)
    form = {
        "enabled": "1",
        "lat": "30.2741",
        "lng": "120.1551",
        "radius_m": "5000",
        "tiers": "5000 8\n3000 5.00",
        "min_amount": "20",
        "free_over": "99",
        "slots": "14:00-16:00 4\n10:00-12:00 5",
        "days_ahead": "3",
        "lead_minutes": "30",
    }
    resp = client.post("/seller/local/settings", data=form)
    assert resp.status_code == 302
    cfg = service.config_for(None)
    assert cfg.enabled and cfg.lat == 30.2741 and cfg.radius_m == 5000
    assert [(t.max_m, t.fee) for t in cfg.tiers] == [(3000, 500), (5000, 800)]  # sorted
    assert (cfg.min_amount, cfg.free_over) == (2000, 9900)
    assert [(w.key, w.capacity) for w in cfg.windows] == [("10:00-12:00", 5), ("14:00-16:00", 4)]
    page = client.get("/seller/local/settings").get_data(as_text=True)
    assert "3000 5.00" in page and "10:00-12:00 5" in page
    for field, value, name in (
        ("tiers", "6000 9", "tiers.0.max_distance_m"),  # beyond the radius
        ("tiers", "three 5", "tiers"),
        ("min_amount", "1.234", "min_amount"),
        ("slots", "12:00-10:00 3", "slots.0.end"),
        ("slots", "10:00-12:00 3\n11:00-13:00 3", "slots"),
        ("slots", "10:00-12:00 0", "slots.0.capacity"),
        ("lat", "abc", "lat"),
        ("lat", "95", "lat"),
        ("radius_m", "-5", "radius_m"),
        ("days_ahead", "30", "days_ahead"),
    ):
        resp = client.post("/seller/local/settings", data={**form, field: value})
        assert resp.status_code == 422, (field, value)
        assert f'data-field="{name}"' in resp.get_data(as_text=True), (field, value)
    assert service.config_for(None) == cfg
    # Enabled without coordinates is refused; disabled without them is fine.
    assert client.post("/seller/local/settings", data={**form, "lat": "", "lng": ""}).status_code == 422
    assert client.post("/seller/local/settings", data={**form, "enabled": "", "lat": "", "lng": ""}).status_code == 302
    assert not service.config_for(None).enabled


def test_settings_api_validation(api, factory, ld):
    """LD: PUT /seller/local/settings answers 422 naming the field; strict integers (fen)."""
    admin = factory.admin()
    good = ld.settings()
    assert api.put("/seller/local/settings", json=good, user=admin).status_code == 200
    for patch, field in (
        ({"min_amount": 20.5}, "min_amount"),
        ({"tiers": [{"max_distance_m": 3000, "fee": "5"}]}, "tiers.0.fee"),
        ({"tiers": [{"max_distance_m": 3000, "fee": 500}, {"max_distance_m": 3000, "fee": 800}]}, "tiers"),
        ({"tiers": []}, "tiers"),
        ({"slots": []}, "slots"),
        ({"slots": [{"start": "9:00", "end": "12:00", "capacity": 3}]}, "slots.0.start"),
        ({"lat": None}, "lat"),
        ({"radius_m": 60000}, "radius_m"),
        ({"free_over": 0}, "free_over"),
        ({"lead_minutes": -1}, "lead_minutes"),
    ):
        resp = api.put("/seller/local/settings", json={**good, **patch}, user=admin)
        assert resp.status_code == 422, patch
        assert resp.json["field"] == field, (patch, resp.json)
    assert api.get("/seller/local/settings", user=admin).json == {
        **good,
        "tiers": good["tiers"],
        "slots": good["slots"],
    }


def test_checkout_page_offers_slots_and_places(client, factory, login, ld):
    """LD: the checkout page renders a slot select per group (full slots
    disabled), hidden while another delivery is chosen; the form's
    opt.local_slot.<group> places the order with it."""
    ld.setup(
        slots=[{"start": "10:00", "end": "12:00", "capacity": 1}, {"start": "14:00", "end": "16:00", "capacity": 2}]
    )
    sku = factory.product(name="草莓", price=3000, stock=20).skus[0].id
    # someone already took the only 10:00 place tomorrow
    other = factory.user()
    from flask import current_app
    from jishi.checkout.service import place_order

    with current_app.test_request_context("/"):
        place_order(
            other,
            [(sku, 1)],
            factory.address(other, lat=ld.NEAR[0], lng=ld.NEAR[1]).id,
            {"delivery": {"shop": "local"}, "local_slot": {"shop": ld.tomorrow()}},
            idempotency_key="x",
        )
    buyer = factory.user()
    address = factory.address(buyer, lat=ld.NEAR[0], lng=ld.NEAR[1])
    login(buyer)
    client.post("/cart/add", data={"sku_id": sku, "quantity": 1})
    page = client.get("/checkout?delivery-shop=local").get_data(as_text=True)
    assert 'name="opt.local_slot.shop"' in page
    assert '<div class="local-slot" data-group="shop">' in page  # shown: local delivery is chosen
    other_way = client.get("/checkout?delivery-shop=standard").get_data(as_text=True)
    assert '<div class="local-slot" data-group="shop" hidden>' in other_way  # (still in the form)
    full = re.search(rf'<option value="{re.escape(ld.tomorrow())}"[^>]*>', page).group(0)
    assert "disabled" in full
    free = re.search(rf'<option value="{re.escape(ld.tomorrow("14:00-16:00"))}"[^>]*>', page).group(0)
    assert "disabled" not in free
    resp = client.post(
        "/checkout",
        data={
            "address_id": address.id,
            "delivery-shop": "local",
            "opt.local_slot.shop": ld.tomorrow("14:00-16:00"),
            "action": "place",
            "idempotency_key": "web-1",
        },
    )
    assert resp.status_code == 302 and "/pay/" in resp.headers["Location"]
    order = db.session.execute(db.select(Order).where(Order.user_id == buyer.id)).scalar_one()
    assert order.delivery_method == "local" and order.delivery_data["slot"] == ld.tomorrow("14:00-16:00")
    assert ld.used() == 2


def test_checkout_page_reasons(client, factory, login, ld):
    """LD: an address without coordinates shows the reason instead of slots."""
    ld.setup()
    sku = factory.product(price=3000, stock=20).skus[0].id
    buyer = factory.user()
    factory.address(buyer)
    login(buyer)
    client.post("/cart/add", data={"sku_id": sku, "quantity": 1})
    page = client.get("/checkout").get_data(as_text=True)
    assert "no location" in page and 'name="opt.local_slot.shop"' not in page


def test_seller_orders_page_and_buttons(client, api, factory, login, ld):
    """LD: the seller's local orders page lists by slot; the console buttons
    mark out for delivery, then delivered; the console order page shows them too."""
    ld.setup()
    buyer = factory.user()
    address = factory.address(buyer, lat=ld.NEAR[0], lng=ld.NEAR[1])
    sku = factory.product(price=3000, stock=20).skus[0].id
    resp = api.post(
        "/checkout/place",
        json=ld.body(sku, 1, address.id, slot=ld.tomorrow()),
        user=buyer,
        headers={"Idempotency-Key": "k"},
    )
    order_id = resp.json["orders"][0]["id"]
    ld.pay(db.session.get(Order, order_id).payment)
    admin = factory.admin()
    login(admin)
    page = client.get("/seller/local/orders").get_data(as_text=True)
    assert ld.tomorrow().split()[0] in page and "Out for delivery" in page
    console = client.get(f"/console/orders/{order_id}").get_data(as_text=True)
    assert "local-dispatch" in console and ld.tomorrow() in console
    bad = client.post(f"/seller/local/orders/{order_id}/dispatch", data={"courier_name": "", "courier_phone": "139"})
    assert bad.status_code == 302 and db.session.get(Order, order_id).status == "paid"
    resp = client.post(
        f"/seller/local/orders/{order_id}/dispatch",
        data={"courier_name": "王师傅", "courier_phone": "13900000001", "next": f"/console/orders/{order_id}"},
    )
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/console/orders/{order_id}")
    db.session.expire_all()
    assert db.session.get(Order, order_id).status == "shipped"
    assert "Mark delivered" in client.get("/seller/local/orders").get_data(as_text=True)
    client.post(f"/seller/local/orders/{order_id}/deliver", data={"next": "//evil.example/"})
    db.session.expire_all()
    assert db.session.get(Order, order_id).status == "received"
    assert db.session.get(Order, order_id).events[-1].actor_role == "seller"


@pytest.mark.parametrize(
    "who, settings_status, orders_status",
    [
        ("anonymous", 302, 302),
        ("buyer", 403, 403),
        ("staff", 403, 200),  # platform staff: orders but not settings
        ("admin", 200, 200),
    ],
)
def test_single_store_page_access(client, api, factory, login, ld, who, settings_status, orders_status):
    """LD: without multistore the platform acts for the shop: admin all,
    staff orders only, buyers and visitors nothing."""
    users = {"buyer": factory.user(), "staff": factory.user(role="platform_staff"), "admin": factory.admin()}
    if who != "anonymous":
        login(users[who])
    assert client.get("/seller/local/settings").status_code == settings_status
    assert client.get("/seller/local/orders").status_code == orders_status
    user = users.get(who)
    expected_api = {302: 401, 403: 403, 200: 200}
    assert api.get("/seller/local/settings", user=user).status_code == expected_api[settings_status]
    assert api.get("/seller/local/orders", user=user).status_code == expected_api[orders_status]
