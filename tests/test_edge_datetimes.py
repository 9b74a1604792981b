"""K14: a date-time the calendar cannot hold once converted to UTC
(``0001-01-01T00:00:00+01:01``, ``9999-12-31T23:59:59-01:00``) or a date at
its edge is a 4xx naming the field, through the API and the web forms, on
every endpoint that takes one (never a 500 from an ``OverflowError``)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from jishi.db import utcnow

pytestmark = pytest.mark.jishi_plugins("multistore", "flashsale", "groupbuy", "coupons")

EDGES = ["0001-01-01T00:00:00+01:01", "9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00", "9999-12-31T23:59:59"]
FORM_EDGES = ["0001-01-01T00:00", "9999-12-31T23:59", "0001-01-01T00:00:00+01:01", "9999-12-31T23:59:59-01:00"]


@pytest.fixture
def world(ms, factory):
    m = ms.merchant()
    p = ms.product(m, price=1000)
    return {"merchant": m, "admin": ms.admin_of(m), "product": p, "sku": p.skus[0].id, "cat": factory.category("水果")}


def _window(field, value):
    now = utcnow()
    times = {"starts_at": now.isoformat(), "ends_at": (now + timedelta(days=1)).isoformat()}
    if field is not None:
        times[field] = value
    return times


def _api_bodies(world):
    """(path, body builder for a date-time field's value, the fields)."""
    pid, sku = world["product"].id, world["sku"]
    return {
        "/flashsale/seller/activities": lambda f, v: {
            "product_id": pid,
            "title": "秒杀",
            "skus": [{"sku_id": sku, "flash_price": 800, "stock": 3}],
            **_window(f, v),
        },
        "/groupbuy/activities": lambda f, v: {
            "product_id": pid,
            "title": "团",
            "group_size": 2,
            "time_limit_minutes": 60,
            "skus": [{"sku_id": sku, "group_price": 800}],
            **_window(f, v),
        },
        "/seller/coupons/templates": lambda f, v: {
            "name": "满10减1",
            "threshold": 1000,
            "amount": 100,
            "total_quantity": 10,
            **_window(f, v),
        },
        "/seller/coupons/activities": lambda f, v: {
            "name": "满减",
            "tiers": [{"threshold": 10000, "amount": 1000}],
            **_window(f, v),
        },
    }


@pytest.mark.parametrize("value", EDGES)
@pytest.mark.parametrize("field", ["starts_at", "ends_at"])
@pytest.mark.parametrize(
    "path",
    ["/flashsale/seller/activities", "/groupbuy/activities", "/seller/coupons/templates", "/seller/coupons/activities"],
)
def test_activity_times_at_the_calendars_edge_are_refused(api, world, path, field, value):
    if field == "starts_at" and value == EDGES[0]:  # once a path: the body is right but for the time
        ok = api.post(path, user=world["admin"], json=_api_bodies(world)[path](None, None))
        assert ok.status_code == 201, ok.json
    build = _api_bodies(world)[path]
    resp = api.post(path, user=world["admin"], json=build(field, value))
    assert resp.status_code == 422, (resp.status_code, resp.json)
    assert resp.json["field"] == field, resp.json


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:01", "9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00Z"])
def test_product_list_at_at_the_calendars_edge_is_refused(api, world, value):
    body = {
        "name": "苹果",
        "category_id": world["cat"].id,
        "skus": [{"price": 1000, "stock": 5}],
        "listing": "at_time",
        "list_at": value,
    }
    resp = api.post("/merchant/products", user=world["admin"], json=body)
    assert resp.status_code == 422 and resp.json["field"] == "list_at", resp.json
    pid = world["product"].id
    resp = api.patch(f"/merchant/products/{pid}", user=world["admin"], json={"listing": "at_time", "list_at": value})
    assert resp.status_code == 422 and resp.json["field"] == "list_at", resp.json


@pytest.mark.parametrize(
    "query", ["start=0001-01-01", "end=0001-01-01", "start=9999-12-31", "start=0001-01-01&end=9999-12-31"]
)
def test_merchant_data_range_at_the_calendars_edge(api, client, login, world, query):
    resp = api.get(f"/merchant/data?{query}", user=world["admin"])
    assert resp.status_code == 422, (resp.status_code, resp.json)
    assert resp.json["field"] == query.split("=")[0], resp.json
    login(world["admin"])
    assert client.get(f"/merchant/data?{query}").status_code < 500


@pytest.mark.parametrize("value", FORM_EDGES)
def test_web_forms_refuse_times_at_the_calendars_edge(client, login, world, value):
    """The seller consoles' forms answer the form again with the error (no 500, nothing saved)."""
    from jishi.db import db
    from jishi_coupons.models import CouponActivity, CouponTemplate
    from jishi_flashsale.models import Activity as FlashActivity
    from jishi_groupbuy.models import Activity as GroupActivity

    login(world["admin"])
    pid, sku = world["product"].id, world["sku"]
    later = (utcnow() + timedelta(days=9)).strftime("%Y-%m-%dT%H:%M")
    forms = {
        "/seller/flashsale/activities/new": {
            "product_id": pid,
            "title": "秒杀",
            f"price-{sku}": "8",
            f"stock-{sku}": "3",
            "per_user_limit": "1",
        },
        "/seller/groupbuy/activities/new": {
            "product_id": pid,
            "title": "团",
            "group_size": "2",
            "time_limit_minutes": "60",
            f"price-{sku}": "8",
        },
        "/seller/coupons/new": {"name": "满10减1", "threshold": "10", "amount": "1", "total_quantity": "10"},
        "/seller/coupons/activities/new": {"name": "满减", "tier_threshold-0": "100", "tier_amount-0": "10"},
    }
    for path, form in forms.items():
        resp = client.post(path, data={**form, "starts_at": value, "ends_at": later})
        assert resp.status_code in (200, 400, 422), (path, resp.status_code)
    resp = client.post(
        "/merchant/products/new",
        data={
            "name": "苹果",
            "category_id": world["cat"].id,
            "price": "10",
            "stock": "5",
            "listing": "at_time",
            "list_at": value,
        },
    )
    assert resp.status_code in (200, 400, 422), resp.status_code
    db.session.expire_all()
    for model in (FlashActivity, GroupActivity, CouponTemplate, CouponActivity):
        assert db.session.scalar(db.select(db.func.count()).select_from(model)) == 0, model
