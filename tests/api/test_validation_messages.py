"""Issue 13 A4: marshmallow's and webargs' own validation messages answer
in the request's language (zh_CN by default), the API's 422 body still
naming the field; English on request."""

from __future__ import annotations

import pytest
from jishi.api.messages import translate


def test_missing_and_wrong_type_in_chinese(api, factory):
    buyer = factory.user()
    body = api.post("/cart/items", user=buyer, json={}).get_json()
    assert body["code"] == "invalid" and body["field"] == "sku_id" and body["message"] == "缺少必填字段。", body
    body = api.post("/cart/items", user=buyer, json={"sku_id": "x", "quantity": 1}).get_json()
    assert (body["field"], body["message"]) == ("sku_id", "不是有效的整数。"), body


def test_english_on_request(app, client, factory):
    from jishi.testing.principals import bearer

    buyer = factory.user()
    resp = client.post("/api/v1/cart/items", json={}, headers={**bearer(buyer), "Accept-Language": "en"})
    assert resp.status_code == 422 and resp.get_json()["message"] == "Missing data for required field."


@pytest.mark.parametrize(
    ("english", "chinese"),
    [
        ("Must be greater than or equal to 1.", "必须大于或等于 1。"),
        ("Must be greater than or equal to 1 and less than or equal to 99.", "必须大于或等于 1 且小于或等于 99。"),
        ("Longer than maximum length 200.", "长度不能超过 200。"),
        ("Must be one of: fixed, percent.", "必须是以下之一：fixed, percent。"),
        ("Unknown field.", "未知字段。"),
        ("已经是中文了。", "已经是中文了。"),
    ],
)
def test_messages_with_values_keep_them(app, english, chinese):
    with app.test_request_context("/"):
        assert translate(english) == chinese
