"""The platform console (K4, K8, K10, K11, K15, K16 web side)."""

import pytest
from jishi import settings
from jishi.aftersales.models import Refund
from jishi.catalog.models import Category, Product
from jishi.db import db
from jishi.reviews.models import Review
from webforms import page_form

PAGES = [
    "/console/",
    "/console/products",
    "/console/products/new",
    "/console/categories",
    "/console/orders",
    "/console/orders?status=paid",
    "/console/refunds",
    "/console/reviews",
    "/console/reviews?show=pending",
    "/console/reports",
    "/console/reports?start=2026-01-01&end=2026-01-31",
]
ADMIN_PAGES = ["/console/users", "/console/settings"]


def test_console_access_by_role(app, client, factory, shop, admin_client, buyer_client):
    """K15: platform admin sees every page; staff every page but users and
    settings (403); a buyer gets 403; anonymous visitors go to the login page."""
    product_page = f"/console/products/{shop['tea'].id}"
    for url in PAGES + ADMIN_PAGES + [product_page]:
        assert admin_client.get(url).status_code == 200, url
        assert buyer_client.get(url).status_code == 403, url
        resp = client.get(url)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"], url
    staff = factory.user(role="platform_staff")
    staff_client = app.test_client()
    staff_client.post("/login", data={"phone": staff.phone, "password": "secret123"})
    for url in PAGES:
        assert staff_client.get(url).status_code == 200, url
    for url in ADMIN_PAGES:
        assert staff_client.get(url).status_code == 403, url
    menu = staff_client.get("/console/").get_data(as_text=True)
    assert "/console/orders" in menu and "/console/settings" not in menu
    assert buyer_client.post(f"/console/products/{shop['tea'].id}/shelf", data={"on_shelf": "0"}).status_code == 403


def test_create_product_with_specs_skus_and_yuan_prices(admin_client, shop):
    """K4: the product form turns specs into SKU rows; prices typed in yuan
    become fen (12.34 -> 1234) without floats; bad prices are refused."""
    base = {
        "name": "茶杯",
        "category_id": str(shop["fruit"].id),
        "specs": "颜色: 红, 蓝",
        "tags": "新品, 热卖",
        "params": "材质: 陶瓷",
        "images": "https://img.example/cup.png",
        "on_shelf": "1",
        "sku_count": "1",
        "sku-0-price": "",
        "sku-0-stock": "0",
        "sku-0-is_active": "1",
    }
    form_page = admin_client.post("/console/products/new", data=base | {"action": "skus"})
    assert form_page.status_code == 200
    fields = page_form(form_page, "")
    assert fields["sku_count"] == "2"
    assert fields["sku-0-spec-颜色"] == "红" and fields["sku-1-spec-颜色"] == "蓝"
    fields |= {
        "sku-0-price": "12.34",
        "sku-0-stock": "5",
        "sku-1-price": "12.5",
        "sku-1-stock": "7",
        "sku-1-member_price": "11",
    }
    bad = admin_client.post("/console/products/new", data=fields | {"sku-1-price": "12.345", "action": "save"})
    assert bad.status_code == 422 and "skus.1.price" in bad.get_data(as_text=True)
    assert db.session.execute(db.select(Product).where(Product.name == "茶杯")).scalar_one_or_none() is None
    resp = admin_client.post("/console/products/new", data=fields | {"action": "save"})
    assert resp.status_code == 302
    product = db.session.execute(db.select(Product).where(Product.name == "茶杯")).scalar_one()
    assert sorted((s.spec_values["颜色"], s.price, s.stock, s.member_price) for s in product.skus) == [
        ("红", 1234, 5, None),
        ("蓝", 1250, 7, 1100),
    ]
    assert product.on_shelf and product.price == 1234 and product.image == "https://img.example/cup.png"
    assert {t.name for t in product.tags} == {"新品", "热卖"} and product.params[0].value == "陶瓷"
    edit = admin_client.get(f"/console/products/{product.id}")
    assert "12.34" in edit.get_data(as_text=True)
    fields = page_form(edit, "") | {"name": "青瓷茶杯", "action": "save"}
    assert admin_client.post(f"/console/products/{product.id}", data=fields).status_code == 302
    db.session.refresh(product)
    assert product.name == "青瓷茶杯" and len([s for s in product.skus if s.is_active]) == 2


def test_shelf_and_stock(admin_client, shop):
    """K4: take a product off the shelf and back; set a SKU's stock."""
    tea = shop["tea"]
    admin_client.post(f"/console/products/{tea.id}/shelf", data={"on_shelf": "0"})
    db.session.refresh(tea)
    assert not tea.on_shelf
    admin_client.post(f"/console/products/{tea.id}/shelf", data={"on_shelf": "1"})
    db.session.refresh(tea)
    assert tea.on_shelf
    sku = tea.skus[1]
    admin_client.post(f"/console/skus/{sku.id}/stock", data={"stock": "9"})
    db.session.refresh(sku)
    assert sku.stock == 9
    admin_client.post(f"/console/skus/{sku.id}/stock", data={"stock": "-1"})
    db.session.refresh(sku)
    assert sku.stock == 9


def test_category_tree_crud(admin_client, shop):
    """K4: add, rename, move and delete categories from the console."""
    admin_client.post("/console/categories", data={"name": "茶叶", "parent_id": "", "sort": "1"})
    cat = db.session.execute(db.select(Category).where(Category.name == "茶叶")).scalar_one()
    admin_client.post(
        "/console/categories", data={"id": cat.id, "name": "绿茶", "parent_id": shop["fruit"].id, "sort": "2"}
    )
    db.session.refresh(cat)
    assert cat.name == "绿茶" and cat.parent_id == shop["fruit"].id and cat.path == f"{shop['fruit'].path}{cat.id}/"
    page = admin_client.get("/console/categories").get_data(as_text=True)
    assert "绿茶" in page
    admin_client.post(f"/console/categories/{shop['fruit'].id}/delete")  # has children and products: refused
    assert db.session.get(Category, shop["fruit"].id) is not None
    admin_client.post(f"/console/categories/{cat.id}/delete")
    db.session.expire_all()
    assert db.session.execute(db.select(Category).where(Category.name == "绿茶")).scalar_one_or_none() is None


def test_ship_one_and_batch_ship(app, shop, admin_client, buyer_client, buy):
    """K8: the ship form needs carrier and tracking number; batch shipping
    ships every ticked order with its own tracking number."""
    sku = shop["orange"].skus[0]
    first, second, third = (buy(buyer_client, sku) for _ in range(3))
    resp = admin_client.post(f"/console/orders/{first.id}/ship", data={"carrier": "顺丰", "tracking_no": ""})
    db.session.refresh(first)
    assert first.status == "paid"
    detail = admin_client.get(f"/console/orders/{first.id}")
    assert first.number in detail.get_data(as_text=True)
    form = page_form(detail, "/ship") | {"carrier": "顺丰", "tracking_no": "SF1"}
    resp = admin_client.post(f"/console/orders/{first.id}/ship", data=form)
    assert resp.status_code == 302
    db.session.refresh(first)
    assert first.status == "shipped" and first.tracking_no == "SF1"
    resp = admin_client.post(
        "/console/orders/batch-ship",
        data={
            "order_id": [str(second.id), str(third.id)],
            "carrier": "圆通",
            f"tracking-{second.id}": "YT2",
            f"tracking-{third.id}": "YT3",
        },
    )
    assert resp.status_code == 302
    for order, no in ((second, "YT2"), (third, "YT3")):
        db.session.refresh(order)
        assert order.status == "shipped" and order.tracking_no == no and order.carrier == "圆通"
    page = admin_client.get("/console/orders?status=shipped").get_data(as_text=True)
    assert all(o.number in page for o in (first, second, third))
    assert "YT3" in buyer_client.get(f"/orders/{third.id}").get_data(as_text=True)


def test_refund_approve_and_reject(shop, admin_client, buyer_client, buy):
    """K10: the platform approves a refund-only request (money goes back, the
    order closes) and rejects another with a reason."""
    sku = shop["orange"].skus[0]
    order = buy(buyer_client, sku)
    form = page_form(buyer_client.get(f"/orders/{order.id}/refund"), "/refund") | {"reason": "买错了"}
    buyer_client.post(f"/orders/{order.id}/refund", data=form)
    refund = db.session.execute(db.select(Refund).where(Refund.order_id == order.id)).scalar_one()
    assert refund.amount == order.pay_amount  # everything before shipment, delivery fee included
    page = admin_client.get(f"/console/refunds/{refund.id}")
    assert "买错了" in page.get_data(as_text=True)
    admin_client.post(f"/console/refunds/{refund.id}/approve")
    db.session.refresh(refund)
    db.session.refresh(order)
    assert refund.status == "refunded" and order.status == "closed" and order.refunded_amount == order.pay_amount

    other = buy(buyer_client, sku)
    buyer_client.post(
        f"/orders/{other.id}/refund",
        data=page_form(buyer_client.get(f"/orders/{other.id}/refund"), "/refund") | {"reason": "不想要了"},
    )
    refund2 = db.session.execute(db.select(Refund).where(Refund.order_id == other.id)).scalar_one()
    admin_client.post(f"/console/refunds/{refund2.id}/reject", data={"reason": ""})
    db.session.refresh(refund2)
    assert refund2.status == "requested"
    admin_client.post(f"/console/refunds/{refund2.id}/reject", data={"reason": "已打包"})
    db.session.refresh(refund2)
    assert refund2.status == "rejected" and refund2.reject_reason == "已打包"
    assert "已打包" in buyer_client.get(f"/refunds/{refund2.id}").get_data(as_text=True)


def test_review_reply_and_delete(shop, admin_client, buyer_client, buy):
    """K11: the platform replies to a review (shown on the product page) and deletes one."""
    from jishi.orders import service as orders_service

    order = buy(buyer_client, shop["orange"].skus[0])
    orders_service.ship(order, carrier="顺丰", tracking_no="SF9", actor_kind="platform")
    buyer_client.post(f"/orders/{order.id}/receive")
    line = order.lines[0]
    buyer_client.post(f"/orders/{order.id}/lines/{line.id}/review", data={"rating": "5", "content": "好吃"})
    review = db.session.execute(db.select(Review)).scalar_one()
    assert "好吃" in admin_client.get("/console/reviews").get_data(as_text=True)
    admin_client.post(f"/console/reviews/{review.id}/reply", data={"reply": "谢谢惠顾"})
    assert "谢谢惠顾" in buyer_client.get(f"/product/{shop['orange'].id}").get_data(as_text=True)
    admin_client.post(f"/console/reviews/{review.id}/delete")
    db.session.refresh(review)
    assert review.deleted_at is not None
    assert "好吃" not in buyer_client.get(f"/product/{shop['orange'].id}").get_data(as_text=True)


def test_users_role_and_member_level(admin_client, buyer):
    """K5, K15: the admin adds a member level and gives it to a buyer, and
    changes a role."""
    from jishi.accounts.models import MemberLevel

    admin_client.post("/console/member-levels", data={"name": "金卡", "rank": "2"})
    level = db.session.execute(db.select(MemberLevel)).scalar_one()
    admin_client.post(
        f"/console/users/{buyer.id}",
        data={"role": "platform_staff", "member_level_id": str(level.id), "is_active": "1"},
    )
    db.session.refresh(buyer)
    assert buyer.role == "platform_staff" and buyer.member_level_id == level.id and buyer.is_active
    page = admin_client.get("/console/users", query_string={"q": buyer.phone}).get_data(as_text=True)
    assert buyer.phone in page and "金卡" in page


def test_reports_overview_funnel_and_exports(client, admin_client, buyer_client, shop, buy):
    """K16, issue 19: the reports page shows the overview and the visit ->
    order -> pay funnel from the daily aggregates (once the worker wrote
    them); CSV and XLSX exports download."""
    from jishi.reports import aggregate

    client.get("/")
    client.get(f"/product/{shop['tea'].id}")
    order = buy(buyer_client, shop["orange"].skus[0])
    db.session.rollback()
    aggregate.aggregate_recent()
    page = admin_client.get("/console/reports").get_data(as_text=True)
    assert order.pay_amount and f"¥{order.pay_amount // 100}.{order.pay_amount % 100:02d}" in page
    assert 'data-table="funnel"' in page and 'data-chart="trend-amount"' in page
    csv_resp = admin_client.get("/console/reports/export.csv")
    assert (
        csv_resp.status_code == 200
        and csv_resp.mimetype == "text/csv"
        and order.number in csv_resp.get_data(as_text=True)
    )
    xlsx = admin_client.get("/console/reports/export.xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    assert admin_client.get("/console/reports/export.pdf").status_code == 404


def test_settings_panels_save_with_kinds(app, admin_client):
    """K12, K9: every settings panel renders; money is typed in yuan and
    stored in fen; bad input is refused naming the field."""
    page = admin_client.get("/console/settings").get_data(as_text=True)
    for panel in app.extensions["jishi"].settings_panels():
        assert f'id="panel-{panel.key}"' in page
    assert 'value="10.00"' in page  # the flat delivery fee default, ¥10.00
    form = page_form(admin_client.get("/console/settings"), "/console/settings")
    bad = admin_client.post(
        "/console/settings", data={"panel": "checkout", "delivery.flat_fee": "8.888", "delivery.free_over": "99"}
    )
    assert bad.status_code == 422 and "field-error" in bad.get_data(as_text=True)
    resp = admin_client.post(
        "/console/settings",
        data={
            "panel": "checkout",
            "delivery.flat_fee": "8.5",
            "delivery.free_over": "99",
            "csrf_token": form.get("csrf_token", ""),
        },
    )
    assert resp.status_code == 302
    db.session.expire_all()
    from flask import g

    g.pop("jishi_settings", None)
    assert settings.get("delivery.flat_fee") == 850 and settings.get("delivery.free_over") == 9900
    assert settings.get("payment.cod_enabled") is False  # an unticked box saves False


def test_order_detail_force_complete(shop, admin_client, buyer_client, buy):
    """K8: the platform moves a paid order to completed, noted in history."""
    order = buy(buyer_client, shop["orange"].skus[0])
    admin_client.post(f"/console/orders/{order.id}/complete")
    db.session.refresh(order)
    assert order.status == "completed"
    assert order.events[-1].actor_role == "platform"


def test_return_and_refund_through_both_sides(shop, admin_client, buyer_client, buy):
    """K10: a shipped order's return-and-refund: the platform approves, the
    buyer enters the return tracking number, the platform confirms the goods
    came back; the money is refunded and the stock restored."""
    from jishi.orders import service as orders_service

    sku = shop["orange"].skus[0]
    order = buy(buyer_client, sku, 2)
    orders_service.ship(order, carrier="顺丰", tracking_no="SF7", actor_kind="platform")
    form = page_form(buyer_client.get(f"/orders/{order.id}/refund"), "/refund")
    buyer_client.post(
        f"/orders/{order.id}/refund",
        data=form | {"kind": "return_refund", f"qty-{order.lines[0].id}": "1", "reason": "尺码不合适"},
    )
    refund = db.session.execute(db.select(Refund)).scalar_one()
    assert refund.kind == "return_refund" and refund.amount == 3990
    admin_client.post(f"/console/refunds/{refund.id}/approve")
    page = buyer_client.get(f"/refunds/{refund.id}")
    ship_back = page_form(page, "/ship-back") | {"carrier": "中通", "tracking_no": "ZT8"}
    buyer_client.post(f"/refunds/{refund.id}/ship-back", data=ship_back)
    db.session.refresh(refund)
    assert refund.status == "returning" and refund.return_tracking_no == "ZT8"
    assert "ZT8" in admin_client.get(f"/console/refunds/{refund.id}").get_data(as_text=True)
    db.session.refresh(sku)
    stock_before = sku.stock
    admin_client.post(f"/console/refunds/{refund.id}/confirm-returned")
    db.session.refresh(refund)
    db.session.refresh(sku)
    db.session.refresh(order)
    assert refund.status == "refunded" and sku.stock == stock_before + 1
    assert order.refunded_amount == 3990 and order.status == "shipped"


def test_review_moderation_approve(shop, admin_client, buyer_client, buy):
    """K11: with moderation on, a review shows only after the platform approves it."""
    from jishi.orders import service as orders_service

    admin_client.post(
        "/console/settings",
        data={"panel": "reviews", "reviews.enabled": "1", "reviews.moderation": "1", "reviews.days": "30"},
    )
    order = buy(buyer_client, shop["orange"].skus[0])
    orders_service.ship(order, carrier="顺丰", tracking_no="SF9", actor_kind="platform")
    buyer_client.post(f"/orders/{order.id}/receive")
    buyer_client.post(f"/orders/{order.id}/lines/{order.lines[0].id}/review", data={"rating": "3", "content": "一般般"})
    product_page = f"/product/{shop['orange'].id}"
    assert "一般般" not in buyer_client.get(product_page).get_data(as_text=True)
    assert "一般般" in admin_client.get("/console/reviews?show=pending").get_data(as_text=True)
    review = db.session.execute(db.select(Review)).scalar_one()
    admin_client.post(f"/console/reviews/{review.id}/approve")
    assert "一般般" in buyer_client.get(product_page).get_data(as_text=True)


@pytest.mark.parametrize("app_config", [{"JISHI_DEVELOPER_PAGES": True}])
def test_failed_event_handlers_are_listed_and_dismissed(app, admin_client, buyer_client, shop, buy):
    """A signal receiver that raises is recorded; the dashboard points the
    admin to the list, where it can be dismissed (signals doc). C5: with
    JISHI_DEVELOPER_PAGES on, the page is in the menu and open to admins
    only."""
    from jishi import signals
    from jishi.models import SignalFailure

    def broken(sender, **kwargs):
        raise RuntimeError("积分服务不可用")

    signals.order_paid.connect(broken, weak=False)
    try:
        buy(buyer_client, shop["orange"].skus[0])
    finally:
        signals.order_paid.disconnect(broken)
    failure = db.session.execute(db.select(SignalFailure)).scalar_one()
    assert "/console/signal-failures" in admin_client.get("/console/").get_data(as_text=True)
    assert buyer_client.get("/console/signal-failures").status_code == 403
    page = admin_client.get("/console/signal-failures").get_data(as_text=True)
    assert "积分服务不可用" in page and "order-paid" in page
    admin_client.post(f"/console/signal-failures/{failure.id}/dismiss")
    db.session.expire_all()
    assert db.session.execute(db.select(SignalFailure)).first() is None


def test_developer_pages_are_off_by_default(app, admin_client):
    """C5: without JISHI_DEVELOPER_PAGES the failed-handlers page is neither
    in the menu nor open (404, as a page)."""
    assert "/console/signal-failures" not in admin_client.get("/console/").get_data(as_text=True)
    resp = admin_client.get("/console/signal-failures")
    assert resp.status_code == 404 and resp.mimetype == "text/html"
    assert admin_client.post("/console/signal-failures/1/dismiss").status_code == 404
