"""The page designer end to end in headless Chromium (issue 18 "Proof"):
platform staff design the home page in the console — a banner, navigation
icons, the flash-sale strip, the merchant list sorted by distance and a
product list — each block through its generated settings form, publish it,
a buyer sees it at phone width (merchants nearest first for the location
sent), staff publish a second version and roll back to the first from the
version history. Screenshots of every step go to test-artifacts/browser/.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from jishi.db import db, utcnow
from jishi.testing import factories
from jishi.testing.browser import sign_in, submit

pytestmark = pytest.mark.jishi_plugins("multistore", "flashsale", "designer")

PHONE = {"viewport": {"width": 375, "height": 812}, "locale": "zh-CN", "is_mobile": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}, "locale": "zh-CN"}


def _add_block(page, base, edit_url, code, fields):
    """Add a block of ``code`` in the editor and fill its generated form."""
    page.goto(edit_url)
    page.select_option("form[action$='/blocks'] select[name=type]", code)
    submit(page, "form[action$='/blocks'] button[type=submit]")
    page.wait_for_selector("form.dz-block-form")
    for name, value in fields.items():
        selector = f"form.dz-block-form [name='{name}']"
        if page.locator(selector).evaluate("e => e.tagName") == "SELECT":
            page.select_option(selector, value)
        else:
            page.fill(selector, value)
    submit(page, "form.dz-block-form button[type=submit]")


def test_design_publish_phone_and_roll_back(live_app, browser, shot):
    from jishi_designer import service as designer
    from jishi_flashsale import service as flash
    from jishi_multistore import testing as ms

    base = live_app.config["LIVE_URL"]
    with live_app.app_context():
        factories.admin(phone="13900000181")
        far = ms.merchant("远处茶庄", lat=31.30, lng=121.50)
        near = ms.merchant("近处茶庄", lat=31.231, lng=121.474)
        tea = ms.product(near, name="明前龙井", price=4000, stock=10)
        cup = ms.product(far, name="青瓷茶杯", price=6000, stock=10)
        now = utcnow()
        flash.save_activity(
            {
                "product_id": cup.id,
                "title": "秒杀",
                "per_user_limit": 1,
                "starts_at": now - timedelta(hours=1),
                "ends_at": now + timedelta(days=1),
                "skus": [{"sku_id": s.id, "flash_price": 3000, "stock": 5} for s in cup.skus],
            },
            seller_id=far.id,
            platform=True,
        )
        db.session.commit()
        home_id = designer.home_page().id
        tea_id = tea.id

    desk = sign_in(browser.new_context(**DESKTOP), base, "13900000181")
    edit_url = f"{base}/seller/designer/{home_id}"
    _add_block(
        desk,
        base,
        edit_url,
        "designer.banner",
        {"slides.0.image": "/static/favicon.ico", "slides.0.title": "春茶上新", "slides.0.link.value": ""},
    )
    _add_block(
        desk,
        base,
        edit_url,
        "designer.nav",
        {"icons.0.label": "秒杀", "icons.0.link.kind": "activity", "icons.0.link.value": "flashsale.listing"},
    )
    _add_block(desk, base, edit_url, "flashsale.strip", {"title": "今日秒杀"})
    _add_block(desk, base, edit_url, "multistore.merchants", {"title": "附近好店", "sort": "distance"})
    _add_block(
        desk, base, edit_url, "designer.products", {"title": "热卖好茶", "mode": "hand", "products": str(tea_id)}
    )
    desk.goto(edit_url)
    assert desk.locator("li[data-block]").count() == 5
    shot(desk, "designer-editor-desktop")
    submit(desk, "form[action$='/publish'] button[type=submit]")

    phone = browser.new_context(**PHONE).new_page()
    phone.goto(base + "/?lat=31.23&lng=121.47")
    html = phone.content()
    for text in ("春茶上新", "今日秒杀", "青瓷茶杯", "附近好店", "热卖好茶", "明前龙井"):
        assert text in html, text
    assert html.index("近处茶庄") < html.index("远处茶庄")
    shot(phone, "designer-home-phone")

    # version 2: the product list removed; then roll back to version 1
    desk.goto(edit_url)
    desk.locator("li[data-block]").last.locator("form[action$='/delete'] button").click()
    desk.wait_for_load_state()
    submit(desk, "form[action$='/publish'] button[type=submit]")
    phone.goto(base + "/?lat=31.23&lng=121.47")
    assert "热卖好茶" not in phone.content()
    desk.goto(edit_url + "/history")
    shot(desk, "designer-history")
    desk.locator("form[action*='/rollback/']").last.locator("button").click()
    desk.wait_for_load_state()
    phone.goto(base + "/?lat=31.23&lng=121.47")
    assert "热卖好茶" in phone.content() and "明前龙井" in phone.content()
    shot(phone, "designer-home-phone-rolled-back")


def _draft_texts(app, page_id):
    """The editor's saved order: each block's notice text, from the database."""
    from jishi_designer.models import DesignPage

    with app.app_context():
        page = db.session.get(DesignPage, page_id)
        return [b["settings"].get("text") for b in page.draft]


@pytest.mark.jishi_plugins("designer")
def test_editor_drag_and_drop_and_keyboard_reorder(live_app, browser, shot):
    """PR-DZ (issue 18): in the editor, dragging a block onto another's place
    saves the new order (desktop width); the ↑/↓ buttons are the keyboard
    way (focus, Enter) and work without JavaScript at phone width."""
    from jishi_designer import service as designer

    base = live_app.config["LIVE_URL"]
    with live_app.app_context():
        factories.admin(phone="13900000182")
        page = designer.home_page()
        for text in ("甲", "乙", "丙"):
            block = designer.add_block(page, "designer.notice")
            designer.update_block(page, block["id"], {**block["settings"], "text": text})
        page_id = page.id
    edit_url = f"{base}/seller/designer/{page_id}"

    desk = sign_in(browser.new_context(**DESKTOP), base, "13900000182")
    desk.goto(edit_url)
    blocks = desk.locator("li[data-block]")
    assert blocks.count() == 3
    shot(desk, "designer-drag-before")
    with desk.expect_navigation():
        blocks.nth(0).drag_to(blocks.nth(2))
    desk.wait_for_load_state()
    assert _draft_texts(live_app, page_id) == ["乙", "丙", "甲"]
    shot(desk, "designer-drag-after")

    # the keyboard: focus the second block's ↑ and press Enter
    desk.locator("li[data-block]").nth(1).locator("button[value=up]").focus()
    with desk.expect_navigation():
        desk.keyboard.press("Enter")
    assert _draft_texts(live_app, page_id) == ["丙", "乙", "甲"]

    # no JavaScript, phone width: the ↓ button of the first block
    phone = sign_in(browser.new_context(**PHONE, java_script_enabled=False), base, "13900000182")
    phone.goto(edit_url)
    assert phone.locator("li[data-block]").count() == 3
    with phone.expect_navigation():
        phone.locator("li[data-block]").nth(0).locator("button[value=down]").click()
    assert _draft_texts(live_app, page_id) == ["乙", "丙", "甲"]
    shot(phone, "designer-reorder-phone-nojs")
