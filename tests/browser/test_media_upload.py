"""Issue 13 B in headless Chromium: a merchant admin opens the media library
from the merchant console's menu, uploads a product picture (and is told a
PDF named .jpg is not an image), picks the picture in the product form with
the picker, saves, and the storefront's product page shows it. Screenshots
of every step go to test-artifacts/browser/."""

from __future__ import annotations

import pytest
from jishi.db import db
from jishi.models import MediaAsset, Product
from jishi.testing.browser import sign_in, submit

pytestmark = pytest.mark.jishi_plugins("multistore")


def test_merchant_uploads_and_picks_a_picture(live_app, browser, shot, tmp_path):
    from jishi.media.pictures import picture
    from jishi_multistore import testing as ms

    base = live_app.config["LIVE_URL"]
    with live_app.app_context():
        from jishi.testing import factories

        category = factories.category("茶叶")
        tea = ms.merchant("龙井茶庄")
        product = ms.product(tea, name="明前龙井 50g", price=12800, stock=20, category=category)
        product_id = product.id
        phone = ms.admin_of(tea).phone
    photo = tmp_path / "longjing.png"
    photo.write_bytes(picture("明前龙井", motif="packet", caption="LONGJING 50g"))
    fake = tmp_path / "invoice.jpg"
    fake.write_bytes(b"%PDF-1.4\n%%EOF\n")

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = sign_in(context, base, phone)
    page.goto(base + "/merchant/")
    submit(page, "nav.console-menu a[href='/seller/media']")
    assert page.locator("h1").inner_text() == "素材库"
    shot(page, "library-empty")

    # A PDF named .jpg: refused, named, nothing stored.
    page.set_input_files("form.media-upload input[type=file]", str(fake))
    submit(page, "form.media-upload button[type=submit]")
    assert page.locator("[role=alert][data-field=file]").is_visible()
    shot(page, "not-an-image")

    page.set_input_files("form.media-upload input[type=file]", str(photo))
    submit(page, "form.media-upload button[type=submit]")
    assert page.locator(".media-item").count() == 1
    shot(page, "uploaded")
    with live_app.app_context():
        asset = db.session.execute(db.select(MediaAsset)).scalar_one()
        assert (asset.owner_kind, asset.owner_id) == ("merchant", tea.id)
        large = asset.files["large"]

    # The product form's picker.
    page.goto(f"{base}/merchant/products/{product_id}")
    page.click("button.media-picker-open")
    page.wait_for_selector(".media-picker-panel button.media-choice")
    shot(page, "picker")
    page.click(".media-picker-panel button.media-choice")
    assert page.input_value("textarea[name=images]").strip().endswith("/media/" + large)
    submit(page, "button[name=action][value=save]")
    shot(page, "product-saved")
    with live_app.app_context():
        assert db.session.get(Product, product_id).image == "/media/" + large

    buyer = browser.new_context(viewport={"width": 414, "height": 860}, locale="zh-CN")
    shop_page = buyer.new_page()
    shop_page.goto(f"{base}/product/{product_id}")
    img = shop_page.locator(f"img[src='/media/{large}']").first
    img.wait_for()
    # The hero picture is loaded eagerly (no loading="lazy"): the page's load
    # event waited for it, so it is decoded now, not "soon".
    assert img.get_attribute("loading") is None
    assert shop_page.evaluate("(el) => el.complete && el.naturalWidth", img.element_handle()) > 0
    shot(shop_page, "product-page")
    context.close()
    buyer.close()
