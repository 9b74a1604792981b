"""CP pages: claim centre, claiming from product and shop pages, my coupons,
the seller console forms (yuan and 折 typed, fen and basis points stored),
the merchant coupon select per store at checkout."""

from __future__ import annotations

import pytest
from jishi.db import db
from sqlalchemy import select

from .helpers import give, template


def test_claim_centre_and_my_coupons(client, login, factory):
    """CP: anonymous visitors see the centre; a buyer claims there and finds
    the coupon under my coupons; the button becomes "claimed"."""
    t = template(name="满100减10")
    page = client.get("/coupons").get_data(as_text=True)
    assert "满100减10" in page
    buyer = factory.user()
    login(buyer)
    r = client.post(f"/coupons/{t.id}/claim", data={"next": "/coupons"})
    assert r.status_code in (302, 303) and r.headers["Location"].endswith("/coupons")
    page = client.get("/account/coupons").get_data(as_text=True)
    assert "满100减10" in page
    assert f"/coupons/{t.id}/claim" not in client.get("/coupons").get_data(as_text=True)
    r = client.post(f"/coupons/{t.id}/claim")  # over the limit: a message, not an error page
    assert r.status_code in (302, 303)
    assert "/account/coupons" in client.get("/account").get_data(as_text=True)
    assert client.post("/coupons/999999/claim").status_code == 404


def test_product_page_offers_covering_coupons(client, factory):
    """CP: the product page (slot product_detail_after_price) shows coupons
    covering the product, not others."""
    p = factory.product(name="好茶")
    q = factory.product(name="别的")
    template(name="茶专享", scope="products", scope_ids=[p.id])
    assert "茶专享" in client.get(f"/product/{p.id}").get_data(as_text=True)
    assert "茶专享" not in client.get(f"/product/{q.id}").get_data(as_text=True)


@pytest.mark.jishi_plugins("multistore", "coupons")
def test_shop_page_and_merchant_console(client, login, factory, ms):
    """CP: a merchant admin creates a coupon in its console (满50减5 typed in
    yuan; a 8.5折 one with a 20 yuan cap); its shop page offers them; a bad
    form answers 422 naming the problem; the platform's list does not show them."""
    m = ms.merchant("茶店")
    login(ms.admin_of(m))
    assert client.get("/seller/coupons/").status_code == 200
    form = {
        "name": "店铺满50减5",
        "kind": "fixed",
        "threshold": "50",
        "amount": "5",
        "scope": "all",
        "starts_at": "2026-01-01T00:00",
        "ends_at": "2036-01-01T00:00",
        "total_quantity": "10",
    }
    assert client.post("/seller/coupons/new", data=form).status_code in (302, 303)
    form2 = dict(form, name="85折", kind="percent", threshold="", amount="", rate="8.5", max_discount="20")
    assert client.post("/seller/coupons/new", data=form2).status_code in (302, 303)
    bad = client.post("/seller/coupons/new", data=dict(form, total_quantity="many"))
    assert bad.status_code == 422 and "发放总量 必须是整数。" in bad.get_data(as_text=True)  # in words, not its key
    from jishi_coupons.models import CouponTemplate

    rows = {t.name: t for t in db.session.scalars(select(CouponTemplate))}
    assert (
        rows["店铺满50减5"].seller_id == m.id
        and rows["店铺满50减5"].threshold == 5000
        and rows["店铺满50减5"].amount == 500
    )
    assert rows["85折"].percent_off == 1500 and rows["85折"].max_discount == 2000
    act = {
        "name": "店铺满减",
        "tier1_threshold": "100",
        "tier1_amount": "10",
        "tier2_threshold": "200",
        "tier2_amount": "30",
        "scope": "all",
        "starts_at": "2026-01-01T00:00",
        "ends_at": "2036-01-01T00:00",
    }
    assert client.post("/seller/coupons/activities/new", data=act).status_code in (302, 303)
    page = client.get("/seller/coupons/").get_data(as_text=True)
    assert "店铺满减" in page and "85折" in page
    assert "店铺满50减5" in client.get(f"/shops/{m.id}").get_data(as_text=True)
    login(factory.admin())
    assert "店铺满50减5" not in client.get("/seller/coupons/").get_data(as_text=True)
    login(ms.clerk(m))
    assert client.get("/seller/coupons/").status_code == 403


@pytest.mark.jishi_plugins("multistore", "coupons")
def test_checkout_page_offers_a_shop_coupon_per_store(client, login, factory, ms):
    """CP: the checkout page has one select per merchant order
    (opt.coupons.<group key>) and one for the platform coupon."""
    buyer = factory.user()
    factory.address(buyer)
    m1, m2 = ms.merchant("甲"), ms.merchant("乙")
    p1, p2 = ms.product(m1, price=6000), ms.product(m2, price=6000)
    c1 = give(buyer, template(m1.id, name="甲券", threshold=5000, amount=500))
    cp = give(buyer, template(None, name="平台券", threshold=10000, amount=1000))
    login(buyer)
    for p in (p1, p2):
        client.post("/cart/add", data={"sku_id": p.skus[0].id, "quantity": 1})
    page = client.get("/checkout").get_data(as_text=True)
    assert f'name="opt.coupons.seller:{m1.id}"' in page or 'name="opt.coupons.' in page
    assert f'value="{c1.id}" selected' in page and f'value="{cp.id}" selected' in page
    assert 'name="opt.coupons.platform"' in page


def test_platform_console_menu_and_form(client, login, factory):
    """CP: platform staff find "Coupons" in the platform console and create a
    platform coupon (seller null) and an activity there."""
    login(factory.admin())
    assert "/seller/coupons/" in client.get("/console/").get_data(as_text=True)
    form = {
        "name": "平台券",
        "kind": "fixed",
        "threshold": "100",
        "amount": "10",
        "scope": "all",
        "starts_at": "2026-01-01T00:00",
        "ends_at": "2036-01-01T00:00",
        "total_quantity": "10",
        "per_user_limit": "1",
    }
    assert client.post("/seller/coupons/new", data=form).status_code in (302, 303)
    from jishi_coupons.models import CouponTemplate

    [t] = db.session.scalars(select(CouponTemplate)).all()
    assert t.seller_id is None and t.threshold == 10000 and t.amount == 1000
    r = client.post(
        "/seller/coupons/activities/new",
        data={
            "name": "满减",
            "tier1_threshold": "100",
            "tier1_amount": "200",
            "starts_at": "2026-01-01T00:00",
            "ends_at": "2036-01-01T00:00",
        },
    )
    assert r.status_code == 422  # takes off more than its threshold
    login(factory.user())
    assert client.get("/seller/coupons/").status_code == 403


def test_console_and_claim_centre_in_shop_time(client, login, factory):
    """Issue 13 A5: the coupon form asks for 开始时间/结束时间 in the shop's
    time zone (Asia/Shanghai, no "UTC"): 2036-01-01 00:30 typed is stored as
    2035-12-31 16:30 UTC, and the console list and claim centre show the
    shop's dates and times again."""
    from datetime import datetime

    from jishi_coupons.models import CouponTemplate

    login(factory.admin())
    form_page = client.get("/seller/coupons/new").get_data(as_text=True)
    assert "开始时间" in form_page and "结束时间" in form_page and "UTC" not in form_page
    form = {
        "name": "跨年券",
        "kind": "fixed",
        "threshold": "50",
        "amount": "5",
        "scope": "all",
        "starts_at": "2026-01-01T00:30",
        "ends_at": "2036-01-01T00:30",
        "total_quantity": "10",
    }
    assert client.post("/seller/coupons/new", data=form).status_code in (302, 303)
    t = db.session.scalars(select(CouponTemplate).where(CouponTemplate.name == "跨年券")).one()
    assert (t.starts_at, t.ends_at) == (datetime(2025, 12, 31, 16, 30), datetime(2035, 12, 31, 16, 30))
    console = client.get("/seller/coupons/").get_data(as_text=True)
    assert "2026-01-01 – 2036-01-01" in console
    assert "2036-01-01 00:30" in client.get("/coupons").get_data(as_text=True)
