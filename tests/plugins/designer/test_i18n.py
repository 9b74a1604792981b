"""PR-DZ/C7 (issue 18): the designer's catalogs (English msgids, zh_CN
translated, both compiled) and a refusal in Chinese by default, English on
request."""

from __future__ import annotations

import jishi_designer
from jishi.testing.i18n import check_catalogs


def test_catalogs_complete_and_compiled():
    """PR-DZ/C7: every msgid has a zh_CN translation; the .mo match the .po;
    every string the plugin marks is in the catalog."""
    zh = check_catalogs(jishi_designer, min_messages=158)["zh_CN"]
    assert zh["Page designer"].string == "店铺装修"


def test_editor_speaks_chinese_and_english(client, factory, login):
    """PR-DZ/C7: the editor in zh_CN by default, in English on request."""
    login(factory.admin())
    assert "店铺装修" in client.get("/seller/designer/").get_data(as_text=True)
    en = client.get("/seller/designer/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Page designer" in en
