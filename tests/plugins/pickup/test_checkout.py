"""PU1/PU2: the pickup option at checkout — offered when the seller has
active points (fee 0, no address), one point per order group, the point's
snapshot stored on the order; refusals name ``options.pickup``."""

from __future__ import annotations

import pytest
from jishi.db import db
from jishi.models import Order


def _preview(api, user, items, options=None, address_id=None):
    body = {"items": [{"sku_id": s, "quantity": q} for s, q in items], "options": options or {}}
    if address_id:
        body["address_id"] = address_id
    return api.post("/checkout/preview", user=user, json=body)


def _place(api, user, items, delivery, options=None, address_id=None, key="k1"):
    body = {"items": [{"sku_id": s, "quantity": q} for s, q in items], "delivery": delivery, "options": options or {}}
    if address_id:
        body["address_id"] = address_id
    return api.post("/checkout/place", user=user, json=body, headers={"Idempotency-Key": key})


def test_pickup_offered_only_with_active_points(app, api, factory, pk):
    """PU2: no active point -> no pickup option (standard delivery stays);
    an active point -> "pickup" at fee 0 without address."""
    buyer = factory.user()
    sku = factory.product(price=2000).skus[0].id
    resp = _preview(api, buyer, [(sku, 1)])
    assert resp.status_code == 200, resp.json
    codes = [o["code"] for o in resp.json["groups"][0]["delivery_options"]]
    assert codes == ["standard"]
    pk.point(None, name="停用店", is_active=False)
    codes = [o["code"] for o in _preview(api, buyer, [(sku, 1)]).json["groups"][0]["delivery_options"]]
    assert codes == ["standard"]
    pk.point(None, name="西湖店")
    opts = {o["code"]: o for o in _preview(api, buyer, [(sku, 1)]).json["groups"][0]["delivery_options"]}
    assert set(opts) == {"standard", "pickup"}
    assert opts["pickup"]["fee"] == 0


def test_single_point_used_without_choice_no_address(app, api, factory, pk):
    """PU2: the seller's only point is used when none is given; no address
    needed; the snapshot (name, address, hours, phone) goes on the order."""
    buyer = factory.user()
    sku = factory.product(price=2000).skus[0].id
    p = pk.point(None, name="西湖店", hours="08:00-22:00", phone="0571-1")
    resp = _place(api, buyer, [(sku, 1)], {"shop": "pickup"})
    assert resp.status_code == 201, resp.json
    order = db.session.execute(db.select(Order)).scalar_one()
    assert order.delivery_method == "pickup"
    assert order.delivery_fee == 0 and order.pay_amount == 2000
    assert order.address is None
    data = order.delivery_data
    assert (
        data["point_id"] == p.id
        and data["name"] == "西湖店"
        and data["hours"] == "08:00-22:00"
        and data["phone"] == "0571-1"
    )
    assert data["address"] == "杭州市南山路 1 号"
    assert "西湖店" in order.delivery_label


def test_two_points_require_a_choice(app, api, factory, pk):
    """PU2: two active points and none chosen -> a Problem naming options.pickup;
    choosing one places the order with that point."""
    buyer = factory.user()
    sku = factory.product(price=2000).skus[0].id
    pk.point(None, name="A店")
    b = pk.point(None, name="B店")
    resp = _place(api, buyer, [(sku, 1)], {"shop": "pickup"})
    assert resp.status_code == 422, resp.json
    assert resp.json["field"] == "options.pickup"
    assert db.session.scalar(db.select(db.func.count()).select_from(Order)) == 0
    resp = _place(api, buyer, [(sku, 1)], {"shop": "pickup"}, {"pickup": {"shop": b.id}}, key="k2")
    assert resp.status_code == 201, resp.json
    order = db.session.execute(db.select(Order)).scalar_one()
    assert order.delivery_data["point_id"] == b.id and order.delivery_data["name"] == "B店"


@pytest.mark.parametrize("bad", ["inactive", "other", "garbage", "missing_id", "not_a_dict", "bool"])
def test_bad_point_is_a_problem(app, api, factory, pk, bad):
    """PU2: an inactive point, another seller's point, garbage -> 422 naming
    options.pickup, nothing placed."""
    buyer = factory.user()
    sku = factory.product(price=2000).skus[0].id
    pk.point(None, name="A店")
    pk.point(None, name="B店")
    inactive = pk.point(None, name="停用", is_active=False)
    other = pk.point(999, name="别家")
    value = {
        "inactive": {"shop": inactive.id},
        "other": {"shop": other.id},
        "garbage": {"shop": "abc"},
        "missing_id": {"shop": 2**40},
        "not_a_dict": "x",
        "bool": {"shop": True},
    }[bad]
    resp = _place(api, buyer, [(sku, 1)], {"shop": "pickup"}, {"pickup": value})
    assert resp.status_code == 422, resp.json
    assert resp.json["field"] == "options.pickup"
    assert db.session.scalar(db.select(db.func.count()).select_from(Order)) == 0


def test_standard_delivery_still_needs_address(app, api, factory, pk):
    """PU2: choosing standard delivery with pickup points around still needs an address."""
    buyer = factory.user()
    sku = factory.product(price=2000).skus[0].id
    pk.point(None)
    resp = _place(api, buyer, [(sku, 1)], {"shop": "standard"})
    assert resp.status_code == 422
    address = factory.address(buyer)
    resp = _place(api, buyer, [(sku, 1)], {"shop": "standard"}, address_id=address.id, key="k2")
    assert resp.status_code == 201, resp.json


@pytest.mark.jishi_plugins("multistore", "pickup")
def test_cross_store_split_pickup(app, api, factory, pk, ms):
    """PU3: two merchants, two points, one checkout: each order keeps its own
    merchant's point; a point of the other merchant is refused."""
    m1, m2 = ms.merchant("茶庄"), ms.merchant("果园")
    p1 = pk.point(m1.id, name="茶庄门店")
    pk.point(m1.id, name="茶庄二店")
    p2 = pk.point(m2.id, name="果园门店")
    s1 = ms.product(m1, price=3000).skus[0].id
    s2 = ms.product(m2, price=1000).skus[0].id
    buyer = factory.user()
    preview = _preview(api, buyer, [(s1, 1), (s2, 2)])
    keys = {g["seller_id"]: g["key"] for g in preview.json["groups"]}
    assert all("pickup" in [o["code"] for o in g["delivery_options"]] for g in preview.json["groups"])
    delivery = {keys[m1.id]: "pickup", keys[m2.id]: "pickup"}
    # The other merchant's point for m1's group: refused.
    resp = _place(api, buyer, [(s1, 1), (s2, 2)], delivery, {"pickup": {keys[m1.id]: p2.id}}, key="x")
    assert resp.status_code == 422 and resp.json["field"] == "options.pickup"
    resp = _place(api, buyer, [(s1, 1), (s2, 2)], delivery, {"pickup": {keys[m1.id]: p1.id}}, key="y")
    assert resp.status_code == 201, resp.json
    orders = {o.seller_id: o for o in db.session.execute(db.select(Order)).scalars()}
    assert orders[m1.id].delivery_data["name"] == "茶庄门店"
    assert orders[m2.id].delivery_data["name"] == "果园门店"  # its only point
    assert all(o.delivery_method == "pickup" and o.delivery_fee == 0 for o in orders.values())


@pytest.mark.jishi_plugins("multistore", "pickup")
def test_cross_store_one_pickup_one_shipped(app, api, factory, pk, ms):
    """PU3: a merchant without points offers no pickup; the buyer ships that
    order and picks up the other in the same checkout."""
    m1, m2 = ms.merchant("茶庄"), ms.merchant("果园")
    pk.point(m1.id, name="茶庄门店")
    s1 = ms.product(m1, price=3000).skus[0].id
    s2 = ms.product(m2, price=1000).skus[0].id
    buyer = factory.user()
    address = factory.address(buyer)
    preview = _preview(api, buyer, [(s1, 1), (s2, 1)])
    groups = {g["seller_id"]: g for g in preview.json["groups"]}
    assert "pickup" not in [o["code"] for o in groups[m2.id]["delivery_options"]]
    resp = _place(
        api,
        buyer,
        [(s1, 1), (s2, 1)],
        {groups[m1.id]["key"]: "pickup", groups[m2.id]["key"]: "standard"},
        address_id=address.id,
    )
    assert resp.status_code == 201, resp.json
    orders = {o.seller_id: o for o in db.session.execute(db.select(Order)).scalars()}
    assert orders[m1.id].delivery_method == "pickup" and orders[m1.id].address is None
    assert orders[m2.id].delivery_method == "standard" and orders[m2.id].address is not None


def test_web_checkout_renders_point_select_and_places(app, client, factory, pk, login):
    """PU2: the web checkout shows the point select (opt.pickup.<group>) and
    the form places a pickup order with the chosen point. The select is
    hidden (still in the form) while another delivery is chosen, shown once
    pickup is (the page recalculated with it)."""
    buyer = factory.user()
    product = factory.product(price=2000)
    pk.point(None, name="A店")
    b = pk.point(None, name="B店")
    login(buyer)
    client.post("/cart/add", data={"sku_id": product.skus[0].id, "quantity": 1})
    page = client.get("/checkout")
    assert page.status_code == 200, page.status_code
    html = page.get_data(as_text=True)
    assert 'name="opt.pickup.shop"' in html and "B店" in html and 'value="pickup"' in html
    assert '<label class="pickup-point-choice" data-group="shop">' in html  # (no address: pickup chosen)
    shipped = client.get("/checkout?delivery-shop=standard").get_data(as_text=True)
    assert '<label class="pickup-point-choice" data-group="shop" hidden>' in shipped
    resp = client.post(
        "/checkout",
        data={"action": "place", "delivery-shop": "pickup", "opt.pickup.shop": str(b.id), "idempotency_key": "w1"},
    )
    assert resp.status_code in (302, 303), resp.status_code
    assert "/pay/" in resp.headers["Location"], resp.headers["Location"]
    order = db.session.execute(db.select(Order)).scalar_one()
    assert order.delivery_method == "pickup" and order.delivery_data["point_id"] == b.id


def test_preselection(app, api, factory, pk):
    """PU2: with no address and one point, pickup is preselected; with an
    address, standard delivery stays the default."""
    buyer = factory.user()
    sku = factory.product(price=2000).skus[0].id
    pk.point(None)
    assert _preview(api, buyer, [(sku, 1)]).json["groups"][0]["delivery"] == "pickup"
    address = factory.address(buyer)
    assert _preview(api, buyer, [(sku, 1)], address_id=address.id).json["groups"][0]["delivery"] == "standard"
