"""DE/PU/LD with MS8 in headless Chromium: one checkout
across three merchants, express for A, pickup for B, local delivery for C,
chosen per order on the checkout page; paid once. Screenshots go to
test-artifacts/browser/."""

from __future__ import annotations

import pytest
from jishi.db import commit, db
from jishi.models import PaymentOrder
from jishi.testing import factories
from jishi.testing.browser import submit

pytestmark = pytest.mark.jishi_plugins("multistore", "delivery_express", "pickup", "delivery_local")


def test_checkout_with_express_pickup_and_local(live_app, browser, shot):
    from jishi_delivery_express import service as express
    from jishi_delivery_local import service as local
    from jishi_multistore import testing as ms
    from jishi_pickup import service as pickup

    base = live_app.config["LIVE_URL"]
    with live_app.app_context():
        a, b, c = ms.merchant("快递店A"), ms.merchant("自提店B"), ms.merchant("同城店C")
        products = [
            ms.product(a, name="A的茶杯", price=2000),
            ms.product(b, name="B的茶叶", price=3000),
            ms.product(c, name="C的鲜花", price=5000),
        ]
        template = express.save_template(
            {
                "name": "全国按件",
                "charge_by": "piece",
                "first_units": 1,
                "first_fee": 800,
                "additional_units": 1,
                "additional_fee": 300,
            }
        )
        express.make_default(template)
        pickup.create_point(
            b.id, {"name": "B店柜台", "address": "文三路1号", "hours": "09:00-21:00", "phone": "0571-8888"}
        )
        local.save(
            c.id,
            {
                "enabled": True,
                "lat": 30.2741,
                "lng": 120.1551,
                "radius_m": 5000,
                "tiers": [{"max_distance_m": 3000, "fee": 500}],
                "min_amount": 0,
                "slots": [{"start": "10:00", "end": "12:00", "capacity": 5}],
                "days_ahead": 3,
                "lead_minutes": 30,
            },
        )
        buyer = factories.user(phone="13700000009", name="买家")
        factories.address(buyer, name="李雷", phone="13700000009", lat=30.2650, lng=120.1500)
        commit()
        ids = [p.id for p in products]
        a_id, b_id, c_id = a.id, b.id, c.id

    ctx = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="zh-CN")
    page = ctx.new_page()
    page.goto(base + "/login")
    page.fill("input[name=phone]", "13700000009")
    page.fill("input[name=password]", "secret123")
    submit(page, "form.form button[type=submit]")
    for product_id in ids:
        page.goto(f"{base}/product/{product_id}")
        submit(page, "form.add-to-cart button.btn-secondary")
    page.goto(base + "/cart")
    submit(page, "button[name=action][value=checkout]")
    shot(page, "three-shops-checkout")

    def group(name):
        return page.locator("section.checkout-group", has_text=name)

    # Each merchant's order offers exactly its methods.
    def codes(name):
        return sorted(
            group(name)
            .locator("select[name^='delivery-'] option:not([disabled])")
            .evaluate_all("els => els.map(e => e.value)")
        )

    assert codes("快递店A") == ["express"]
    assert codes("自提店B") == ["express", "pickup"]
    assert codes("同城店C") == ["express", "local"]
    group("自提店B").locator("select[name^='delivery-']").select_option("pickup")
    group("同城店C").locator("select[name^='delivery-']").select_option("local")
    submit(page, "button[name=action][value=refresh]")
    assert group("自提店B").locator("select[name^='opt.pickup.']").input_value()
    assert group("同城店C").locator("select[name^='opt.local_slot.']").input_value()
    shot(page, "three-methods-chosen")
    submit(page, "button[name=action][value=place]")
    shot(page, "three-methods-pay")
    submit(page, "form.pay-methods button[type=submit]")
    submit(page, "button[name=action][value=pay]")
    shot(page, "three-methods-paid")

    with live_app.app_context():
        [payment] = db.session.execute(db.select(PaymentOrder)).scalars().all()
        methods = {o.seller_id: (o.delivery_method, o.status, o.delivery_fee) for o in payment.orders}
        assert methods == {a_id: ("express", "paid", 800), b_id: ("pickup", "paid", 0), c_id: ("local", "paid", 500)}
        assert payment.amount == 2000 + 3000 + 5000 + 800 + 500
        pickup_order = next(o for o in payment.orders if o.seller_id == b_id)
        pickup_id = pickup_order.id
    # The buyer's pickup order shows the code and the counter.
    page.goto(f"{base}/orders/{pickup_id}")
    assert "B店柜台" in page.content()
    shot(page, "pickup-order-code")
    ctx.close()
