"""Issue 19, seed 004 §6 财务报表, seed 001 merchant statements: multistore's
``income`` and ``statements`` report sections, read from the ledger, against
a hand-computed day (commission 10%):

- m's order A (100.00) paid and completed: commission 10.00, 90.00 withdrawable;
- m's order B (2 × 25.00) paid, one refunded (25.00) before completion:
  25.00 non-withdrawable;
- m withdraws 40.00, approved and paid: paid out 40.00, 50.00 left.

Today the platform collected 150.00, earned 10.00 commission, gave no
subsidy, refunded 25.00 and paid 40.00 to merchants; m's statement: paid
150.00, refunded 25.00, paid out 40.00, awaiting withdrawal 50.00,
non-withdrawable 25.00. A merchant sees its own statement and no income;
the JSON API, the exports and both report pages carry them."""

from __future__ import annotations

import csv
import io
import json

from jishi.db import db, utcnow
from jishi.i18n import to_shop_time
from jishi.orders.models import Order
from jishi.reports import aggregate, analytics
from jishi_multistore import ledger, withdrawals
from jishi_multistore import reports as ms_reports
from jishi_multistore.models import Merchant
from openpyxl import load_workbook
from sqlalchemy import select

from .finance_helpers import pay, place, refund
from .test_withdrawals_api import ALIPAY, _setting, earning


def world(factory, ms):
    _setting(ledger.COMMISSION_SETTING, 1000)
    m, other = ms.merchant("对账店"), ms.merchant("别家")
    earning(factory, ms, m, 10000)
    buyer = factory.user()
    [payment] = place(buyer, [(ms.product(m, price=2500).skus[0].id, 2)], factory.address(buyer))
    pay(payment)
    order = db.session.execute(select(Order).where(Order.payment_id == payment.id)).scalar_one()
    refund(order, [(order.lines[0].id, 1)])
    w = withdrawals.request_withdrawal(db.session.get(Merchant, m.id), ms.admin_of(m), 4000, account=ALIPAY)
    withdrawals.approve(w)
    withdrawals.confirm_paid(w)
    db.session.commit()
    aggregate.aggregate_recent()
    return m, other, to_shop_time(utcnow()).date()


STATEMENT = {
    "paid_amount": 15000,
    "refund_amount": 2500,
    "paid_out": 4000,
    "awaiting_withdrawal": 5000,
    "non_withdrawable": 2500,
}


def test_income_per_day_and_statements(app, factory, ms):
    """Issue 19: the platform's income per day from the ledger and each
    merchant's statement, hand-computed; a merchant's scope is its own."""
    m, other, today = world(factory, ms)
    [day] = ms_reports.income(today, today)
    assert day == {
        "day": today.isoformat(),
        "collected": 15000,
        "commission": 1000,
        "subsidy": 0,
        "refunds": 2500,
        "payouts": 4000,
    }
    yesterday = today.fromordinal(today.toordinal() - 1)
    assert ms_reports.income(yesterday, today)[0] == {
        "day": yesterday.isoformat(),
        **dict.fromkeys(ms_reports.INCOME_FIELDS, 0),
    }
    rows = {r["merchant_id"]: r for r in ms_reports.statements(today, today)}
    assert {k: rows[m.id][k] for k in STATEMENT} == STATEMENT and rows[m.id]["merchant"] == "对账店"
    assert other.id not in rows  # nothing paid, no ledger entry
    own = analytics.report(today, today, m.id)["sections"]
    assert [s["key"] for s in own if s["key"] in ("income", "statements")] == ["statements"]
    [statement] = next(s for s in own if s["key"] == "statements")["rows"]
    assert statement["merchant_id"] == m.id and statement["paid_out"] == 4000
    assert ms_reports.statements(today, today, other.id) == [
        {"merchant_id": other.id, "merchant": "别家", **dict.fromkeys(STATEMENT, 0)}
    ]


def test_api_exports_and_pages(app, api, client, factory, ms, login):
    """Issue 19: the sections in the platform's and the merchant's JSON API,
    CSV and XLSX parsed back, on the console reports and merchant data pages."""
    m, other, today = world(factory, ms)
    platform = factory.admin()
    q = f"start={today.isoformat()}&end={today.isoformat()}"
    r = api.get(f"/admin/reports/analytics?{q}", user=platform)
    keys = [s["key"] for s in r.json["sections"]]
    assert "income" in keys and "statements" in keys
    c = api.get(f"/admin/reports/analytics/export?{q}&section=income&format=csv", user=platform)
    rows = list(csv.reader(io.StringIO(c.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[1] == [today.isoformat(), "150.00", "10.00", "0.00", "25.00", "40.00"]
    x = api.get(f"/admin/reports/analytics/export?{q}&section=statements&format=xlsx", user=platform)
    sheet = [[str(v) for v in row] for row in load_workbook(io.BytesIO(x.data)).active.iter_rows(values_only=True)]
    assert [str(m.id), "对账店", "150.00", "25.00", "40.00", "50.00", "25.00"] in sheet
    mine = api.get(f"/merchant/data?{q}", user=ms.admin_of(m)).json["report"]
    assert [s["key"] for s in mine["sections"] if s["key"] in ("income", "statements")] == ["statements"]
    assert [row["merchant_id"] for row in next(s for s in mine["sections"] if s["key"] == "statements")["rows"]] == [
        m.id
    ]
    assert mine["finance"]["totals"] == {"paid_amount": 15000, "refund_amount": 2500, "net_amount": 12500}
    assert mine["buyers"]["buyers"] == 2
    e = api.get(f"/merchant/data/export?{q}&section=statements&format=csv", user=ms.admin_of(m))
    assert e.status_code == 200 and "对账店" in e.get_data(as_text=True)
    assert api.get(f"/merchant/data/export?{q}&section=income", user=ms.admin_of(m)).status_code == 422
    login(platform)
    page = client.get(f"/console/reports?{q}").get_data(as_text=True)
    assert 'data-table="income"' in page and 'data-table="statements"' in page and 'data-chart="income"' in page
    island = (
        page.split('data-chart="income">', 1)[1].split('<script type="application/json">', 1)[1].split("</script>")[0]
    )
    chart = json.loads(island)
    assert chart["labels"] == [today.isoformat()] and [s["data"] for s in chart["series"]] == [
        [15000],
        [1000],
        [0],
        [2500],
        [4000],
    ]
    login(ms.admin_of(m))
    page = client.get(f"/merchant/data?{q}").get_data(as_text=True)
    assert (
        'data-table="statements"' in page
        and 'data-table="income"' not in page
        and 'data-chart="statements"' not in page
    )
    assert 'data-chart="finance"' in page and 'data-chart="rfm"' in page
    assert client.get(f"/merchant/data/rfm.csv?{q}").status_code == 200
