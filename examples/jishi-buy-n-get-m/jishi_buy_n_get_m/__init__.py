"""jishi-buy-n-get-m: "buy N pay M" (买N付M) for Jishi.

A seller sets, per product of its own, "buy 3 pay 2": every complete set of
3 units in a checkout has 1 unit free. The free units are an order-level
discount funded by the seller (the ``order_discounts`` hook); the kernel
caps it and allocates it over the product's lines.

The plugin object is :mod:`jishi_buy_n_get_m.plugin` (entry point
``buy_n_get_m``). It imports only Jishi's public API
(docs/writing-a-marketing-plugin.md).
"""

__version__ = "0.1.0"
