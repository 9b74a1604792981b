"""Issue 16 "Points exchange (积分商城)": product items redeemed through the
kernel's checkout for points plus cash (the order's price is the cash
part; the points spent in the placing transaction), points short -> nothing
placed, the exchange stock and per-buyer limit, cancel and refunds giving
points, stock and the limit back exactly once; coupon items with the
coupons plugin, and the plugin working without it."""

from __future__ import annotations

import pytest
from jishi.db import commit, db
from jishi.orders.models import Order, OrderAllocation
from jishi.testing import flows
from jishi_points import exchange
from jishi_points.models import (
    PointsEntry,
    PointsExchangeItem,
    PointsExchangeRedemption,
)
from sqlalchemy import func, select

from .helpers import balance, coupon_template, exchange_item, give

OPT = "points_exchange"


def _opt(item) -> dict:
    return {OPT: {"item_id": item.id}}


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _codes(resp) -> set:
    return {e["code"] for e in resp["errors"]}


def _item(item_id) -> PointsExchangeItem:
    db.session.expire_all()
    return db.session.get(PointsExchangeItem, item_id)


def _used(item_id, user_id) -> int:
    return exchange.used_units(item_id, user_id)


def test_redeem_product_for_points_plus_cash_through_checkout(api, factory):
    """Issue 16/Points exchange: 2 units of a 300 points + ¥9.90 item: the
    preview prices the line at ¥9.90, the order's goods cost ¥19.80 (the
    cash part; its payment asks that plus the delivery fee), 600 points are
    spent in one ``spent`` entry (source ``exchange``), no discount
    allocation is written (points are not money off), the exchange stock,
    the buyer's units and the SKU's stock are taken; the order pays and
    completes like any order."""
    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product(price=5000, stock=20).skus[0]
    item = exchange_item(sku, points=300, cash=990, stock=5, per_user_limit=3)
    give(buyer, 1000)
    body = flows.checkout_body([(sku, 2)], addr, _opt(item))
    preview = api.post("/checkout/preview", user=buyer, json=body).json
    assert preview["problems"] == [], preview["problems"]
    data = flows.place_api(api, buyer, [(sku, 2)], addr, _opt(item))
    [o] = data["orders"]
    order = flows.fetch(o["id"])
    assert (order.goods_amount, order.discount_amount) == (1980, 0)
    assert order.pay_amount == 1980 + order.delivery_fee
    [line] = order.lines
    assert (line.unit_price, line.price_source) == (990, "points_exchange")
    assert _count(OrderAllocation, OrderAllocation.order_id == order.id) == 0
    assert balance(buyer) == (400, 0)
    [spent] = db.session.scalars(select(PointsEntry).where(PointsEntry.kind == "spent")).all()
    r = db.session.scalars(select(PointsExchangeRedemption)).one()
    assert (spent.delta, spent.source_kind, spent.source_id) == (-600, "exchange", r.id)
    assert (r.order_id, r.quantity, r.points, r.cash) == (order.id, 2, 600, 1980)
    assert _item(item.id).sold == 2 and _used(item.id, buyer.id) == 2
    assert flows.fetch(order).lines[0].quantity == 2
    from jishi.catalog.models import Sku

    assert db.session.get(Sku, sku.id).stock == 18
    flows.pay(data["payments"][0]["number"])
    done = flows.complete(order)
    assert done.status == "completed"
    assert balance(buyer)[0] == 400 + done.lines[0].pay_amount // 100  # the cash part earns like any payment


def test_points_short_places_nothing(api, factory):
    """Issue 16/Points exchange: 250 points for a 300-point item: refused
    (422 naming ``points``), nothing written; a malformed option, a variant
    that is not the item's and points deduction on top are refused too."""
    buyer = factory.user()
    addr = factory.address(buyer)
    product = factory.product(price=5000, stock=20)
    other = factory.product(price=100, stock=20).skus[0]
    sku = product.skus[0]
    item = exchange_item(sku, points=300)
    give(buyer, 250)
    resp = flows.place_api(api, buyer, [(sku, 1)], addr, _opt(item), expect=422)
    assert {"code": "points_short", "field": "points"}.items() <= resp.items(), resp
    give(buyer, 1000)
    for options, field in (
        ({OPT: {"item_id": "x"}}, f"options.{OPT}.item_id"),
        ({OPT: {"item_id": 999999}}, f"options.{OPT}.item_id"),
        ({OPT: {"item_id": item.id}, "points": 100}, "points"),
    ):
        resp = flows.place_api(api, buyer, [(sku, 1)], addr, options, expect=422)
        assert field in {e["field"] for e in resp["errors"]}, (options, resp)
    resp = flows.place_api(api, buyer, [(other, 1)], addr, _opt(item), expect=422)
    assert "exchange_sku" in _codes(resp), resp
    resp = flows.place_api(api, buyer, [(sku, 1), (other, 1)], addr, _opt(item), expect=422)
    assert "exchange_lines" in _codes(resp), resp
    assert _count(Order) == 0 and _count(PointsExchangeRedemption) == 0
    assert balance(buyer) == (1250, 0) and _item(item.id).sold == 0


def test_per_buyer_limit_stock_and_window(api, factory):
    """Issue 16/Points exchange: the per-buyer limit (2) and the stock (3)
    are never passed; a stopped item, one not started or ended is refused."""
    from datetime import timedelta

    from jishi.db import utcnow

    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product(price=5000, stock=20).skus[0]
    item = exchange_item(sku, points=10, stock=3, per_user_limit=2)
    give(buyer, 1000)
    flows.place_api(api, buyer, [(sku, 3)], addr, _opt(item), expect=422)
    flows.place_api(api, buyer, [(sku, 2)], addr, _opt(item))
    resp = flows.place_api(api, buyer, [(sku, 1)], addr, _opt(item), expect=422)
    assert resp["code"] == "limit" and resp["field"] == "items", resp  # the kernel's quantity_limit check
    other = factory.user()
    give(other, 1000)
    oaddr = factory.address(other)
    resp = flows.place_api(api, other, [(sku, 2)], oaddr, _opt(item), expect=422)  # 1 left
    flows.place_api(api, other, [(sku, 1)], oaddr, _opt(item))
    assert _item(item.id).sold == 3
    resp = flows.place_api(api, other, [(sku, 1)], oaddr, _opt(item), expect=422)
    assert "exchange_sold_out" in _codes(resp), resp
    fresh = exchange_item(sku, points=10, starts_at=utcnow() + timedelta(hours=1))
    assert "exchange_upcoming" in _codes(flows.place_api(api, other, [(sku, 1)], oaddr, _opt(fresh), expect=422))
    exchange.set_enabled(fresh, False)
    commit()
    assert "exchange_off" in _codes(flows.place_api(api, other, [(sku, 1)], oaddr, _opt(fresh), expect=422))
    assert balance(buyer) == (980, 0) and balance(other) == (990, 0)


def test_cancel_gives_points_stock_and_limit_back_once(api, factory):
    """Issue 16/Points exchange: an unpaid exchange order cancelled gives
    the points, the exchange stock and the buyer's limit back; a redelivered
    cancel gives nothing more."""
    from jishi.orders import service as orders

    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product(price=5000, stock=20).skus[0]
    item = exchange_item(sku, points=150, stock=2, per_user_limit=2)
    give(buyer, 500)
    data = flows.place_api(api, buyer, [(sku, 2)], addr, _opt(item))
    assert balance(buyer) == (200, 0) and _item(item.id).sold == 2
    order = flows.fetch(data["orders"][0]["id"])
    orders.cancel(order, actor_kind="buyer")
    commit()
    assert balance(buyer) == (500, 0)
    assert _item(item.id).sold == 0 and _used(item.id, buyer.id) == 0
    exchange.on_order_transition(flows.fetch(order), "cancel")  # redelivered
    exchange.on_order_transition(flows.fetch(order), "close")
    commit()
    assert balance(buyer) == (500, 0) and _item(item.id).sold == 0
    refunded = db.session.scalars(select(PointsEntry).where(PointsEntry.kind == "refunded")).all()
    assert [(e.delta, e.source_kind) for e in refunded] == [(300, "exchange")]
    flows.place_api(api, buyer, [(sku, 2)], addr, _opt(item))  # the limit and stock are free again


@pytest.mark.parametrize("points", [100, 7])
def test_partial_refunds_give_back_exactly(api, factory, points):
    """Issue 16/Points exchange: 3 units refunded one by one give back
    ``points * refunded // 3`` cumulatively (the sum exactly what was
    spent), one unit of stock and limit each; a redelivered refund gives
    nothing more."""
    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product(price=5000, stock=20).skus[0]
    item = exchange_item(sku, points=points, stock=5, per_user_limit=3)
    give(buyer, 1000)
    data = flows.place_api(api, buyer, [(sku, 3)], addr, _opt(item))
    flows.pay(data["payments"][0]["number"])
    order = flows.fetch(data["orders"][0]["id"])
    line_id = order.lines[0].id
    spent = points * 3
    for i in range(1, 4):
        refund = flows.refund(order, [(line_id, 1)])
        r = db.session.scalars(select(PointsExchangeRedemption)).one()
        assert (r.units_released, r.points_returned) == (i, spent * i // 3)
        assert _item(item.id).sold == 3 - i and _used(item.id, buyer.id) == 3 - i
        exchange.on_refund(refund)  # redelivered
        commit()
    back = db.session.scalars(select(PointsEntry.delta).where(PointsEntry.kind == "refunded")).all()
    assert sum(back) == spent and len(back) == 3
    assert flows.fetch(order).status == "closed"
    assert balance(buyer)[0] == 1000


def test_product_item_needs_a_sku_and_whole_cash(app, factory):
    """Issue 16/Points exchange: a product item's cash part is from 0
    (points only: the kernel pays a ¥0 order at once) to the maximum; bad
    input names its field."""
    sku = factory.product(price=5000, stock=20).skus[0]
    for values, field in (
        ({"cash": -1}, "cash"),
        ({"cash": exchange.MAX_CASH + 1}, "cash"),
        ({"cash": None}, "cash"),
        ({"sku_id": 999999}, "sku_id"),
        ({"points": 0}, "points"),
        ({"stock": -1}, "stock"),
        ({"per_user_limit": 10001}, "per_user_limit"),
        ({"title": " "}, "title"),
        ({"kind": "gift"}, "kind"),
        ({"kind": "coupon", "coupon_template_id": 1}, "kind"),  # the coupons plugin is not enabled
    ):
        with pytest.raises(exchange.ExchangeError) as exc:
            exchange_item(sku, commit_it=False, **values)
        db.session.rollback()
        assert exc.value.field == field, (values, exc.value.field)
    assert _count(PointsExchangeItem) == 0
    item = exchange_item(sku, points=5, stock=3)
    db.session.get(PointsExchangeItem, item.id).sold = 2
    commit()
    with pytest.raises(exchange.ExchangeError) as exc:
        exchange.save_item({"title": "x", "points": 5, "cash": 1, "stock": 1}, _item(item.id))
    assert exc.value.field == "stock"


def test_points_only_product_is_paid_at_once_and_refund_gives_points_back(api, factory):
    """Issue 16/Points exchange, ¥0 orders: a points-only item (cash 0) with
    no delivery fee places an order of ¥0, paid at once by the kernel's
    ``free`` gateway (no payment page): 200 points spent, the exchange and
    SKU stock taken; the same Idempotency-Key again spends and pays
    nothing more; a refund (no money moves) gives the points, the exchange
    stock and the limit back through ``settle_refund``."""
    from jishi import settings
    from jishi.catalog.models import Sku

    settings.set_many({"delivery.flat_fee": 0})
    commit()
    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product(price=5000, stock=20).skus[0]
    item = exchange_item(sku, points=100, cash=0, stock=5, per_user_limit=2)
    give(buyer, 500)
    data = flows.place_api(api, buyer, [(sku, 2)], addr, _opt(item), key="points-only")
    [p] = data["payments"]
    assert (p["amount"], p["status"], p["method"]) == (0, "paid", "free")
    again = flows.place_api(api, buyer, [(sku, 2)], addr, _opt(item), key="points-only", expect=200)
    assert again["replayed"] and again["payments"][0]["id"] == p["id"]
    order = flows.fetch(data["orders"][0]["id"])
    assert (order.status, order.pay_amount, order.lines[0].unit_price) == ("paid", 0, 0)
    assert balance(buyer) == (300, 0)
    assert _item(item.id).sold == 2 and db.session.get(Sku, sku.id).stock == 18
    refund = flows.refund(order)
    db.session.expire_all()
    assert refund.status == "refunded"
    assert balance(buyer) == (500, 0)
    assert _item(item.id).sold == 0 and _used(item.id, buyer.id) == 0
    refunded = db.session.scalars(select(PointsEntry).where(PointsEntry.kind == "refunded")).all()
    assert [(e.delta, e.source_kind, e.source_id) for e in refunded] == [(200, "refund", refund.id)]


# -- coupons ---------------------------------------------------------------------------------


@pytest.mark.jishi_plugins("coupons", "points")
def test_coupon_item_redeemed_for_points(api, factory):
    """Issue 16/Points exchange with coupons: redeeming spends the points and
    issues the coupon in one transaction (source ``exchange``); the item's
    per-buyer limit (2) and the coupon's own limits are kept; a refusal
    writes nothing; an ``Idempotency-Key`` retry answers the first
    redemption."""
    from jishi_coupons.models import CouponTemplate, UserCoupon

    t = coupon_template(per_user_limit=5, total_quantity=100)
    item = exchange_item(kind="coupon", coupon_template_id=t.id, points=300, stock=10, per_user_limit=2)
    buyer = factory.user()
    give(buyer, 700)
    url = f"/points/exchange/{item.id}/redeem"
    first = api.post(url, user=buyer, headers={"Idempotency-Key": "r1"})
    assert first.status_code == 201, first.json
    assert first.json["balance"] == 400 and first.json["replayed"] is False
    coupon = db.session.get(UserCoupon, first.json["coupon_id"])
    assert (coupon.user_id, coupon.template_id, coupon.source) == (buyer.id, t.id, "exchange")
    again = api.post(url, user=buyer, headers={"Idempotency-Key": "r1"})
    assert again.status_code == 200 and again.json["replayed"] is True
    assert again.json["redemption_id"] == first.json["redemption_id"] and again.json["balance"] == 400
    assert api.post(url, user=buyer).status_code == 201
    third = api.post(url, user=buyer)
    assert third.status_code == 409 and third.json["code"] == "limit", third.json
    assert balance(buyer) == (100, 0)
    poor = factory.user()
    give(poor, 299)
    short = api.post(url, user=poor)
    assert short.status_code == 409 and short.json["field"] == "points", short.json
    assert balance(poor) == (299, 0) and _used(item.id, poor.id) == 0
    # the coupon's own stock: sold out there refuses, nothing taken here
    db.session.get(CouponTemplate, t.id).claimed_count = 100
    commit()
    rich = factory.user()
    give(rich, 1000)
    out = api.post(url, user=rich)
    assert out.status_code == 409 and out.json["code"] == "sold_out", out.json
    assert balance(rich) == (1000, 0) and _item(item.id).sold == 2
    assert _count(UserCoupon) == 2
    assert api.post(f"/points/exchange/{item.id}/redeem").status_code == 401


@pytest.mark.jishi_plugins("coupons", "points")
def test_coupon_issue_is_idempotent_by_key(app, factory):
    """Issue 16/Points exchange: ``jishi_coupons.service.issue`` with a key
    issued before answers the same coupon and takes nothing more; the
    template's per-buyer limit holds."""
    from jishi_coupons import service as coupons
    from jishi_coupons.models import CouponTemplate

    t = coupon_template(per_user_limit=1)
    buyer = factory.user()
    c1 = coupons.issue(t.id, buyer.id, source="test", key="k1")
    commit()
    assert coupons.issue(t.id, buyer.id, source="test", key="k1").id == c1.id
    commit()
    assert db.session.get(CouponTemplate, t.id).claimed_count == 1
    with pytest.raises(coupons.CouponError) as exc:
        coupons.issue(t.id, buyer.id, source="test", key="k2")
    db.session.rollback()
    assert exc.value.code == "limit"
    with pytest.raises(coupons.CouponError):
        coupons.issue(t.id, factory.user().id, source="test", key="k1")  # another buyer's key
    db.session.rollback()


@pytest.mark.jishi_plugins("coupons", "points")
def test_product_redeemed_web_with_coupons_enabled(api, factory):
    """Issue 16/Points exchange: with coupons enabled a product item still
    redeems through the checkout (coupons apply to the cash part like any
    price)."""
    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product(price=5000, stock=20).skus[0]
    item = exchange_item(sku, points=100, cash=500)
    give(buyer, 100)
    data = flows.place_api(api, buyer, [(sku, 1)], addr, _opt(item))
    assert data["orders"][0]["goods_amount"] == 500 and balance(buyer) == (0, 0)


def test_works_without_coupons(api, factory):
    """Issue 16/Points exchange: without the coupons plugin a coupon item
    (left from when it was enabled) is hidden and cannot be redeemed;
    product items work."""
    sku = factory.product(price=5000, stock=20).skus[0]
    product_item = exchange_item(sku, points=10)
    coupon_item = PointsExchangeItem(kind="coupon", title="券", coupon_template_id=1, points=10, cash=0, stock=5)
    db.session.add(coupon_item)
    commit()
    buyer = factory.user()
    give(buyer, 100)
    listed = api.get("/points/exchange", user=buyer).json["items"]
    assert [i["id"] for i in listed] == [product_item.id]
    assert api.get(f"/points/exchange/{coupon_item.id}", user=buyer).status_code == 404
    assert api.post(f"/points/exchange/{coupon_item.id}/redeem", user=buyer).status_code == 404
    assert api.post(f"/points/exchange/{product_item.id}/redeem", user=buyer).status_code == 409
    assert balance(buyer) == (100, 0)
    flows.place_api(api, buyer, [(sku, 1)], factory.address(buyer), _opt(product_item))
    assert balance(buyer) == (90, 0)


def test_api_lists_items_with_availability(api, factory):
    """Issue 16/Surfaces: ``GET /api/v1/points/exchange`` and ``/<id>``:
    the items, with the signed-in buyer's availability (null signed out)."""
    sku = factory.product(price=5000, stock=20).skus[0]
    cheap = exchange_item(sku, points=50, per_user_limit=0, sort=1)
    dear = exchange_item(sku, points=5000, sort=0)
    off = exchange_item(sku, points=1, enabled=False)
    buyer = factory.user()
    give(buyer, 100)
    data = api.get("/points/exchange", user=buyer).json
    assert [i["id"] for i in data["items"]] == [dear.id, cheap.id]
    by_id = {i["id"]: i for i in data["items"]}
    assert by_id[cheap.id]["availability"] == {
        "state": "running",
        "remaining": 10,
        "used": 0,
        "limit_left": None,
        "balance": 100,
        "can_redeem": True,
        "reason": "",
    }
    assert by_id[dear.id]["availability"]["can_redeem"] is False
    assert by_id[dear.id]["sku_id"] == sku.id and by_id[dear.id]["cash"] == 990
    anon = api.get(f"/points/exchange/{cheap.id}")
    assert anon.status_code == 200 and anon.json["availability"] is None
    assert api.get(f"/points/exchange/{off.id}").status_code == 404
    assert api.get("/points/exchange/0").status_code == 404
