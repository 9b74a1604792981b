"""C7/i18n: the points plugin's catalogs (English msgids, zh_CN translated,
both compiled) and a refusal in Chinese by default, English on request."""

from __future__ import annotations

import jishi_points
from jishi.testing import flows
from jishi.testing.i18n import check_catalogs

from .helpers import give


def test_catalogs_complete_and_compiled():
    """C7/i18n: every msgid has a zh_CN translation; the .mo match the .po;
    every string the plugin marks is in the catalog."""
    zh = check_catalogs(jishi_points, min_messages=13)["zh_CN"]
    assert zh["Points"].string == "积分"


def test_refusal_in_chinese_and_english(api, factory):
    """C7/i18n: asking more points than one has names ``points`` in zh_CN, or in English."""
    buyer = factory.user()
    give(buyer, 10)
    sku = factory.product(price=3000, stock=5).skus[0]
    body = flows.checkout_body([(sku, 1)], factory.address(buyer), {"points": 50})
    zh = api.post("/checkout/place", user=buyer, json=body, headers={"Idempotency-Key": "zh"})
    assert zh.status_code == 422 and "您有 10 积分" in zh.get_data(as_text=True)
    en = api.post("/checkout/place", user=buyer, json=body, headers={"Idempotency-Key": "en", "Accept-Language": "en"})
    assert en.status_code == 422 and "You have 10 points" in en.get_data(as_text=True)
