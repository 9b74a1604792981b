"""PU1: pickup points per seller — API CRUD and console pages, input
checks naming the field, another seller's point is 404 and never changes."""

from __future__ import annotations

import pytest
from jishi.db import db
from jishi_pickup.models import PickupPoint

GOOD = {
    "name": "西湖店",
    "address": "杭州市南山路 1 号",
    "hours": "09:00-21:00",
    "phone": "0571-1234567",
    "lat": 30.25,
    "lng": 120.16,
}


def test_crud_api(app, api, factory):
    """PU1: create, read, update, list, delete a point of the shop."""
    admin = factory.admin()
    resp = api.post("/seller/pickup/points", user=admin, json=GOOD)
    assert resp.status_code == 201, resp.json
    pid = resp.json["id"]
    assert resp.json["is_active"] is True and resp.json["lat"] == 30.25
    assert db.session.get(PickupPoint, pid).seller_id is None
    resp = api.put(
        f"/seller/pickup/points/{pid}",
        user=admin,
        json={"hours": "10:00-20:00", "is_active": False, "lat": None, "lng": None},
    )
    assert resp.status_code == 200, resp.json
    assert resp.json["hours"] == "10:00-20:00" and resp.json["is_active"] is False and resp.json["lat"] is None
    assert resp.json["name"] == "西湖店"
    assert api.get(f"/seller/pickup/points/{pid}", user=admin).json["hours"] == "10:00-20:00"
    assert [p["id"] for p in api.get("/seller/pickup/points", user=admin).json["items"]] == [pid]
    assert api.delete(f"/seller/pickup/points/{pid}", user=admin).status_code == 204
    assert api.get(f"/seller/pickup/points/{pid}", user=admin).status_code == 404
    assert db.session.get(PickupPoint, pid) is None


@pytest.mark.parametrize(
    "change,field",
    [
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"name": "x" * 61}, "name"),
        ({"name": 5}, "name"),
        ({"address": "  "}, "address"),
        ({"hours": "x" * 101}, "hours"),
        ({"phone": "call me"}, "phone"),
        ({"lat": 91}, "lat"),
        ({"lng": -181}, "lng"),
        ({"lat": "abc"}, "lat"),
        ({"lat": True}, "lat"),
        ({"lat": None}, "lat"),
        ({"is_active": "yes"}, "is_active"),
        ({"name": "a\x00b"}, None),  # the kernel's NUL guard answers first
    ],
)
def test_bad_input_names_the_field(app, api, factory, change, field):
    """PU1: bad input -> 422 naming the field, nothing written."""
    admin = factory.admin()
    body = {**GOOD, **change}
    resp = api.post("/seller/pickup/points", user=admin, json=body)
    assert resp.status_code == 422, resp.json
    if field is not None:
        assert resp.json["field"] == field, resp.json
    assert db.session.scalar(db.select(db.func.count()).select_from(PickupPoint)) == 0


def test_missing_required_fields(app, api, factory):
    """PU1: name and address are required on create, not on update."""
    admin = factory.admin()
    resp = api.post("/seller/pickup/points", user=admin, json={"address": "x"})
    assert resp.status_code == 422 and resp.json["field"] == "name"
    pid = api.post("/seller/pickup/points", user=admin, json=GOOD).json["id"]
    assert api.put(f"/seller/pickup/points/{pid}", user=admin, json={"phone": "123"}).status_code == 200
    resp = api.put(f"/seller/pickup/points/{pid}", user=admin, json={"lat": 1})
    assert resp.status_code == 422 and resp.json["field"] == "lng"


def test_out_of_range_id_is_404(app, api, factory):
    """PU1: ids beyond the column's range are simply not found."""
    admin = factory.admin()
    assert api.get(f"/seller/pickup/points/{2**40}", user=admin).status_code == 404


@pytest.mark.jishi_plugins("multistore", "pickup")
def test_other_merchants_point_is_404_and_unchanged(app, api, factory, pk, ms):
    """PU1/MS17: M2's admin with M1's point id: 404 on read, update, delete;
    the point stays as it was. M1's admin creates points for M1 only."""
    m1, m2 = ms.merchant("茶庄"), ms.merchant("果园")
    resp = api.post("/seller/pickup/points", user=ms.admin_of(m1), json={**GOOD, "seller_id": m2.id})
    assert resp.status_code == 201
    pid = resp.json["id"]
    assert db.session.get(PickupPoint, pid).seller_id == m1.id  # never from the request
    other = ms.admin_of(m2)
    assert api.get(f"/seller/pickup/points/{pid}", user=other).status_code == 404
    assert api.put(f"/seller/pickup/points/{pid}", user=other, json={"name": "抢走"}).status_code == 404
    assert api.delete(f"/seller/pickup/points/{pid}", user=other).status_code == 404
    assert api.get("/seller/pickup/points", user=other).json["items"] == []
    db.session.expire_all()
    assert db.session.get(PickupPoint, pid).name == "西湖店"
    # A clerk (orders, comments) may not manage points.
    assert api.get("/seller/pickup/points", user=ms.clerk(m1)).status_code == 403


def test_console_pages(app, client, factory, login):
    """PU1: the console lists, adds (errors re-shown with a 4xx), edits and deletes points."""
    admin = factory.admin()
    login(admin)
    page = client.get("/seller/pickup/points")
    assert page.status_code == 200 and "还没有自提点" in page.get_data(as_text=True)
    bad = client.post("/seller/pickup/points", data={**GOOD, "lat": "200"})
    assert bad.status_code == 422 and 'data-field="lat"' in bad.get_data(as_text=True)
    ok = client.post("/seller/pickup/points", data={**GOOD, "is_active": "1"})
    assert ok.status_code in (302, 303)
    point = db.session.execute(db.select(PickupPoint)).scalar_one()
    assert point.is_active and point.lat == 30.25
    edit = client.get(f"/seller/pickup/points/{point.id}")
    assert edit.status_code == 200 and "西湖店" in edit.get_data(as_text=True)
    resp = client.post(f"/seller/pickup/points/{point.id}", data={**GOOD, "name": "湖滨店"})  # unchecked box: inactive
    assert resp.status_code in (302, 303)
    db.session.expire_all()
    point = db.session.get(PickupPoint, point.id)
    assert point.name == "湖滨店" and point.is_active is False
    assert client.post(f"/seller/pickup/points/{point.id}/delete").status_code in (302, 303)
    assert db.session.scalar(db.select(db.func.count()).select_from(PickupPoint)) == 0


def test_console_menu_entries(app, client, factory, login):
    """PU1/PU5: the platform console menu links the two pickup pages."""
    login(factory.admin())
    html = client.get("/seller/pickup/verify").get_data(as_text=True)
    assert 'href="/seller/pickup/points"' in html and 'href="/seller/pickup/verify"' in html


@pytest.mark.jishi_plugins("multistore", "pickup")
def test_merchant_console_pages(app, client, factory, ms, login):
    """PU1/PU5: in the merchant console a clerk sees verification only; the admin both."""
    m1 = ms.merchant("茶庄")
    login(ms.clerk(m1))
    html = client.get("/seller/pickup/verify").get_data(as_text=True)
    assert 'href="/seller/pickup/verify"' in html and 'href="/seller/pickup/points"' not in html
    assert "茶庄" in html
    assert client.get("/seller/pickup/points").status_code == 403
    login(ms.admin_of(m1))
    html = client.get("/seller/pickup/points").get_data(as_text=True)
    assert 'href="/seller/pickup/points"' in html
