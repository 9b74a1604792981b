"""FS: the product page box with its countdown, the listing page, the web
flash checkout, the console form, and the demo."""

from __future__ import annotations

import re
from datetime import timedelta

from jishi.db import db, utcnow
from jishi.models import Order

from . import helpers as fs


def test_product_page_shows_flash_price_and_countdown_from_server_time(client, factory, login):
    """FS: the product page (slot product_detail_after_price) shows the flash price, units left and a countdown to the end from the server's clock."""
    product = factory.product(price=1000, stock=5)
    a = fs.activity(product, stock=3, price=250, per_user=2)
    html = client.get(f"/product/{product.id}").get_data(as_text=True)
    assert 'data-flashsale-state="running"' in html and "data-fs-countdown" in html
    assert "¥2.50" in html
    target = int(re.search(r'data-fs-target="(\d+)"', html).group(1))
    now = int(re.search(r'data-fs-now="(\d+)"', html).group(1))
    assert abs((target - now) / 1000 - (a.ends_at - utcnow()).total_seconds()) < 5
    user = fs.buyer(factory)
    login(user)
    html = client.get(f"/product/{product.id}").get_data(as_text=True)
    assert "data-flashsale-buy" in html


def test_upcoming_sale_counts_down_to_the_start(client, factory):
    """FS: a sale starting within a week shows a countdown to its start and no buy button."""
    product = factory.product(price=1000, stock=5)
    now = utcnow()
    fs.activity(product, starts_at=now + timedelta(hours=3), ends_at=now + timedelta(hours=4))
    html = client.get(f"/product/{product.id}").get_data(as_text=True)
    assert 'data-flashsale-state="upcoming"' in html and "data-flashsale-buy" not in html


def test_listing_page(client, factory):
    """FS: /flashsale lists running sales with price, units left and countdown."""
    product = factory.product(name="秒杀好物", price=1000, stock=5)
    fs.activity(product, stock=4, price=100)
    html = client.get("/flashsale").get_data(as_text=True)
    assert "秒杀好物" in html and "data-fs-countdown" in html and "¥1.00" in html


def test_web_buy_checkout_and_pay_page(client, factory, login):
    """FS: Buy at the flash price -> flash checkout -> place -> the pay page; the order has the flash price."""
    product = factory.product(price=1000, stock=0)
    a = fs.activity(product, stock=2, price=300, per_user=1)
    user = fs.buyer(factory)
    login(user)
    resp = client.post("/flashsale/buy", data={"sku_id": product.skus[0].id, "quantity": 1})
    assert resp.status_code == 302 and "/flashsale/checkout" in resp.headers["Location"]
    page = client.get(resp.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "¥3.00" in html
    key = re.search(r'name="idempotency_key" value="([^"]+)"', html).group(1)
    address = re.search(r'name="address_id" value="(\d+)"', html).group(1)
    resp = client.post(
        "/flashsale/checkout",
        data={
            "sku_id": product.skus[0].id,
            "quantity": 1,
            "address_id": address,
            "idempotency_key": key,
            "action": "place",
        },
    )
    assert resp.status_code == 302 and "/pay/" in resp.headers["Location"], resp.headers.get("Location")
    order = db.session.execute(db.select(Order)).scalar_one()
    assert order.goods_amount == 300 and fs.flash_sku(a.id).sold == 1
    # sold out for the next buyer: answered at once, nothing written
    other = fs.buyer(factory)
    login(other)
    fs.place(fs.buyer(factory), product.skus[0].id)  # the last unit
    resp = client.post("/flashsale/buy", data={"sku_id": product.skus[0].id, "quantity": 1}, follow_redirects=True)
    assert "Sold out" in resp.get_data(as_text=True) or "已售罄" in resp.get_data(as_text=True)


def test_console_form_creates_and_edits(client, factory, login):
    """FS: the platform creates a flash sale in the console (yuan -> fen, flash stock) and edits it; bad input names the field."""
    from jishi_flashsale.models import Activity

    product = factory.product(price=1000, stock=5)
    login(factory.admin())
    assert client.get("/seller/flashsale/activities").status_code == 200
    sid = product.skus[0].id
    form = {
        "action": "save",
        "product_id": product.id,
        "title": "午间秒杀",
        "per_user_limit": "1",
        "starts_at": "2030-01-01T10:00",
        "ends_at": "2030-01-01T12:00",
        "enabled": "1",
        f"price-{sid}": "4.50",
        f"stock-{sid}": "7",
    }
    resp = client.post("/seller/flashsale/activities/new", data={**form, f"price-{sid}": "abc"})
    assert resp.status_code == 200 and db.session.scalar(db.select(db.func.count()).select_from(Activity)) == 0
    resp = client.post("/seller/flashsale/activities/new", data=form)
    assert resp.status_code == 302
    a = db.session.execute(db.select(Activity)).scalar_one()
    assert (a.skus[0].flash_price, a.skus[0].stock, a.per_user_limit) == (450, 7, 1)
    assert a.starts_at.hour == 2  # 10:00 Asia/Shanghai = 02:00 UTC
    resp = client.post(f"/seller/flashsale/activities/{a.id}", data={**form, f"stock-{sid}": "9"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert fs.flash_sku(a.id).stock == 9


def test_hook_demo_data(app, factory):
    """FS: demo_data makes a running flash sale (window around now, for days) on a demo product."""
    from jishi_flashsale import demo, service

    p = factory.product(price=1000, stock=5)
    assert demo.demo_data({"products": [p]}) == "1 running flash sale"
    a = service.current_for_product(p.id)
    assert service.state_of(a) == "running" and a.ends_at - utcnow() > timedelta(days=2)


def test_hook_periodic_jobs(app):
    """FS: the plugin registers its unpaid-close and reconcile jobs."""
    hook = app.extensions["jishi"].hook
    names = {j.name for r in hook.periodic_jobs() for j in (r or [])}
    assert {"flashsale_close_unpaid", "flashsale_reconcile"} <= names


def test_countdown_reads_in_chinese(client, factory):
    """Issue 13 A4: the countdown says 距结束 2天 23:59:58 in Chinese (days
    from the server's catalog, for the page and its script), 2d in English."""
    product = factory.product(price=1000, stock=5)
    now = utcnow()
    fs.activity(product, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=3))

    def shown(html):  # the time left the page counted, as it must read
        target = int(re.search(r'data-fs-target="(\d+)"', html).group(1))
        left = (target - int(re.search(r'data-fs-now="(\d+)"', html).group(1))) // 1000
        return left // 86400, f"{left % 86400 // 3600:02d}:{left % 3600 // 60:02d}:{left % 60:02d}"

    html = client.get(f"/product/{product.id}").get_data(as_text=True)
    days, clock = shown(html)
    assert days == 2 and "距结束</span> <time" in html and f">2天 {clock}</time>" in html
    assert 'data-fs-days="{d}天"' in html
    english = client.get(f"/product/{product.id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert f">2d {shown(english)[1]}</time>" in english and "Ends in</span>" in english
