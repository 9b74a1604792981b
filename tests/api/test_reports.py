"""K16 reports: overview, funnel, sales by day, top products, CSV/XLSX
export; all computed by SQL aggregates (constant statement counts)."""

from __future__ import annotations

import csv
import io
from urllib.parse import urlparse

import pytest
from jishi.db import db, utcnow
from jishi.hookspecs import CartGroup, hookimpl
from jishi.i18n import to_shop_time
from jishi.models import PageVisit
from jishi.reports import service
from openpyxl import load_workbook


def order(api, client, buyer, addr, sku, qty, key, pay=True):
    r = api.post(
        "/checkout/place",
        user=buyer,
        json={"items": [{"sku_id": sku.id, "quantity": qty}], "address_id": addr.id},
        headers={"Idempotency-Key": key},
    )
    assert r.status_code == 201, r.json
    if pay:
        r2 = api.post(f"/payments/{r.json['payments'][0]['number']}/pay", user=buyer, json={"method": "sandbox"})
        client.post(urlparse(r2.json["redirect_url"]).path, data={"action": "pay"})
    return r.json["orders"][0]


def shop(api, client, factory):
    """Two buyers: three paid orders and one unpaid; one partial refund."""
    admin = factory.admin()
    a, b = factory.user(), factory.user()
    aa, ab = factory.address(a), factory.address(b)
    p1 = factory.product(name="茶叶", price=5000, stock=100)
    p2 = factory.product(name="茶杯", price=1200, stock=100)
    o1 = order(api, client, a, aa, p1.skus[0], 2, "1")  # 10000, free delivery
    order(api, client, a, aa, p2.skus[0], 1, "2")  # 1200 + 1000 delivery
    order(api, client, b, ab, p1.skus[0], 1, "3")  # 5000 + 1000
    order(api, client, b, ab, p2.skus[0], 3, "4", pay=False)
    line = api.get(f"/orders/{o1['id']}", user=a).json["lines"][0]
    rid = api.post(
        "/refunds",
        user=a,
        json={"order_id": o1["id"], "kind": "refund_only", "lines": [{"order_line_id": line["id"], "quantity": 1}]},
    ).json["id"]
    assert api.post(f"/admin/refunds/{rid}/approve", user=admin, json={}).status_code == 200
    for _ in range(10):
        service.record_visit("site")
    service.record_visit("product", p1.id)
    return admin, p1, p2


def test_overview_and_funnel(api, client, factory):
    """K16: overview figures and the visit -> order -> pay funnel."""
    admin, _, _ = shop(api, client, factory)
    today = to_shop_time(utcnow()).date().isoformat()
    r = api.get(f"/admin/reports/overview?start={today}&end={today}", user=admin)
    assert r.status_code == 200
    assert r.json == {
        "orders": 4,
        "paid_orders": 3,
        "paid_amount": 10000 + 2200 + 6000,
        "buyers": 2,
        "items": 4,
        "refunds_amount": 5000,
        "net_amount": 18200 - 5000,
        "visits": 10,
        "new_users": 3,
    }
    r = api.get("/admin/reports/funnel", user=admin)
    assert r.json == {"visits": 10, "ordered": 2, "paid": 2, "order_rate_permille": 200, "pay_rate_permille": 1000}
    assert api.get("/admin/reports/overview?start=2020-01-01&end=2020-01-31", user=admin).json["orders"] == 0
    assert api.get("/admin/reports/overview?start=yesterday", user=admin).json["field"] == "start"


def test_sales_by_day_and_top_products(api, client, factory):
    """K16: sales per day and the best sellers, net of refunds."""
    admin, p1, p2 = shop(api, client, factory)
    today = to_shop_time(utcnow()).date().isoformat()
    assert api.get("/admin/reports/sales", user=admin).json["items"] == [{"day": today, "orders": 3, "amount": 18200}]
    top = api.get("/admin/reports/top-products", user=admin).json["items"]
    assert [(t["product_id"], t["quantity"], t["amount"]) for t in top] == [(p1.id, 2, 10000), (p2.id, 1, 1200)]


def test_record_visit_upserts(app, factory):
    """K16: visits are counted per day, kind and object by an upsert."""
    for _ in range(3):
        service.record_visit("product", 7)
    service.record_visit("site")
    rows = {(v.kind, v.ref_id): v.count for v in db.session.execute(db.select(PageVisit)).scalars()}
    assert rows == {("product", 7): 3, ("site", 0): 1}


def test_reports_are_sql_aggregates(api, client, factory, queries):
    """K16 (performance): the overview takes the same few statements for 1 or many orders."""
    factory.admin()
    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product(price=100, stock=100).skus[0]
    counts = []
    for i, n in enumerate((1, 5)):
        for j in range(n):
            order(api, client, buyer, addr, sku, 1, f"q{i}-{j}")
        with queries() as q:
            service.overview()
            service.funnel()
            service.sales_by_day()
            service.top_products()
        counts.append(q.count)
    assert counts[0] == counts[1] <= 12


def test_export_csv_and_xlsx(api, client, factory):
    """K16: the platform downloads orders as CSV and XLSX."""
    admin, _, _ = shop(api, client, factory)
    r = api.get("/admin/orders/export?format=csv", user=admin)
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert rows[0][:4] == ["number", "created_at", "status", "buyer_phone"]
    assert len(rows) == 5
    assert sorted(row[7] for row in rows[1:]) == ["100.00", "22.00", "46.00", "60.00"]
    r = api.get("/admin/orders/export?format=csv&status=pending_payment", user=admin)
    assert len(list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))) == 2

    r = api.get("/admin/orders/export?format=xlsx", user=admin)
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.data), read_only=True).active
    values = list(ws.values)
    assert values[0][0] == "number" and len(values) == 5
    assert api.get("/admin/orders/export?format=pdf", user=admin).json["field"] == "format"


def test_exports_keep_typed_text_as_text(api, client, factory):
    """K16: text a merchant typed (a carrier, a tracking number) is exported
    as text: one starting with "=" is no formula in the XLSX and starts
    with an apostrophe in the CSV (a spreadsheet would run it), and a
    control character a worksheet cannot hold is left out of the XLSX (it
    was a 500: the whole export refused by openpyxl)."""
    from jishi.orders.models import Order
    from sqlalchemy import select, update

    admin, _, _ = shop(api, client, factory)
    first = db.session.scalars(select(Order).order_by(Order.id)).first()
    formula = '=HYPERLINK("http://example.com","x")'
    db.session.execute(update(Order).where(Order.id == first.id).values(carrier=formula, tracking_no="SF\x08123\x1c"))
    db.session.commit()
    r = api.get("/admin/orders/export?format=xlsx", user=admin)
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.data)).active
    header = [c.value for c in ws[1]]
    row = next(r for r in ws.iter_rows(min_row=2) if r[0].value == first.number)
    carrier, tracking = row[header.index("carrier")], row[header.index("tracking_no")]
    assert (carrier.value, carrier.data_type) == (formula, "s")
    assert tracking.value == "SF123"
    r = api.get("/admin/orders/export?format=csv", user=admin)
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    [line] = [x for x in rows if x[0] == first.number]
    assert line[rows[0].index("carrier")] == "'" + formula
    assert line[rows[0].index("tracking_no")] == "SF\x08123\x1c"  # (CSV holds any character)
    from jishi.reports.sheets import csv_cell

    assert [csv_cell(v) for v in ("-50.00", "+1", "-1e3", "@x", "\tx", 5)] == [
        "-50.00",
        "+1",
        "'-1e3",
        "'@x",
        "'\tx",
        5,
    ]


class SplitBySeller:
    """Throwaway plugin: one order per seller, like the multistore plugin."""

    @hookimpl
    def split_cart(self, lines, user):
        sellers = sorted({line.seller_id or 0 for line in lines})
        return [
            CartGroup(
                key=f"seller:{s}",
                title="",
                seller_id=s or None,
                line_keys=tuple(x.key for x in lines if (x.seller_id or 0) == s),
            )
            for s in sellers
        ]


@pytest.fixture
def extra_plugins():
    return [SplitBySeller()]


def test_one_stores_figures(api, client, factory):
    """K16: reports and the order list narrow to one store with seller_id."""
    admin, buyer = factory.admin(), factory.user()
    addr = factory.address(buyer)
    mine = factory.product(price=4000, stock=10, seller_id=5).skus[0]
    other = factory.product(price=7000, stock=10, seller_id=6).skus[0]
    o = order(api, client, buyer, addr, mine, 1, "s5")
    order(api, client, buyer, addr, other, 1, "s6")
    r = api.get("/admin/reports/overview?seller_id=5", user=admin).json
    assert (r["orders"], r["paid_orders"], r["paid_amount"]) == (1, 1, 5000)
    assert api.get("/admin/reports/funnel?seller_id=5", user=admin).json["paid"] == 1
    assert [t["amount"] for t in api.get("/admin/reports/top-products?seller_id=6", user=admin).json["items"]] == [7000]
    assert [x["id"] for x in api.get("/admin/orders?seller_id=5", user=admin).json["items"]] == [o["id"]]
    rows = list(
        csv.reader(io.StringIO(api.get("/admin/orders/export?seller_id=6", user=admin).data.decode("utf-8-sig")))
    )
    assert len(rows) == 2 and rows[1][7] == "80.00"
