"""The shop's side of the JSON API (issue 18 messages: a merchant answers
from its app as from its console): its conversations with unread counts,
reading, answering with pictures of its media library, read marks; another
merchant's conversation is 404."""

from __future__ import annotations

import io

import pytest
from jishi.testing.factories import image_bytes

from .helpers import ask

pytestmark = pytest.mark.jishi_plugins("multistore", "messages")


def test_merchant_answers_through_the_api(api, factory, ms):
    """Issue 18 messages: M1's clerk lists M1's conversations (unread 1),
    answers with a picture from M1's library, the buyer sees it unread and
    the shop's mark is at the answer; M2's admin gets 404."""
    m1, m2 = ms.merchant(), ms.merchant()
    buyer = factory.user(name="老李")
    t, first = ask(buyer, ms.product(m1, name="白茶"), body="有饼吗？")
    clerk = ms.clerk(m1)
    rows = api.get("/seller/messages/threads", user=clerk).json
    assert [(r["id"], r["unread"], r["buyer"]["name"]) for r in rows] == [(t.id, 1, "老李")]
    assert rows[0]["product"]["name"] == "白茶"
    assert api.get("/seller/messages/unread", user=clerk).json == {"unread": 1}
    assert api.get("/seller/messages/threads?unread=true", user=clerk).json[0]["id"] == t.id
    page = api.get(f"/seller/messages/threads/{t.id}", user=clerk).json
    assert page["messages"][0]["mine"] is False and page["thread"]["unread"] == 1
    pic = api.client.post(
        "/api/v1/seller/media",
        headers=api.headers(ms.admin_of(m1)),
        data={"file": (io.BytesIO(image_bytes()), "a.png")},
    )
    assert pic.status_code == 201, pic.json
    r = api.post(
        f"/seller/messages/threads/{t.id}/messages", user=clerk, json={"body": "有", "images": [pic.json["id"]]}
    )
    assert r.status_code == 201 and r.json["mine"] is True and r.json["side"] == "seller" and r.json["images"]
    assert api.get("/seller/messages/unread", user=clerk).json == {"unread": 0}
    assert api.get("/me/messages/unread", user=buyer).json == {"unread": 1}
    other = ms.admin_of(m2)
    assert api.get(f"/seller/messages/threads/{t.id}", user=other).status_code == 404
    assert api.post(f"/seller/messages/threads/{t.id}/read", user=other, json={}).status_code == 404
    assert api.get("/seller/messages/threads", user=other).json == []


def test_shop_cannot_send_another_libraries_picture(api, factory, ms):
    """Issue 18 messages: a picture of M2's library is a 422 naming ``images``
    for M1."""
    m1, m2 = ms.merchant(), ms.merchant()
    t, _m = ask(factory.user(), ms.product(m1))
    pic = api.client.post(
        "/api/v1/seller/media",
        headers=api.headers(ms.admin_of(m2)),
        data={"file": (io.BytesIO(image_bytes()), "a.png")},
    ).json
    r = api.post(f"/seller/messages/threads/{t.id}/messages", user=ms.admin_of(m1), json={"images": [pic["id"]]})
    assert r.status_code == 422 and r.json["field"] == "images"
