"""C7/i18n (issue 17, DS): the distribution plugin's catalogs (English
msgids, zh_CN translated, both compiled) and a refusal in Chinese by
default, English on request."""

from __future__ import annotations

import jishi_distribution
from jishi.testing.i18n import check_catalogs


def test_catalogs_complete_and_compiled():
    """C7/i18n: every msgid has a zh_CN translation; the .mo match the .po;
    every string the plugin marks is in the catalog."""
    zh = check_catalogs(jishi_distribution, min_messages=100)["zh_CN"]
    assert zh["Promoter centre"].string == "推广中心"


def test_refusal_in_chinese_and_english(app, api, factory):
    """C7/i18n: a bad referral code names ``code`` in zh_CN, or in English."""
    buyer = factory.user()
    zh = api.post("/distribution/bind", user=buyer, json={"code": "NOPE"})
    assert zh.status_code == 422 and zh.json["field"] == "code" and "推广码无效" in zh.json["message"]
    en = api.post("/distribution/bind", user=buyer, json={"code": "NOPE"}, headers={"Accept-Language": "en"})
    assert "This referral code is not valid." in en.json["message"]
