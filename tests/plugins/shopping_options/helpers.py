"""Helpers for the shopping options tests: overrides, buyers, placing."""

from __future__ import annotations

import itertools

from jishi import settings
from jishi.db import commit, db
from jishi.testing import flows
from jishi_shopping_options import service

_keys = itertools.count(1)


def options(product, **values):
    """Set ``product``'s overrides (committed)."""
    row = service.save(product, values)
    commit()
    return row


def defaults(**values):
    """Set the platform's defaults / caps: ``defaults(max_per_buyer=3)``."""
    settings.set_many({service.PREFIX + k: v for k, v in values.items()})
    commit()


def buyer(factory, **kw):
    u = factory.user(**kw)
    factory.address(u)
    return u


def place(user, sku_id, quantity=1):
    """Place through the kernel's checkout service (buy now, not the cart); returns the order."""
    payments = flows.place(user, [(sku_id, quantity)], flows.address_id(user), key=f"so-{next(_keys)}")
    return payments[0].orders[0]


def held(product_id, user_id) -> int:
    db.session.expire_all()
    return service.held(product_id, user_id)
