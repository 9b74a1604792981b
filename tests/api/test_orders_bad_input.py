"""K14: garbage in the order, after-sales, review and platform endpoints is
always a 4xx, never a 500 (wrong types, nulls, ids beyond any row, dates at
the ends of the calendar)."""

BIG = 2**70
BODIES = [
    None,
    [],
    "x",
    {"items": None},
    {"items": [None]},
    {"items": [{"sku_id": BIG, "quantity": 1}]},
    {"items": [{"sku_id": 1, "quantity": BIG}]},
    {"address_id": BIG},
    {"delivery": {"shop": 5}},
    {"messages": []},
    {"order_id": BIG, "kind": "refund_only", "lines": [{"order_line_id": BIG, "quantity": 1}]},
    {"order_id": 1, "kind": "refund_only", "lines": [{"order_line_id": 1, "quantity": BIG}]},
    {"order_line_id": BIG, "rating": 5},
    {"method": None},
    {"method": ["a"]},
    {"carrier": None, "tracking_no": 5},
    {"items": [{"order_id": BIG, "carrier": "a", "tracking_no": "b"}]},
    {"reason": None},
    {"reply": 5},
    {"note": []},
]
POSTS = [
    "/checkout/preview",
    "/checkout/place",
    "/refunds",
    "/reviews",
    "/payments/P1/pay",
    "/orders/1/cancel",
    "/orders/1/receive",
    f"/orders/{BIG}/cancel",
    "/refunds/1/ship-back",
    f"/refunds/{BIG}/cancel",
    "/admin/orders/1/ship",
    "/admin/orders/ship-batch",
    f"/admin/orders/{BIG}/complete",
    "/admin/orders/1/close",
    "/admin/refunds/1/approve",
    f"/admin/refunds/{BIG}/reject",
    "/admin/refunds/1/confirm-returned",
    "/admin/reviews/1/reply",
    f"/admin/reviews/{BIG}/delete",
]
GETS = [
    f"/orders/{BIG}",
    f"/orders?cursor={BIG}",
    "/orders?limit=abc",
    f"/orders/{BIG}/refundable",
    f"/refunds/{BIG}",
    f"/refunds?cursor={BIG}",
    f"/products/{BIG}/reviews",
    f"/products/1/reviews?cursor={BIG}",
    f"/admin/orders?cursor={BIG}",
    f"/admin/orders/{BIG}",
    "/admin/orders?start=2020-13-01",
    f"/admin/refunds?order_id={BIG}",
    f"/admin/reviews?product_id={BIG}",
    "/admin/reports/overview?start=0001-01-01&end=9999-12-31",
    "/admin/orders/export?start=0001-01-01&end=9999-12-31",
    "/payments/" + "x" * 500,
]


def test_no_500_on_bad_input(api, factory):
    """K14: every bad body, path id and query answers 4xx."""
    buyer, admin = factory.user(), factory.admin()
    factory.product()
    bad = []
    for path in POSTS:
        for b in BODIES:
            for u in (buyer, admin):
                r = api.post(path, user=u, json=b, headers={"Idempotency-Key": "f"})
                if r.status_code >= 500:
                    bad.append((path, b, r.status_code))
    for path in GETS:
        for u in (buyer, admin):
            r = api.get(path, user=u)
            if r.status_code >= 500:
                bad.append((path, r.status_code))
    assert not bad, bad
