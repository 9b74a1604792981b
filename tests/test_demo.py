"""K13: the demo data (``jishi.demo``) is complete and every main page of
the storefront and the console renders with it."""

from __future__ import annotations

import pytest
from jishi.demo import ADMIN, BUYER, load_demo
from jishi.testing.principals import sign_in_form
from sqlalchemy import func, select


@pytest.fixture
def demo(app):
    with app.test_request_context("/"):
        summary = load_demo()
    return summary


def test_demo_data(app, demo):
    """K13: two category levels, ~20 products with Chinese names and SKUs,
    member levels, the two logins, an address, a paid and an unpaid order
    today (issue 19: and the shoppers' past orders)."""
    from jishi.db import db
    from jishi.models import Address, Category, MemberLevel, Order, Product, Sku, User

    def count(q):
        return db.session.execute(q).scalar()

    assert count(select(func.count()).select_from(Category).where(Category.parent_id.is_(None))) >= 3
    assert count(select(func.count()).select_from(Category).where(Category.parent_id.is_not(None))) >= 6
    products = db.session.execute(select(Product)).scalars().all()
    assert len(products) >= 20
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in p.name) for p in products)
    assert count(select(func.count()).select_from(Sku)) > len(products)  # some have several specs
    assert count(select(func.count()).select_from(MemberLevel)) == 2
    buyer = db.session.execute(select(User).where(User.phone == BUYER[0])).scalar_one()
    admin = db.session.execute(select(User).where(User.phone == ADMIN[0])).scalar_one()
    assert buyer.member_level_id is not None and admin.role == "platform_admin"
    assert count(select(func.count()).select_from(Address).where(Address.user_id == buyer.id)) == 1
    from datetime import timedelta

    from jishi.db import utcnow

    today = select(Order).where(Order.created_at > utcnow() - timedelta(hours=12))  # the past: test_demo_reports
    statuses = sorted(o.status for o in db.session.execute(today).scalars())
    assert statuses == ["paid", "pending_payment"]
    assert "20 products" in demo


def test_demo_has_60_days_of_report_history(app, client, demo):
    """Issue 19: the demo's reports have 60 past days with shape (weekends
    busier than weekdays, growth), read by the console's report page."""
    from datetime import timedelta

    from jishi.db import utcnow
    from jishi.i18n import to_shop_time
    from jishi.reports import analytics

    today = to_shop_time(utcnow()).date()
    trend = analytics.trend(today - timedelta(days=61), today - timedelta(days=2))
    assert len(trend) == 60 and all(t["pv"] > 0 and t["paid_amount"] > 0 for t in trend)
    assert trend[-1]["pv"] > trend[0]["pv"]  # growth
    assert analytics.products(today - timedelta(days=61), today)["visited"] >= 20
    sign_in_form(client, *ADMIN)
    page = client.get(f"/console/reports?start={(today - timedelta(days=61)).isoformat()}").get_data(as_text=True)
    assert page.count("data-chart=") >= 3


def test_demo_products_show_real_pictures(app, client, demo):
    """Issue 13 B: every demo product has a picture drawn at build time, in
    the platform's media library, served from the instance folder (no
    network); the storefront's pages show it."""
    from io import BytesIO

    from jishi.db import db
    from jishi.models import MediaAsset, OrderLine, Product
    from PIL import Image

    products = db.session.execute(select(Product).order_by(Product.id)).scalars().all()
    assert all(p.image.startswith("/media/") and [i.url for i in p.images] == [p.image] for p in products)
    assert len({p.image for p in products}) == len(products)
    assets = db.session.execute(select(MediaAsset)).scalars().all()
    assert len(assets) == len(products) and {(a.owner_kind, a.owner_id) for a in assets} == {("platform", 0)}
    resp = client.get(products[0].image)
    assert resp.status_code == 200 and Image.open(BytesIO(resp.data)).size == (600, 600)
    home = client.get("/").get_data(as_text=True)
    assert sum(p.image in home for p in products) >= 4
    assert all(line.image for line in db.session.execute(select(OrderLine)).scalars())


def test_demo_pages_render(app, client, demo):
    """K13: storefront, product, cart, orders and console pages answer 200."""
    from jishi.db import db
    from jishi.models import Category, Order, Product

    product = db.session.execute(select(Product).order_by(Product.id)).scalars().first()
    category = db.session.execute(select(Category).order_by(Category.id)).scalars().first()
    for url in ("/", f"/product/{product.id}", f"/category/{category.id}", "/search?q=大米", "/login"):
        assert client.get(url).status_code == 200, url
    sign_in_form(client, *BUYER)
    order = db.session.execute(select(Order).order_by(Order.id)).scalars().first()
    for url in ("/cart", "/orders", f"/orders/{order.id}", "/account/addresses"):
        assert client.get(url).status_code == 200, url
    client.post("/logout")
    sign_in_form(client, *ADMIN)
    for url in (
        "/console/",
        "/console/products",
        "/console/orders",
        f"/console/orders/{order.id}",
        "/console/settings",
    ):
        assert client.get(url).status_code == 200, url
