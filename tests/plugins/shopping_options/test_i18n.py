"""Issue 18: the plugin's own catalogs (English msgids, zh_CN translations),
complete, compiled and covering every string the sources mark."""

import jishi_shopping_options
from jishi.testing.i18n import check_catalogs


def test_catalogs_complete_and_compiled():
    """Issue 18: every msgid has a zh_CN translation, English says the msgid, each .mo matches its .po."""
    zh = check_catalogs(jishi_shopping_options, min_messages=40)["zh_CN"]
    assert zh["Buy now"].string == "立即购买"
    assert zh["Limited to %(n)d per buyer"].string == "限购 %(n)d 件"
