"""C5/C9 for the merchant console: the storefront header leads merchant staff
to their console; the merchant home shows figures and to-dos."""

from __future__ import annotations

from jishi.db import db


def test_storefront_header_links_merchant_staff_to_their_console(client, factory, ms, login):
    """C5: a signed-in merchant clerk sees 商户后台 in the header; a buyer does not."""
    m = ms.merchant("茶铺")
    login(ms.clerk(m))
    header = client.get("/").get_data(as_text=True).split("</header>")[0]
    assert 'href="/merchant/"' in header
    login(factory.user())
    header = client.get("/").get_data(as_text=True).split("</header>")[0]
    assert 'href="/merchant/"' not in header


def test_merchant_home_shows_its_figures_and_todos(client, factory, ms, login, queries):
    """C9: the merchant's home has its own today/7-day figures and to-dos
    (待发货 linking to its paid orders, 商品审核中), not another merchant's;
    a clerk does not see the money to-do; the to-dos are one query."""
    from jishi.money import format_fen
    from jishi.testing import flows
    from jishi.web_helpers import console_todos

    m, other = ms.merchant("茶铺"), ms.merchant("别家")
    buyer = factory.user()
    sku = ms.product(m, price=1500).skus[0]
    payment = flows.place(buyer, [(sku, 2)], factory.address(buyer))[0]
    flows.pay(payment)
    ms.product(m, review_status="pending", on_shelf=False)
    ms.product(other, review_status="pending", on_shelf=False)
    flows.request_refund(payment.orders[0])
    db.session.commit()
    login(ms.admin_of(m))
    html = client.get("/merchant/").get_data(as_text=True)
    start = html.index('href="/merchant/refunds?status=requested"')
    assert '<span class="todo-count">1</span> 售后申请' in html[start : start + 200]
    start = html.index('href="/merchant/orders?status=paid"')
    assert '<span class="todo-count">1</span> 待发货' in html[start : start + 200]
    start = html.index('href="/merchant/products?status=pending"')
    assert '<span class="todo-count">1</span>' in html[start : start + 200]
    assert 'data-todo="merchant.finance"' in html
    today = html[html.index('data-range="today"') :]
    assert 'data-figure="orders">1<' in today and f'data-figure="paid_amount">{format_fen(payment.amount)}<' in today
    login(ms.clerk(m))
    html = client.get("/merchant/").get_data(as_text=True)
    assert 'data-todo="merchant.orders"' in html and 'data-todo="merchant.finance"' not in html
    from flask_login import login_user

    with client.application.test_request_context("/merchant/"):
        login_user(ms.admin_of(m))
        from jishi.sellers import current_scope

        current_scope("console")
        with queries() as q:
            console_todos("merchant")
        assert q.count == 1


def test_platform_home_counts_multistore_work(client, factory, ms, login):
    """C9: the platform sees 待审核商户 and 待审核商品 with links to the queues."""
    ms.merchant("待审店", approved=False)
    m = ms.merchant("茶铺")
    ms.product(m, review_status="pending", on_shelf=False)
    login(factory.admin())
    html = client.get("/console/").get_data(as_text=True)
    for href in (
        'href="/console/multistore/applications?status=pending"',
        'href="/console/multistore/products/review"',
    ):
        start = html.index(href + " data-todo")
        assert '<span class="todo-count">1</span>' in html[start : start + 200], href
    assert 'data-todo="multistore_admin.withdrawals"' in html


def test_commission_is_one_unit_in_every_form(client, api, factory, login):
    """C5: the default commission is typed as a percentage on the settings
    page and the commission page alike (stored as basis points); the API
    speaks basis points, as it speaks fen for money."""
    from flask import g
    from jishi import settings
    from jishi.db import db
    from jishi_multistore import ledger

    admin = factory.admin()
    login(admin)
    settings.set_many({ledger.COMMISSION_SETTING: 525})
    db.session.commit()
    g.pop("jishi_settings", None)
    page = client.get("/console/settings").get_data(as_text=True)
    assert f'name="{ledger.COMMISSION_SETTING}" inputmode="decimal" value="5.25"' in page and "基点" not in page
    assert 'name="rate" value="5.25"' in client.get("/console/multistore/commission").get_data(as_text=True)
    resp = client.post("/console/settings", data={"panel": "multistore_commission", ledger.COMMISSION_SETTING: "7.5"})
    assert resp.status_code == 302
    assert api.get("/admin/multistore/commissions", user=admin).json["default_bp"] == 750
    bad = client.post("/console/settings", data={"panel": "multistore_commission", ledger.COMMISSION_SETTING: "750"})
    assert bad.status_code == 422
    resp = client.post("/console/multistore/commission/default", data={"rate": "abc"}, follow_redirects=True)
    assert "0 到 100" in resp.get_data(as_text=True) or "百分比" in resp.get_data(as_text=True)
    assert api.get("/admin/multistore/commissions", user=admin).json["default_bp"] == 750


def test_platform_orders_refunds_and_reviews_show_names(client, factory, ms, login):
    """C4: platform order lists and pages name the merchant and the buyer,
    the refund page the buyer, the reviews list the product — no ids."""
    from jishi.testing import flows

    m = ms.merchant("茶铺")
    buyer = factory.user(name="王小明")
    sku = ms.product(m, name="明前龙井", price=1500).skus[0]
    payment = flows.place(buyer, [(sku, 1)], factory.address(buyer))[0]
    flows.pay(payment)
    order = payment.orders[0]
    refund = flows.refund(order)
    login(factory.admin())
    listing = client.get("/console/orders").get_data(as_text=True)
    assert '<span class="tag seller-name">茶铺</span>' in listing and f"商户 {m.id}<" not in listing
    page = client.get(f"/console/orders/{order.id}").get_data(as_text=True)
    assert '<span class="buyer-name">王小明</span>' in page and '<span class="seller-name">茶铺</span>' in page
    assert f"#{buyer.id}<" not in page
    page = client.get(f"/console/refunds/{refund.id}").get_data(as_text=True)
    assert '<span class="buyer-name">王小明</span>' in page and f"#{buyer.id}<" not in page
    from .test_comments_api import make_review

    make_review(buyer, sku.product)
    page = client.get("/console/reviews").get_data(as_text=True)
    assert ">明前龙井</a>" in page and f">#{sku.product.id}</a>" not in page
