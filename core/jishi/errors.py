"""The one base of every error a domain rule raises for bad input or a
conflicting state.

Services raise a subclass (``CatalogError("skus.0.price", "...")``); the
JSON API answers every one the same way, ``{"code", "message", "field"}``
with ``status`` (422 by default, 409 for ``code="conflict"``), after rolling
the transaction back — so endpoints need no try/except of their own.
Web views catch them to show the message next to the field.
"""

from __future__ import annotations


class DomainError(Exception):
    status = 422

    def __init__(
        self,
        field: str | None,
        message: str,
        code: str = "invalid",
        status: int | None = None,
        errors: list | None = None,
    ):
        self.field = field
        self.message = message
        self.code = code
        if status is not None:
            self.status = status
        elif code == "conflict":
            self.status = 409
        self.errors = errors
        super().__init__(message)
