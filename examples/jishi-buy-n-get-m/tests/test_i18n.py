"""The plugin's Chinese catalog: every string the templates and code mark
is translated, and the compiled .mo says the same as the .po."""

import jishi_buy_n_get_m
from jishi.testing.i18n import check_catalogs


def test_zh_cn_catalog_complete_and_compiled():
    zh = check_catalogs(jishi_buy_n_get_m, locales=("zh_CN",), min_messages=10)["zh_CN"]
    assert zh["Buy N pay M"].string == "买N付M"
