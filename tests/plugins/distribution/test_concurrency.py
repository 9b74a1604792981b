"""Issue 17 "Payouts" / "Commissions" (DS) under real concurrency (PostgreSQL:
each call in its own thread, session and connection; SQLite serialises the
writers, which must stay correct too): parallel withdrawal requests never
take more than the available balance (one conditional UPDATE), and two
workers running the release job release each commission exactly once."""

from __future__ import annotations

import pytest
from jishi.db import commit, db
from jishi.testing import factories, flows, parallel_config, run_parallel
from jishi_distribution import ledger, service
from jishi_distribution.models import Entry, Withdrawal
from sqlalchemy import func, select

from .helpers import age_completion, balances, buy, buyer_of, configure, promoter

ACCOUNT = {"name": "乙", "account": "b@example.com"}


@pytest.fixture
def app_config():
    return parallel_config()


def _rich(factory, amount):
    p = promoter(factory)
    ledger.post(p.id, "released", "seed", available=amount)
    commit()
    return p


def _race(app, user, amount, n):
    token = factories.token(user)
    db.session.commit()

    def request(i):
        r = app.test_client().post(
            "/api/v1/distribution/withdrawals",
            json={"amount": amount, "method": "alipay", "account": ACCOUNT},
            headers={"Authorization": f"Bearer {token}"},
        )
        return r.status_code

    results, errors = run_parallel(app, n, request)
    assert not errors, errors
    return sorted(results)


def _taken(user) -> int:
    db.session.expire_all()
    return int(
        db.session.scalar(select(func.coalesce(func.sum(Withdrawal.amount), 0)).where(Withdrawal.user_id == user.id))
    )


def test_parallel_requests_never_overdraw(app, factory):
    """Issue 17/Payouts (DS): 10 simultaneous requests of ¥30 against ¥100
    available (no interval rule): exactly three succeed, the balance never
    goes negative, the ledger matches the account."""
    configure(withdraw_interval_days=0, withdraw_min=100)
    p = _rich(factory, 10000)
    assert _race(app, p, 3000, 10) == [201] * 3 + [409] * 7
    assert _taken(p) == 9000
    assert balances(p) == {"frozen": 0, "available": 1000, "withdrawing": 9000, "paid": 0, "debt": 0}


def test_parallel_requests_respect_the_interval(app, factory):
    """Issue 17/Payouts (DS): one request per day: of 6 simultaneous small requests one wins."""
    configure(withdraw_interval_days=1, withdraw_min=100)
    p = _rich(factory, 10000)
    assert _race(app, p, 1000, 6) == [201] + [409] * 5
    assert balances(p)["available"] == 9000


def test_two_workers_release_each_commission_once(app, factory):
    """Issue 17/Commissions (DS): the release job run by several workers at
    once releases every due commission exactly once (conditional UPDATE)."""
    a = promoter(factory)
    b = promoter(factory, upline=a)
    c = buyer_of(factory, b)
    for _i in range(3):
        [order] = buy(factory, c, [(factory.product(price=10000), 1)])
        age_completion(flows.complete(order), 8)
    results, errors = run_parallel(app, 4, lambda i: service.release_due())
    assert not errors, errors
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Entry).where(Entry.kind == "released")) == 6
    assert balances(b)["available"] == 3000 and balances(b)["frozen"] == 0
    assert balances(a)["available"] == 1500 and balances(a)["frozen"] == 0


def test_simultaneous_opposite_bindings_never_make_a_cycle(app, factory):
    """Issue 17/Binding (DS): A binding to B's code while B binds to A's (and
    a three-way ring at once) never leaves a cycle: binding changes are
    serialised, the later one sees the earlier and is refused."""
    from jishi_distribution.models import Binding

    from .helpers import code

    for size in (2, 2, 3, 3):
        users = [promoter(factory) for _i in range(size)]
        codes = [code(u) for u in users]
        ids = [u.id for u in users]

        def bind(i, ids=ids, codes=codes, size=size):
            from jishi.errors import DomainError

            try:
                service.visit(ids[i], codes[(i + 1) % size], "link")
                db.session.commit()
                return "bound"
            except DomainError:
                db.session.rollback()
                return "refused"

        results, errors = run_parallel(app, size, bind, request={"method": "POST"})
        assert not errors, errors
        assert sorted(results) == ["bound"] * (size - 1) + ["refused"], results
        db.session.expire_all()
        edges = {b.user_id: b.promoter_id for b in db.session.query(Binding).where(Binding.user_id.in_(ids))}
        assert len(edges) == size - 1


def test_payout_and_refunds_at_once_keep_the_records_exact(app, factory):
    """Issue 17/Payouts+Commissions (DS): a withdrawal confirmed paid while
    refunds of the promoter's orders run: no deadlock (every path locks the
    promoter's account before the commission rows), and the per-record
    ``paid_amount`` and debts still add up to the account."""
    from jishi.aftersales import service as aftersales
    from jishi_distribution import withdrawals as wd

    from .helpers import check_records

    configure(withdraw_min=100, withdraw_interval_days=0)
    b = promoter(factory)
    c = buyer_of(factory, b)
    for _round in range(3):
        orders = []
        for price in (10000, 10000, 10000, 100000):  # the last is not refunded
            [order] = buy(factory, c, [(factory.product(price=price), 1)])
            age_completion(flows.complete(order), 8)
            orders.append(order)
        service.release_due()
        w = wd.request_withdrawal(b.id, balances(b)["available"], "alipay", ACCOUNT)
        wd.approve(w)
        requests = [flows.request_refund(o).id for o in orders[:3]]
        commit()
        wid = w.id

        def act(i, wid=wid, requests=requests):
            from jishi.aftersales.models import Refund

            if i == 0:
                wd.confirm_paid(db.session.get(Withdrawal, wid))
            else:
                aftersales.approve(db.session.get(Refund, requests[i - 1]))
            db.session.commit()
            return i

        results, errors = run_parallel(app, 4, act, request={"method": "POST"})
        assert not errors, errors
        check_records(b)
    assert balances(b)["debt"] > 0
