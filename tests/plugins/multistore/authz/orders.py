"""Policy rows of merchant orders (MS10; MS17: clerks hold "orders").

``order`` is a paid order of that merchant. Another merchant's order answers
404 everywhere (the merchant comes from the principal)."""

from __future__ import annotations

from . import Row

M = "/api/v1/merchant/orders"
A = "/api/v1/admin/multistore/orders"
C = "/console/multistore/orders"
SHIP = {"carrier": "顺丰", "tracking_no": "SF100"}
PRICE = {"pay_amount": 100, "reason": "议价"}
ADDRESS = {"name": "王五", "phone": "13700002222", "province": "江苏省", "city": "南京市", "detail": "中山路 8 号"}

ROWS = [
    # --- merchant API
    Row("GET", f"{M}?status=paid", "merchant:orders"),
    Row("GET", f"{M}/export?format=csv", "merchant:orders"),
    Row("GET", f"{M}/{{obj}}", "merchant:orders", obj="order"),
    Row("POST", f"{M}/{{obj}}/ship", "merchant:orders", obj="order", json=SHIP),
    Row(
        "POST",
        f"{M}/{{obj}}/status",
        "merchant:orders",
        obj="order",
        json={"name": "receive"},
        note="409 until shipped",
    ),
    Row(
        "POST",
        f"{M}/ship-batch",
        "merchant:orders",
        json={"items": [{"order_id": 2147483000, **SHIP}]},
        note="200 with a per-order 'not found'",
    ),
    Row("POST", f"{M}/{{obj}}/price", "merchant:orders", obj="order", json=PRICE, note="409: the order is paid"),
    Row("POST", f"{M}/{{obj}}/address", "merchant:orders", obj="order", json={"address": ADDRESS, "reason": "改址"}),
    # --- merchant console
    Row("GET", "/merchant/orders", "merchant:orders"),
    Row("GET", "/merchant/orders/{obj}", "merchant:orders", obj="order"),
    Row("POST", "/merchant/orders/{obj}/ship", "merchant:orders", obj="order", data=SHIP),
    Row("POST", "/merchant/orders/{obj}/status", "merchant:orders", obj="order", data={"name": "receive"}),
    Row(
        "POST", "/merchant/orders/{obj}/price", "merchant:orders", obj="order", data={"pay_amount": "1", "reason": "x"}
    ),
    Row("POST", "/merchant/orders/{obj}/address", "merchant:orders", obj="order", data=dict(ADDRESS, reason="改址")),
    Row("POST", "/merchant/orders/ship-batch", "merchant:orders", data={"order_id": "2147483000"}),
    Row("GET", "/merchant/orders/packing-slip?ids={obj}", "merchant:orders", obj="order"),
    Row("GET", "/merchant/orders/export?format=xlsx", "merchant:orders"),
    # --- the platform
    Row("GET", A, "platform"),
    Row("GET", f"{A}/export?format=csv", "platform"),
    Row("GET", f"{A}/{{obj}}", "platform", obj="order"),
    Row("POST", f"{A}/{{obj}}/complete", "platform", obj="order"),
    Row("POST", f"{A}/{{obj}}/close", "platform", obj="order"),
    Row("GET", C, "platform"),
    Row("GET", f"{C}/{{obj}}", "platform", obj="order"),
    Row("POST", f"{C}/{{obj}}/complete", "platform", obj="order"),
    Row("POST", f"{C}/{{obj}}/close", "platform", obj="order"),
]
