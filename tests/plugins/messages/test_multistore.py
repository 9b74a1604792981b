"""Messages in the mall (issue 18 "Buyer ↔ shop messages"): a merchant's
product or order goes to that merchant, a self-operated one to the
platform; a merchant's staff see only their merchant's conversations; the
platform reads any merchant's conversation in a dispute without marking
it read and may post, marked as the platform's."""

from __future__ import annotations

import pytest
from jishi.db import db

from .helpers import ask, order_of, thread

pytestmark = pytest.mark.jishi_plugins("multistore", "messages")


def test_the_shop_is_the_products_merchant_or_the_platform(api, factory, ms):
    """Issue 18 messages: one conversation per (buyer, shop): the merchant's
    products and orders go to the merchant, self-operated ones to the platform."""
    buyer = factory.user()
    m = ms.merchant("茶庄")
    tea, own = ms.product(m, name="茶"), factory.product(name="自营米")
    a = api.post("/me/messages", user=buyer, json={"product_id": tea.id, "body": "1"}).json
    b = api.post("/me/messages", user=buyer, json={"product_id": own.id, "body": "2"}).json
    order = order_of(factory, buyer, tea)
    c = api.post("/me/messages", user=buyer, json={"order_id": order.id, "body": "3"}).json
    assert a["thread_id"] == c["thread_id"] != b["thread_id"]
    shops = {t["shop"]["seller_id"]: t["shop"]["name"] for t in api.get("/me/messages/threads", user=buyer).json}
    assert shops[m.id] == "茶庄" and None in shops


def test_merchants_see_only_their_own(client, login, factory, ms):
    """Issue 18 messages: M1's admin and clerk list and answer M1's
    conversations; M2's admin gets 404 for them; the platform's seller
    pages hold only self-operated conversations."""
    from jishi_messages import service

    m1, m2 = ms.merchant("一号店"), ms.merchant("二号店")
    buyer = factory.user()
    t1, _m = ask(buyer, ms.product(m1), body="问一号店")
    t0, _m = ask(buyer, factory.product(), body="问平台")
    login(ms.clerk(m1))
    page = client.get("/seller/messages/").get_data(as_text=True)
    assert f'data-thread="{t1.id}"' in page and f'data-thread="{t0.id}"' not in page
    assert client.post(f"/seller/messages/{t1.id}", data={"body": "店员回复"}).status_code == 302
    home = client.get("/merchant/").get_data(as_text=True)
    assert "未读客服消息" in home and 'href="/seller/messages/"' in home  # the to-do and the menu
    login(ms.admin_of(m2))
    assert f'data-thread="{t1.id}"' not in client.get("/seller/messages/").get_data(as_text=True)
    assert client.get(f"/seller/messages/{t1.id}").status_code == 404
    assert client.post(f"/seller/messages/{t1.id}", data={"body": "x"}).status_code == 404
    login(factory.admin())
    page = client.get("/seller/messages/").get_data(as_text=True)
    assert f'data-thread="{t0.id}"' in page and f'data-thread="{t1.id}"' not in page
    assert client.get(f"/seller/messages/{t1.id}").status_code == 404
    assert service.seller_unread(m1.id) == 0 and service.seller_unread(None) == 1


def test_platform_reads_a_dispute_and_may_post_as_the_platform(client, login, factory, ms):
    """Issue 18 messages: the platform's dispute pages list merchants'
    conversations; reading marks nothing read for either side; a post is
    shown as the platform's and is unread for the buyer and the merchant."""
    from jishi_messages import service
    from jishi_messages.models import PLATFORM

    m = ms.merchant("三号店")
    buyer = factory.user()
    t, first = ask(buyer, ms.product(m), body="货不对版")
    login(factory.admin())
    index = client.get("/console/messages/").get_data(as_text=True)
    assert f'data-thread="{t.id}"' in index and "三号店" in index
    assert f'data-thread="{t.id}"' in client.get(f"/console/messages/?seller_id={m.id}").get_data(as_text=True)
    page = client.get(f"/console/messages/{t.id}").get_data(as_text=True)
    assert "货不对版" in page and "以平台身份发言" in page
    assert thread(t.id).seller_read_id == 0 and service.seller_unread(m.id) == 1
    assert client.post(f"/console/messages/{t.id}", data={"body": "平台介入：请商家核实"}).status_code == 302
    rows = service.messages(thread(t.id))
    assert rows[-1].side == PLATFORM and service.buyer_unread(buyer) == 1 and service.seller_unread(m.id) == 2
    login(ms.admin_of(m))
    assert "side-platform" in client.get(f"/seller/messages/{t.id}").get_data(as_text=True)


def test_dispute_pages_are_platform_only(client, login, factory, ms):
    """Issue 18 messages: a merchant admin gets 403 on the dispute pages;
    the platform's own conversations are not there (404)."""
    m = ms.merchant()
    buyer = factory.user()
    t, _m = ask(buyer, ms.product(m))
    own, _m = ask(buyer, factory.product())
    login(ms.admin_of(m))
    assert client.get("/console/messages/").status_code == 403
    assert client.get(f"/console/messages/{t.id}").status_code == 403
    login(factory.admin())
    assert client.get(f"/console/messages/{own.id}").status_code == 404


def test_merchant_answers_with_its_own_pictures(client, login, factory, ms):
    """Issue 18 messages: merchant staff upload as their merchant (the
    picture lands in the merchant's media library)."""
    import io

    from jishi.db import db
    from jishi.media import MediaAsset
    from jishi.testing.factories import image_bytes

    m = ms.merchant()
    t, _m = ask(factory.user(), ms.product(m))
    login(ms.admin_of(m))
    r = client.post(
        f"/seller/messages/{t.id}",
        data={"body": "实拍", "images": (io.BytesIO(image_bytes()), "a.png")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 302
    asset = db.session.query(MediaAsset).one()
    assert (asset.owner_kind, asset.owner_id) == ("merchant", m.id)


def test_a_card_must_be_of_the_threads_shop(api, factory, ms):
    """Issue 18 messages: in the conversation with M1, a card of M2's product
    or of an order from M2 is a 422 naming the field; nothing is written."""
    from jishi_messages.models import Message

    m1, m2 = ms.merchant(), ms.merchant()
    buyer = factory.user()
    t, _m = ask(buyer, ms.product(m1))
    theirs = ms.product(m2)
    r = api.post(f"/me/messages/threads/{t.id}/messages", user=buyer, json={"body": "x", "product_id": theirs.id})
    assert r.status_code == 422 and r.json["field"] == "product_id"
    order = order_of(factory, buyer, theirs)
    r = api.post(f"/me/messages/threads/{t.id}/messages", user=buyer, json={"body": "x", "order_id": order.id})
    assert r.status_code == 422 and r.json["field"] == "order_id"
    assert db.session.query(Message).count() == 1
    r = api.post(
        f"/me/messages/threads/{t.id}/messages", user=buyer, json={"body": "x", "product_id": ms.product(m1).id}
    )
    assert r.status_code == 201


def test_platform_viewing_a_merchant_console_reads_only(client, login, factory, ms):
    """Issue 18 messages: the platform opening a merchant's console (MS4,
    read-only) reads its conversations without marking them read and
    cannot answer in the merchant's name (403)."""
    m = ms.merchant()
    t, _m = ask(factory.user(), ms.product(m), body="请发顺丰")
    login(factory.admin())
    with client.session_transaction() as sess:
        sess["multistore_view"] = m.id
    page = client.get(f"/seller/messages/{t.id}")
    assert page.status_code == 200 and "请发顺丰" in page.get_data(as_text=True)
    assert 'name="body"' not in page.get_data(as_text=True)
    assert thread(t.id).seller_read_id == 0
    assert client.post(f"/seller/messages/{t.id}", data={"body": "x"}).status_code == 403
