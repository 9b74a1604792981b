"""K16, issue 19: the report dashboards in headless Chromium, at desktop and
phone widths — the platform console's home and reports, a merchant's home
and data page — with 60 days of history: ECharts draws every chart from its
data island (vendored, no CDN) and the tables stay below. Screenshots under
test-artifacts/browser/."""

from __future__ import annotations

import pytest
from jishi.testing import factories
from jishi.testing.browser import submit

pytestmark = pytest.mark.jishi_plugins("multistore", "coupons")

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def _sign_in(page, base, phone):
    page.goto(base + "/login")
    page.fill("input[name=phone]", phone)
    page.fill("input[name=password]", "secret123")
    submit(page, "form.form button[type=submit]")


def _charts_drawn(page, at_least: int) -> None:
    page.wait_for_function(
        f"document.querySelectorAll('figure.chart-drawn .chart-canvas svg').length >= {at_least}", timeout=15000
    )
    assert page.locator("figure[data-chart] table, figure[data-chart] + table, table[data-table]").count() >= 1


def test_dashboards_draw_charts(live_app, browser, shot):
    from jishi.reports import aggregate
    from jishi_multistore import testing as ms

    base = live_app.config["LIVE_URL"]
    with live_app.app_context():
        factories.admin(phone="13900000901", password="secret123")
        shop = ms.merchant("龙井茶庄")
        owner_phone = ms.admin_of(shop).phone
        for i, name in enumerate(("明前龙井", "碧螺春", "白茶饼")):
            ms.product(shop, name=name, price=5000 + i * 1000, stock=100)
        factories.product(name="青瓷茶杯", price=3900, stock=50)
        aggregate.seed_history(60)
    requests = []
    for size, viewport in SIZES.items():
        context = browser.new_context(viewport=viewport, locale="zh-CN")
        page = context.new_page()
        page.on("request", lambda r: requests.append(r.url))
        _sign_in(page, base, "13900000901")
        page.goto(base + "/console/")
        _charts_drawn(page, 2)
        shot(page, f"console-home-{size}")
        page.goto(base + "/console/reports?start=" + _days_ago(61))
        _charts_drawn(page, 3)
        assert "龙井" in page.content() or "青瓷" in page.content()
        shot(page, f"console-reports-{size}")
        context.close()
        context = browser.new_context(viewport=viewport, locale="zh-CN")
        page = context.new_page()
        page.on("request", lambda r: requests.append(r.url))
        _sign_in(page, base, owner_phone)
        page.goto(base + "/merchant/")
        _charts_drawn(page, 2)
        shot(page, f"merchant-home-{size}")
        page.goto(base + "/merchant/data?start=" + _days_ago(61))
        _charts_drawn(page, 3)
        assert "明前龙井" in page.content() and "青瓷茶杯" not in page.content()
        shot(page, f"merchant-data-{size}")
        context.close()
    assert all(url.startswith(base) for url in requests), [u for u in requests if not u.startswith(base)][:3]


def _days_ago(n: int) -> str:
    from datetime import timedelta

    from jishi.db import utcnow
    from jishi.i18n import to_shop_time

    return (to_shop_time(utcnow()).date() - timedelta(days=n)).isoformat()
