"""Issue 17 "Proof" end to end (DS), with multistore and coupons: A refers B
who refers C; C buys a self-operated product, an opted-in product of
merchant M1 and a product of merchant M2 (not opted in), with a platform
coupon spread over the orders. B earns level 1 and A level 2 on exactly the
two distributing lines, on what each line paid after the coupon; C refunds
one line in full and one unit of another: both levels reverse exactly;
after completion and the return window the rest is released; A withdraws."""

from __future__ import annotations

import pytest
from jishi.db import commit, db
from jishi.testing import flows
from jishi_distribution import service
from jishi_distribution import withdrawals as wd
from jishi_distribution.models import ProductRule

from .helpers import age_completion, balances, buyer_of, code, commissions, configure, promoter

pytestmark = pytest.mark.jishi_plugins("multistore", "coupons", "distribution")


def test_a_refers_b_refers_c_two_merchants_coupon_refund_release_withdraw(app, factory, ms, api):
    """Issue 17/Proof (DS): the end-to-end story of the module doc."""
    from tests.plugins.coupons.helpers import give, template

    configure(merchant_products=True, withdraw_min=100)
    a = promoter(factory)
    b = factory.user()
    assert api.post("/distribution/bind", user=b, json={"code": code(a)}).json["bound"] is True
    service.ensure_promoter(b.id)
    commit()
    c = buyer_of(factory, b)
    m1, m2 = ms.merchant("一号店"), ms.merchant("二号店")
    own = factory.product(name="自营米", price=4000, stock=10)
    p1 = ms.product(m1, name="一号店茶", price=3000, stock=10)
    p2 = ms.product(m2, name="二号店油", price=3000, stock=10)
    db.session.add(ProductRule(product_id=p1.id, enabled=True))
    commit()
    cp = give(c, template(None, threshold=10000, amount=1000))
    commit()
    payments = flows.place(
        c, [(own.skus[0], 2), (p1.skus[0], 1), (p2.skus[0], 1)], factory.address(c), {"coupons": [cp.id]}
    )
    [payment] = payments
    flows.pay(payment)
    orders = [flows.fetch(o) for o in payment.orders]
    lines = {line.product_id: line for o in orders for line in o.lines}
    assert sum(line.discount_amount for line in lines.values()) == 1000  # the coupon, spread over the lines
    expected = {}
    for pid in (own.id, p1.id):
        pay = lines[pid].pay_amount
        assert pay < lines[pid].goods_amount
        expected[(lines[pid].id, 1)] = (b.id, pay * 1000 // 10000)
        expected[(lines[pid].id, 2)] = (a.id, pay * 500 // 10000)
    got = {(r.order_line_id, r.level): (r.promoter_id, r.amount) for r in commissions()}
    assert got == expected  # nothing on M2's line (not opted in)
    assert balances(b)["frozen"] == sum(v for k, (p, v) in expected.items() if p == b.id)

    # C refunds M1's line in full and one of the two bags of rice.
    order_of = {line.product_id: o for o in orders for line in o.lines}
    flows.refund(order_of[p1.id], [(lines[p1.id].id, 1)])
    flows.refund(order_of[own.id], [(lines[own.id].id, 1)])
    rice = flows.fetch(order_of[own.id]).lines[0]
    for r in commissions():
        if r.order_line_id == lines[p1.id].id:
            assert (r.reversed, r.status) == (r.amount, "reversed")
        else:
            assert r.reversed == r.amount * rice.refunded_amount // r.base
    left = {r.promoter_id: 0 for r in commissions()}
    for r in commissions():
        left[r.promoter_id] += r.amount - r.reversed
    assert balances(a)["frozen"] == left[a.id] and balances(b)["frozen"] == left[b.id]

    # completion + return window -> released
    for o in orders:
        if flows.fetch(o).status in ("paid", "shipped", "received"):
            age_completion(flows.complete(o), 8)
    service.release_due()
    assert balances(a) == {"frozen": 0, "available": left[a.id], "withdrawing": 0, "paid": 0, "debt": 0}
    assert balances(b)["available"] == left[b.id]

    # A withdraws everything; the platform approves and pays.
    r = api.post(
        "/distribution/withdrawals",
        user=a,
        json={"amount": left[a.id], "method": "bank", "account": {"name": "甲", "account": "6222", "bank": "工行"}},
    )
    assert r.status_code == 201, r.json
    from jishi_distribution.models import Withdrawal

    w = db.session.get(Withdrawal, r.json["id"])
    wd.approve(w)
    wd.confirm_paid(w)
    commit()
    assert balances(a) == {"frozen": 0, "available": 0, "withdrawing": 0, "paid": left[a.id], "debt": 0}
