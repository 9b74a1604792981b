"""Distribution in headless Chromium (issue 17, DS): promoter A opens the
promoter centre and copies their referral link; a visitor opens the link
(anonymous), signs in, and is bound to A; the visitor's paid order shows in
A's centre as frozen commission. Phone and desktop widths; screenshots in
test-artifacts/browser/."""

from __future__ import annotations

import pytest
from jishi.testing import factories, flows
from jishi.testing.browser import submit

pytestmark = pytest.mark.jishi_plugins("distribution")


def _sign_in(page, base, phone):
    page.goto(base + "/login")
    page.fill("input[name=phone]", phone)
    page.fill("input[name=password]", "secret123")
    submit(page, "form.form button[type=submit]")


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1280, 900)], ids=["phone", "desktop"])
def test_share_link_and_see_commission(live_app, browser, shot, width, height):
    """Issue 17/Proof (DS): a shared link binds the visitor; their order's commission appears for the promoter."""
    from jishi_distribution import service

    base = live_app.config["LIVE_URL"]
    with live_app.app_context():
        a = factories.user(phone="13900000171", name="推广员甲")
        buyer = factories.user(phone="13900000172", name="买家乙")
        factories.address(buyer, name="乙", phone="13900000172")
        rice = factories.product(name="东北大米", price=10000, stock=10)
        rice_id, buyer_id, a_id = rice.id, buyer.id, a.id
    promoter_ctx = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    page = promoter_ctx.new_page()
    _sign_in(page, base, "13900000171")
    page.goto(base + "/distribution")
    link = page.locator("#referral-link").input_value()
    assert "ref=" in link
    shot(page, f"{width}-centre-link")

    visitor_ctx = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    visitor = visitor_ctx.new_page()
    assert link.startswith(base)
    visitor.goto(link)  # the shared link, opened signed out
    visitor.goto(f"{base}/product/{rice_id}")
    assert "东北大米" in visitor.content()
    shot(visitor, f"{width}-visitor-product")
    _sign_in(visitor, base, "13900000172")
    visitor.goto(base + "/")
    with live_app.app_context():
        assert service.parent(buyer_id) == a_id
        from jishi.db import db
        from jishi.models import User

        buyer = db.session.get(User, buyer_id)
        [payment] = flows.place(buyer, [(db.session.get(type(rice), rice_id).skus[0], 1)], flows.address_id(buyer))
        flows.pay(payment)
    page.goto(base + "/distribution")
    assert page.locator("#frozen").inner_text().strip() == "¥10.00"
    assert page.locator("#team").inner_text().count("买家乙") == 1
    shot(page, f"{width}-centre-commission")
    promoter_ctx.close()
    visitor_ctx.close()
