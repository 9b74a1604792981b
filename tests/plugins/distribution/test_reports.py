"""Issue 19: distribution's campaign effect in the reports
(``report_sections``): orders and sales through distribution, commission
cost, top promoters, against a hand-computed fixture; a merchant sees only
the commissions its opted-in products cost, and no promoters."""

from __future__ import annotations

import pytest
from jishi.db import commit, db, utcnow
from jishi.i18n import to_shop_time

from .helpers import buy, buyer_of, configure, promoter


def sections(seller_id=None):
    from jishi_distribution.reports import distribution_sections

    today = to_shop_time(utcnow()).date()
    return {s.key: s.rows for s in distribution_sections(today, today, seller_id)}


def test_distribution_figures(factory, queries):
    """Issue 19 (10% / 5%): C (bound to B, B to A) pays a 100.00 order → B
    10.00, A 5.00; D (bound to A) pays 50.00 → A 5.00; an unpaid order
    books nothing. Totals: 2 orders, 150.00 sold, 15.00 + 5.00 = 20.00 cost.
    Promoters (commission, then id): A 10.00 on 2 orders with 50.00 sold
    directly (level 1); B 10.00 on 1 order, 100.00."""
    a = promoter(factory, name="甲")
    b = promoter(factory, upline=a, name="乙")
    c, d = buyer_of(factory, b), buyer_of(factory, a)
    big, small = factory.product(price=10000, stock=10), factory.product(price=5000, stock=10)
    buy(factory, c, [(big, 1)])
    buy(factory, d, [(small, 1)])
    buy(factory, c, [(small, 1)], pay=False)
    db.session.commit()
    with queries() as q:
        got = sections()
    assert q.count == 2
    assert got["distribution"] == [{"orders": 2, "sales": 15000, "commission": 2000}]
    assert got["promoters"] == [
        {"promoter_id": a.id, "name": "甲", "orders": 2, "sales": 5000, "commission": 1000},
        {"promoter_id": b.id, "name": "乙", "orders": 1, "sales": 10000, "commission": 1000},
    ]


@pytest.mark.jishi_plugins("multistore", "distribution")
def test_merchant_sees_the_commission_its_products_cost(factory, ms, queries):
    """Issue 19: M1's opted-in 100.00 product sold through B (upline A):
    M1 sees 1 order, 100.00, 15.00 and no promoters; M2 (nothing opted in,
    nothing sold through distribution) sees zeros; the platform sees M1's."""
    from jishi_distribution.models import ProductRule

    configure(merchant_products=True)
    a = promoter(factory)
    b = promoter(factory, upline=a)
    c = buyer_of(factory, b)
    m1, m2 = ms.merchant("M1"), ms.merchant("M2")
    tea = ms.product(m1, price=10000, stock=20)
    ms.product(m2, price=10000, stock=20)
    db.session.add(ProductRule(product_id=tea.id, enabled=True))
    commit()
    buy(factory, c, [(tea, 1)])
    m1_id = m1.id
    with queries() as q:
        mine = sections(m1_id)
    assert q.count == 1
    assert mine == {"distribution": [{"orders": 1, "sales": 10000, "commission": 1500}]}
    assert sections(m2.id) == {"distribution": [{"orders": 0, "sales": 0, "commission": 0}]}
    assert sections()["distribution"] == mine["distribution"]
