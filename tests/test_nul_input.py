"""K14: a NUL character in any input is a 4xx naming the field, never a 500
(PostgreSQL refuses NUL in text) nor a silent truncation (SQLite)."""

from __future__ import annotations


def test_nul_in_query_form_and_json_is_refused(app, client, api, factory):
    buyer = factory.user()
    factory.product(name="龙井")
    resp = api.get("/products?q=%00")
    assert resp.status_code == 422 and resp.get_json()["field"] == "q"
    assert api.get("/products?q=%E9%BE%99%00").get_json()["field"] == "q"
    resp = api.post("/cart/items", user=buyer, json={"sku_id": 1, "quantity": 1, "note": "a\u0000b"})
    assert resp.status_code == 422 and resp.get_json()["code"] == "invalid"
    assert client.get("/search?q=%00").status_code == 422
    assert client.post("/login", data={"phone": "139\x00", "password": "x"}).status_code == 422
    # Ordinary input still works.
    assert api.get("/products?q=%E9%BE%99").status_code == 200
