"""Errors raised by the checkout pipeline; the API and web turn them into 4xx."""

from __future__ import annotations

from jishi.hookspecs import Problem


class CheckoutError(Exception):
    """The checkout cannot be placed; ``problems`` say why (HTTP 409/422)."""

    status = 422

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("; ".join(p.message for p in self.problems))


class OutOfStock(CheckoutError):
    status = 409

    def __init__(self, line_key: str, name: str):
        from jishi.i18n import gettext as _

        super().__init__([Problem("out_of_stock", _("%(name)s is out of stock.", name=name), field="items", line_key=line_key)])
