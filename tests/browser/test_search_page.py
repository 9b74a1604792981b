"""K4: the search page in headless Chromium, on a phone and on a desktop:
the platform's hot searches are links before a search; each word searched
is kept by the browser (localStorage, newest first, nothing sent to the
server) and offered as a recent search; a search that finds nothing offers
both; 清除 forgets them; the header's search box suggests product names
as the buyer types (搜索联想). Screenshots go to test-artifacts/browser/."""

from __future__ import annotations

import pytest
from jishi import settings
from jishi.db import db
from jishi.testing import factories

PHONE = {"viewport": {"width": 375, "height": 812}, "locale": "zh-CN", "is_mobile": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}, "locale": "zh-CN"}


def _recent(page) -> list[str]:
    return page.locator("[data-recent-list] a").all_inner_texts()


@pytest.mark.parametrize("context", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_hot_and_recent_searches(live_app, browser, shot, context):
    base = live_app.config["LIVE_URL"]
    with live_app.app_context():
        factories.product(name="赣南脐橙 5斤装", price=2990)
        factories.product(name="五常大米 5kg", price=6990)
        settings.set_many({"search.hot_words": "脐橙\n大米\n坚果"})
        db.session.commit()
    kind = "phone" if context is PHONE else "desktop"
    page = browser.new_context(**context).new_page()
    page.goto(f"{base}/search")
    assert page.locator(".hot-searches a").all_inner_texts() == ["脐橙", "大米", "坚果"]
    assert not page.is_visible("[data-recent-box]")  # nothing searched yet in this browser
    shot(page, f"search-hot-{kind}")

    header = page.locator(".site-header form[role=search] input[name=q]")
    header.type("脐")  # 搜索联想: the header asks as the buyer types
    page.wait_for_function("document.querySelectorAll('#search-suggestions option').length > 0", timeout=10000)
    assert page.eval_on_selector_all("#search-suggestions option", "os => os.map(o => o.value)") == ["赣南脐橙 5斤装"]
    header.fill("")
    keyword = page.locator("form.filters input[name=q]")  # the page's own keyword box suggests too
    keyword.type("大")
    page.wait_for_function(
        "[...document.querySelectorAll('#search-suggestions option')].some(o => o.value === '五常大米 5kg')",
        timeout=10000,
    )
    keyword.fill("")

    page.click(".hot-searches a >> text=大米")
    page.wait_for_load_state()
    assert "五常大米" in page.inner_text("main")
    assert not page.is_visible(".hot-searches") and not page.is_visible("[data-recent-box]")  # results first

    field = page.locator("form[role=search] input[name=q]")
    if not field.is_visible():  # (a phone's header may fold the search away: the page's own keyword field)
        field = page.locator("form.filters input[name=q]")
    field.fill("榴莲")
    field.press("Enter")
    page.wait_for_load_state()
    assert page.is_visible(".hot-searches")  # nothing found: something else to try
    assert _recent(page) == ["榴莲", "大米"]
    assert page.get_attribute("[data-recent-list] a >> nth=1", "href") == "/search?q=%E5%A4%A7%E7%B1%B3"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scrolling
    shot(page, f"search-nothing-{kind}")

    page.goto(f"{base}/search")
    assert _recent(page) == ["榴莲", "大米"]
    page.click("[data-recent-clear]")
    assert not page.is_visible("[data-recent-box]")
    page.reload()
    assert not page.is_visible("[data-recent-box]")
    assert page.evaluate("localStorage.getItem('jishi.recentSearches')") is None
    shot(page, f"search-cleared-{kind}")
