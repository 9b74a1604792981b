"""FS: the plugin's own catalogs (English msgids, zh_CN translations),
complete, compiled and covering every string the sources mark."""

import jishi_flashsale
from jishi.testing.i18n import check_catalogs


def test_catalogs_complete_and_compiled():
    """FS: every msgid has a zh_CN translation, English says the msgid, each
    .mo matches its .po, the sources' strings are all in the catalog."""
    zh = check_catalogs(jishi_flashsale, min_messages=60)["zh_CN"]
    assert zh["Flash sale"].string == "秒杀"
