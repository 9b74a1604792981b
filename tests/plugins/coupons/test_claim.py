"""CP: claiming (领券) and my coupons through the API: the claim window,
total quantity, per-user limit, validity by dates or N days after claiming,
stopped coupons, statuses."""

from __future__ import annotations

from datetime import timedelta

from jishi.db import utcnow

from .helpers import coupon, template


def test_claim_centre_lists_claimable_only(api, factory):
    """CP: the claim centre shows live coupons with what is left; not future,
    ended, stopped or sold-out ones."""
    now = utcnow()
    live = template(name="live", total_quantity=3)
    template(name="future", starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=2))
    template(name="ended", starts_at=now - timedelta(days=3), ends_at=now - timedelta(days=1))
    stopped = template(name="stopped")
    from jishi_coupons import service

    service.stop(stopped)
    sold = template(name="sold", total_quantity=1)
    service.claim(factory.user(), sold.id)
    r = api.get("/coupons")
    assert r.status_code == 200
    assert [t["name"] for t in r.json] == ["live"]
    assert r.json[0]["left"] == 3 and r.json[0]["id"] == live.id and r.json[0]["claimed_by_me"] == 0


def test_claim_then_limit_then_mine(api, factory):
    """CP: per-user limit 2: two claims, the third is 409 ``limit``; my coupons lists both."""
    buyer = factory.user()
    t = template(per_user_limit=2, total_quantity=10)
    for _ in range(2):
        r = api.post(f"/coupons/{t.id}/claim", user=buyer)
        assert r.status_code == 201, r.json
        assert r.json["status"] == "unused"
    r = api.post(f"/coupons/{t.id}/claim", user=buyer)
    assert r.status_code == 409 and r.json["code"] == "limit"
    mine = api.get("/me/coupons", user=buyer).json
    assert len(mine) == 2 and {c["template"]["id"] for c in mine} == {t.id}
    assert api.get(f"/coupons?product_id={factory.product().id}", user=buyer).json[0]["claimed_by_me"] == 2


def test_total_quantity(api, factory):
    """CP: total 2: the third buyer gets 409 ``sold_out``."""
    t = template(total_quantity=2)
    codes = [api.post(f"/coupons/{t.id}/claim", user=factory.user()).status_code for _ in range(3)]
    assert codes == [201, 201, 409]


def test_validity_by_dates_and_by_days(api, factory):
    """CP: date validity = the coupon's period; N days = from the claim."""
    buyer = factory.user()
    by_dates = template(name="dates")
    by_days = template(name="days", valid_days=3)
    c1 = api.post(f"/coupons/{by_dates.id}/claim", user=buyer).json
    c2 = api.post(f"/coupons/{by_days.id}/claim", user=buyer).json
    assert c1["valid_until"].startswith(by_dates.ends_at.isoformat()[:16])
    from datetime import datetime

    span = datetime.fromisoformat(c2["valid_until"]) - datetime.fromisoformat(c2["valid_from"])
    assert span == timedelta(days=3)


def test_cannot_claim_outside_the_window_or_unknown(api, factory):
    """CP: 409 outside the period or when stopped, 404 unknown, 401 signed out."""
    buyer = factory.user()
    now = utcnow()
    future = template(starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=2))
    assert api.post(f"/coupons/{future.id}/claim", user=buyer).status_code == 409
    assert api.post("/coupons/999999/claim", user=buyer).status_code == 404
    assert api.post("/coupons/99999999999/claim", user=buyer).status_code == 404
    assert api.post(f"/coupons/{future.id}/claim").status_code == 401


def test_my_coupon_statuses_and_other_buyers_coupon(api, factory):
    """CP: expired shows as expired; another buyer's coupon id is 404."""
    buyer, other = factory.user(), factory.user()
    t = template(valid_days=1)
    c = api.post(f"/coupons/{t.id}/claim", user=buyer).json
    row = coupon(c["id"])
    row.valid_until = utcnow() - timedelta(minutes=1)
    from jishi.db import db

    db.session.commit()
    assert api.get("/me/coupons?status=expired", user=buyer).json[0]["id"] == c["id"]
    assert api.get("/me/coupons?status=unused", user=buyer).json == []
    assert api.get(f"/me/coupons/{c['id']}", user=buyer).json["status"] == "expired"
    assert api.get(f"/me/coupons/{c['id']}", user=other).status_code == 404
    assert api.get("/me/coupons?status=bogus", user=buyer).status_code == 422


def test_platform_creates_coupons_by_api(api, factory):
    """CP: platform staff create platform coupons (seller null) with every field checked."""
    admin = factory.admin()
    now = utcnow()
    base = {
        "name": "9折",
        "kind": "percent",
        "percent_off": 1000,
        "max_discount": 2000,
        "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(days=2)).isoformat(),
        "total_quantity": 10,
    }
    r = api.post("/seller/coupons/templates", user=admin, json=base)
    assert r.status_code == 201, r.json
    assert r.json["seller_id"] is None and r.json["funded_by"] == "platform" and r.json["percent_off"] == 1000
    bad = [
        ({"percent_off": 1000.5}, "percent_off"),
        ({"kind": "percent", "percent_off": None}, "percent_off"),
        ({"kind": "fixed", "amount": None, "percent_off": None}, "amount"),
        ({"kind": "fixed", "amount": 2000, "threshold": 1000}, "amount"),
        ({"ends_at": now.isoformat(), "starts_at": (now + timedelta(days=1)).isoformat()}, "ends_at"),
        ({"total_quantity": 0}, "total_quantity"),
        ({"scope": "products", "scope_ids": [999999]}, "scope_ids"),
        ({"scope": "categories"}, "scope_ids"),
        ({"scope": "nope"}, "scope"),
        ({"name": ""}, "name"),
    ]
    for patch, field in bad:
        data = {k: v for k, v in {**base, **patch}.items() if v is not None}
        r = api.post("/seller/coupons/templates", user=admin, json=data)
        assert r.status_code == 422, (patch, r.json)
        assert r.json["field"] == field, (patch, r.json)
    r = api.post(
        "/seller/coupons/activities",
        user=admin,
        json={
            "name": "满减",
            "tiers": [{"threshold": 20000, "amount": 3000}, {"threshold": 10000, "amount": 1000}],
            "starts_at": now.isoformat(),
            "ends_at": (now + timedelta(days=2)).isoformat(),
        },
    )
    assert r.status_code == 201, r.json
    assert r.json["tiers"] == [{"threshold": 10000, "amount": 1000}, {"threshold": 20000, "amount": 3000}]
    r = api.post(
        "/seller/coupons/activities",
        user=admin,
        json={
            "name": "坏",
            "tiers": [{"threshold": 10000, "amount": 3000}, {"threshold": 20000, "amount": 1000}],
            "starts_at": now.isoformat(),
            "ends_at": (now + timedelta(days=2)).isoformat(),
        },
    )
    assert r.status_code == 422 and r.json["field"] == "tiers"
    assert len(api.get("/seller/coupons/templates", user=admin).json) == 1
    assert api.get("/seller/coupons/templates", user=factory.user()).status_code == 403
