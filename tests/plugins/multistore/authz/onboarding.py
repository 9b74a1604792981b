"""Policy rows of onboarding (MS2, MS3).

``application_field`` is an application field the platform defined (no
merchant owns it: platform-only routes); applications are merchants, so
their routes use the ``merchant`` object (approving an approved merchant
answers 409, past authorization)."""

from __future__ import annotations

from . import Row

A = "/api/v1/admin/multistore"
C = "/console/multistore"

ROWS = [
    # --- member: apply, see the status
    Row("GET", "/api/v1/shops/application", "signed_in"),
    Row(
        "POST",
        "/api/v1/shops/application",
        "signed_in",
        json={"name": "新店", "agree": False},
        note="422: agreement not accepted",
    ),
    Row("GET", "/shops/apply", "signed_in"),
    Row("POST", "/shops/apply", "signed_in", data={"name": "新店"}, note="422: agreement not accepted"),
    # --- platform API: rules, fields, review
    Row("GET", f"{A}/onboarding", "platform"),
    Row("PUT", f"{A}/onboarding", "platform", json={"review": True}),
    Row("GET", f"{A}/application-fields", "platform"),
    Row("POST", f"{A}/application-fields", "platform", json={"key": "license", "label": "营业执照"}),
    Row("PATCH", f"{A}/application-fields/{{obj}}", "platform", obj="application_field", json={"label": "执照"}),
    Row("DELETE", f"{A}/application-fields/{{obj}}", "platform", obj="application_field"),
    Row("GET", f"{A}/applications", "platform"),
    Row("GET", f"{A}/applications/{{obj}}", "platform", obj="merchant"),
    Row("POST", f"{A}/applications/{{obj}}/approve", "platform", obj="merchant", note="409: already approved"),
    Row(
        "POST",
        f"{A}/applications/{{obj}}/reject",
        "platform",
        obj="merchant",
        json={"reason": "资料不全"},
        note="409: already approved",
    ),
    # --- platform console
    Row("GET", f"{C}/applications", "platform"),
    Row("GET", f"{C}/applications/{{obj}}", "platform", obj="merchant"),
    Row("POST", f"{C}/applications/{{obj}}/approve", "platform", obj="merchant"),
    Row("POST", f"{C}/applications/{{obj}}/reject", "platform", obj="merchant", data={"reason": "资料不全"}),
    Row("GET", f"{C}/onboarding", "platform"),
    Row("POST", f"{C}/onboarding", "platform", data={"agreement": "协议", "review": "1"}),
    Row("POST", f"{C}/onboarding/fields", "platform", data={"key": "wx", "label": "微信"}),
    Row(
        "POST",
        f"{C}/onboarding/fields/{{obj}}",
        "platform",
        obj="application_field",
        data={"key": "wx2", "label": "微信"},
    ),
    Row("POST", f"{C}/onboarding/fields/{{obj}}/delete", "platform", obj="application_field"),
]
