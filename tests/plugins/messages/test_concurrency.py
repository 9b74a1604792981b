"""Messages under real concurrency (threads with their own connections;
truly concurrent on PostgreSQL, serialised by BEGIN IMMEDIATE on SQLite):
a buyer's first messages to a shop sent at the same moment make ONE
conversation (issue 18: one thread per buyer and shop), every message kept;
read marks never move backwards while messages arrive."""

from __future__ import annotations

import pytest
from jishi.accounts.models import User
from jishi.db import db
from jishi.testing import parallel_config, run_parallel
from sqlalchemy import func, select


@pytest.fixture
def app_config():
    return parallel_config()


def _first_message(uid: int, pid: int, i: int) -> int:
    from jishi_messages import service
    from jishi_messages.models import BUYER

    buyer = db.session.get(User, uid)
    key, product, _o = service.subject(buyer, pid, None)
    thread = service.open_thread(buyer, key)
    return service.post(thread, BUYER, buyer, f"第{i}问", product=product).thread_id


def test_simultaneous_first_messages_make_one_thread(app, factory):
    """Issue 18 messages: 8 first messages at once to one shop: one thread
    (the unique (buyer, shop) and the savepoint that reuses the winner's),
    8 messages in it, the thread's last message the newest."""
    from jishi_messages.models import Message, Thread

    uid = factory.user().id
    products = [factory.product().id for _ in range(8)]
    results, errors = run_parallel(app, 8, lambda i: _first_message(uid, products[i], i), request={"method": "POST"})
    assert not errors, errors
    db.session.expire_all()
    threads = db.session.scalars(select(Thread)).all()
    assert len(threads) == 1 and set(results) == {threads[0].id}
    assert db.session.scalar(select(func.count()).select_from(Message)) == 8
    assert threads[0].last_message_id == db.session.scalar(select(func.max(Message.id)))
    assert threads[0].buyer_read_id == threads[0].last_message_id


def test_read_marks_only_move_forward_while_messages_arrive(app, factory):
    """Issue 18 messages: the shop answers while the buyer marks read, at
    once: the buyer's mark never passes a message it did not see as the
    latest and never goes back; what came after stays unread."""
    from jishi_messages import service
    from jishi_messages.models import BUYER, SELLER, Thread

    buyer, admin = factory.user(), factory.admin()
    p = factory.product()
    key, product, _o = service.subject(buyer, p.id, None)
    thread = service.open_thread(buyer, key)
    service.post(thread, BUYER, buyer, "问", product=product)
    tid, admin_id = thread.id, admin.id

    def work(i):
        t = db.session.get(Thread, tid)
        if i % 2:
            return service.mark_read(t, BUYER)
        return service.post(t, SELLER, db.session.get(User, admin_id), f"答{i}").id

    results, errors = run_parallel(app, 10, work, request={"method": "POST"})
    assert not errors, errors
    db.session.expire_all()
    t = db.session.get(Thread, tid)
    answers = sorted(r for i, r in enumerate(results) if i % 2 == 0)
    assert t.buyer_read_id <= t.last_message_id == answers[-1]
    assert service.unread_in(t, BUYER) == sum(1 for a in answers if a > t.buyer_read_id)
    assert t.seller_read_id == answers[-1]
