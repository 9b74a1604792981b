"""K4, K12: hot searches (热门搜索) and recent searches on the search page.

The platform lists its hot searches (setting ``search.hot_words``, one per
line, at most 10 of at most 20 characters); the search page shows them as
links before a search and when a search finds nothing, and mini-programs
read them from ``GET /api/v1/site``. Recent searches are the browser's own
(``shop.js``, localStorage): the page carries the word searched and where
to search, never a list from the server (tests/browser/test_search_page.py
drives them)."""

from __future__ import annotations

import pytest
from flask import g
from jishi import settings
from jishi.catalog import service
from jishi.db import db
from webforms import page_form


def _set(words: str) -> None:
    settings.set_many({"search.hot_words": words})
    db.session.commit()
    g.pop("jishi_settings", None)


def test_parse_keeps_order_drops_blanks_and_repeats(app):
    assert service.parse_hot_searches(" 脐橙 \n\n大米\n脐橙\n  充电  宝 \r\n") == ["脐橙", "大米", "充电 宝"]
    assert service.parse_hot_searches(None) == []
    assert service.hot_search_problem("\n".join(str(i) for i in range(10))) is None
    assert service.hot_search_problem("\n".join(str(i) for i in range(11))) == "热门搜索最多 10 个。"
    assert service.hot_search_problem("好" * 21) == f"“{'好' * 21}”超过 20 个字。"


def test_search_page_shows_hot_searches_before_a_search_and_when_nothing_is_found(client, factory):
    factory.product(name="赣南脐橙")
    _set("脐橙\n大米")
    page = client.get("/search").get_data(as_text=True)
    assert 'class="hot-searches"' in page
    assert '<a href="/search?q=%E8%84%90%E6%A9%99">脐橙</a>' in page and ">大米</a>" in page
    assert 'data-recent-searches data-query="" data-search-url="/search">' in page
    found = client.get("/search?q=脐橙").get_data(as_text=True)
    assert "赣南脐橙" in found and 'class="hot-searches"' not in found
    assert 'data-query="脐橙" data-search-url="/search" data-record-only>' in found  # kept, not shown
    nothing = client.get("/search?q=榴莲").get_data(as_text=True)
    assert 'class="hot-searches"' in nothing and 'data-query="榴莲"' in nothing
    assert "没有找到与“榴莲”相关的商品，换个词试试。" in nothing  # not "no products here yet"
    assert "data-record-only" not in nothing


def test_search_page_without_hot_searches_shows_no_heading(client):
    page = client.get("/search").get_data(as_text=True)
    assert 'class="hot-searches"' not in page
    assert "data-recent-box hidden" in page  # (shop.js shows it when the browser has some)


def test_a_searched_word_is_escaped(client):
    page = client.get('/search?q="><script>x</script>').get_data(as_text=True)
    assert "<script>x</script>" not in page
    assert 'data-query="&#34;&gt;&lt;script&gt;x&lt;/script&gt;"' in page


def test_api_site_gives_the_hot_searches(client):
    _set("脐橙\n\n大米\n脐橙")
    assert client.get("/api/v1/site").get_json()["hot_searches"] == ["脐橙", "大米"]


def _save(client, token, words):
    return client.post("/console/settings", data={"panel": "search", "search.hot_words": words, "csrf_token": token})


def test_the_platform_sets_hot_searches(client, factory, login):
    """The settings page's Search panel; the storefront shows them at once."""
    login(factory.admin())
    page = client.get("/console/settings")
    assert 'name="search.hot_words"' in page.get_data(as_text=True)
    token = page_form(page, "/console/settings").get("csrf_token", "")
    assert _save(client, token, "坚果\n数据线").status_code == 302
    g.pop("jishi_settings", None)
    assert service.hot_searches() == ["坚果", "数据线"]
    assert ">数据线</a>" in client.get("/search").get_data(as_text=True)


@pytest.mark.parametrize("words", ["\n".join(f"词{i}" for i in range(11)), "长" * 21])
def test_too_many_or_too_long_is_refused(client, factory, login, words):
    """C5: 422 on the settings page naming the problem; nothing is written."""
    login(factory.admin())
    token = page_form(client.get("/console/settings"), "/console/settings").get("csrf_token", "")
    resp = _save(client, token, words)
    assert resp.status_code == 422
    body = resp.get_data(as_text=True)
    assert 'role="alert"' in body and ("10" in body or "20" in body)
    db.session.expire_all()
    g.pop("jishi_settings", None)
    assert settings.get("search.hot_words") == ""
