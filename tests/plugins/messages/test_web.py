"""The buyer's message pages (issue 18 "Buyer ↔ shop messages"): 联系商家
on the product page and the order page, a first message by a plain form
(no JavaScript), the conversation page (marks read, polls through the API
when scripts run), my messages with unread counts; errors as pages."""

from __future__ import annotations

import io

from jishi.testing.factories import image_bytes

from .helpers import answer, ask, order_of, thread


def test_contact_from_the_product_page_and_first_message(client, login, factory):
    """Issue 18 messages: the product page links to 联系商家; the contact
    page posts a first message with the product's card and lands on the
    conversation."""
    buyer = factory.user()
    p = factory.product(name="龙井")
    login(buyer)
    page = client.get(f"/product/{p.id}").get_data(as_text=True)
    assert f"/messages/contact?product_id={p.id}" in page and "联系商家" in page
    form = client.get(f"/messages/contact?product_id={p.id}")
    assert form.status_code == 200 and "龙井" in form.get_data(as_text=True)
    r = client.post(f"/messages/contact?product_id={p.id}", data={"body": "明前的吗？"})
    assert r.status_code == 302 and "/messages/" in r.headers["Location"]
    conv = client.get(r.headers["Location"].split("#")[0]).get_data(as_text=True)
    assert "明前的吗？" in conv and "龙井" in conv and "data-poll-url" in conv and "?after=" in conv
    # a second visit goes to the same conversation, with the card ready to send
    again = client.get(f"/messages/contact?product_id={p.id}")
    assert again.status_code == 302 and f"product_id={p.id}" in again.headers["Location"]


def test_contact_from_the_order_page(client, login, factory):
    """Issue 18 messages: the buyer's order page links to 联系商家 with the
    order; another buyer's order is 404."""
    buyer, other = factory.user(), factory.user()
    order = order_of(factory, buyer)
    login(buyer)
    assert f"/messages/contact?order_id={order.id}" in client.get(f"/orders/{order.id}").get_data(as_text=True)
    r = client.post(f"/messages/contact?order_id={order.id}", data={"body": "改地址"})
    assert r.status_code == 302
    login(other)
    assert client.get(f"/messages/contact?order_id={order.id}").status_code == 404


def test_errors_are_pages_naming_the_field(client, login, factory):
    """Issue 18 messages: an empty or too long message answers the page
    again (422) with the message next to the field; nothing is written."""
    from jishi.db import db
    from jishi_messages.models import Message, Thread

    buyer = factory.user()
    p = factory.product()
    login(buyer)
    r = client.post(f"/messages/contact?product_id={p.id}", data={"body": "x" * 1001})
    assert r.status_code == 422 and 'data-error-field="body"' in r.get_data(as_text=True)
    assert db.session.query(Message).count() == 0 and db.session.query(Thread).count() == 0
    r = client.post(f"/messages/contact?product_id={p.id}", data={"body": ""})
    assert r.status_code == 302  # the product card alone is a message (咨询这个商品)


def test_picture_by_form_and_reading_marks_read(client, login, factory):
    """Issue 18 messages: a picture sent with the form is stored as the
    buyer's upload and shown; opening the conversation reads the shop's
    answers (the inbox shows the unread count until then)."""
    buyer, admin = factory.user(), factory.admin()
    t, _m = ask(buyer, factory.product())
    login(buyer)
    r = client.post(
        f"/messages/{t.id}",
        data={"body": "看图", "images": (io.BytesIO(image_bytes()), "a.png")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 302
    answer(t, admin, "收到")
    inbox = client.get("/messages").get_data(as_text=True)
    assert 'data-unread="1"' in inbox
    conv = client.get(f"/messages/{t.id}").get_data(as_text=True)
    assert "收到" in conv and "<img" in conv
    assert thread(t.id).buyer_read_id == thread(t.id).last_message_id
    assert "data-unread" not in client.get("/messages").get_data(as_text=True)


def test_another_buyers_conversation_is_404(client, login, factory):
    """Issue 18 messages: a buyer sees only their own conversations."""
    owner, other = factory.user(), factory.user()
    t, _m = ask(owner, factory.product())
    login(other)
    assert client.get(f"/messages/{t.id}").status_code == 404
    assert client.post(f"/messages/{t.id}", data={"body": "x"}).status_code == 404
