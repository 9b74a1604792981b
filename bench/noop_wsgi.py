"""The kernel app with 10 no-op plugins registered (hook-overhead benchmark)."""

from __future__ import annotations

from jishi.app import create_app
from jishi.hookspecs import hookimpl


class NoOp:
    def __init__(self, i):
        self.__name__ = f"noop{i}"

    @hookimpl
    def line_price_rules(self, line, user):
        return None

    @hookimpl
    def order_discounts(self, checkout):
        return None

    @hookimpl
    def validate_checkout(self, checkout):
        return None

    @hookimpl
    def delivery_options(self, group, address, checkout):
        return None

    @hookimpl
    def template_slot(self, slot, context):
        return None


app = create_app({"JISHI_SANDBOX_SECRET": "bench"}, plugins=[NoOp(i) for i in range(10)])
