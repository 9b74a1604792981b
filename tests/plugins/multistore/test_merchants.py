"""MS4, MS5, MS6, MS15, MS17: merchant management, states, shop profile,
announcements and staff."""

from __future__ import annotations

import csv
import io

import pytest
from jishi.db import db
from jishi_multistore.models import Merchant, MerchantMember
from sqlalchemy import select


@pytest.fixture
def platform(factory):
    return factory.admin()


# --- MS5: states, through the kernel hooks -------------------------------------------


def test_states_effects_on_products(api, ms, factory, platform):
    """MS5: resting and closed-for-today products are visible but not buyable
    (409 with the code); shut and deleted merchants' products are hidden."""
    buyer = factory.user()
    m = ms.merchant("状态店")
    p = ms.product(m, name="状态商品")
    own = factory.product(name="自营商品")
    sku = p.skus[0].id

    def listed():
        return {i["id"] for i in api.get("/products").json["items"]}

    assert listed() == {p.id, own.id}
    assert api.post("/cart/items", user=buyer, json={"sku_id": sku, "quantity": 1}).status_code in (200, 201)
    for status, code in (("resting", "merchant_resting"), ("closed_today", "merchant_closed_today")):
        assert (
            api.patch(f"/admin/multistore/merchants/{m.id}", user=platform, json={"status": status}).status_code == 200
        )
        assert listed() == {p.id, own.id}
        detail = api.get(f"/products/{p.id}", user=buyer)
        assert detail.status_code == 200 and detail.json["purchasable"] is False
        assert detail.json["blockers"][0]["code"] == code
        add = api.post("/cart/items", user=buyer, json={"sku_id": sku, "quantity": 1})
        assert add.status_code == 409 and add.json["code"] == code
    api.patch(f"/admin/multistore/merchants/{m.id}", user=platform, json={"status": "shut"})
    assert listed() == {own.id}
    assert api.get(f"/products/{p.id}").status_code == 404
    api.patch(f"/admin/multistore/merchants/{m.id}", user=platform, json={"status": "open"})
    assert listed() == {p.id, own.id}
    assert api.get(f"/products/{p.id}", user=buyer).json["purchasable"] is True


def test_seller_profiles_one_query(app, ms, queries):
    """MS5: seller_profiles answers every id in one query, with the state's label and can_sell."""
    from jishi.catalog.service import seller_profiles

    a = ms.merchant("开店", status="open")
    b = ms.merchant("休店", status="resting")
    c = ms.merchant("打烊店", status="closed_today")
    d = ms.merchant("关店", status="shut")
    e = ms.merchant("未审店", approved=False)
    f = ms.merchant("删店")
    f.deleted_at = f.approved_at
    db.session.commit()
    ids = [a.id, b.id, c.id, d.id, e.id, f.id]
    db.session.expire_all()
    with queries() as q:
        profiles = seller_profiles(ids)
    assert q.count == 1
    assert [(profiles[i].status, profiles[i].can_sell) for i in ids] == [
        ("open", True),
        ("resting", False),
        ("closed_today", False),
        ("shut", False),
        ("shut", False),
        ("shut", False),
    ]
    assert profiles[a.id].status_label == "" and profiles[b.id].status_label and profiles[d.id].status_label
    assert profiles[a.id].url == f"/shops/{a.id}" and profiles[a.id].name == "开店"
    assert profiles[a.id].category == ""
    a.category = "茶叶"
    db.session.commit()
    assert seller_profiles([a.id])[a.id].category == "茶叶"  # issue 18: templates by merchant category


def test_listing_stays_one_statement(app, api, ms, factory, queries):
    """MS5: the merchant filter adds no query to the kernel's product listing."""
    from jishi.catalog.service import list_products

    for i in range(3):
        ms.product(ms.merchant(f"店{i}"))
    ms.product(ms.merchant("关了", status="shut"))
    factory.product()
    db.session.expire_all()
    with queries() as q:
        items, _ = list_products(limit=20)
    assert q.count == 1 and len(items) == 4


def test_shop_page_states(app, client, ms, factory):
    """MS5/MS6: the shop page shows profile and products; closed-for-today
    and shut shops say so (MS5); shut shops show no products; visits are
    counted (issue 19: buffered, then written by a flush)."""
    from jishi.models import PageVisit
    from jishi.reports import tracking

    m = ms.merchant("页面店", announcement="今日全场九折")
    p = ms.product(m, name="店内商品")
    html = client.get(f"/shops/{m.id}", headers={"User-Agent": "Mozilla/5.0"}).get_data(as_text=True)
    assert "页面店" in html and "今日全场九折" in html and "店内商品" in html and 'data-status="open"' in html
    db.session.commit()
    assert tracking.flush() == 1
    assert (
        db.session.execute(
            select(PageVisit.count).where(PageVisit.kind == "shop", PageVisit.ref_id == m.id)
        ).scalar_one()
        == 1
    )
    m.status = "closed_today"
    db.session.commit()
    html = client.get(f"/shops/{m.id}").get_data(as_text=True)
    assert 'data-status="closed_today"' in html and "shop-notice" in html and "店内商品" in html
    m.status = "shut"
    db.session.commit()
    html = client.get(f"/shops/{m.id}").get_data(as_text=True)
    assert 'data-status="shut"' in html and "shop-notice" in html and "店内商品" not in html
    assert client.get("/shops/999999").status_code == 404
    assert client.get(f"/shops/{ms.merchant('待审', approved=False).id}").status_code == 404
    shop_api = client.get(f"/api/v1/shops/{m.id}").json
    assert shop_api["status"] == "shut" and shop_api["can_sell"] is False and shop_api["notice"]
    assert p.id


# --- MS4: platform management --------------------------------------------------------


def test_platform_list_search_filter_view_patch(api, ms, platform):
    """MS4: list, search by name, filter by status, view, set status and stars (default 5)."""
    a = ms.merchant("苹果小铺")
    b = ms.merchant("香蕉小铺", status="resting")
    ms.merchant("未审", approved=False)
    items = api.get("/admin/multistore/merchants", user=platform).json["items"]
    assert {i["name"] for i in items} == {"苹果小铺", "香蕉小铺"} and all(i["stars"] == 5 for i in items)
    assert [i["id"] for i in api.get("/admin/multistore/merchants?q=苹果", user=platform).json["items"]] == [a.id]
    assert [i["id"] for i in api.get("/admin/multistore/merchants?status=resting", user=platform).json["items"]] == [
        b.id
    ]
    assert api.get("/admin/multistore/merchants?status=nope", user=platform).status_code == 422
    page1 = api.get("/admin/multistore/merchants?limit=1", user=platform).json
    page2 = api.get(f"/admin/multistore/merchants?limit=1&after_id={page1['next_after_id']}", user=platform).json
    assert [page1["items"][0]["id"], page2["items"][0]["id"]] == [b.id, a.id] and page2["next_after_id"] is None
    one = api.get(f"/admin/multistore/merchants/{a.id}", user=platform).json
    assert one["owner_phone"] == ms.admin_of(a).phone and one["business_status"] == "open"
    resp = api.patch(f"/admin/multistore/merchants/{a.id}", user=platform, json={"stars": 3, "status": "closed_today"})
    assert resp.status_code == 200 and resp.json["stars"] == 3 and resp.json["business_status"] == "closed_today"
    for bad in ({"stars": 0}, {"stars": 6}, {"stars": 2.5}, {"status": "sleeping"}, {"owner_id": 1}):
        r = api.patch(f"/admin/multistore/merchants/{a.id}", user=platform, json=bad)
        assert r.status_code == 422 and r.json["field"] == next(iter(bad))
    assert api.get("/admin/multistore/merchants/999999", user=platform).status_code == 404


def test_export_csv_xlsx(api, client, login, ms, platform):
    """MS4: export CSV and XLSX (API and console), honouring the filters."""
    from openpyxl import load_workbook

    ms.merchant("导出一", category="餐饮")
    ms.merchant("导出二", status="shut")
    resp = api.get("/admin/multistore/merchants/export?format=csv", user=platform)
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(resp.get_data().decode("utf-8-sig"))))
    assert rows[0][:4] == ["id", "name", "category", "status"] and {r[1] for r in rows[1:]} == {"导出一", "导出二"}
    shut = list(
        csv.reader(
            io.StringIO(
                api.get("/admin/multistore/merchants/export?format=csv&status=shut", user=platform)
                .get_data()
                .decode("utf-8-sig")
            )
        )
    )
    assert [r[1] for r in shut[1:]] == ["导出二"]
    x = api.get("/admin/multistore/merchants/export?format=xlsx", user=platform)
    ws = load_workbook(io.BytesIO(x.get_data())).active
    values = list(ws.values)
    assert values[0][1] == "name" and {v[1] for v in values[1:]} == {"导出一", "导出二"}
    assert api.get("/admin/multistore/merchants/export?format=pdf", user=platform).status_code == 422
    login(platform)
    page = client.get("/console/multistore/merchants/export.xlsx")
    assert page.status_code == 200 and page.get_data()[:2] == b"PK"
    assert "导出一" in client.get("/console/multistore/merchants/export.csv").get_data(as_text=True)
    assert client.get("/console/multistore/merchants/export.pdf").status_code == 404


def test_delete_merchant(app, api, ms, factory, platform):
    """MS4: soft delete — products off shelf and gone from the storefront;
    unpaid orders closed by the state machine (actor system) with stock
    released; paid orders stay manageable; members lose the console; ledger kept."""
    from jishi.catalog.models import Sku
    from jishi.orders.models import Order, OrderEvent

    m = ms.merchant("要删的店")
    clerk = ms.clerk(m)
    admin = ms.admin_of(m)
    p = ms.product(m, price=1000, stock=10)
    sku_id = p.skus[0].id
    buyer = factory.user()
    addr = factory.address(buyer)
    order_ids = []
    for i in range(2):
        resp = api.post(
            "/checkout/place",
            user=buyer,
            json={"items": [{"sku_id": sku_id, "quantity": 2}], "address_id": addr.id},
            headers={"Idempotency-Key": f"delete-test-{i}"},
        )
        assert resp.status_code == 201, resp.json
        order_ids.append(resp.json["orders"][0]["id"])
    paid = db.session.get(Order, order_ids[0])
    from jishi.orders import state

    state.transition(paid, "pay", actor_kind="system")
    db.session.commit()
    assert db.session.get(Sku, sku_id).stock == 6
    assert api.get("/merchant/dashboard", user=clerk).status_code == 200
    resp = api.delete(f"/admin/multistore/merchants/{m.id}", user=platform)
    assert resp.status_code == 200 and resp.json == {"products": 1, "orders_closed": 1}
    db.session.expire_all()
    assert db.session.get(Merchant, m.id).deleted_at is not None
    assert db.session.get(Order, order_ids[1]).status == "closed"
    event = db.session.execute(
        select(OrderEvent).where(OrderEvent.order_id == order_ids[1], OrderEvent.to_status == "closed")
    ).scalar_one()
    assert event.actor_role == "system"
    assert db.session.get(Order, order_ids[0]).status == "paid"
    assert db.session.get(Sku, sku_id).stock == 8  # the unpaid order's 2 came back
    assert api.get("/products").json["items"] == [] and api.get(f"/products/{p.id}").status_code == 404
    for user in (clerk, admin):
        assert api.get("/merchant/dashboard", user=user).status_code == 403
    assert db.session.execute(select(MerchantMember).where(MerchantMember.merchant_id == m.id)).first() is None
    assert (
        api.post(
            f"/admin/orders/{order_ids[0]}/ship", user=platform, json={"carrier": "顺丰", "tracking_no": "SF1"}
        ).status_code
        == 200
    )
    assert api.delete(f"/admin/multistore/merchants/{m.id}", user=platform).status_code == 409
    assert [i["id"] for i in api.get("/admin/multistore/merchants?status=deleted", user=platform).json["items"]] == [
        m.id
    ]
    assert api.get("/admin/multistore/merchants", user=platform).json["items"] == []
    assert api.get("/shops", user=buyer).json["items"] == []
    # the former admin may open a shop again
    assert api.post("/shops/application", user=admin, json={"name": "重开", "agree": True}).status_code == 201


def test_read_only_console(client, login, ms, platform):
    """MS4: the platform opens a merchant console read-only (writes 403) and leaves it."""
    m = ms.merchant("只读店")
    login(platform)
    assert client.get("/merchant/").status_code == 403
    assert client.post(f"/console/multistore/merchants/{m.id}/view").status_code == 302
    page = client.get("/merchant/")
    assert (
        page.status_code == 200
        and "只读店" in page.get_data(as_text=True)
        and "readonly-tag" in page.get_data(as_text=True)
    )
    assert client.get("/merchant/profile").status_code == 200
    assert client.post("/merchant/profile", data={"name": "改名"}).status_code == 403
    assert client.post("/merchant/staff", data={"phone": "1"}).status_code == 403
    assert db.session.get(Merchant, m.id).name == "只读店"
    leave = client.post("/console/multistore/view/leave")
    assert leave.status_code == 302 and f"/console/multistore/merchants/{m.id}" in leave.headers["Location"]
    assert client.get("/merchant/").status_code == 403


def test_platform_pages(client, login, ms, platform):
    """MS4 (pages): list with search, detail, state and stars form, delete."""
    m = ms.merchant("网页店")
    ms.merchant("别的店")
    login(platform)
    html = client.get("/console/multistore/merchants?q=网页").get_data(as_text=True)
    assert "网页店" in html and "别的店" not in html
    assert "网页店" in client.get(f"/console/multistore/merchants/{m.id}").get_data(as_text=True)
    client.post(f"/console/multistore/merchants/{m.id}/state", data={"status": "resting", "stars": "4"})
    db.session.expire_all()
    assert (db.session.get(Merchant, m.id).status, db.session.get(Merchant, m.id).stars) == ("resting", 4)
    client.post(f"/console/multistore/merchants/{m.id}/state", data={"status": "bogus", "stars": "9"})
    db.session.expire_all()
    assert (db.session.get(Merchant, m.id).status, db.session.get(Merchant, m.id).stars) == ("resting", 4)
    client.post(f"/console/multistore/merchants/{m.id}/delete")
    db.session.expire_all()
    assert db.session.get(Merchant, m.id).deleted_at is not None


# --- MS6: shop profile --------------------------------------------------------------


def test_profile_api(api, ms, platform):
    """MS6: the admin edits the profile; announcement ≤ 100; only editable
    application fields; status and stars are not editable by the merchant."""
    from jishi_multistore import onboarding

    onboarding.save_field({"key": "license", "label": "执照", "required": True, "editable": False})
    onboarding.save_field({"key": "wx", "label": "微信", "required": True, "editable": True})
    db.session.commit()
    m = ms.merchant("资料店", fields={"license": "L1", "wx": "old"})
    admin = ms.admin_of(m)
    body = {
        "name": "资料店2",
        "category": "咖啡",
        "logo": "https://img/logo.png",
        "images": ["https://img/1.png"],
        "intro": "介绍",
        "hours": "09:00-21:30",
        "avg_spend": 3500,
        "address": "西湖区",
        "lat": 30.27,
        "lng": 120.15,
        "service_phone": "0571-1234",
        "service_wechat": "shopwx",
        "announcement": "公" * 100,
        "returns_enabled": False,
        "return_address": "退货地址",
        "return_recipient": "王五",
        "return_phone": "13900000000",
        "fields": {"wx": "new"},
    }
    resp = api.patch("/merchant/profile", user=admin, json=body)
    assert resp.status_code == 200, resp.json
    got = resp.json
    assert (
        got["name"] == "资料店2"
        and got["avg_spend"] == 3500
        and got["lat"] == 30.27
        and got["returns_enabled"] is False
    )
    assert {f["key"]: f["value"] for f in got["application_fields"]} == {"license": "L1", "wx": "new"}
    too_long = api.patch("/merchant/profile", user=admin, json={"announcement": "公" * 101})
    assert too_long.status_code == 422 and too_long.json["field"] == "announcement"
    for bad, field in (
        ({"fields": {"license": "L2"}}, "fields.license"),
        ({"fields": {"wx": ""}}, "fields.wx"),
        ({"status": "open"}, "status"),
        ({"stars": 5}, "stars"),
        ({"hours": "9点到5点"}, "hours"),
        ({"avg_spend": 12.5}, "avg_spend"),
        ({"lat": 95}, "lat"),
        ({"lat": None, "lng": 120.0}, "lat"),
        ({"name": ""}, "name"),
        ({"returns_enabled": "no"}, "returns_enabled"),
    ):
        r = api.patch("/merchant/profile", user=admin, json=bad)
        assert r.status_code == 422 and r.json["field"] == field, (bad, r.json)
    db.session.expire_all()
    fresh = db.session.get(Merchant, m.id)
    assert (
        fresh.announcement == "公" * 100
        and fresh.fields == {"license": "L1", "wx": "new"}
        and fresh.hours == "09:00-21:30"
    )
    assert api.patch("/merchant/profile", user=admin, json={"hours": ""}).json["hours"] == "00:00-24:00"
    clerk = ms.clerk(m)
    assert api.get("/merchant/profile", user=clerk).status_code == 403
    assert api.patch("/merchant/profile", user=clerk, json={"name": "x"}).status_code == 403
    assert api.get("/merchant/profile", user=platform).status_code == 403


def test_profile_page(client, login, ms):
    """MS6 (page): the form saves; a 101-character announcement is refused naming the field."""
    m = ms.merchant("页资料")
    login(ms.admin_of(m))
    assert client.get("/merchant/profile").status_code == 200
    form = {
        "name": "页资料",
        "hours": "08:00-20:00",
        "avg_spend": "35.50",
        "lat": "31.2",
        "lng": "121.4",
        "announcement": "欢迎",
        "returns_enabled": "1",
        "images": "https://a/1.png\nhttps://a/2.png",
    }
    assert client.post("/merchant/profile", data=form).status_code == 302
    db.session.expire_all()
    fresh = db.session.get(Merchant, m.id)
    assert (fresh.avg_spend, fresh.lat, fresh.hours, fresh.images, fresh.returns_enabled) == (
        3550,
        31.2,
        "08:00-20:00",
        ["https://a/1.png", "https://a/2.png"],
        True,
    )
    bad = client.post("/merchant/profile", data={**form, "announcement": "长" * 101})
    assert bad.status_code == 422 and 'data-field="announcement"' in bad.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Merchant, m.id).announcement == "欢迎"


# --- MS15: announcements ----------------------------------------------------------------


def test_announcements(api, client, login, ms, platform):
    """MS15: the platform creates, edits and deletes announcements; merchants see them on the console home."""
    a = api.post("/admin/multistore/announcements", user=platform, json={"title": "春节放假", "body": "2月停发"})
    assert a.status_code == 201
    assert api.post("/admin/multistore/announcements", user=platform, json={"title": ""}).json["field"] == "title"
    assert (
        api.patch(f"/admin/multistore/announcements/{a.json['id']}", user=platform, json={"title": "春节安排"}).json[
            "title"
        ]
        == "春节安排"
    )
    m = ms.merchant()
    clerk = ms.clerk(m)
    assert [x["title"] for x in api.get("/merchant/dashboard", user=clerk).json["announcements"]] == ["春节安排"]
    login(clerk)
    html = client.get("/merchant/").get_data(as_text=True)
    assert "春节安排" in html and 'data-status="open"' in html
    client.post("/logout")  # the API calls below use bearer tokens
    assert api.delete(f"/admin/multistore/announcements/{a.json['id']}", user=platform).status_code == 204
    assert api.get("/merchant/dashboard", user=clerk).json["announcements"] == []
    login(platform)
    client.post("/console/multistore/announcements", data={"title": "网页公告", "body": "正文"})
    (row,) = api.get("/admin/multistore/announcements", user=platform).json["items"]
    client.post("/logout")
    login(platform)
    client.post(f"/console/multistore/announcements/{row['id']}", data={"title": "改过", "body": ""})
    assert api.get("/admin/multistore/announcements", user=platform).json["items"][0]["title"] == "改过"
    client.post(f"/console/multistore/announcements/{row['id']}/delete")
    assert api.get("/admin/multistore/announcements", user=platform).json["items"] == []


# --- MS17: staff --------------------------------------------------------------------------


def test_staff(api, client, login, ms, factory):
    """MS17: the admin adds a clerk by phone and removes clerks; a clerk cannot
    reach settings or money pages; a user belongs to one shop."""
    m = ms.merchant("员工店")
    other = ms.merchant("隔壁店")
    admin = ms.admin_of(m)
    user = factory.user()
    assert api.post("/merchant/staff", user=admin, json={"phone": "10000000000"}).json["field"] == "phone"
    added = api.post("/merchant/staff", user=admin, json={"phone": user.phone})
    assert added.status_code == 201 and added.json["role"] == "clerk"
    assert api.post("/merchant/staff", user=admin, json={"phone": user.phone}).status_code == 409
    assert api.post("/merchant/staff", user=ms.admin_of(other), json={"phone": user.phone}).status_code == 409
    dash = api.get("/merchant/dashboard", user=user).json
    assert dash["role"] == "clerk" and "money" not in dash["permissions"] and "orders" in dash["permissions"]
    for path in ("/merchant/staff", "/merchant/profile"):
        assert api.get(path, user=user).status_code == 403
    login(user)
    for path in ("/merchant/profile", "/merchant/staff"):
        assert client.get(path).status_code == 403
    assert client.get("/merchant/").status_code == 200
    client.post("/logout")  # the API calls below use bearer tokens
    admin_row = next(x for x in api.get("/merchant/staff", user=admin).json["items"] if x["role"] == "admin")
    assert api.delete(f"/merchant/staff/{admin_row['id']}", user=admin).status_code == 409
    assert api.delete(f"/merchant/staff/{added.json['id']}", user=ms.admin_of(other)).status_code == 404
    assert api.delete(f"/merchant/staff/{added.json['id']}", user=admin).status_code == 204
    assert api.get("/merchant/dashboard", user=user).status_code == 403
    login(admin)
    client.post("/merchant/staff", data={"phone": user.phone})
    member = db.session.execute(select(MerchantMember).where(MerchantMember.user_id == user.id)).scalar_one()
    assert "员工店" in client.get("/merchant/staff").get_data(as_text=True)
    assert client.post(f"/merchant/staff/{member.id}/delete").status_code == 302
    assert db.session.execute(select(MerchantMember).where(MerchantMember.user_id == user.id)).first() is None


def test_menus(client, login, ms, platform):
    """Console menus: platform entries; merchant entries by permission."""
    login(platform)
    html = client.get("/console/multistore/merchants").get_data(as_text=True)
    for path in (
        "/console/multistore/merchants",
        "/console/multistore/applications",
        "/console/multistore/onboarding",
        "/console/multistore/announcements",
    ):
        assert f'href="{path}"' in html
    m = ms.merchant()
    login(ms.admin_of(m))
    html = client.get("/merchant/").get_data(as_text=True)
    assert 'href="/merchant/profile"' in html and 'href="/merchant/staff"' in html
    login(ms.clerk(m))
    html = client.get("/merchant/").get_data(as_text=True)
    assert 'href="/merchant/profile"' not in html and 'href="/merchant/staff"' not in html


def test_shop_url_is_url_for_built_once_per_request(app):
    """Issue 20: ``shop_url`` calls ``url_for`` once per request and puts
    each id into that URL; the same URLs as ``url_for`` gives, under a
    script root too, and the plain path outside a request."""
    from flask import url_for
    from jishi_multistore import merchants

    assert merchants.shop_url(7) == "/shops/7"
    for root in ("", "/mall"):
        with app.test_request_context("/", base_url=f"http://shop.test{root}"):
            urls = [merchants.shop_url(i) for i in (1, 42, merchants._PROBE + 1)]
            assert urls == [url_for("multistore.shop_page", merchant_id=i) for i in (1, 42, merchants._PROBE + 1)]
            assert urls[1] == f"{root}/shops/42"


def test_purchase_rows_and_profiles_from_the_page_loaders(app, ms, queries):
    """MS5, issue 20: after the product page's read, the merchant and the
    product's review state come from its loaders' rows (the session's own
    instances, no statement), the seller's profile from the held merchant
    and its shop URL from the app's template ``url_for``; a held merchant
    with an expired attribute is read again."""
    from jishi.catalog import service as catalog
    from jishi_multistore.merchants import purchase_rows, shop_url

    m = ms.merchant("载入店")
    p = ms.product(m, name="载入商品")
    mid, pid = m.id, p.id
    db.session.expunge_all()
    with app.test_request_context(f"/api/v1/products/{pid}"):
        product, loaded = catalog.product_page(pid)
        with queries() as q:
            merchant, state = purchase_rows(product)
            profile = catalog.seller_profiles([mid])[mid]
        assert q.count == 0, q.statements
        assert merchant is loaded.first("multistore.merchant") is db.session.get(Merchant, mid)
        assert state is loaded.first("multistore.product_state") and state.review_status == "approved"
        assert profile.name == "载入店" and profile.can_sell is True
        assert profile.url == shop_url(mid) == app.url_for("multistore.shop_page", merchant_id=mid)
        db.session.expire(merchant, ["status"])
        with queries() as q:
            assert catalog.seller_profiles([mid])[mid].status == "open"
        assert q.count == 1
