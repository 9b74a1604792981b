"""Errors raised by the checkout pipeline; the API and web turn them into 4xx."""

from __future__ import annotations

from jishi.errors import DomainError
from jishi.hookspecs import Problem


class CheckoutError(DomainError):
    """The checkout cannot be placed; ``problems`` say why (HTTP 409/422).

    The first problem gives ``field``/``code``; ``errors`` lists them all.
    """

    status = 422

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        first = self.problems[0]
        super().__init__(
            first.field,
            first.message,
            code=first.code,
            status=self.status,
            errors=[
                {"code": p.code, "message": p.message, "field": p.field, "line": p.line_key, "group": p.group_key}
                for p in self.problems
            ],
        )
        self.args = ("; ".join(p.message for p in self.problems),)  # str(exc): every problem


class OutOfStock(CheckoutError):
    status = 409

    def __init__(self, line_key: str, name: str):
        from jishi.i18n import gettext as _

        super().__init__(
            [Problem("out_of_stock", _("%(name)s is out of stock.", name=name), field="items", line_key=line_key)]
        )


class TotalChanged(CheckoutError):
    """The buyer placed a checkout whose total is no longer what they saw
    (``expected_total`` of :func:`~jishi.checkout.service.place_order`):
    nothing is placed; ``pay_amount`` is the total now (HTTP 409)."""

    status = 409

    def __init__(self, pay_amount: int):
        from jishi.i18n import gettext as _
        from jishi.money import format_fen

        self.pay_amount = pay_amount
        super().__init__(
            [
                Problem(
                    "total_changed",
                    _("The total is now %(total)s; check it and place the order again.", total=format_fen(pay_amount)),
                    field="expected_total",
                )
            ]
        )
