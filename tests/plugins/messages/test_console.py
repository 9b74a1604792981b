"""The shop answers (issue 18 "Buyer ↔ shop messages"): without
multistore the platform's staff answer every conversation in the seller
pages; unread counts per conversation, in total on the console's home
(``console_todos``); answering marks read; staff without the right get 403."""

from __future__ import annotations

from jishi.db import db

from .helpers import ask, thread


def test_staff_answer_and_unread_counts(client, login, factory):
    """Issue 18 messages: two unread questions show per thread and in the
    console's to-do; opening the conversation reads them; the answer is the
    shop's and the buyer sees it unread."""
    from jishi_messages import service

    buyer, admin = factory.user(name="小王"), factory.admin()
    t, _m = ask(buyer, factory.product(name="普洱"), body="第一问")
    ask(buyer, factory.product(), body="第二问")
    login(admin)
    home = client.get("/console/").get_data(as_text=True)
    assert "未读客服消息" in home and "/seller/messages/?unread=1" in home
    index = client.get("/seller/messages/").get_data(as_text=True)
    assert 'data-unread="2"' in index and "小王" in index and 'data-total-unread="2"' in index
    assert client.get("/seller/messages/?unread=1").get_data(as_text=True).count("data-thread=") == 1
    page = client.get(f"/seller/messages/{t.id}").get_data(as_text=True)
    assert "第一问" in page and "第二问" in page
    assert service.seller_unread(None) == 0
    assert "data-thread=" not in client.get("/seller/messages/?unread=1").get_data(as_text=True)
    r = client.post(f"/seller/messages/{t.id}", data={"body": "您好，在的"})
    assert r.status_code == 302
    assert service.buyer_unread(buyer) == 1 and thread(t.id).seller_read_id == thread(t.id).last_message_id


def test_empty_answer_is_a_422_page(client, login, factory):
    """Issue 18 messages: bad input answers the page again naming the field."""
    from jishi_messages.models import Message

    t, _m = ask(factory.user(), factory.product())
    login(factory.admin())
    r = client.post(f"/seller/messages/{t.id}", data={"body": " "})
    assert r.status_code == 422 and 'data-error-field="body"' in r.get_data(as_text=True)
    assert db.session.query(Message).count() == 1


def test_staff_role_without_messages_or_orders_is_refused(client, login, factory):
    """Issue 18 messages: the pages ask for ``messages`` (a customer-service
    role) or ``orders``; a staff role with neither gets 403."""
    from jishi.roles import save_role

    role = save_role(None, "只管商品", ["products"])
    staff = factory.user(role="platform_staff")
    staff.staff_role_id = role.id
    db.session.commit()
    login(staff)
    assert client.get("/seller/messages/").status_code == 403
    cs = save_role(None, "客服", ["messages"])
    staff.staff_role_id = cs.id
    db.session.commit()
    assert client.get("/seller/messages/").status_code == 200


def test_menu_item_in_the_console(client, login, factory):
    """Issue 18 messages: the console menu links to the conversations."""
    login(factory.admin())
    assert "/seller/messages/" in client.get("/console/").get_data(as_text=True)
