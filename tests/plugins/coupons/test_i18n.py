"""CP i18n: the plugin's catalogs (English msgids, zh_CN translations) are
complete and compiled; pages read Chinese by default and English on request;
coupon rules read 满100元减10元 / 9折."""

from __future__ import annotations

import jishi_coupons
from jishi.testing.i18n import check_catalogs

from .helpers import template


def test_catalogs_complete_and_compiled():
    """CP: every msgid translated in zh_CN (none fuzzy), en says the msgid,
    each .mo holds what its .po says, the sources' strings are all in it."""
    check_catalogs(jishi_coupons, min_messages=91)


def test_pages_in_chinese_and_english(client):
    """CP: the claim centre in Chinese by default, English on Accept-Language."""
    template(name="A", threshold=10000, amount=1000)
    template(name="B", kind="percent", percent_off=1000, max_discount=2000, threshold=0, amount=None)
    zh = client.get("/coupons").get_data(as_text=True)
    assert "领券中心" in zh and "满100元减10元" in zh and "无门槛9折，最高减20元" in zh
    en = client.get("/coupons", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Coupon centre" in en and "Over ¥100: ¥10 off" in en and "10% off, at most ¥20 off" in en
