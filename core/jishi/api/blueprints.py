"""Every kernel API blueprint, in one list (registered by the default plugin)."""

from __future__ import annotations

import importlib

MODULES = (
    "jishi.api.accounts",
    "jishi.api.catalog",
    "jishi.api.cart",
    "jishi.api.checkout",
    "jishi.api.orders",
    "jishi.api.aftersales",
    "jishi.api.reviews",
    "jishi.api.admin_catalog",
    "jishi.api.admin_orders",
    "jishi.api.misc",
    "jishi.api.media",
)


def all_blueprints():
    out = []
    for name in MODULES:
        out.append(importlib.import_module(name).blp)
    return out
