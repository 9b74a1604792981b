"""Group-buy flows through the JSON API and the kernel's services (SPEC GB)."""

from __future__ import annotations

import pytest
from jishi.catalog.models import Sku
from jishi.db import db
from jishi.orders import service as orders_service
from jishi.payments.models import SandboxTrade
from jishi_groupbuy import service

from . import helpers as gb


@pytest.fixture
def setup(app, factory):
    product = factory.product(price=1000, stock=20)
    activity = gb.activity(product, size=3, price=600)
    return product, product.skus[0].id, activity


def test_open_prices_and_group_waits_for_leader_payment(api, factory, setup):
    """GB: the group price applies only with options.groupbuy; the group opens (forming) when the leader pays."""
    product, sku_id, activity = setup
    leader = gb.buyer(factory)
    plain = api.post(
        "/checkout/preview",
        json={"items": [{"sku_id": sku_id, "quantity": 1}], "address_id": gb.address_id(leader)},
        user=leader,
    )
    assert plain.status_code == 200, plain.json
    assert plain.json["groups"][0]["lines"][0]["unit_price"] == 1000
    resp = gb.place_api(api, leader, sku_id, activity.id)
    assert resp.status_code == 201, resp.json
    order_id = resp.json["orders"][0]["id"]
    order = gb.order(order_id)
    assert order.pay_amount == 600 + order.delivery_fee
    assert order.lines[0].price_source == "groupbuy"
    group = gb.group_of(order)
    assert group.state == service.PENDING and group.seats == 1 and group.paid == 0
    # not listed before the leader pays
    assert api.get(f"/groupbuy/products/{product.id}").json["groups"] == []
    gb.pay(order)
    group = gb.group_of(order)
    assert group.state == service.FORMING and group.paid == 1 and group.expires_at is not None
    listed = api.get(f"/groupbuy/products/{product.id}").json
    assert [g["token"] for g in listed["groups"]] == [group.token]
    assert listed["skus"][0]["group_price"] == 600


def test_join_by_token_success_releases_orders_for_shipping(api, factory, setup):
    """GB: others join by the share token; the group succeeds when paid members reach the size; only then orders ship."""
    _product, sku_id, activity = setup
    admin = factory.admin()
    a, b, c = (gb.buyer(factory) for _ in range(3))
    first = gb.order(gb.place_api(api, a, sku_id, activity.id).json["orders"][0]["id"])
    gb.pay(first)
    token = gb.group_of(first).token
    detail = api.get(f"/groupbuy/groups/{token}", user=b).json
    assert detail["state"] == "forming" and detail["joinable"] is True and detail["paid"] == 1
    second = gb.order(gb.place_api(api, b, sku_id, activity.id, token).json["orders"][0]["id"])
    gb.pay(second)
    # a paid member of a forming group cannot be shipped
    resp = api.post(
        f"/admin/orders/{first.id}/ship",
        json={"carrier": "SF", "tracking_no": "1"},
        user=admin,
        headers={"Accept-Language": "en"},
    )
    assert resp.status_code == 409, resp.json
    assert resp.json["field"] == "status" and "waits for its group to fill (2 of 3 paid)" in resp.json["message"], (
        resp.json
    )
    assert gb.order(first.id).status == "paid"
    with pytest.raises(service.GroupNotReady):
        orders_service.ship(gb.order(second.id), carrier="SF", tracking_no="2", actor_kind="platform")
    db.session.rollback()
    third = gb.order(gb.place_api(api, c, sku_id, activity.id, token).json["orders"][0]["id"])
    gb.pay(third)
    group = gb.group_of(third)
    assert group.state == service.SUCCEEDED and group.paid == 3 and group.seats == 3
    for o in (first, second, third):
        resp = api.post(f"/admin/orders/{o.id}/ship", json={"carrier": "SF", "tracking_no": f"T{o.id}"}, user=admin)
        assert resp.status_code == 200, resp.json
        assert gb.order(o.id).status == "shipped"


def test_full_group_refuses_more_joiners(api, factory, app):
    """GB: a full group (every seat reserved) refuses a further joiner with a 4xx naming the token."""
    product = factory.product(price=1000, stock=20)
    activity = gb.activity(product, size=2)
    sku_id = product.skus[0].id
    a, b, c = (gb.buyer(factory) for _ in range(3))
    first = gb.place(a, sku_id, activity.id)
    gb.pay(first)
    token = gb.group_of(first).token
    gb.place(b, sku_id, activity.id, token)  # takes the last seat, unpaid
    resp = gb.place_api(api, c, sku_id, activity.id, token)
    assert resp.status_code == 422, resp.json
    assert resp.json["field"] == "options.groupbuy.group_token"


def test_unpaid_joiner_seat_is_released_when_order_closes(api, factory):
    """GB: a seat is reserved at placement; an unpaid joiner's seat is freed exactly once when the order closes."""
    product = factory.product(price=1000, stock=20)
    activity = gb.activity(product, size=2)
    sku_id = product.skus[0].id
    a, b, c = (gb.buyer(factory) for _ in range(3))
    first = gb.place(a, sku_id, activity.id)
    gb.pay(first)
    token = gb.group_of(first).token
    squatter = gb.place(b, sku_id, activity.id, token)
    assert gb.group_of(first).seats == 2
    orders_service.cancel(gb.order(squatter.id), actor_kind="buyer")
    group = gb.group_of(first)
    assert group.seats == 1 and group.state == service.FORMING
    assert gb.member_of(squatter).status == "left"
    # the freed seat is taken by someone else; the group succeeds
    late = gb.place(c, sku_id, activity.id, token)
    gb.pay(late)
    assert gb.group_of(first).state == service.SUCCEEDED
    # a second close of the same member frees nothing more
    service._left_unpaid(gb.member_of(squatter), gb.group_of(first), service.now())
    assert gb.group_of(first).seats == 2


def test_failure_refunds_every_paid_member_and_restores_stock(app, factory, setup):
    """GB: an expired group fails in the worker job; every paid member is refunded through after-sales,
    unpaid members' orders are cancelled, stock comes back; a second run refunds nothing twice."""
    _product, sku_id, activity = setup
    a, b, c = (gb.buyer(factory) for _ in range(3))
    first = gb.place(a, sku_id, activity.id, quantity=2)
    gb.pay(first)
    token = gb.group_of(first).token
    second = gb.place(b, sku_id, activity.id, token)
    gb.pay(second)
    unpaid = gb.place(c, sku_id, activity.id, token)
    db.session.expire_all()
    assert db.session.get(Sku, sku_id).stock == 20 - 4
    gb.expire(gb.group_of(first))
    summary = service.expire_groups()
    assert "1 groups failed" in summary and "2 members refunded" in summary and "1 unpaid orders cancelled" in summary
    group = gb.group_of(first)
    assert group.state == service.FAILED
    for o in (first, second):
        order = gb.order(o.id)
        assert order.status == "closed" and order.close_reason == "refunded"
        assert order.refunded_amount == order.pay_amount
        assert gb.member_of(o).status == "refunded"
        trade = db.session.execute(
            db.select(SandboxTrade).where(SandboxTrade.out_trade_no == order.payment.number)
        ).scalar_one()
        assert trade.refunded_amount == order.pay_amount
    assert gb.order(unpaid.id).status == "closed" and gb.member_of(unpaid).status == "left"
    db.session.expire_all()
    assert db.session.get(Sku, sku_id).stock == 20
    # idempotent: nothing refunded twice
    assert service.expire_groups() == "0 groups failed, 0 unpaid orders cancelled, 0 members refunded"
    db.session.expire_all()
    assert gb.order(first.id).refunded_amount == gb.order(first.id).pay_amount
    assert db.session.get(Sku, sku_id).stock == 20


def test_expiry_job_is_registered_with_the_worker(app):
    """GB: the expiry runs in the kernel's worker (periodic_jobs)."""
    jobs = [j for r in app.extensions["jishi"].hook.periodic_jobs() for j in (r or [])]
    job = next(j for j in jobs if j.name == "groupbuy_expire_groups")
    assert job.func is service.expire_groups and job.every_seconds <= 60


def test_member_refund_before_success_leaves_the_group(api, factory, setup):
    """GB: a paid member who gets a full refund leaves the group; the seat is free for another buyer."""
    _product, sku_id, activity = setup
    admin = factory.admin()
    a, b, c, d = (gb.buyer(factory) for _ in range(4))
    first = gb.place(a, sku_id, activity.id)
    gb.pay(first)
    token = gb.group_of(first).token
    second = gb.place(b, sku_id, activity.id, token)
    gb.pay(second)
    line_id = gb.order(second.id).lines[0].id
    resp = api.post(
        "/refunds",
        json={"order_id": second.id, "kind": "refund_only", "lines": [{"order_line_id": line_id, "quantity": 1}]},
        user=b,
    )
    assert resp.status_code == 201, resp.json
    resp = api.post(f"/admin/refunds/{resp.json['id']}/approve", json={}, user=admin)
    assert resp.status_code == 200, resp.json
    assert gb.order(second.id).status == "closed"
    assert gb.member_of(second).status == "refunded"
    group = gb.group_of(first)
    assert (group.seats, group.paid, group.state) == (1, 1, service.FORMING)
    # leaving again (a replayed close) frees nothing more
    service._left_paid(gb.member_of(second), group, service.now())
    group = gb.group_of(first)
    assert (group.seats, group.paid) == (1, 1)
    for u in (c, d):
        gb.pay(gb.place(u, sku_id, activity.id, token))
    assert gb.group_of(first).state == service.SUCCEEDED


def test_leader_unpaid_order_closing_cancels_the_group(factory, setup):
    """GB: pending --abandon--> cancelled when the leader's unpaid order closes."""
    _product, sku_id, activity = setup
    a = gb.buyer(factory)
    first = gb.place(a, sku_id, activity.id)
    orders_service.cancel(gb.order(first.id), actor_kind="buyer")
    group = gb.group_of(first)
    assert group.state == service.CANCELLED and group.seats == 0


def test_per_user_limit(api, factory):
    """GB: the per-buyer limit caps units across the buyer's group orders; leaving gives them back."""
    product = factory.product(price=1000, stock=50)
    activity = gb.activity(product, size=2, per_user=2)
    sku_id = product.skus[0].id
    a = gb.buyer(factory)
    resp = gb.place_api(api, a, sku_id, activity.id, quantity=3)
    assert resp.status_code == 422 and resp.json["field"] == "items", resp.json
    first = gb.order(gb.place_api(api, a, sku_id, activity.id, quantity=2).json["orders"][0]["id"])
    resp = gb.place_api(api, a, sku_id, activity.id, quantity=1)
    assert resp.status_code == 422, resp.json
    assert api.get(f"/groupbuy/products/{product.id}", user=a).json["used_units"] == 2
    orders_service.cancel(gb.order(first.id), actor_kind="buyer")
    assert gb.place_api(api, a, sku_id, activity.id, quantity=1).status_code == 201


def test_bad_group_options_are_4xx_naming_the_field(api, factory, setup):
    """GB: unknown activity, unknown token, two lines, activity not running: 422 naming the field, nothing written."""
    _product, sku_id, activity = setup
    other = factory.product(price=500)
    u = gb.buyer(factory)
    r = api.post(
        "/checkout/place", json={**gb.checkout_body(u, sku_id, 999999)}, user=u, headers={"Idempotency-Key": "x1"}
    )
    assert r.status_code == 422 and r.json["field"] == "options.groupbuy.activity_id", r.json
    r = api.post(
        "/checkout/place",
        json=gb.checkout_body(u, sku_id, activity.id, token="nope"),
        user=u,
        headers={"Idempotency-Key": "x2"},
    )
    assert r.status_code == 422 and r.json["field"] == "options.groupbuy.group_token", r.json
    body = gb.checkout_body(u, sku_id, activity.id)
    body["items"].append({"sku_id": other.skus[0].id, "quantity": 1})
    r = api.post("/checkout/place", json=body, user=u, headers={"Idempotency-Key": "x3"})
    assert r.status_code == 422 and r.json["field"] == "items", r.json
    r = api.post(
        "/checkout/place", json={**gb.checkout_body(u, sku_id, "abc")}, user=u, headers={"Idempotency-Key": "x4"}
    )
    assert r.status_code == 422, r.json
    ended = gb.activity(
        other, starts_at=service.now() - service.timedelta(days=3), ends_at=service.now() - service.timedelta(days=1)
    )
    r = api.post(
        "/checkout/place",
        json=gb.checkout_body(u, other.skus[0].id, ended.id),
        user=u,
        headers={"Idempotency-Key": "x5"},
    )
    assert r.status_code == 422 and r.json["code"] in ("groupbuy_not_running", "invalid"), r.json
    from jishi.orders.models import Order

    assert db.session.scalar(db.select(db.func.count()).select_from(Order)) == 0


def test_a_buyer_cannot_join_the_same_group_twice(api, factory, setup):
    """GB: one seat per buyer per group."""
    _product, sku_id, activity = setup
    a = gb.buyer(factory)
    first = gb.place(a, sku_id, activity.id)
    gb.pay(first)
    r = gb.place_api(api, a, sku_id, activity.id, gb.group_of(first).token)
    assert r.status_code == 422 and r.json["field"] == "options.groupbuy.group_token", r.json


def test_late_payment_into_a_failed_group_is_refunded(factory, setup):
    """GB: a member whose payment lands after the group failed is refunded by the next job run."""
    _product, sku_id, activity = setup
    a, b = gb.buyer(factory), gb.buyer(factory)
    first = gb.place(a, sku_id, activity.id)
    gb.pay(first)
    late = gb.place(b, sku_id, activity.id, gb.group_of(first).token)
    gb.expire(gb.group_of(first))
    group = gb.group_of(first)
    assert service.move(group, "fail", finished_at=service.now())
    db.session.commit()
    gb.pay(late)  # the order is still pending: the kernel accepts the payment
    assert gb.order(late.id).status == "paid" and gb.member_of(late).status == "paid"
    assert gb.group_of(first).paid == 1  # not counted in a failed group
    service.expire_groups()
    assert gb.order(late.id).status == "closed" and gb.member_of(late).status == "refunded"


def test_payment_after_the_deadline_is_not_counted(factory, setup):
    """GB: a member paying after the deadline (before the job ran) does not make the group succeed; the job fails it and refunds everyone."""
    _product, sku_id, activity = setup
    a, b, c = (gb.buyer(factory) for _ in range(3))
    first = gb.place(a, sku_id, activity.id)
    gb.pay(first)
    token = gb.group_of(first).token
    second = gb.place(b, sku_id, activity.id, token)
    gb.pay(second)
    third = gb.place(c, sku_id, activity.id, token)
    gb.expire(gb.group_of(first))
    gb.pay(third)
    group = gb.group_of(first)
    assert (group.state, group.paid) == (service.FORMING, 2)
    service.expire_groups()
    assert gb.group_of(first).state == service.FAILED
    assert all(gb.order(o.id).status == "closed" for o in (first, second, third))
    assert all(gb.member_of(o).status == "refunded" for o in (first, second, third))


def test_hook_price_rules_same_statements_for_any_number_of_lines(api, factory, queries):
    """GB: pricing a 1-line and a 10-line checkout asking for a group price
    costs groupbuy the same statements (``price_rules`` loads the activity, its
    SKUs and the buyer's units once); the group price goes to the activity's
    SKUs only, each with the per-buyer limit."""
    product = factory.product(skus=[{"price": 1000 + i, "stock": 10} for i in range(10)])
    a = gb.activity(product, price=500, per_user=4)
    user = gb.buyer(factory)
    api.headers(user)  # issue the token outside the measured blocks
    counts = []
    for n in (1, 10):
        body = {
            "items": [{"sku_id": s.id, "quantity": 1} for s in product.skus[:n]],
            "address_id": gb.address_id(user),
            "options": {"groupbuy": {"activity_id": a.id}},
        }
        with queries() as q:
            r = api.post("/checkout/preview", json=body, user=user)
        assert r.status_code == 200, r.json
        lines = [line for g in r.json["groups"] for line in g["lines"]]
        assert [(line["unit_price"], line["price_source"]) for line in lines] == [(500, "groupbuy")] * n
        counts.append(sum("groupbuy_" in s for s in q.statements))
    assert counts[0] == counts[1], counts
