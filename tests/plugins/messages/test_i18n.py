"""Messages i18n (issue 18 messages): the plugin's own catalogs are complete
and compiled; pages read Chinese by default and English on request."""

from __future__ import annotations

import jishi_messages
from jishi.testing.i18n import check_catalogs

from .helpers import ask


def test_catalogs_complete_and_compiled():
    """Issue 18 messages: every msgid translated in zh_CN, en says the msgid,
    each .mo holds what its .po says, the sources' strings are all in it."""
    check_catalogs(jishi_messages, min_messages=40)


def test_pages_in_chinese_and_english(client, login, factory):
    """Issue 18 messages: the conversation list in Chinese by default, in
    English on Accept-Language."""
    buyer = factory.user()
    ask(buyer, factory.product())
    login(buyer)
    zh = client.get("/messages").get_data(as_text=True)
    assert "我的消息" in zh
    en = client.get("/messages", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "My messages" in en
