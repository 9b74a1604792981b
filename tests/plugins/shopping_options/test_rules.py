"""Issue 18 (全局购物选项, seed 001 §2.3.1; SPEC MS7 "global shopping
options"): minimum and maximum per order, the per-buyer limit (given back on
cancel and refund), buy-now only, member levels only; defaults, overrides
and caps; enforced at the cart (``cart_line_problems``) and the checkout
(``validate_checkout``), answered 4xx naming the field."""

from __future__ import annotations

import pytest
from jishi.accounts.models import MemberLevel
from jishi.cart.models import CartLine
from jishi.checkout.errors import CheckoutError
from jishi.db import commit, db
from jishi.errors import DomainError
from jishi.orders import service as orders
from jishi.testing import flows
from jishi_shopping_options import service

from . import helpers as so


def _add(api, user, sku_id, quantity=1):
    return api.post("/cart/items", user=user, json={"sku_id": sku_id, "quantity": quantity})


def test_buy_now_only_refused_by_the_cart(app, api, factory):
    """Issue 18: a buy-now-only product never goes in the cart: 409 naming
    ``sku_id``, nothing written; other products still do."""
    p = factory.product(price=1000, stock=10)
    other = factory.product(price=500, stock=10)
    so.options(p, buy_now_only=True)
    u = so.buyer(factory)
    resp = _add(api, u, p.skus[0].id)
    assert resp.status_code == 409, resp.get_json()
    body = resp.get_json()
    assert (body["code"], body["field"]) == ("buy_now_only", "sku_id")
    assert db.session.scalar(db.select(db.func.count()).select_from(CartLine)) == 0
    assert _add(api, u, other.skus[0].id).status_code == 201


def test_buy_now_only_is_bought_without_the_cart(app, api, factory):
    """Issue 18: buy now (items named) places; a cart checkout holding the
    product (a line added before the option was set) is refused."""
    p = factory.product(price=1000, stock=10)
    u = so.buyer(factory)
    assert _add(api, u, p.skus[0].id).status_code == 201
    so.options(p, buy_now_only=True)
    body = flows.place_api(api, u, [(p.skus[0].id, 1)], flows.address_id(u))
    assert body["orders"]
    resp = api.post(
        "/checkout/place", user=u, json={"address_id": flows.address_id(u)}, headers={"Idempotency-Key": "cart-1"}
    )
    assert resp.status_code == 422 and resp.get_json()["code"] == "buy_now_only"
    assert resp.get_json()["field"] == "items"


def test_max_per_order_in_cart_and_checkout(app, api, factory):
    """Issue 18: at most N per order: the cart refuses a line above it
    (409, field ``quantity``, also when a second add passes it); the checkout too."""
    p = factory.product(price=1000, stock=50)
    so.options(p, max_per_order=2)
    u = so.buyer(factory)
    sku = p.skus[0].id
    assert _add(api, u, sku, 2).status_code == 201
    resp = _add(api, u, sku, 1)
    assert resp.status_code == 409 and resp.get_json()["field"] == "quantity"
    assert resp.get_json()["code"] == "max_per_order"
    line_id = db.session.scalar(db.select(CartLine.id))
    resp = api.patch(f"/cart/items/{line_id}", user=u, json={"quantity": 3})
    assert resp.status_code == 409 and resp.get_json()["code"] == "max_per_order"
    with pytest.raises(CheckoutError) as exc:
        so.place(u, sku, 3)
    assert exc.value.code == "max_per_order" and exc.value.field == "items.quantity"
    assert so.place(u, sku, 2).id


def test_min_per_order_counts_every_variant_of_the_product(app, factory):
    """Issue 18: at least N per order, over all the product's variants together."""
    p = factory.product(price=1000, skus=[{"price": 1000, "stock": 9}, {"price": 1200, "stock": 9}])
    so.options(p, min_per_order=3)
    u = so.buyer(factory)
    with pytest.raises(CheckoutError) as exc:
        so.place(u, p.skus[0].id, 2)
    assert exc.value.code == "min_per_order" and "3" in exc.value.message
    payments = flows.place(u, [(p.skus[0].id, 2), (p.skus[1].id, 1)], flows.address_id(u))
    assert payments[0].orders


def test_per_buyer_limit_counts_pending_and_paid_and_gives_back_on_cancel(app, factory):
    """Issue 18: at most N per buyer over time: pending and paid orders
    count; a cancelled order gives its units back exactly once."""
    p = factory.product(price=1000, stock=50)
    so.options(p, max_per_buyer=2)
    u, other = so.buyer(factory), so.buyer(factory)
    sku = p.skus[0].id
    first = so.place(u, sku, 1)
    flows.pay(flows.payment_of(first))
    second = so.place(u, sku, 1)  # pending
    assert so.held(p.id, u.id) == 2
    with pytest.raises(CheckoutError) as exc:
        so.place(u, sku, 1)
    assert exc.value.code == "max_per_buyer" and exc.value.field == "items.quantity"
    assert so.place(other, sku, 2).id  # another buyer has a limit of their own
    orders.cancel(flows.fetch(second), actor_kind="buyer")
    commit()
    assert so.held(p.id, u.id) == 1
    service.on_order_transition(flows.fetch(second), "cancel")  # a redelivered event
    commit()
    assert so.held(p.id, u.id) == 1
    assert so.place(u, sku, 1).id


def test_per_buyer_limit_given_back_on_refund(app, factory):
    """Issue 18: refunded units leave the buyer's count (partial refunds add up, once)."""
    p = factory.product(price=1000, stock=50)
    so.options(p, max_per_buyer=3)
    u = so.buyer(factory)
    order = so.place(u, p.skus[0].id, 3)
    flows.pay(flows.payment_of(order))
    order = flows.fetch(order)
    line = order.lines[0]
    flows.refund(order, [(line.id, 1)])
    assert so.held(p.id, u.id) == 2
    service.on_refund(type("R", (), {"order_id": order.id})())  # redelivered: nothing twice
    commit()
    assert so.held(p.id, u.id) == 2
    assert so.place(u, p.skus[0].id, 1).id
    with pytest.raises(CheckoutError):
        so.place(u, p.skus[0].id, 1)


def _level(name, rank):
    level = MemberLevel(name=name, rank=rank)
    db.session.add(level)
    commit()
    return level


def test_member_levels_only(app, api, factory):
    """Issue 18: a product for given member levels: a visitor sees it not
    purchasable with the reason, a buyer without the level is refused at
    the cart (409) and the checkout, a buyer with it buys."""
    gold, silver = _level("金卡", 2), _level("银卡", 1)
    p = factory.product(price=1000, stock=10)
    so.options(p, member_levels=[gold.id])
    visitor = api.get(f"/products/{p.id}", headers={"Accept-Language": "zh-CN"}).get_json()
    assert visitor["purchasable"] is False
    assert "金卡" in visitor["blockers"][0]["message"]
    plain = so.buyer(factory, member_level_id=silver.id)
    resp = _add(api, plain, p.skus[0].id)
    assert resp.status_code == 409 and resp.get_json()["code"] == "member_level_only"
    with pytest.raises(CheckoutError) as exc:
        so.place(plain, p.skus[0].id)
    assert exc.value.code == "member_level_only"
    member = so.buyer(factory, member_level_id=gold.id)
    assert _add(api, member, p.skus[0].id).status_code == 201
    assert so.place(member, p.skus[0].id).id


def test_defaults_overrides_and_caps(app, factory):
    """Issue 18: precedence: the override, else the platform default; the
    platform's caps bound both maxima; 0 is no limit."""
    p, q = factory.product(price=100, stock=9), factory.product(price=100, stock=9)
    so.defaults(max_per_buyer=3, min_per_order=2)
    so.options(p, max_per_buyer=5, min_per_order=0)
    opts = service.load([p.id, q.id], None)
    assert opts[p.id][0].max_per_buyer == 5 and opts[p.id][0].min_per_order == 0
    assert opts[q.id][0].max_per_buyer == 3 and opts[q.id][0].min_per_order == 2
    so.defaults(cap_per_buyer=4, cap_per_order=6)
    opts = service.load([p.id, q.id], None)
    assert opts[p.id][0].max_per_buyer == 4  # the cap bounds the override
    assert (opts[q.id][0].max_per_buyer, opts[q.id][0].max_per_order) == (3, 6)


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"min_per_order": 5, "max_per_order": 2}, "min_per_order"),
        ({"min_per_order": 5, "max_per_buyer": 3}, "min_per_order"),
        ({"max_per_order": -1}, "max_per_order"),
        ({"max_per_buyer": 10000}, "max_per_buyer"),
        ({"max_per_buyer": "2"}, "max_per_buyer"),
        ({"buy_now_only": "yes"}, "buy_now_only"),
        ({"member_levels": [999]}, "member_levels"),
    ],
)
def test_bad_overrides_name_the_field(app, factory, values, field):
    """Issue 18: bad overrides are refused naming the field, nothing written."""
    p = factory.product(price=100, stock=9)
    with pytest.raises(DomainError) as exc:
        service.save(p, values)
    assert exc.value.field == field
    db.session.rollback()
    assert service.overrides([p.id]) == {}


def test_an_override_above_the_cap_is_refused(app, factory):
    """Issue 18: a merchant may tighten the platform's cap, never loosen it (0 = unlimited is above any cap)."""
    p = factory.product(price=100, stock=9)
    so.defaults(cap_per_buyer=4)
    for value in (5, 0):
        with pytest.raises(DomainError) as exc:
            service.save(p, {"max_per_buyer": value})
        assert exc.value.field == "max_per_buyer"
        db.session.rollback()
    assert so.options(p, max_per_buyer=4).max_per_buyer == 4
