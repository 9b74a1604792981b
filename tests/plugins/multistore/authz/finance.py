"""Authorization rows of the finance area (MS11, MS12, MS16): ledger and
withdrawals need the ``money`` permission (merchant admins; clerks are
403), the data page ``data``; the platform's pages and API are platform only."""

from __future__ import annotations

from . import Row

ACCOUNT = {"method": "alipay", "name": "张三", "account": "zhang@example.com"}

ROWS = [
    # Merchant API
    Row("GET", "/api/v1/merchant/finance", "merchant:money"),
    Row("GET", "/api/v1/merchant/finance/journals", "merchant:money"),
    Row("GET", "/api/v1/merchant/withdraw-account", "merchant:money"),
    Row("PUT", "/api/v1/merchant/withdraw-account", "merchant:money", json=ACCOUNT),
    Row("GET", "/api/v1/merchant/withdrawals", "merchant:money"),
    Row(
        "POST",
        "/api/v1/merchant/withdrawals",
        "merchant:money",
        json={"amount": 500, "account": ACCOUNT},
        note="409: nothing withdrawable yet",
    ),
    Row("GET", "/api/v1/merchant/withdrawals/{obj}", "merchant:money", obj="withdrawal"),
    Row("GET", "/api/v1/merchant/data", "merchant:data"),
    Row("GET", "/api/v1/merchant/data/export?section=products", "merchant:data"),
    # Platform API
    Row("GET", "/api/v1/admin/multistore/withdrawals", "platform"),
    Row("GET", "/api/v1/admin/multistore/withdrawals/{obj}", "platform", obj="withdrawal"),
    Row("POST", "/api/v1/admin/multistore/withdrawals/{obj}/approve", "platform", obj="withdrawal"),
    Row(
        "POST",
        "/api/v1/admin/multistore/withdrawals/{obj}/reject",
        "platform",
        obj="withdrawal",
        json={"reason": "账户有误"},
    ),
    Row(
        "POST",
        "/api/v1/admin/multistore/withdrawals/{obj}/pay",
        "platform",
        obj="withdrawal",
        note="409 unless approved",
    ),
    Row("GET", "/api/v1/admin/multistore/settlement", "platform"),
    Row("GET", "/api/v1/admin/multistore/commissions", "platform"),
    Row("PUT", "/api/v1/admin/multistore/commissions/default", "platform", json={"rate_bp": 500}),
    Row(
        "PUT",
        "/api/v1/admin/multistore/commissions/categories",
        "platform",
        json={"category_id": 1, "rate_bp": 300},
        note="422 without category 1",
    ),
    Row(
        "PUT", "/api/v1/admin/multistore/merchants/{obj}/commission", "platform", obj="merchant", json={"rate_bp": 800}
    ),
    Row("GET", "/api/v1/admin/multistore/merchants/{obj}/ledger", "platform", obj="merchant"),
    # Merchant console
    Row("GET", "/merchant/finance", "merchant:money"),
    Row("POST", "/merchant/finance/withdraw", "merchant:money", data={"amount": "5", **ACCOUNT}),
    Row("POST", "/merchant/finance/account", "merchant:money", data=ACCOUNT),
    Row("GET", "/merchant/data", "merchant:data"),
    Row("GET", "/merchant/data/products.csv", "merchant:data"),
    # Platform console
    Row("GET", "/console/multistore/withdrawals", "platform"),
    Row("POST", "/console/multistore/withdrawals/{obj}/approve", "platform", obj="withdrawal"),
    Row(
        "POST",
        "/console/multistore/withdrawals/{obj}/reject",
        "platform",
        obj="withdrawal",
        data={"reason": "账户有误"},
    ),
    Row("POST", "/console/multistore/withdrawals/{obj}/pay", "platform", obj="withdrawal"),
    Row("GET", "/console/multistore/settlement", "platform"),
    Row("GET", "/console/multistore/commission", "platform"),
    Row("POST", "/console/multistore/commission/default", "platform", data={"rate": "5"}),
    Row("POST", "/console/multistore/commission/categories", "platform", data={"category_id": "1", "rate": "3"}),
    Row(
        "POST",
        "/console/multistore/commission/merchants/{obj}",
        "platform",
        obj="merchant",
        data={"rate": "8", "category_id": ""},
    ),
]
