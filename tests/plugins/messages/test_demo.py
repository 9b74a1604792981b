"""Messages demo (issue 18 messages): ``jishi demo`` has a conversation of
the demo buyer with the shop and the shop's reply; with multistore, an
unread question in a merchant's console."""

from __future__ import annotations

import pytest
from jishi.db import db
from sqlalchemy import select


def _load(app):
    from jishi.demo import load_demo

    with app.test_request_context("/"):
        return load_demo({})


def test_demo_has_a_thread_with_a_reply(app, client, login):
    """Issue 18 messages: a thread with the buyer's question and the shop's
    answer, read by both; the buyer's page shows it."""
    from jishi.accounts.models import User
    from jishi_messages import service
    from jishi_messages.models import Message, Thread

    summary = _load(app)
    assert "a conversation with the shop" in summary
    thread = db.session.scalars(select(Thread)).one()
    sides = [m.side for m in db.session.scalars(select(Message).where(Message.thread_id == thread.id))]
    assert sides == ["buyer", "seller"] and thread.product_id is not None
    buyer = db.session.get(User, thread.user_id)
    assert service.buyer_unread(buyer) == 0 and service.seller_unread(None) == 0
    login(buyer)
    assert "下午四点前付款当天发货" in client.get(f"/messages/{thread.id}").get_data(as_text=True)


@pytest.mark.jishi_plugins("multistore", "messages")
def test_demo_with_multistore_leaves_a_merchant_an_unread_question(app):
    """Issue 18 messages: with multistore, a merchant has one unread question."""
    from jishi_messages.models import Thread

    summary = _load(app)
    assert "unread question to a merchant" in summary
    threads = db.session.scalars(select(Thread).where(Thread.seller_key != 0)).all()
    assert len(threads) == 1
    from jishi_messages import service

    assert service.seller_unread(threads[0].seller_id) == 1
