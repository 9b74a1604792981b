"""K11 reviews through the JSON API: only after receipt, once per line,
settings (enabled, moderation, days), replies and deletion (K14, K15)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlparse

from flask import g
from jishi import settings, signals
from jishi.db import db, utcnow
from jishi.models import Order, OrderLine
from jishi.reviews import service
from sqlalchemy import update


def bought(api, client, factory, buyer, price=1000, receive=True, product=None):
    """Place, pay, ship and (by default) receive one unit; returns (order id, line id, product)."""
    admin = factory.admin()
    product = product or factory.product(price=price, stock=10)
    r = api.post(
        "/checkout/place",
        user=buyer,
        json={"items": [{"sku_id": product.skus[0].id, "quantity": 1}], "address_id": factory.address(buyer).id},
        headers={"Idempotency-Key": f"k{product.id}-{buyer.id}-{utcnow().timestamp()}"},
    )
    assert r.status_code == 201, r.json
    oid = r.json["orders"][0]["id"]
    r2 = api.post(f"/payments/{r.json['payments'][0]['number']}/pay", user=buyer, json={"method": "sandbox"})
    client.post(urlparse(r2.json["redirect_url"]).path, data={"action": "pay"})
    assert (
        api.post(f"/admin/orders/{oid}/ship", user=admin, json={"carrier": "SF", "tracking_no": "1"}).status_code == 200
    )
    if receive:
        assert api.post(f"/orders/{oid}/receive", user=buyer).status_code == 200
    line_id = db.session.execute(db.select(OrderLine.id).where(OrderLine.order_id == oid)).scalar_one()
    return oid, line_id, product


def set_settings(**values):
    settings.set_many({k.replace("_", ".", 1): v for k, v in values.items()})
    db.session.commit()
    g.pop("jishi_settings", None)  # requests share the test's app context (and its cache)


def test_review_after_receipt_once(api, client, factory):
    """K11: a buyer reviews a line after receipt, once; it shows on the product."""
    buyer = factory.user(name="小王")
    oid, line_id, product = bought(api, client, factory, buyer, receive=False)
    r = api.post("/reviews", user=buyer, json={"order_line_id": line_id, "rating": 5, "content": "好"})
    assert r.status_code == 409 and r.json["field"] == "order_line_id"
    api.post(f"/orders/{oid}/receive", user=buyer)
    r = api.post("/reviews", user=buyer, json={"order_line_id": line_id, "rating": 4, "content": "不错"})
    assert r.status_code == 201, r.json
    assert r.json["author"] == "小王" and r.json["is_visible"] is True
    r = api.post("/reviews", user=buyer, json={"order_line_id": line_id, "rating": 5})
    assert r.status_code == 409
    page = api.get(f"/products/{product.id}/reviews").json
    assert [i["rating"] for i in page["items"]] == [4]
    assert page["rating_x10"] == 40 and page["count"] == 1
    assert api.get(f"/orders/{oid}", user=buyer).json["lines"][0]["reviewed"] is True


def test_bad_review_input(api, client, factory):
    """K14: rating 6 -> 422 naming "rating"; strings are not numbers."""
    buyer = factory.user()
    _, line_id, _ = bought(api, client, factory, buyer)
    for payload, field in (
        ({"order_line_id": line_id, "rating": 6}, "rating"),
        ({"order_line_id": line_id, "rating": 0}, "rating"),
        ({"order_line_id": line_id, "rating": "5"}, "rating"),
        ({"order_line_id": str(line_id), "rating": 5}, "order_line_id"),
        ({"order_line_id": line_id}, "rating"),
        ({"order_line_id": line_id, "rating": 5, "content": "x" * 2001}, "content"),
    ):
        r = api.post("/reviews", user=buyer, json=payload)
        assert r.status_code == 422, payload
        assert r.json["field"] == field, (payload, r.json)


def test_other_buyers_line_is_not_found(api, client, factory):
    """K15: reviewing another buyer's line answers 404; visitors 401."""
    buyer, other = factory.user(), factory.user()
    _, line_id, _ = bought(api, client, factory, buyer)
    assert api.post("/reviews", user=other, json={"order_line_id": line_id, "rating": 5}).status_code == 404
    assert api.post("/reviews", json={"order_line_id": line_id, "rating": 5}).status_code == 401
    assert api.post("/reviews", user=other, json={"order_line_id": 999999, "rating": 5}).status_code == 404


def test_moderation_and_platform_actions(api, client, factory):
    """K11: with moderation on, a review shows after approval; the platform
    replies and deletes; anonymous reviews hide the author."""
    set_settings(reviews_moderation=True)
    buyer, admin = factory.user(), factory.admin()
    _, line_id, product = bought(api, client, factory, buyer)
    r = api.post(
        "/reviews", user=buyer, json={"order_line_id": line_id, "rating": 3, "content": "一般", "anonymous": True}
    )
    assert r.status_code == 201 and r.json["is_visible"] is False
    rid = r.json["id"]
    assert api.get(f"/products/{product.id}/reviews").json["items"] == []
    pending = api.get("/admin/reviews?visible=false", user=admin).json["items"]
    assert [p["id"] for p in pending] == [rid]
    assert api.post(f"/admin/reviews/{rid}/approve", user=buyer).status_code == 403
    assert api.post(f"/admin/reviews/{rid}/approve", user=admin).json["is_visible"] is True
    r = api.post(f"/admin/reviews/{rid}/reply", user=admin, json={"reply": "谢谢"})
    assert r.status_code == 200 and r.json["reply"] == "谢谢"
    assert api.post(f"/admin/reviews/{rid}/reply", user=admin, json={}).json["field"] == "reply"
    [shown] = api.get(f"/products/{product.id}/reviews").json["items"]
    assert shown["reply"] == "谢谢"
    assert (
        shown["author"] not in (buyer.phone, buyer.name) and buyer.phone[-4:] not in shown["author"]
    )  # "Anonymous", translated
    r = api.post(f"/admin/reviews/{rid}/delete", user=admin)
    assert r.json["deleted_by"] == "platform"
    assert api.get(f"/products/{product.id}/reviews").json == {
        "items": [],
        "next_cursor": None,
        "rating_x10": 0,
        "count": 0,
        "with_pictures_count": 0,
    }
    assert api.post("/admin/reviews/999999/delete", user=admin).status_code == 404


def test_reviews_disabled_and_window(api, client, factory):
    """K11: reviews.enabled off refuses; past reviews.days after receipt refuses."""
    buyer = factory.user()
    oid, line_id, _ = bought(api, client, factory, buyer)
    set_settings(reviews_enabled=False)
    assert api.post("/reviews", user=buyer, json={"order_line_id": line_id, "rating": 5}).status_code == 409
    set_settings(reviews_enabled=True, reviews_days=7)
    db.session.execute(update(Order).where(Order.id == oid).values(received_at=utcnow() - timedelta(days=8)))
    db.session.commit()
    r = api.post("/reviews", user=buyer, json={"order_line_id": line_id, "rating": 5})
    assert r.status_code == 409
    db.session.execute(update(Order).where(Order.id == oid).values(received_at=utcnow() - timedelta(days=6)))
    db.session.commit()
    assert api.post("/reviews", user=buyer, json={"order_line_id": line_id, "rating": 5}).status_code == 201


def test_rating_average_and_paging(api, client, factory):
    """K11: the average is an integer x10 rounded half up; pages by cursor; review_posted is sent."""
    product = factory.product(price=500, stock=50)
    posted = []

    def on_posted(sender, **kw):
        posted.append(sender.id)

    signals.review_posted.connect(on_posted)
    try:
        for rating in (5, 4, 4):
            buyer = factory.user()
            _, line_id, _ = bought(api, client, factory, buyer, product=product)
            assert (
                api.post("/reviews", user=buyer, json={"order_line_id": line_id, "rating": rating}).status_code == 201
            )
    finally:
        signals.review_posted.disconnect(on_posted)
    assert len(posted) == 3
    assert service.product_rating(product.id) == (43, 3)  # 13/3 = 4.33 -> 43
    page = api.get(f"/products/{product.id}/reviews?limit=2").json
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = api.get(f"/products/{product.id}/reviews?limit=2&cursor={page['next_cursor']}").json
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert api.get(f"/products/{product.id}/reviews?limit=0").status_code == 422


def test_review_moderated_is_sent_on_approve_and_delete(api, client, factory):
    """K11 (issue 13 C2): approving a waiting review and deleting one send
    ``review_moderated`` (action ``approved`` / ``deleted``) once, after the
    commit; approving a visible review or deleting twice sends nothing."""
    set_settings(reviews_moderation=True)
    admin = factory.admin()
    buyer = factory.user()
    _, line_id, _ = bought(api, client, factory, buyer)
    rid = api.post("/reviews", user=buyer, json={"order_line_id": line_id, "rating": 3}).json["id"]
    sent = []

    def on_moderated(sender, **kw):
        sent.append((sender.id, kw["action"]))

    signals.review_moderated.connect(on_moderated)
    try:
        for _ in range(2):
            assert api.post(f"/admin/reviews/{rid}/approve", user=admin).status_code == 200
        for _ in range(2):
            assert api.post(f"/admin/reviews/{rid}/delete", user=admin).status_code == 200
    finally:
        signals.review_moderated.disconnect(on_moderated)
    assert sent == [(rid, "approved"), (rid, "deleted")]
