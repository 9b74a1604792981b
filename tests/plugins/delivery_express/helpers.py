"""Shared helpers: templates, placing and paying express orders."""

from __future__ import annotations

import itertools

from jishi.db import db
from jishi.testing import flows
from jishi.testing.principals import sign_in
from jishi_delivery_express.testing import PIECE

WEIGHT = {
    "name": "按重",
    "charge_by": "weight",
    "first_units": 1000,
    "first_fee": 1200,
    "additional_units": 500,
    "additional_fee": 400,
}


def login(client, user):
    """Sign ``user`` in on ``client``, pages in English (the msgids)."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    sign_in(client, user)


def template(**kw):
    from jishi_delivery_express import service

    data = dict(PIECE)
    data.update(kw)
    return service.save_template(data)


def place(user, items, address=None, key=None, options=None, paid=True):
    """Place (and pay) a checkout of (sku, quantity); returns the orders."""
    payments = flows.place(user, items, address, options, key=key or f"k{next(_seq)}")
    orders = [o for p in payments for o in p.orders]
    if paid:
        for p in payments:
            flows.pay(p)
    for o in orders:
        db.session.refresh(o)
    return orders


_seq = itertools.count(1)
