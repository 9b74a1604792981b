"""Helpers shared by the messages tests."""

from __future__ import annotations

from jishi.db import db
from jishi.testing import flows


def order_of(factory, buyer, product=None, *, seller_id=None):
    """A placed (unpaid) order of ``buyer`` for ``product`` (a new one of
    ``seller_id`` when None)."""
    product = product or factory.product(seller_id=seller_id)
    payments = flows.place(buyer, [(product.skus[0], 1)], factory.address(buyer))
    return payments[0].orders[0]


def ask(buyer, product=None, order=None, body="在吗？"):
    """``buyer``'s message about ``product`` or ``order`` (the service)."""
    from jishi_messages import service
    from jishi_messages.models import BUYER

    key, p, o = service.subject(buyer, product.id if product else None, order.id if order else None)
    thread = service.open_thread(buyer, key)
    return thread, service.post(thread, BUYER, buyer, body, product=p, order=o)


def answer(thread, staff, body="您好"):
    from jishi_messages import service
    from jishi_messages.models import SELLER

    return service.post(thread, SELLER, staff, body)


def thread(thread_id):
    from jishi_messages.models import Thread

    db.session.expire_all()
    return db.session.get(Thread, thread_id)
