"""Policy rows of merchant products and comments (MS7, MS14)."""

from __future__ import annotations

from . import Row

M = "/api/v1/merchant"
A = "/api/v1/admin/multistore"

ROWS = [
    # --- merchant API: products (permission "products": admins, not clerks)
    Row("GET", f"{M}/product-options", "merchant:products"),
    Row("GET", f"{M}/products", "merchant:products"),
    Row(
        "POST",
        f"{M}/products",
        "merchant:products",
        json={"name": "新品", "skus": [{"price": 100}]},
        note="422: no category",
    ),
    Row("GET", f"{M}/products/{{obj}}", "merchant:products", obj="product"),
    Row("GET", f"{M}/products/{{obj}}", "merchant:products", obj="pending_product"),
    Row("PATCH", f"{M}/products/{{obj}}", "merchant:products", obj="product", json={"name": "改名"}),
    Row("POST", f"{M}/products/{{obj}}/shelf", "merchant:products", obj="product", json={"on_shelf": False}),
    Row(
        "POST",
        f"{M}/products/{{obj}}/shelf",
        "merchant:products",
        obj="pending_product",
        json={"on_shelf": True},
        note="409: not approved",
    ),
    Row("DELETE", f"{M}/products/{{obj}}", "merchant:products", obj="pending_product"),
    # --- merchant API: comments (clerks too)
    Row("GET", f"{M}/comments", "merchant:comments"),
    Row("POST", f"{M}/comments/{{obj}}/reply", "merchant:comments", obj="review", json={"reply": "谢谢"}),
    Row("DELETE", f"{M}/comments/{{obj}}", "merchant:comments", obj="review"),
    # --- platform API
    Row("GET", f"{A}/products", "platform"),
    Row("GET", f"{A}/products/pending", "platform"),
    Row("GET", f"{A}/products/{{obj}}", "platform", obj="product"),
    Row("POST", f"{A}/products/{{obj}}/approve", "platform", obj="pending_product"),
    Row("POST", f"{A}/products/{{obj}}/reject", "platform", obj="pending_product", json={"reason": "不合规"}),
    Row("POST", f"{A}/products/{{obj}}/shelf", "platform", obj="product", json={"on_shelf": False}),
    Row("POST", f"{A}/products/{{obj}}/pin", "platform", obj="product"),
    Row("DELETE", f"{A}/products/{{obj}}/pin", "platform", obj="product"),
    Row("DELETE", f"{A}/products/{{obj}}", "platform", obj="product", note="409: ordered"),
    Row("GET", f"{A}/comments", "platform"),
    Row("DELETE", f"{A}/comments/{{obj}}", "platform", obj="review"),
    # --- merchant console
    Row("GET", "/merchant/products", "merchant:products"),
    Row("GET", "/merchant/products/new", "merchant:products"),
    Row(
        "POST",
        "/merchant/products/new",
        "merchant:products",
        data={"action": "save", "name": ""},
        note="422: form errors",
    ),
    Row("GET", "/merchant/products/{obj}", "merchant:products", obj="product"),
    Row("POST", "/merchant/products/{obj}", "merchant:products", obj="product", data={"action": "skus"}),
    Row("POST", "/merchant/products/{obj}/shelf", "merchant:products", obj="product", data={"on_shelf": "0"}),
    Row("POST", "/merchant/products/{obj}/delete", "merchant:products", obj="pending_product"),
    Row("GET", "/merchant/comments", "merchant:comments"),
    Row("POST", "/merchant/comments/{obj}/reply", "merchant:comments", obj="review", data={"reply": "谢谢"}),
    Row("POST", "/merchant/comments/{obj}/delete", "merchant:comments", obj="review"),
    # --- platform console
    Row("GET", "/console/multistore/products", "platform"),
    Row("GET", "/console/multistore/products/review", "platform"),
    Row("GET", "/console/multistore/products/{obj}", "platform", obj="product"),
    Row("POST", "/console/multistore/products/{obj}/approve", "platform", obj="pending_product"),
    Row(
        "POST",
        "/console/multistore/products/{obj}/reject",
        "platform",
        obj="pending_product",
        data={"reason": "不合规"},
    ),
    Row("POST", "/console/multistore/products/{obj}/shelf", "platform", obj="product", data={"on_shelf": "0"}),
    Row("POST", "/console/multistore/products/{obj}/pin", "platform", obj="product", data={"pinned": "1"}),
    Row("POST", "/console/multistore/products/{obj}/delete", "platform", obj="product"),
    Row("GET", "/console/multistore/comments", "platform"),
    Row("POST", "/console/multistore/comments/{obj}/delete", "platform", obj="review"),
]
