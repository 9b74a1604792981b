"""The checkout entry for plugins that run a checkout of their own: a
promotion's buy endpoint or page (flash sale, group buy), or a plugin's own
preview (coupons).

Public API for plugins (see docs/writing-plugins.md). Every entry runs the
kernel's one pipeline, so prices, discounts, stock and validation hooks apply
as for ``/api/v1/checkout/place``:

- :func:`build_checkout` ``(user, items, address_id, options)``: the checkout
  (preview; write nothing, roll back after reading it)
- :func:`place_order` ``(user, items, address_id, options, idempotency_key=...)``:
  place it atomically; answers the payment orders (a retry with the same key
  answers the first placement's), a list whose ``replayed`` is True for a
  retry (of concurrent identical requests, exactly one is not)
- :func:`place_orders` ``([PlaceRequest(user, items, address_id, options,
  idempotency_key, expected_total), ...], before_commit=None)``: several
  checkouts in ONE transaction (a queue's consumer), each as
  :func:`place_order` places it, each in a savepoint (a refused one is
  rolled back alone); answers a :class:`Placed` or the refusal per request
- :func:`find_placed` ``(user, key)`` and :func:`placed_together` ``(payment)``:
  an earlier placement with this key, and every payment order it wrote
- :func:`checkout_args`: ``(items, address_id, options)`` from arguments loaded
  with :class:`CheckoutArgsSchema` (the body of ``/checkout/place``)
- :func:`placed_answer`: the ``/checkout/place`` answer for ``payments``
- schemas for an endpoint's documentation: :class:`CheckoutArgsSchema`,
  :class:`CheckoutPlacedSchema`, :class:`OrderSummarySchema`,
  :class:`PaymentOrderSchema`

``items`` is a list of ``(sku_id, quantity)`` (None: the buyer's selected cart
lines); ``options`` holds ``delivery``, ``messages`` and what plugins read
(e.g. ``{"groupbuy": {...}}``).
"""

from __future__ import annotations

from jishi.api.checkout import CheckoutArgsSchema, CheckoutPlacedSchema, checkout_args
from jishi.api.orders import OrderSummarySchema, PaymentOrderSchema
from jishi.checkout.service import (
    Placed,
    PlaceRequest,
    build_checkout,
    find_placed,
    place_order,
    place_orders,
    placed_together,
)

__all__ = [
    "CheckoutArgsSchema",
    "CheckoutPlacedSchema",
    "OrderSummarySchema",
    "PaymentOrderSchema",
    "PlaceRequest",
    "Placed",
    "build_checkout",
    "checkout_args",
    "find_placed",
    "place_order",
    "place_orders",
    "placed_answer",
    "placed_together",
]


def placed_answer(payments, replayed: bool) -> dict:
    """``{"payments", "orders", "replayed"}`` for :class:`CheckoutPlacedSchema`."""
    return {"payments": payments, "orders": [o for p in payments for o in p.orders], "replayed": replayed}
