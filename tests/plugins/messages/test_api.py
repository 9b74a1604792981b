"""Buyer ↔ shop messages through the JSON API (issue 18 "Buyer ↔ shop
messages", seed 004 §4 在线客服 / 留言): one conversation per buyer and
shop, product and order cards, polling with ``after``, read marks and
unread counts, 4xx naming the field."""

from __future__ import annotations

import io

from jishi.db import db
from jishi.testing.factories import image_bytes

from .helpers import answer, ask, order_of


def test_first_message_from_a_product_starts_one_thread_per_shop(api, factory):
    """Issue 18 messages: the buyer writes from a product page; a second
    message from another product of the same shop (or from an order of
    it) goes into the same conversation, each with its own card."""
    buyer = factory.user()
    p1, p2 = factory.product(name="绿茶", price=2500), factory.product(name="红茶")
    r = api.post("/me/messages", user=buyer, json={"product_id": p1.id, "body": "有货吗？"})
    assert r.status_code == 201, r.json
    first = r.json
    assert first["product"]["name"] == "绿茶" and first["product"]["price"] == 2500 and first["mine"] is True
    r = api.post("/me/messages", user=buyer, json={"product_id": p2.id, "body": "这个呢？"})
    assert r.status_code == 201 and r.json["thread_id"] == first["thread_id"]
    order = order_of(factory, buyer, p1)
    r = api.post("/me/messages", user=buyer, json={"order_id": order.id, "body": "什么时候发货？"})
    assert r.json["thread_id"] == first["thread_id"] and r.json["order"]["number"] == order.number
    threads = api.get("/me/messages/threads", user=buyer).json
    assert len(threads) == 1 and threads[0]["order"]["id"] == order.id and threads[0]["unread"] == 0
    assert threads[0]["shop"]["seller_id"] is None  # the shop itself (no multistore)


def test_order_must_be_the_buyers_own(api, factory):
    """Issue 18 messages: another buyer's order is 404 naming ``order_id``;
    nothing is written."""
    from jishi_messages.models import Message

    owner, other = factory.user(), factory.user()
    order = order_of(factory, owner)
    r = api.post("/me/messages", user=other, json={"order_id": order.id, "body": "hi"})
    assert r.status_code == 404 and r.json["field"] == "order_id"
    assert db.session.query(Message).count() == 0


def test_bad_input_names_the_field(api, factory):
    """Issue 18 messages: too long text (422 ``body``), neither product nor
    order (422 ``product_id``), an off-shelf product (404 ``product_id``),
    an empty message (422 ``body``), someone else's picture (422 ``images``)."""
    buyer = factory.user()
    p = factory.product()
    r = api.post("/me/messages", user=buyer, json={"product_id": p.id, "body": "x" * 1001})
    assert r.status_code == 422 and r.json["field"] == "body"
    r = api.post("/me/messages", user=buyer, json={"body": "hi"})
    assert r.status_code == 422 and r.json["field"] == "product_id"
    off = factory.product(on_shelf=False)
    r = api.post("/me/messages", user=buyer, json={"product_id": off.id, "body": "hi"})
    assert r.status_code == 404 and r.json["field"] == "product_id"
    tid = api.post("/me/messages", user=buyer, json={"product_id": p.id, "body": "hi"}).json["thread_id"]
    r = api.post(f"/me/messages/threads/{tid}/messages", user=buyer, json={"body": "   "})
    assert r.status_code == 422 and r.json["field"] == "body"
    other = factory.user()
    pic = api.client.post(
        "/api/v1/me/messages/images", headers=api.headers(other), data={"file": (io.BytesIO(image_bytes()), "a.png")}
    )
    assert pic.status_code == 201, pic.json
    r = api.post(f"/me/messages/threads/{tid}/messages", user=buyer, json={"images": [pic.json["id"]]})
    assert r.status_code == 422 and r.json["field"] == "images"


def test_pictures_are_the_buyers_uploads(api, factory):
    """Issue 18 messages: a picture uploaded through the media library (the
    buyer's own) goes with the message, with its sizes' addresses."""
    buyer = factory.user()
    p = factory.product()
    pic = api.client.post(
        "/api/v1/me/messages/images", headers=api.headers(buyer), data={"file": (io.BytesIO(image_bytes()), "a.png")}
    ).json
    r = api.post("/me/messages", user=buyer, json={"product_id": p.id, "images": [pic["id"]]})
    assert r.status_code == 201 and r.json["images"][0]["id"] == pic["id"] and r.json["images"][0]["urls"]


def test_polling_after_and_read_marks(api, factory):
    """Issue 18 messages: ``after=<id>`` answers only newer messages; the
    unread count counts the shop's answers until the buyer marks read; the
    shop's read mark shows the buyer's message was read."""
    from jishi_messages import service
    from jishi_messages.models import SELLER

    buyer, admin = factory.user(), factory.admin()
    thread, first = ask(buyer, factory.product())
    r = api.get(f"/me/messages/threads/{thread.id}", user=buyer)
    assert [m["id"] for m in r.json["messages"]] == [first.id] and r.json["thread"]["shop_read_id"] == 0
    assert api.get(f"/me/messages/threads/{thread.id}?after={first.id}", user=buyer).json["messages"] == []
    a1 = answer(thread, admin, "您好")
    a2 = answer(thread, admin, "有货")
    assert api.get("/me/messages/unread", user=buyer).json == {"unread": 2}
    polled = api.get(f"/me/messages/threads/{thread.id}?after={first.id}", user=buyer).json
    assert [m["id"] for m in polled["messages"]] == [a1.id, a2.id] and polled["messages"][0]["mine"] is False
    assert polled["thread"]["shop_read_id"] == a2.id  # answering reads what came before
    r = api.post(f"/me/messages/threads/{thread.id}/read", user=buyer, json={"upto": a1.id})
    assert r.json == {"read_id": a1.id, "unread": 1}
    r = api.post(f"/me/messages/threads/{thread.id}/read", user=buyer, json={})
    assert r.json == {"read_id": a2.id, "unread": 0}
    r = api.post(f"/me/messages/threads/{thread.id}/read", user=buyer, json={"upto": first.id})
    assert r.json["read_id"] == a2.id  # never backwards
    assert service.seller_unread(None) == 0 and service.unread_in(thread, SELLER) == 0


def test_cursor_paging_of_older_messages(api, factory):
    """Issue 18 messages: the latest ``limit`` first, ``before`` pages back."""
    buyer = factory.user()
    thread, _m = ask(buyer, factory.product(), body="1")
    for i in range(2, 6):
        ask(buyer, factory.product(), body=str(i))
    page = api.get(f"/me/messages/threads/{thread.id}?limit=2", user=buyer).json
    assert [m["body"] for m in page["messages"]] == ["4", "5"] and page["has_more"] is True
    older = api.get(f"/me/messages/threads/{thread.id}?limit=10&before={page['messages'][0]['id']}", user=buyer).json
    assert [m["body"] for m in older["messages"]] == ["1", "2", "3"] and older["has_more"] is False


def test_another_buyers_thread_is_404(api, factory):
    """Issue 18 messages: a buyer reads and posts only in their own threads."""
    owner, other = factory.user(), factory.user()
    thread, _m = ask(owner, factory.product())
    assert api.get(f"/me/messages/threads/{thread.id}", user=other).status_code == 404
    assert api.post(f"/me/messages/threads/{thread.id}/messages", user=other, json={"body": "x"}).status_code == 404
    assert api.post(f"/me/messages/threads/{thread.id}/read", user=other, json={}).status_code == 404
    assert api.get("/me/messages/threads", user=other).json == []
