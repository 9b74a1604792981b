"""MS14: merchant comments — the merchant sees, replies to and deletes
reviews of its products; the platform sees merchant reviews (filter by
merchant) and deletes them; another merchant's review is 404."""

from __future__ import annotations

import pytest
from jishi.db import db
from jishi.models import OrderLine
from jishi.reviews.models import Review
from jishi.testing import factories


def make_order_line(buyer, product) -> OrderLine:
    """A received order of one unit of ``product`` (seller = its seller), committed."""
    line = factories.received_line(buyer, product, reviewed=False)
    db.session.commit()
    return line


def make_review(buyer, product, content="好吃", rating=5) -> Review:
    line = make_order_line(buyer, product)
    review = Review(
        order_line_id=line.id,
        product_id=product.id,
        user_id=buyer.id,
        seller_id=product.seller_id,
        rating=rating,
        content=content,
    )
    line.reviewed = True
    db.session.add(review)
    db.session.commit()
    return review


@pytest.fixture
def world(app, ms, factory):
    m1, m2 = ms.merchant("一号店"), ms.merchant("二号店")
    buyer = factory.user(name="小李")
    p1, p2 = ms.product(m1, name="苹果"), ms.product(m2, name="香蕉")
    own = factory.product(name="自营米")
    return {
        "m1": m1,
        "m2": m2,
        "a1": ms.admin_of(m1),
        "a2": ms.admin_of(m2),
        "clerk": ms.clerk(m1),
        "platform": factory.admin(),
        "buyer": buyer,
        "r1": make_review(buyer, p1, "一号店好"),
        "r2": make_review(buyer, p2, "二号店好"),
        "r_own": make_review(buyer, own, "自营好"),
        "p1": p1,
    }


def test_merchant_sees_replies_deletes_own_reviews(api, world):
    """MS14: the merchant (admin or clerk) lists its products' reviews,
    replies and deletes them; the reply shows to buyers, the deleted one no more."""
    for user in (world["a1"], world["clerk"]):
        r = api.get("/merchant/comments", user=user)
        assert r.status_code == 200, r.json
        assert [(i["content"], i["product_name"]) for i in r.json["items"]] == [("一号店好", "苹果")]
    rid = world["r1"].id
    r = api.post(f"/merchant/comments/{rid}/reply", user=world["clerk"], json={"reply": "谢谢惠顾"})
    assert r.status_code == 200 and r.json["reply"] == "谢谢惠顾" and r.json["replied_at"]
    assert api.post(f"/merchant/comments/{rid}/reply", user=world["a1"], json={"reply": ""}).status_code == 422
    shown = api.get(f"/products/{world['p1'].id}/reviews").json["items"]
    assert [i["reply"] for i in shown] == ["谢谢惠顾"]

    r = api.delete(f"/merchant/comments/{rid}", user=world["a1"])
    assert r.status_code == 200 and r.json["deleted_at"] and r.json["deleted_by"] == "seller"
    assert api.get(f"/products/{world['p1'].id}/reviews").json["items"] == []
    assert api.get("/merchant/comments", user=world["a1"]).json["items"] == []
    assert (
        len(api.get("/merchant/comments", user=world["a1"], query_string={"include_deleted": "true"}).json["items"])
        == 1
    )
    r = api.post(f"/merchant/comments/{rid}/reply", user=world["a1"], json={"reply": "再回"})
    assert r.status_code == 409 and r.json["field"] == "reply"


def test_other_merchants_reviews_are_not_found(api, world):
    """MS14, MS17: another merchant's (or a self-operated product's) review is 404."""
    for rid in (world["r2"].id, world["r_own"].id):
        assert api.post(f"/merchant/comments/{rid}/reply", user=world["a1"], json={"reply": "抢答"}).status_code == 404
        assert api.delete(f"/merchant/comments/{rid}", user=world["a1"]).status_code == 404
    db.session.expire_all()
    assert world["r2"].reply == "" and world["r2"].deleted_at is None
    assert api.get("/merchant/comments", user=world["buyer"]).status_code == 403
    assert api.get("/merchant/comments").status_code == 401
    assert api.get("/admin/multistore/comments", user=world["a1"]).status_code == 403


def test_platform_sees_and_deletes_merchant_reviews(api, world):
    """MS14: the platform lists merchant product reviews with the merchant
    (filter by merchant) and deletes them; self-operated reviews stay in the
    kernel's console."""
    admin = world["platform"]
    items = api.get("/admin/multistore/comments", user=admin).json["items"]
    assert [(i["content"], i["merchant"]["name"]) for i in items] == [("二号店好", "二号店"), ("一号店好", "一号店")]
    only = api.get("/admin/multistore/comments", user=admin, query_string={"merchant_id": world["m2"].id}).json["items"]
    assert [i["content"] for i in only] == ["二号店好"]
    r = api.delete(f"/admin/multistore/comments/{world['r2'].id}", user=admin)
    assert r.status_code == 200 and r.json["deleted_by"] == "platform"
    assert [i["content"] for i in api.get("/admin/multistore/comments", user=admin).json["items"]] == ["一号店好"]
    assert api.delete(f"/admin/multistore/comments/{world['r_own'].id}", user=admin).status_code == 404
    assert api.delete("/admin/multistore/comments/99999", user=admin).status_code == 404
