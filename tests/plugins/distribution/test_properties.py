"""Issue 17 "Proof" (property, DS): through the real pipeline, for random
order lines, rates and sequences of partial refunds (before or after
release): every commission's reversal after each refund is
``floor(amount × refunded ÷ base)`` of its line, the accounts always equal
the ledger's sums, and a full refund leaves nothing; over random
releases, payouts, rejections and refunds the records' ``paid_amount`` and
debts add up to the account (paid, debt, available + withdrawing); random binding
attempts never make the binding graph cyclic. Settings are fixed per
parametrized run (see tests/plugins/points/test_properties.py)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from jishi.db import commit, db
from jishi.errors import DomainError
from jishi.testing import flows
from jishi_distribution import service
from jishi_distribution.models import Binding

from .helpers import age_completion, balances, buy, buyer_of, check_records, commissions, configure, promoter

HYPO = settings(
    max_examples=12,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.parametrize(("l1", "l2"), [(1000, 500), (3333, 77)])
@HYPO
@given(
    lines=st.lists(st.tuples(st.integers(1, 20000), st.integers(1, 3)), min_size=1, max_size=3),
    release_first=st.booleans(),
    picks=st.lists(st.integers(0, 100), min_size=1, max_size=6),
)
def test_reversals_exact_over_random_refunds(app, factory, l1, l2, lines, release_first, picks):
    """Issue 17/Proof (DS): reversal exactness and ledger sums (see module doc)."""
    configure(level1_bp=l1, level2_bp=l2)
    a = promoter(factory)
    b = promoter(factory, upline=a)
    c = buyer_of(factory, b)
    [order] = buy(factory, c, [(factory.product(price=p, stock=10), q) for p, q in lines])
    if release_first:
        age_completion(flows.complete(order), 30)
        service.release_due()
    first = {r.id: r.amount for r in commissions(order.id)}
    left = {line.id: line.quantity for line in order.lines}
    for pick in picks + [None]:
        if pick is None:
            todo = [(lid, q) for lid, q in left.items() if q]
        else:
            lid = sorted(left)[pick % len(left)]
            if not left[lid]:
                continue
            todo = [(lid, 1 + pick % left[lid])]
        if not todo:
            break
        flows.refund(order, todo)
        for lid, q in todo:
            left[lid] -= q
        refunded = {line.id: line.refunded_amount for line in flows.fetch(order).lines}
        for r in commissions(order.id):
            assert r.reversed == r.amount * min(refunded[r.order_line_id], r.base) // r.base
        balances(a), balances(b)
    assert all(r.reversed == first[r.id] for r in commissions(order.id))
    for p in (a, b):
        got = balances(p)
        assert got["frozen"] == 0 and got["available"] == 0


@HYPO
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(["release", "pay", "reject", "refund"]), st.integers(0, 100)),
        min_size=1,
        max_size=10,
    )
)
def test_paid_records_add_up_to_the_account(app, factory, steps):
    """Issue 17/Commissions+Payouts (DS): per-record paid status stays
    consistent with the account whatever happens (see module doc)."""
    from jishi_distribution import withdrawals as wd

    configure(withdraw_min=100, withdraw_interval_days=0)
    b = promoter(factory)
    c = buyer_of(factory, b)
    orders = []

    def refund_one(n):
        if orders:
            order = flows.fetch(orders[n % len(orders)])
            left = [(line.id, 1) for line in order.lines if line.refunded_quantity < line.quantity]
            if left:
                flows.refund(order, left[:1])

    for op, n in steps:
        if op == "release":
            [order] = buy(factory, c, [(factory.product(price=1000 + 97 * n, stock=10), 1 + n % 3)])
            age_completion(flows.complete(order), 30)
            service.release_due()
            orders.append(order)
        elif op == "refund":
            refund_one(n)
        else:
            have = balances(b)["available"]
            amount = max(100, have * (n + 1) // 101)
            if have < amount:
                continue
            w = wd.request_withdrawal(b.id, amount, "alipay", {"name": "乙", "account": "b@x"})
            wd.approve(w)
            commit()
            if n % 2:
                refund_one(n)  # a reversal while the money is being withdrawn
            if op == "pay":
                wd.confirm_paid(w)
            else:
                wd.reject(w, "no")
            commit()
        check_records(b)


@HYPO
@given(attempts=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), min_size=1, max_size=25))
def test_binding_graph_never_has_a_cycle(app, factory, attempts):
    """Issue 17/Proof (DS): whatever binding attempts come, in any order, with
    "last click wins" and no protection, the graph of current bindings stays
    acyclic (every chain ends) and nobody is bound to themselves."""
    configure(bind_rule="last", protect_days=0)
    users = [promoter(factory) for _i in range(6)]
    for who, to in attempts:
        try:
            service.visit(users[who].id, service.promoter(users[to].id).code, "link")
            commit()
        except DomainError:
            db.session.rollback()
        edges = {b.user_id: b.promoter_id for b in db.session.query(Binding).all()}
        for start in edges:
            seen, node = set(), start
            while node in edges:
                assert node not in seen, f"cycle through {node}: {edges}"
                seen.add(node)
                node = edges[node]
        assert all(k != v for k, v in edges.items())
