"""Policy rows of merchant management, states, shop profile, shop list,
announcements and staff (MS4–MS6, MS13, MS15, MS17).

``announcement`` is a platform announcement (no merchant owns it)."""

from __future__ import annotations

from . import Row

M = "/api/v1/merchant"
A = "/api/v1/admin/multistore"
C = "/console/multistore"

ROWS = [
    # --- buyers
    Row("GET", "/api/v1/shops?sort=distance&lat=30.27&lng=120.15", "public"),
    Row("GET", "/api/v1/shops/{obj}", "public", obj="merchant"),
    Row("GET", "/shops", "public"),
    Row("GET", "/shops/{obj}", "public", obj="merchant"),
    # --- merchant API (the merchant comes from the principal)
    Row("GET", f"{M}/dashboard", "merchant"),
    Row("GET", f"{M}/profile", "merchant:settings"),
    Row("PATCH", f"{M}/profile", "merchant:settings", json={"announcement": "欢迎光临"}),
    Row("GET", f"{M}/staff", "merchant:merchant_admin"),
    Row("POST", f"{M}/staff", "merchant:merchant_admin", json={"phone": "10000000000"}, note="422: no such user"),
    Row("DELETE", f"{M}/staff/{{obj}}", "merchant:merchant_admin", obj="member"),
    Row("PUT", f"{M}/staff/{{obj}}/role", "merchant:merchant_admin", obj="member", json={"role_id": None}),
    Row("GET", f"{M}/roles", "merchant:merchant_admin"),
    Row("POST", f"{M}/roles", "merchant:merchant_admin", json={"name": "客服", "permissions": ["orders"]}),
    Row("PATCH", f"{M}/roles/{{obj}}", "merchant:merchant_admin", obj="role", json={"name": "改名"}),
    Row("DELETE", f"{M}/roles/{{obj}}", "merchant:merchant_admin", obj="role"),
    # --- merchant console
    Row("GET", "/merchant/", "merchant"),
    Row("GET", "/merchant/profile", "merchant:settings"),
    Row("POST", "/merchant/profile", "merchant:settings", data={"name": ""}, note="422: the form shows the error"),
    Row("GET", "/merchant/staff", "merchant:merchant_admin"),
    Row("POST", "/merchant/staff", "merchant:merchant_admin", data={"phone": ""}),
    Row("POST", "/merchant/staff/{obj}/delete", "merchant:merchant_admin", obj="member"),
    Row("POST", "/merchant/staff/{obj}/role", "merchant:merchant_admin", obj="member", data={"role_id": ""}),
    Row("GET", "/merchant/roles", "merchant:merchant_admin"),
    Row("POST", "/merchant/roles", "merchant:merchant_admin", data={"name": "客服", "permissions": "orders"}),
    Row("POST", "/merchant/roles/{obj}", "merchant:merchant_admin", obj="role", data={"name": "改名"}),
    Row("POST", "/merchant/roles/{obj}/delete", "merchant:merchant_admin", obj="role"),
    # --- platform API
    Row("GET", f"{A}/merchants", "platform"),
    Row("GET", f"{A}/merchants/export?format=xlsx", "platform"),
    Row("GET", f"{A}/merchants/{{obj}}", "platform", obj="merchant"),
    Row("PATCH", f"{A}/merchants/{{obj}}", "platform", obj="merchant", json={"stars": 4, "status": "resting"}),
    Row("DELETE", f"{A}/merchants/{{obj}}", "platform", obj="merchant"),
    Row("GET", f"{A}/announcements", "platform"),
    Row("POST", f"{A}/announcements", "platform", json={"title": "通知"}),
    Row("PATCH", f"{A}/announcements/{{obj}}", "platform", obj="announcement", json={"title": "新通知"}),
    Row("DELETE", f"{A}/announcements/{{obj}}", "platform", obj="announcement"),
    # --- platform console
    Row("GET", f"{C}/merchants", "platform"),
    Row("GET", f"{C}/merchants/export.csv", "platform"),
    Row("GET", f"{C}/merchants/{{obj}}", "platform", obj="merchant"),
    Row("POST", f"{C}/merchants/{{obj}}/state", "platform", obj="merchant", data={"status": "resting", "stars": "4"}),
    Row("POST", f"{C}/merchants/{{obj}}/delete", "platform", obj="merchant"),
    Row("POST", f"{C}/merchants/{{obj}}/view", "platform", obj="merchant"),
    Row("POST", f"{C}/view/leave", "platform"),
    Row("GET", f"{C}/announcements", "platform"),
    Row("POST", f"{C}/announcements", "platform", data={"title": "通知"}),
    Row("POST", f"{C}/announcements/{{obj}}", "platform", obj="announcement", data={"title": "新通知"}),
    Row("POST", f"{C}/announcements/{{obj}}/delete", "platform", obj="announcement"),
]
