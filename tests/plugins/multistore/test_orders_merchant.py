"""MS10: merchant orders (list, filter, detail, ship one or a batch, status
changes, packing slips, exports) and the platform's view of every merchant
order (complete, close), through the API and the consoles."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from jishi.db import db, utcnow
from jishi.i18n import to_shop_time
from jishi.models import Order, Sku
from sqlalchemy import select

from .test_checkout_split import pay_number, place


def world(api, factory, ms):
    """Merchants A (with a clerk) and B; buyer X bought from both (paid),
    buyer Y bought from A (unpaid)."""
    a = ms.merchant("甲店")
    b = ms.merchant("乙店")
    clerk = ms.clerk(a)
    sa = ms.product(a, name="甲茶", price=2000, stock=10).skus[0]
    sb = ms.product(b, name="乙茶", price=3000, stock=10).skus[0]
    x = factory.user(phone="13811112222", name="买家X")
    y = factory.user(phone="13833334444", name="买家Y")
    ax, ay = factory.address(x), factory.address(y)
    data = place(api, x, [(sa, 1), (sb, 1)], ax, "w-x")
    pay_number(data["payments"][0]["number"])
    ox = {o["seller_id"]: db.session.get(Order, o["id"]) for o in data["orders"]}
    data = place(api, y, [(sa, 2)], ay, "w-y")
    oy = db.session.get(Order, data["orders"][0]["id"])
    return a, b, clerk, ox[a.id], ox[b.id], oy, sa


def test_merchant_lists_and_filters_its_orders(api, factory, ms):
    """MS10: the list holds only the merchant's orders; filters by status,
    number, buyer phone and date range; a clerk may use it."""
    a, b, clerk, xa, xb, ya, sa = world(api, factory, ms)
    admin = ms.admin_of(a)
    r = api.get("/merchant/orders", user=admin)
    assert r.status_code == 200
    assert [o["id"] for o in r.json["items"]] == [ya.id, xa.id]
    assert all(o["merchant_name"] == "甲店" for o in r.json["items"])
    assert r.json["items"][1]["lines"][0]["name"] == "甲茶"
    assert [o["id"] for o in api.get("/merchant/orders?status=paid", user=clerk).json["items"]] == [xa.id]
    assert [o["id"] for o in api.get(f"/merchant/orders?number={ya.number}", user=admin).json["items"]] == [ya.id]
    assert api.get(f"/merchant/orders?number={xb.number}", user=admin).json["items"] == []  # B's order
    assert [o["id"] for o in api.get("/merchant/orders?phone=13811112222", user=admin).json["items"]] == [xa.id]
    today = to_shop_time(utcnow()).date()
    assert (
        len(
            api.get(
                f"/merchant/orders?start={today - timedelta(days=1)}&end={today + timedelta(days=1)}", user=admin
            ).json["items"]
        )
        == 2
    )
    assert api.get(f"/merchant/orders?start={today + timedelta(days=1)}", user=admin).json["items"] == []
    r = api.get(f"/merchant/orders?start={today}&end={today - timedelta(days=1)}", user=admin)
    assert r.status_code == 422 and r.json["field"] == "start"
    assert api.get("/merchant/orders?status=bogus", user=admin).status_code == 422
    # keyset pages
    page = api.get("/merchant/orders?limit=1", user=admin).json
    assert [o["id"] for o in page["items"]] == [ya.id] and page["next_cursor"]
    assert [
        o["id"] for o in api.get(f"/merchant/orders?limit=1&cursor={page['next_cursor']}", user=admin).json["items"]
    ] == [xa.id]


def test_order_detail_and_another_merchants_order_is_404(api, factory, ms):
    """MS10/MS17: detail of the merchant's own order; another merchant's
    order answers 404 for every merchant route."""
    a, b, clerk, xa, xb, ya, sa = world(api, factory, ms)
    admin = ms.admin_of(a)
    r = api.get(f"/merchant/orders/{xa.id}", user=clerk)
    assert r.status_code == 200
    assert r.json["number"] == xa.number and r.json["address"]["name"] and r.json["moves"] == ["ship"]
    for method, path, payload in [
        ("GET", f"/merchant/orders/{xb.id}", None),
        ("POST", f"/merchant/orders/{xb.id}/ship", {"carrier": "顺丰", "tracking_no": "SF1"}),
        ("POST", f"/merchant/orders/{xb.id}/status", {"name": "receive"}),
        ("GET", "/merchant/orders/2147483647", None),
    ]:
        r = api.call(method, path, user=admin, json=payload)
        assert r.status_code == 404, (path, r.json)
    assert db.session.get(Order, xb.id).status == "paid"


def test_ship_one_order(api, factory, ms):
    """MS10: shipping needs carrier and tracking number; the order moves to
    shipped with history actor "seller"; a second shipment is a 409."""
    a, b, clerk, xa, xb, ya, sa = world(api, factory, ms)
    r = api.post(f"/merchant/orders/{xa.id}/ship", user=clerk, json={"carrier": "顺丰", "tracking_no": ""})
    assert r.status_code == 422 and r.json["field"] == "tracking_no"
    assert (
        api.post(
            f"/merchant/orders/{xa.id}/ship", user=clerk, json={"carrier": "x" * 41, "tracking_no": "1"}
        ).status_code
        == 422
    )
    r = api.post(f"/merchant/orders/{xa.id}/ship", user=clerk, json={"carrier": "顺丰", "tracking_no": "SF123"})
    assert r.status_code == 200, r.json
    assert r.json["status"] == "shipped" and r.json["delivery"]["tracking_no"] == "SF123"
    assert r.json["events"][-1]["actor_role"] == "seller" and r.json["events"][-1]["actor_id"] == clerk.id
    r = api.post(f"/merchant/orders/{xa.id}/ship", user=clerk, json={"carrier": "顺丰", "tracking_no": "SF999"})
    assert r.status_code == 409
    db.session.expire_all()
    assert db.session.get(Order, xa.id).tracking_no == "SF123"
    # An unpaid order cannot ship.
    assert (
        api.post(
            f"/merchant/orders/{ya.id}/ship", user=clerk, json={"carrier": "顺丰", "tracking_no": "SF2"}
        ).status_code
        == 409
    )


def test_batch_ship_reports_each_order(api, factory, ms):
    """MS10: batch shipping ships each order on its own; failures (unpaid,
    another merchant's, missing tracking, listed twice) are reported per
    order and leave those orders untouched."""
    a, b, clerk, xa, xb, ya, sa = world(api, factory, ms)
    # A second paid order of A without tracking number in the batch.
    x2 = factory.user()
    data = place(api, x2, [(sa, 1)], factory.address(x2), "w-x2")
    pay_number(data["payments"][0]["number"])
    x2a = data["orders"][0]["id"]
    items = [
        {"order_id": xa.id, "carrier": "顺丰", "tracking_no": "SF1"},
        {"order_id": ya.id, "carrier": "顺丰", "tracking_no": "SF2"},
        {"order_id": xb.id, "carrier": "顺丰", "tracking_no": "SF3"},
        {"order_id": x2a, "carrier": "顺丰", "tracking_no": ""},
        {"order_id": xa.id, "carrier": "顺丰", "tracking_no": "SF4"},
    ]
    r = api.post("/merchant/orders/ship-batch", user=clerk, json={"items": items})
    assert r.status_code == 200, r.json
    res = r.json["items"]
    assert r.json["shipped"] == 1 and r.json["failed"] == 4
    assert [x["ok"] for x in res] == [True, False, False, False, False]
    assert res[1]["code"] == "conflict" and res[1]["status"] == "pending_payment"
    assert res[2]["code"] == "not_found" and res[2]["status"] is None  # B's order: nothing told
    assert res[3]["field"] == "tracking_no"
    assert res[4]["code"] == "duplicate"
    db.session.expire_all()
    assert db.session.get(Order, xa.id).tracking_no == "SF1" and db.session.get(Order, xa.id).status == "shipped"
    assert db.session.get(Order, x2a).status == "paid" and db.session.get(Order, x2a).tracking_no == ""
    assert db.session.get(Order, xb.id).status == "paid"


def test_status_changes_along_the_state_machine(api, factory, ms):
    """MS10: the merchant cancels an unpaid order (stock back) and marks a
    shipped order received; moves the state machine forbids are 409."""
    a, b, clerk, xa, xb, ya, sa = world(api, factory, ms)
    admin = ms.admin_of(a)
    stock = db.session.get(Sku, sa.id).stock
    assert api.post(f"/merchant/orders/{xa.id}/status", user=admin, json={"name": "receive"}).status_code == 409
    assert api.post(f"/merchant/orders/{xa.id}/status", user=admin, json={"name": "cancel"}).status_code == 409
    assert api.post(f"/merchant/orders/{xa.id}/status", user=admin, json={"name": "complete"}).status_code == 422
    r = api.post(f"/merchant/orders/{ya.id}/status", user=admin, json={"name": "cancel", "note": "买家要求"})
    assert r.status_code == 200 and r.json["status"] == "closed"
    assert r.json["events"][-1]["actor_role"] == "seller" and r.json["events"][-1]["note"] == "买家要求"
    db.session.expire_all()
    assert db.session.get(Sku, sa.id).stock == stock + 2
    r = api.post(
        f"/merchant/orders/{xa.id}/status", user=admin, json={"name": "ship", "carrier": "圆通", "tracking_no": "YT1"}
    )
    assert r.status_code == 200 and r.json["status"] == "shipped" and r.json["moves"] == ["receive"]
    r = api.post(f"/merchant/orders/{xa.id}/status", user=admin, json={"name": "receive"})
    assert r.status_code == 200 and r.json["status"] == "received"


def test_exports_csv_and_xlsx(api, factory, ms):
    """MS10: the merchant exports its orders only, as CSV and XLSX."""
    from openpyxl import load_workbook

    a, b, clerk, xa, xb, ya, sa = world(api, factory, ms)
    r = api.get("/merchant/orders/export?format=csv", user=clerk)
    assert r.status_code == 200 and r.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    numbers = {row[0] for row in rows[1:]}
    assert numbers == {xa.number, ya.number}
    r = api.get("/merchant/orders/export?format=csv&status=paid", user=clerk)
    assert {row[0] for row in list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))[1:]} == {xa.number}
    r = api.get("/merchant/orders/export?format=xlsx", user=ms.admin_of(a))
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.data)).active
    assert {row[0] for row in ws.iter_rows(min_row=2, values_only=True)} == {xa.number, ya.number}
    assert api.get("/merchant/orders/export?format=pdf", user=clerk).status_code == 422
    r = api.get("/merchant/orders/export?format=csv", user=ms.admin_of(b))
    assert {row[0] for row in list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))[1:]} == {xb.number}


# --- the merchant console --------------------------------------------------------------


def test_console_list_ship_batch_and_packing_slips(api, client, factory, ms, login):
    """MS10: the console's order list, batch shipping form with a tracking
    number per order, the detail page and printable packing slips."""
    a, b, clerk, xa, xb, ya, sa = world(api, factory, ms)
    login(clerk)
    html = client.get("/merchant/orders").get_data(as_text=True)
    assert xa.number in html and ya.number in html and xb.number not in html
    assert 'href="/merchant/orders"' in html  # the menu entry
    assert xa.number in client.get("/merchant/orders?status=paid").get_data(as_text=True)
    assert ya.number not in client.get("/merchant/orders?status=paid").get_data(as_text=True)
    # print one and several
    slip = client.get(f"/merchant/orders/packing-slip?ids={xa.id}")
    assert (
        slip.status_code == 200
        and "@media print" in slip.get_data(as_text=True)
        and xa.number in slip.get_data(as_text=True)
    )
    both = client.get(f"/merchant/orders/packing-slip?order_id={xa.id}&order_id={ya.id}&order_id={xb.id}").get_data(
        as_text=True
    )
    assert both.count('class="slip"') == 2 and xb.number not in both
    assert client.get(f"/merchant/orders/packing-slip?ids={xb.id}").status_code == 404
    # batch ship from the list's form
    r = client.post(
        "/merchant/orders/ship-batch",
        data={
            "order_id": [str(xa.id), str(ya.id)],
            "carrier": "顺丰",
            f"tracking-{xa.id}": "SF77",
            f"tracking-{ya.id}": "SF78",
        },
    )
    assert r.status_code in (302, 303)
    db.session.expire_all()
    assert db.session.get(Order, xa.id).status == "shipped" and db.session.get(Order, xa.id).tracking_no == "SF77"
    assert db.session.get(Order, ya.id).status == "pending_payment"
    detail = client.get(f"/merchant/orders/{xa.id}").get_data(as_text=True)
    assert "SF77" in detail
    assert client.get(f"/merchant/orders/{xb.id}").status_code == 404
    r = client.post(f"/merchant/orders/{xa.id}/status", data={"name": "receive"})
    assert r.status_code in (302, 303)
    db.session.expire_all()
    assert db.session.get(Order, xa.id).status == "received"
    export = client.get("/merchant/orders/export?format=csv")
    assert export.status_code == 200 and xa.number in export.data.decode("utf-8-sig")


def test_console_ship_one_shows_errors(api, client, factory, ms, login):
    """MS10: the detail page's ship form refuses a missing tracking number."""
    a, b, clerk, xa, xb, ya, sa = world(api, factory, ms)
    login(ms.admin_of(a))
    r = client.post(
        f"/merchant/orders/{xa.id}/ship", data={"carrier": "顺丰", "tracking_no": ""}, follow_redirects=True
    )
    assert r.status_code == 200
    db.session.expire_all()
    assert db.session.get(Order, xa.id).status == "paid"
    client.post(f"/merchant/orders/{xa.id}/ship", data={"carrier": "顺丰", "tracking_no": "SF5"})
    db.session.expire_all()
    assert db.session.get(Order, xa.id).status == "shipped"


# --- the platform -------------------------------------------------------------------------


def test_platform_lists_every_merchant_order_and_filters(api, factory, ms):
    """MS10: the platform sees every merchant's orders with the merchant's
    name, filters by merchant; self-operated orders are not in this list."""
    a, b, clerk, xa, xb, ya, sa = world(api, factory, ms)
    platform = factory.admin()
    own = factory.product(price=1000, stock=5).skus[0]
    buyer = factory.user()
    place(api, buyer, [(own, 1)], factory.address(buyer), "own")
    r = api.get("/admin/multistore/orders", user=platform)
    assert r.status_code == 200
    assert {(o["id"], o["merchant_name"]) for o in r.json["items"]} == {
        (xa.id, "甲店"),
        (xb.id, "乙店"),
        (ya.id, "甲店"),
    }
    assert {o["id"] for o in api.get(f"/admin/multistore/orders?merchant_id={b.id}", user=platform).json["items"]} == {
        xb.id
    }
    assert {
        o["id"]
        for o in api.get(f"/admin/multistore/orders?merchant_id={a.id}&status=paid", user=platform).json["items"]
    } == {xa.id}
    assert api.get("/admin/multistore/orders", user=ms.admin_of(a)).status_code == 403
    r = api.get(f"/admin/multistore/orders/{xb.id}", user=platform)
    assert r.status_code == 200 and r.json["merchant_name"] == "乙店"
    r = api.get(f"/admin/multistore/orders/export?format=csv&merchant_id={a.id}", user=platform)
    assert {row[0] for row in list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))[1:]} == {xa.number, ya.number}


def test_platform_moves_an_order_to_completed(api, factory, ms):
    """MS10: the platform moves a merchant order to completed;
    the history notes "moved to completed by the platform" (the kernel's msgid)."""
    a, b, clerk, xa, xb, ya, sa = world(api, factory, ms)
    platform = factory.admin()
    r = api.post(f"/admin/multistore/orders/{xa.id}/complete", user=platform)
    assert r.status_code == 200, r.json
    assert r.json["status"] == "completed"
    assert r.json["events"][-1]["note"] == "moved to completed by the platform"
    assert r.json["events"][-1]["actor_role"] == "platform"
    assert api.post(f"/admin/multistore/orders/{ya.id}/complete", user=platform).status_code == 409  # unpaid


def test_platform_closes_orders(api, factory, ms):
    """MS10: closing an unpaid order cancels it (stock back); closing a paid
    one refunds it in full (allocations reversed, stock back) and closes it;
    a completed order cannot be closed."""
    from jishi.models import Refund

    a, b, clerk, xa, xb, ya, sa = world(api, factory, ms)
    platform = factory.admin()
    stock = db.session.get(Sku, sa.id).stock
    r = api.post(f"/admin/multistore/orders/{ya.id}/close", user=platform)
    assert r.status_code == 200 and r.json["status"] == "closed"
    r = api.post(f"/admin/multistore/orders/{xa.id}/close", user=platform)
    assert r.status_code == 200, r.json
    assert r.json["status"] == "closed" and r.json["refunded_amount"] == r.json["pay_amount"]
    assert r.json["close_reason"] == "refunded"
    db.session.expire_all()
    assert db.session.get(Sku, sa.id).stock == stock + 3
    [refund] = db.session.execute(select(Refund).where(Refund.order_id == xa.id)).scalars().all()
    assert refund.status == "refunded" and refund.amount == db.session.get(Order, xa.id).pay_amount
    assert api.post(f"/admin/multistore/orders/{xa.id}/close", user=platform).status_code == 409
    api.post(f"/admin/multistore/orders/{xb.id}/complete", user=platform)
    assert api.post(f"/admin/multistore/orders/{xb.id}/close", user=platform).status_code == 409


def test_platform_close_waits_for_open_after_sales(api, factory, ms):
    """MS10: an order with an open refund request is not closed behind the
    buyer's back (409) until the request is decided."""
    a, b, clerk, xa, xb, ya, sa = world(api, factory, ms)
    platform = factory.admin()
    buyer = db.session.get(type(platform), xa.user_id)
    r = api.post(
        "/refunds",
        user=buyer,
        json={"order_id": xa.id, "kind": "refund_only", "lines": [{"order_line_id": xa.lines[0].id, "quantity": 1}]},
    )
    assert r.status_code == 201
    r = api.post(f"/admin/multistore/orders/{xa.id}/close", user=platform)
    assert r.status_code == 409 and r.json["field"] == "status"
    assert db.session.get(Order, xa.id).status == "paid"


def test_platform_console_pages(api, client, factory, ms, login):
    """MS10: the platform console's merchant orders page (menu entry, merchant
    names, filter), detail and its complete/close buttons."""
    a, b, clerk, xa, xb, ya, sa = world(api, factory, ms)
    login(factory.admin())
    html = client.get("/console/multistore/orders").get_data(as_text=True)
    assert 'href="/console/multistore/orders"' in html
    assert xa.number in html and xb.number in html and "乙店" in html
    html = client.get(f"/console/multistore/orders?merchant_id={b.id}").get_data(as_text=True)
    assert xb.number in html and xa.number not in html
    html = client.get(f"/console/multistore/orders/{xa.id}").get_data(as_text=True)
    assert "甲店" in html and "/complete" in html and "/close" in html
    assert client.post(f"/console/multistore/orders/{xa.id}/complete").status_code in (302, 303)
    db.session.expire_all()
    assert db.session.get(Order, xa.id).status == "completed"
    assert client.post(f"/console/multistore/orders/{xb.id}/close").status_code in (302, 303)
    db.session.expire_all()
    assert db.session.get(Order, xb.id).status == "closed"
    assert client.get("/console/multistore/orders/2147483647").status_code == 404
