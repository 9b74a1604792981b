"""Issue 19 (K16): ``jishi demo``'s dashboards in headless Chromium, signed in
as the platform admin and as 鲜果多多's owner, at phone (375 px) and desktop
widths: the console's home and reports, the merchant's home and data page,
over the demo's 60 days. ECharts draws every chart (an SVG of nonzero size
in each figure) and the buyers, finance and campaign sections render with
rows. Screenshots under test-artifacts/browser/."""

from __future__ import annotations

from datetime import timedelta

import pytest
from jishi.testing.browser import submit

PLUGINS = ("multistore", "coupons", "flashsale", "groupbuy", "points", "distribution")
pytestmark = pytest.mark.jishi_plugins(*PLUGINS)

SIZES = {"phone": {"width": 375, "height": 812}, "desktop": {"width": 1280, "height": 900}}
ADMIN_SECTIONS = ("coupons", "activities", "flashsale", "groupbuy", "points", "distribution", "promoters", "income")
MERCHANT_SECTIONS = ("coupons", "activities", "flashsale", "groupbuy", "distribution", "statements")


def _sign_in(page, base, phone, password):
    page.goto(base + "/login")
    page.fill("input[name=phone]", phone)
    page.fill("input[name=password]", password)
    submit(page, "form.form button[type=submit]")


def _charts_drawn(page) -> int:
    """Every chart figure holds a drawn ECharts SVG of nonzero size; answers how many."""
    page.wait_for_function(
        "[...document.querySelectorAll('figure[data-chart]')].every(f => f.classList.contains('chart-drawn'))",
        timeout=15000,
    )
    sizes = page.eval_on_selector_all(
        "figure[data-chart]",
        """figs => figs.map(f => {
            const svg = f.querySelector('.chart-canvas svg');
            const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
            return [f.dataset.chart, box.width, box.height, svg ? svg.querySelectorAll('path').length : 0];
        })""",
    )
    assert sizes and all(w > 0 and h > 0 and paths > 0 for _key, w, h, paths in sizes), sizes
    return len(sizes)


def _sections_render(page, keys) -> None:
    for css in ("section.report-buyers", "section.report-finance"):
        assert page.locator(css).count() == 1, css
    assert page.locator("section.report-buyers figure[data-chart=rfm].chart-drawn").count() == 1
    assert page.locator("section.report-finance figure[data-chart=finance].chart-drawn").count() == 1
    assert page.locator("table[data-table=levels] tbody tr").count() >= 2
    assert int(page.inner_text("[data-figure=returning_buyers]")) > 0
    for key in keys:
        rows = page.locator(f"section.report-section[data-section={key}] table tbody tr")
        assert rows.count() >= 1, key


def test_demo_dashboards(live_app, browser, shot):
    from jishi.demo import ADMIN
    from jishi.i18n import shop_today
    from jishi_multistore.demo import PASSWORD, SHOPS

    base = live_app.config["LIVE_URL"]
    with live_app.app_context(), live_app.test_request_context("/"):
        from jishi.demo import load_demo

        load_demo({})
        start = (shop_today() - timedelta(days=29)).isoformat()
    requests: list[str] = []
    for size, viewport in SIZES.items():
        for who, (phone, password), home, reports, keys in (
            ("admin", ADMIN, "/console/", "/console/reports", ADMIN_SECTIONS),
            ("merchant", (SHOPS[0][1], PASSWORD), "/merchant/", "/merchant/data", MERCHANT_SECTIONS),
        ):
            context = browser.new_context(viewport=viewport, locale="zh-CN")
            page = context.new_page()
            page.on("request", lambda r: requests.append(r.url))
            _sign_in(page, base, phone, password)
            page.goto(base + home)
            assert _charts_drawn(page) >= 2
            shot(page, f"{who}-home-{size}")
            page.goto(f"{base}{reports}?start={start}")
            assert _charts_drawn(page) >= 5  # trend, funnel, RFM, finance, ...
            _sections_render(page, keys)
            if size == "phone":  # nothing wider than the phone's screen
                assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"] + 1
            shot(page, f"{who}-reports-{size}")
            context.close()
    assert all(url.startswith(base) for url in requests), [u for u in requests if not u.startswith(base)][:3]
