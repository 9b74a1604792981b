"""Kernel routes the multistore plugin changes the behaviour of (product
visibility and seller info, order details with seller and notices)."""

from __future__ import annotations

from . import Row

ROWS = [
    Row("GET", "/api/v1/products/{obj}", "public", obj="product"),
    Row("GET", "/product/{obj}", "public", obj="product"),
    Row("GET", "/api/v1/admin/orders/{obj}", "platform", obj="order"),
    Row("GET", "/console/orders/{obj}", "platform", obj="order"),
]
