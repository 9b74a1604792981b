"""GB with multistore: merchants' activities, a merchant's group, shipping
held by the merchant console until success, refunds reversing the ledger."""

from __future__ import annotations

import pytest
from jishi.catalog.models import Sku
from jishi.db import db
from jishi_groupbuy import service

from . import helpers as gb

pytestmark = pytest.mark.jishi_plugins("multistore", "groupbuy")


@pytest.fixture
def mall(app, factory):
    from jishi_multistore import testing as ms

    m = ms.merchant("拼团小店")
    p = ms.product(m, price=1000, stock=30)
    return m, p, ms


def test_merchant_group_success_then_merchant_ships(api, factory, mall):
    """GB/MS10: the merchant cannot ship a member's order before the group succeeds, can after."""
    m, p, ms = mall
    admin = ms.admin_of(m)
    resp = api.post(
        "/groupbuy/activities",
        user=admin,
        json={
            "product_id": p.id,
            "title": "双人团",
            "group_size": 2,
            "time_limit_minutes": 60,
            "starts_at": service.now().isoformat(),
            "ends_at": (service.now() + service.timedelta(days=1)).isoformat(),
            "skus": [{"sku_id": p.skus[0].id, "group_price": 700}],
        },
    )
    assert resp.status_code == 201, resp.json
    assert resp.json["seller_id"] == m.id and resp.json["created_by_platform"] is False
    aid = resp.json["id"]
    a, b = gb.buyer(factory), gb.buyer(factory)
    first = gb.order(gb.place_api(api, a, p.skus[0].id, aid).json["orders"][0]["id"])
    assert first.seller_id == m.id and first.goods_amount == 700
    gb.pay(first)
    resp = api.post(f"/merchant/orders/{first.id}/ship", json={"carrier": "SF", "tracking_no": "1"}, user=admin)
    assert resp.status_code == 409, resp.json
    assert gb.order(first.id).status == "paid"
    second = gb.order(gb.place_api(api, b, p.skus[0].id, aid, gb.group_of(first).token).json["orders"][0]["id"])
    gb.pay(second)
    assert gb.group_of(first).state == service.SUCCEEDED
    for o in (first, second):
        resp = api.post(f"/merchant/orders/{o.id}/ship", json={"carrier": "SF", "tracking_no": f"T{o.id}"}, user=admin)
        assert resp.status_code == 200, resp.json


def test_merchant_group_failure_refunds_and_reverses(app, factory, mall):
    """GB/MS11: a failed merchant group refunds every member; stock and the merchant's ledger come back."""
    m, p, _ms = mall
    activity = gb.activity(p, size=3, platform=False)
    a, b = gb.buyer(factory), gb.buyer(factory)
    first = gb.place(a, p.skus[0].id, activity.id)
    gb.pay(first)
    second = gb.place(b, p.skus[0].id, activity.id, gb.group_of(first).token)
    gb.pay(second)
    gb.expire(gb.group_of(first))
    service.expire_groups()
    for o in (first, second):
        order = gb.order(o.id)
        assert order.status == "closed" and order.refunded_amount == order.pay_amount
    db.session.expire_all()
    assert db.session.get(Sku, p.skus[0].id).stock == 30
    from jishi_multistore import finance

    summary = finance.finance_summary(m)
    assert summary["non_withdrawable"] == 0 and summary["withdrawable"] == 0
