"""Issue 16 "Surfaces" (buyer API): ``GET /api/v1/points`` answers the
signed-in buyer's own balance, frozen points and history (newest first,
paged with ``before``); authorization rows for every route of the plugin
(C7)."""

from __future__ import annotations

import pytest
from jishi.testing import authz, flows, principals
from jishi.testing.authz import Row

from .helpers import give, goods_paid

ROWS = [
    Row("GET", "/api/v1/points", "signed_in"),
    Row("GET", "/api/v1/points?before=1", "signed_in"),
    Row(
        "POST",
        "/api/v1/platform/points/adjustments",
        "platform",
        json=lambda case: {"user_id": case.world.users["buyer"].id, "points": 5, "reason": "补偿"},
    ),
]


def test_balance_frozen_and_history(api, factory):
    """Issue 16/Surfaces: balance, frozen, entries newest first, 20 a page."""
    buyer = factory.user()
    other = factory.user()
    give(other, 999)
    for i in range(22):
        give(buyer, 10 + i)
    sku = factory.product(price=5000, stock=5).skus[0]
    [payment] = flows.place(buyer, [(sku, 1)], factory.address(buyer))
    flows.pay(payment)
    first = api.get("/points", user=buyer)
    assert first.status_code == 200 and first.headers["Cache-Control"] == "private, no-store"
    data = first.json
    earned = goods_paid(flows.fetch(payment.orders[0])) // 100
    assert (data["balance"], data["frozen"]) == (sum(range(10, 32)), earned)
    assert len(data["entries"]) == 20 and data["entries"][0]["kind"] == "frozen"
    assert data["entries"][0]["source_kind"] == "order" and data["entries"][0]["frozen_delta"] == earned
    rest = api.get(f"/points?before={data['next_before']}", user=buyer).json
    assert [e["delta"] for e in rest["entries"]] == [12, 11, 10] and rest["next_before"] is None
    assert api.get("/points?before=0", user=buyer).status_code == 422
    assert api.get("/points").status_code == 401


def test_platform_adjusts_with_a_reason(api, factory):
    """Issue 16/Ledger: the platform adds or takes points with a reason (an
    ``adjusted`` entry the buyer sees); taking more than the usable balance
    is a 409 and writes nothing; bad input names its field."""
    admin = factory.admin()
    buyer = factory.user()
    url = "/platform/points/adjustments"
    resp = api.post(url, user=admin, json={"user_id": buyer.id, "points": 300, "reason": "活动补偿"})
    assert resp.status_code == 201 and resp.json == {"user_id": buyer.id, "balance": 300, "frozen": 0}
    assert api.post(url, user=admin, json={"user_id": buyer.id, "points": -301, "reason": "x"}).status_code == 409
    assert api.post(url, user=admin, json={"user_id": buyer.id, "points": -100, "reason": "x"}).status_code == 201
    for body, field in (
        ({"user_id": buyer.id, "points": 0, "reason": "x"}, "points"),
        ({"user_id": buyer.id, "points": 5, "reason": " "}, "reason"),
        ({"user_id": buyer.id, "points": "5", "reason": "x"}, "points"),
        ({"user_id": 999999, "points": 5, "reason": "x"}, "user_id"),
    ):
        bad = api.post(url, user=admin, json=body)
        assert 400 <= bad.status_code < 500 and field in bad.get_data(as_text=True), (body, bad.json)
    assert api.post(url, user=buyer, json={"user_id": buyer.id, "points": 5, "reason": "x"}).status_code == 403
    history = api.get("/points", user=buyer).json
    assert history["balance"] == 200
    assert [(e["kind"], e["delta"], e["reason"]) for e in history["entries"]] == [
        ("adjusted", -100, "x"),
        ("adjusted", 300, "活动补偿"),
    ]


@pytest.mark.jishi_plugins("multistore", "points")
@pytest.mark.parametrize("row", ROWS, ids=authz.label)
def test_matrix(client, api, factory, ms, row):
    """C7: every principal may read its own points; anonymous is refused."""
    who = principals.standard(factory, multistore=True)
    give(who["buyer"], 5)
    authz.assert_row(
        row,
        authz.World(who.users, {}),
        client=client,
        api=api,
        principals=principals.STANDARD,
        allowed=authz.standard_access,
    )


@pytest.mark.jishi_plugins("multistore", "points")
def test_every_route_has_a_row(app):
    """C7: a route of the plugin without a row fails here."""
    authz.assert_every_route_has_a_row(app, ROWS, blueprints=("points_api",))
