"""Kernel routes the multistore plugin changes the behaviour of (product
visibility and seller info, order details with seller and notices), and the
platform's order changes (改价, address) of any merchant's order."""

from __future__ import annotations

from . import Row
from .orders import ADDRESS, PRICE

ROWS = [
    Row("GET", "/api/v1/products/{obj}", "public", obj="product"),
    Row("GET", "/product/{obj}", "public", obj="product"),
    Row("GET", "/api/v1/admin/orders/{obj}", "platform", obj="order"),
    Row("GET", "/console/orders/{obj}", "platform", obj="order"),
    Row("POST", "/api/v1/admin/orders/{obj}/price", "platform", obj="order", json=PRICE, note="409: paid"),
    Row(
        "POST", "/api/v1/admin/orders/{obj}/address", "platform", obj="order", json={"address": ADDRESS, "reason": "x"}
    ),
    Row("POST", "/console/orders/{obj}/price", "platform", obj="order", data={"pay_amount": "1", "reason": "x"}),
    Row("POST", "/console/orders/{obj}/address", "platform", obj="order", data=dict(ADDRESS, reason="x")),
]
