"""A merchant's clerk approves a buyer's refund in headless Chromium
(issue 13 C1).

The buyer paid a merchant's order and asked for a refund; the clerk signs
in, opens "售后" from the merchant console's menu, opens the request and
approves it; the request is refunded and the order closed. Screenshots go to
test-artifacts/browser/.
"""

from __future__ import annotations

import pytest
from jishi.aftersales.models import Refund
from jishi.db import db
from jishi.models import Order
from jishi.testing import factories, flows
from jishi.testing.browser import sign_in, submit

pytestmark = pytest.mark.jishi_plugins("multistore")


def test_clerk_approves_a_refund_in_the_merchant_console(live_app, browser, shot):
    from jishi_multistore import testing as ms

    base = live_app.config["LIVE_URL"]
    with live_app.app_context():
        buyer = factories.user(phone="13900000021", name="买家")
        shop = ms.merchant("龙井茶庄")
        ms.clerk(shop, factories.user(phone="13900000022", name="店员小王"))
        tea = ms.product(shop, name="明前龙井", price=12800, stock=10)
        [payment] = flows.place(buyer, [(tea.skus[0].id, 1)], factories.address(buyer))
        flows.pay(payment)
        refund = flows.request_refund(payment.orders[0], reason="不想要了")
        refund_id, number, order_id = refund.id, refund.number, refund.order_id

    page = sign_in(browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN"), base, "13900000022")
    page.goto(base + "/merchant/")
    page.click("nav.console-menu a[href='/merchant/refunds']")
    page.wait_for_selector("table.merchant-refunds")
    assert number in page.content()
    shot(page, "refund-list")
    page.click(f"a[href='/merchant/refunds/{refund_id}']")
    page.wait_for_selector("#refund-approve")
    shot(page, "refund-request")
    submit(page, "#refund-approve")
    page.wait_for_selector(".refund-status")
    shot(page, "refund-approved")
    with live_app.app_context():
        assert db.session.get(Refund, refund_id).status == "refunded"
        assert db.session.get(Order, order_id).status == "closed"
    assert "已退款" in page.locator(".refund-status").inner_text()
