"""Issue 17 "Commissions" (DS): two levels on what each line paid, rates by
default, per category and per product (fixed fen per unit x quantity);
own purchases by setting; frozen at payment, released by the job after
completion + the return window (exactly once); reversed in proportion to
each refund, exact over several, before or after release; a reversal of
paid-out commission becomes a debt set off against the next release."""

from __future__ import annotations

from jishi.db import commit, db
from jishi.testing import flows
from jishi_distribution import service
from jishi_distribution import withdrawals as wd
from jishi_distribution.models import CategoryRate, Entry, ProductRule
from sqlalchemy import func, select

from .helpers import age_completion, balances, buy, buyer_of, commissions, configure, promoter


def _tree(factory):
    a = promoter(factory)
    b = promoter(factory, upline=a)
    c = buyer_of(factory, b)
    return a, b, c


def test_two_levels_on_what_the_line_paid_frozen(app, factory):
    """Issue 17/Commissions (DS): C buys ¥33.33 x 3 -> B (level 1, 10%) and A
    (level 2, 5%) earn floor(pay_amount x rate) per line, frozen; a
    redelivered payment creates nothing more."""
    a, b, c = _tree(factory)
    [order] = buy(factory, c, [(factory.product(price=3333), 3)])
    line = order.lines[0]
    rows = commissions(order.id)
    assert [(r.level, r.promoter_id, r.base, r.amount, r.status) for r in rows] == [
        (1, b.id, line.pay_amount, line.pay_amount * 1000 // 10000, "frozen"),
        (2, a.id, line.pay_amount, line.pay_amount * 500 // 10000, "frozen"),
    ]
    assert balances(b)["frozen"] == 999 and balances(a)["frozen"] == 499
    service.on_paid(flows.fetch(order))
    commit()
    assert len(commissions(order.id)) == 2


def test_category_and_product_rates_and_fixed_per_unit(app, factory):
    """Issue 17/Commissions (DS): product fixed (fen per unit x quantity) >
    product rate > category rate > default; each rounded down per line."""
    a, b, c = _tree(factory)
    cat = factory.category("书")
    by_cat = factory.product(price=1999, category=cat)
    by_rate = factory.product(price=1999, category=cat)
    fixed = factory.product(price=1999, category=cat)
    off = factory.product(price=1999)
    db.session.add_all(
        [
            CategoryRate(category_id=cat.id, level1_bp=2000, level2_bp=300),
            ProductRule(product_id=by_rate.id, level1_bp=1500, level2_bp=None),
            ProductRule(product_id=fixed.id, level1_fixed=150, level2_fixed=40),
            ProductRule(product_id=off.id, enabled=False),
        ]
    )
    commit()
    [order] = buy(factory, c, [(by_cat, 1), (by_rate, 2), (fixed, 3), (off, 1)])
    got = {(r.order_line_id, r.level): (r.amount, r.rule) for r in commissions(order.id)}
    lines = {line.product_id: line for line in order.lines}
    pay = {pid: line.pay_amount for pid, line in lines.items()}
    assert got == {
        (lines[by_cat.id].id, 1): (pay[by_cat.id] * 2000 // 10000, "rate:2000"),
        (lines[by_cat.id].id, 2): (pay[by_cat.id] * 300 // 10000, "rate:300"),
        (lines[by_rate.id].id, 1): (pay[by_rate.id] * 1500 // 10000, "rate:1500"),
        (lines[by_rate.id].id, 2): (pay[by_rate.id] * 300 // 10000, "rate:300"),
        (lines[fixed.id].id, 1): (450, "fixed:150"),
        (lines[fixed.id].id, 2): (120, "fixed:40"),
    }


def test_own_purchases_only_by_setting(app, factory):
    """Issue 17/Commissions (DS): a promoter earns level 1 on their own
    purchase only with ``self_purchase``; their promoter then gets level 2."""
    a = promoter(factory)
    b = promoter(factory, upline=a)
    [o1] = buy(factory, b, [(factory.product(price=10000), 1)])
    assert [(r.level, r.promoter_id) for r in commissions(o1.id)] == [(1, a.id)]
    configure(self_purchase=True)
    [o2] = buy(factory, b, [(factory.product(price=10000), 1)])
    assert [(r.level, r.promoter_id) for r in commissions(o2.id)] == [(1, b.id), (2, a.id)]


def test_partial_refunds_reverse_exactly_before_release(app, factory):
    """Issue 17/Commissions (DS): three one-unit refunds of a frozen line
    reverse floor(amount x refunded / base) cumulatively: every step the
    difference of two targets, the sum exactly the commission."""
    a, b, c = _tree(factory)
    [order] = buy(factory, c, [(factory.product(price=1001), 3)])
    line = order.lines[0]
    first = commissions(order.id)
    for _i in range(3):
        flows.refund(order, [(line.id, 1)])
        refunded = flows.fetch(order).lines[0].refunded_amount
        for before, now in zip(first, commissions(order.id), strict=True):
            assert now.reversed == before.amount * refunded // before.base
    assert balances(b)["frozen"] == 0 and balances(a)["frozen"] == 0
    assert {r.status for r in commissions(order.id)} == {"reversed"}


def test_release_after_return_window_exactly_once(app, factory):
    """Issue 17/Commissions (DS): nothing is released before completion +
    return_days; then the job releases each commission once (a second run
    posts nothing)."""
    a, b, c = _tree(factory)
    [order] = buy(factory, c, [(factory.product(price=5000), 2)])
    assert service.release_due() is None
    order = flows.complete(order)
    assert service.release_due() is None  # the return window (7 days) has not passed
    age_completion(order, 8)
    assert service.release_due() == "2 released"
    assert service.release_due() is None
    assert balances(b) == {"frozen": 0, "available": 1000, "withdrawing": 0, "paid": 0, "debt": 0}
    assert balances(a)["available"] == 500
    assert db.session.scalar(select(func.count()).select_from(Entry).where(Entry.kind == "released")) == 2


def test_refund_after_release_and_payout_becomes_debt_set_off_later(app, factory):
    """Issue 17/Commissions (DS): after release and payout, a refund's
    reversal cannot come out of the available balance: it becomes a debt,
    set off against the next released commission."""
    configure(withdraw_min=100)
    a, b, c = _tree(factory)
    [order] = buy(factory, c, [(factory.product(price=10000), 2)])
    age_completion(flows.complete(order), 8)
    service.release_due()
    w = wd.request_withdrawal(b.id, 2000, "alipay", {"name": "乙", "account": "b@x"})
    wd.approve(w)
    wd.confirm_paid(w)
    commit()
    flows.refund(order, [(order.lines[0].id, 1)])
    assert balances(b) == {"frozen": 0, "available": 0, "withdrawing": 0, "paid": 2000, "debt": 1000}
    [o2] = buy(factory, c, [(factory.product(price=30000), 1)])
    age_completion(flows.complete(o2), 8)
    service.release_due()
    assert balances(b) == {"frozen": 0, "available": 2000, "withdrawing": 0, "paid": 2000, "debt": 0}


def test_refund_after_release_takes_available(app, factory):
    """Issue 17/Commissions (DS): a refund after release (not paid out) takes from available, in proportion."""
    a, b, c = _tree(factory)
    [order] = buy(factory, c, [(factory.product(price=3333), 3)])
    age_completion(flows.complete(order), 8)
    service.release_due()
    flows.refund(order, [(order.lines[0].id, 1)])
    [l1, l2] = commissions(order.id)
    assert balances(b)["available"] == l1.amount - l1.amount * 3333 // 9999
    assert balances(a)["available"] == l2.amount - l2.amount * 3333 // 9999


def test_frozen_promoter_waits_removed_promoter_cancelled(app, factory):
    """Issue 17/Promoters (DS): a frozen promoter earns nothing new and their
    pending commission waits (released once unfrozen); a removed promoter's
    pending commission is cancelled, available stays theirs."""
    a, b, c = _tree(factory)
    [o1] = buy(factory, c, [(factory.product(price=10000), 1)])
    service.freeze(b.id, None)
    commit()
    [o2] = buy(factory, c, [(factory.product(price=10000), 1)])
    assert [(r.level, r.promoter_id) for r in commissions(o2.id)] == [(2, a.id)]
    age_completion(flows.complete(o1), 8)
    service.release_due()
    assert balances(b)["frozen"] == 1000 and balances(b)["available"] == 0
    service.unfreeze(b.id, None)
    commit()
    service.release_due()
    assert balances(b)["available"] == 1000
    [o3] = buy(factory, c, [(factory.product(price=10000), 1)])
    assert balances(b)["frozen"] == 1000
    assert service.remove(b.id, None) == 1
    commit()
    assert balances(b) == {"frozen": 0, "available": 1000, "withdrawing": 0, "paid": 0, "debt": 0}
    assert [r.status for r in commissions(o3.id, promoter=b)] == ["cancelled"]


def test_spend_threshold_counts_refunds_out(app, factory):
    """Issue 17/Promoters (DS): with "spend" a buyer becomes a promoter once
    what their completed orders paid, less refunds, reaches the threshold
    (a paid order not yet completed does not count)."""
    configure(join_mode="spend", join_threshold=10000)
    buyer = factory.user()
    [o1] = buy(factory, buyer, [(factory.product(price=6000), 2)])
    assert service.promoter(buyer.id) is None  # paid 12000, not completed
    flows.refund(o1, [(o1.lines[0].id, 1)])
    flows.complete(o1)
    assert service.net_spend(buyer.id) < 10000 and service.promoter(buyer.id) is None
    [o2] = buy(factory, buyer, [(factory.product(price=5000), 1)])
    flows.complete(o2)
    assert service.net_spend(buyer.id) >= 10000
    assert service.promoter(buyer.id).status == "active"


def test_paid_order_closed_by_the_platform_reverses_frozen_commission(app, factory):
    """Issue 17/Commissions (DS): a paid order the platform closes never
    completes: its frozen commissions are reversed in full (never frozen forever)."""
    from jishi.orders import state

    a, b, c = _tree(factory)
    [order] = buy(factory, c, [(factory.product(price=10000), 1)])
    state.transition(flows.fetch(order), "close", actor_kind="platform", note="")
    commit()
    assert {r.status for r in commissions(order.id)} == {"reversed"}
    assert balances(b)["frozen"] == 0 and balances(a)["frozen"] == 0


def test_category_rate_inherits_from_the_nearest_ancestor_in_one_query(app, factory):
    """Issue 17/Commissions (DS): a line whose category has no rate takes
    the rate of its nearest ancestor with one (a category's own rate wins,
    then its parent's, then the grandparent's); the rates of all the
    order's lines are read in one statement."""
    from sqlalchemy import event

    a, b, c = _tree(factory)
    root = factory.category("食品")
    drinks = factory.category("饮料", parent=root)
    tea = factory.category("茶", parent=drinks)
    green = factory.category("绿茶", parent=tea)
    rice = factory.category("米", parent=root)
    db.session.add_all(
        [
            CategoryRate(category_id=root.id, level1_bp=2000, level2_bp=300),
            CategoryRate(category_id=drinks.id, level1_bp=1500, level2_bp=250),
            CategoryRate(category_id=green.id, level1_bp=1200, level2_bp=100),
        ]
    )
    commit()
    products = {
        "green": factory.product(price=1999, category=green),
        "tea": factory.product(price=1999, category=tea),
        "rice": factory.product(price=1999, category=rice),
        "none": factory.product(price=1999),
    }
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        if "distribution_category_rates" in statement:
            seen.append(statement)

    engine = db.session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        [order] = buy(factory, c, [(p, 1) for p in products.values()])
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(seen) == 1
    line_of = {line.product_id: line.id for line in order.lines}
    got = {(r.order_line_id, r.level): r.rule for r in commissions(order.id)}
    expected_bp = {"green": (1200, 100), "tea": (1500, 250), "rice": (2000, 300), "none": (1000, 500)}
    assert got == {
        (line_of[products[k].id], level): f"rate:{bp[level - 1]}" for k, bp in expected_bp.items() for level in (1, 2)
    }
