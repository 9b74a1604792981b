"""Issue 17 "Commissions" (DS): commission records per line per level show
pending / frozen / available / paid (and reversed, debt, cancelled) to the
promoter (web + API) and to the platform (console list + CSV). A withdrawal
marked paid is allocated to the promoter's available records oldest first,
a record possibly partly paid (``paid_amount``); a reversal after payment
shows as the record's debt, and the records' debts always add up to the
account's debt (set off by the next release)."""

from __future__ import annotations

import csv
import io

from jishi.db import commit
from jishi.testing import flows
from jishi_distribution import service
from jishi_distribution import withdrawals as wd

from .helpers import age_completion, balances, buy, buyer_of, check_records, commissions, configure, promoter


def _released(factory, buyer, price):
    [order] = buy(factory, buyer, [(factory.product(price=price), 1)])
    age_completion(flows.complete(order), 8)
    service.release_due()
    return order


def _states(user) -> dict[int, tuple[str, int, int]]:
    return {r.order_id: (service.with_states([r])[0].state, r.paid_amount, r.debt) for r in commissions(promoter=user)}


def test_paid_allocated_oldest_first_debt_per_record_set_off(app, factory):
    """Issue 17/Commissions+Payouts (DS): a payout of ¥15 over two ¥10
    records pays the first in full and half the second; the first order
    refunded takes the ¥5 available and leaves ¥5 of debt on the first
    record; the next release sets it off (its record half paid)."""
    configure(withdraw_min=100)
    a = promoter(factory)
    b = promoter(factory, upline=a)
    c = buyer_of(factory, b)
    o1 = _released(factory, c, 10000)
    o2 = _released(factory, c, 10000)
    [o3] = buy(factory, c, [(factory.product(price=10000), 1)])
    assert _states(b) == {o1.id: ("available", 0, 0), o2.id: ("available", 0, 0), o3.id: ("pending", 0, 0)}
    w = wd.request_withdrawal(b.id, 1500, "alipay", {"name": "乙", "account": "b@x"})
    wd.approve(w)
    wd.confirm_paid(w)
    commit()
    assert _states(b)[o1.id] == ("paid", 1000, 0) and _states(b)[o2.id] == ("available", 500, 0)
    check_records(b)
    o3 = flows.complete(o3)
    assert _states(b)[o3.id] == ("frozen", 0, 0)

    flows.refund(o1, [(o1.lines[0].id, 1)])  # ¥10 reversed: ¥5 from available, ¥5 debt
    assert balances(b) == {"frozen": 1000, "available": 0, "withdrawing": 0, "paid": 1500, "debt": 500}
    assert _states(b)[o1.id] == ("debt", 500, 500) and _states(b)[o2.id] == ("paid", 1000, 0)
    check_records(b)

    age_completion(o3, 8)
    service.release_due()  # ¥10 released: ¥5 pays the debt
    assert balances(b) == {"frozen": 0, "available": 500, "withdrawing": 0, "paid": 1500, "debt": 0}
    assert _states(b) == {o1.id: ("reversed", 0, 0), o2.id: ("paid", 1000, 0), o3.id: ("available", 500, 0)}
    check_records(b)


def test_reversal_while_withdrawing_then_paid_is_the_records_debt(app, factory):
    """Issue 17/Payouts (DS): a record reversed while its money is being
    withdrawn: the payout is still allocated in full, the excess is the
    record's debt; a rejected request instead gives it back (set off)."""
    configure(withdraw_min=100, withdraw_interval_days=0)
    b = promoter(factory)
    c = buyer_of(factory, b)
    o1 = _released(factory, c, 10000)
    w = wd.request_withdrawal(b.id, 1000, "alipay", {"name": "乙", "account": "b@x"})
    commit()
    flows.refund(o1, [(o1.lines[0].id, 1)])
    assert balances(b)["debt"] == 1000
    wd.approve(w)
    wd.confirm_paid(w)
    commit()
    assert _states(b)[o1.id] == ("debt", 1000, 1000)
    check_records(b)

    o2 = _released(factory, c, 10000)
    assert _states(b)[o2.id] == ("paid", 1000, 0) and _states(b)[o1.id] == ("reversed", 0, 0)
    check_records(b)
    o3 = _released(factory, c, 20000)
    w2 = wd.request_withdrawal(b.id, 2000, "alipay", {"name": "乙", "account": "b@x"})
    commit()
    flows.refund(o3, [(o3.lines[0].id, 1)])
    assert balances(b)["debt"] == 2000
    wd.reject(w2, "no")
    commit()
    assert balances(b) == {"frozen": 0, "available": 0, "withdrawing": 0, "paid": 1000, "debt": 0}
    check_records(b)


def test_states_in_centre_api_console_and_csv(app, client, factory, login, api):
    """Issue 17/Surfaces (DS): the promoter centre (web + API) and the
    console list and CSV show each record's state and what was paid."""
    configure(withdraw_min=100)
    b = promoter(factory)
    c = buyer_of(factory, b)
    o1 = _released(factory, c, 10000)
    w = wd.request_withdrawal(b.id, 400, "alipay", {"name": "乙", "account": "b@x"})
    wd.approve(w)
    wd.confirm_paid(w)
    commit()
    [o2] = buy(factory, c, [(factory.product(price=10000), 1)])
    got = {r["order_id"]: r for r in api.get("/distribution/commissions", user=b).json}
    assert (got[o1.id]["state"], got[o1.id]["paid_amount"], got[o1.id]["debt"]) == ("available", 400, 0)
    assert got[o2.id]["state"] == "pending"
    login(b)
    page = client.get("/distribution").get_data(as_text=True)
    assert 'data-state="available"' in page and 'data-state="pending"' in page and "¥4.00" in page
    admin = factory.admin()
    login(admin)
    page = client.get(f"/console/distribution/commissions?promoter_id={b.id}").get_data(as_text=True)
    assert 'data-state="available"' in page and "待订单完成" in page
    rows = list(csv.DictReader(io.StringIO(client.get("/console/distribution/commissions.csv").get_data(as_text=True))))
    by_order = {int(r["order_id"]): r for r in rows}
    assert (by_order[o1.id]["state"], by_order[o1.id]["paid_amount"]) == ("available", "400")
    assert by_order[o2.id]["state"] == "pending" and by_order[o2.id]["funded_by"] == "platform"
    got = {r["order_id"]: r for r in api.get("/admin/distribution/commissions", user=admin).json}
    assert got[o1.id]["state"] == "available" and got[o1.id]["funded_by"] == "platform"
