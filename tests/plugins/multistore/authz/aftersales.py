"""Policy rows of a merchant's after-sales desk (issue 13 C1; MS17: clerks
hold "aftersales").

``refund`` is a refund-only request, not yet decided, on that merchant's paid
order. Another merchant's request answers 404 everywhere (the merchant comes
from the principal); the platform keeps the kernel's ``/console/refunds``."""

from __future__ import annotations

from . import Row

M = "/api/v1/merchant/refunds"
C = "/merchant/refunds"

ROWS = [
    # --- merchant API
    Row("GET", M, "merchant:aftersales"),
    Row("GET", f"{M}?status=requested", "merchant:aftersales"),
    Row("GET", f"{M}/{{obj}}", "merchant:aftersales", obj="refund"),
    Row("POST", f"{M}/{{obj}}/approve", "merchant:aftersales", obj="refund", json={}),
    Row("POST", f"{M}/{{obj}}/reject", "merchant:aftersales", obj="refund", json={"reason": "缺货"}),
    Row(
        "POST",
        f"{M}/{{obj}}/confirm-returned",
        "merchant:aftersales",
        obj="refund",
        json={},
        note="409: nothing comes back for a refund-only request",
    ),
    # --- merchant console
    Row("GET", C, "merchant:aftersales"),
    Row("GET", f"{C}/{{obj}}", "merchant:aftersales", obj="refund"),
    Row("POST", f"{C}/{{obj}}/approve", "merchant:aftersales", obj="refund", data={}),
    Row("POST", f"{C}/{{obj}}/reject", "merchant:aftersales", obj="refund", data={"reason": "缺货"}),
    Row("POST", f"{C}/{{obj}}/confirm-returned", "merchant:aftersales", obj="refund", data={}),
]
