"""MS11: commission frozen at sale, and the double-entry ledger's postings
for pay / complete / refund / close / cash on delivery."""

from __future__ import annotations

import pytest
from jishi.db import db
from jishi.orders.models import Order
from jishi.testing import flows, is_postgres, libpq_trips
from jishi_multistore import ledger
from jishi_multistore.models import CategoryCommission, LedgerJournal, LineCommission
from sqlalchemy import select

from .finance_helpers import (
    DiscountPlugin,
    balances,
    complete,
    fetch,
    journal_count,
    journal_sums,
    pay,
    pay_cod,
    place,
    refund,
)


@pytest.fixture
def extra_plugins():
    return [DiscountPlugin()]


def _setting(key, value):
    from jishi import settings

    settings.set_many({key: value})
    db.session.commit()


def _orders(payment):
    return db.session.execute(select(Order).where(Order.payment_id == payment.id).order_by(Order.id)).scalars().all()


def _rates(order):
    return {
        lc.order_line_id: lc.rate_bp
        for lc in db.session.execute(select(LineCommission).where(LineCommission.order_id == order.id)).scalars()
    }


def test_commission_rate_precedence_and_freezing(app, factory, ms):
    """MS11: merchant rate > category (nearest ancestor) > merchant's commission
    category > platform default; frozen on each line at sale."""
    buyer = factory.user()
    addr = factory.address(buyer)
    food = factory.category("食品")
    tea = factory.category("茶", parent=food)
    toys = factory.category("玩具")
    other = factory.category("其他")
    db.session.add_all(
        [CategoryCommission(category_id=food.id, rate_bp=300), CategoryCommission(category_id=other.id, rate_bp=800)]
    )
    db.session.commit()
    _setting(ledger.COMMISSION_SETTING, 500)
    a = ms.merchant("甲", commission_category_id=other.id)
    b = ms.merchant("乙", commission_bp=1200)
    c = ms.merchant("丙")
    pa_tea = ms.product(a, price=1000, category=tea)  # ancestor food: 3%
    pa_toy = ms.product(a, price=1000, category=toys)  # merchant's category: 8%
    pb = ms.product(b, price=1000, category=tea)  # merchant override: 12%
    pc = ms.product(c, price=1000, category=toys)  # platform default: 5%
    self_op = factory.product(price=1000)
    [payment] = place(buyer, [(p.skus[0].id, 1) for p in (pa_tea, pa_toy, pb, pc, self_op)], addr)
    orders = {o.seller_id: o for o in _orders(payment)}
    assert set(orders) == {None, a.id, b.id, c.id}
    by_product = {}
    for order in orders.values():
        rates = _rates(order)
        for line in order.lines:
            by_product[line.product_id] = rates.get(line.id)
    assert by_product == {pa_tea.id: 300, pa_toy.id: 800, pb.id: 1200, pc.id: 500, self_op.id: None}
    # Later changes do not touch frozen lines.
    b.commission_bp = 100
    _setting(ledger.COMMISSION_SETTING, 0)
    assert _rates(fetch(orders[b.id].id)) == {orders[b.id].lines[0].id: 1200}


def test_frozen_rates_match_the_rate_table(app, factory, ms):
    """Issue 20: the rates the INSERT .. SELECT resolves in SQL are exactly
    :class:`ledger.RateTable`'s, on a deeper tree: the nearest ancestor with
    a rate wins (a leaf's own, else its parent's, else the root's), a
    category without any falls to the merchant's commission category (and
    its ancestors), then to the stored default."""
    buyer = factory.user()
    addr = factory.address(buyer)
    root = factory.category("根")
    mid = factory.category("中", parent=root)
    leaf = factory.category("叶", parent=mid)
    leaf2 = factory.category("叶二", parent=mid)
    bare = factory.category("无")
    under = factory.category("其下", parent=bare)
    fallback = factory.category("兜底")
    fallback_child = factory.category("兜底下", parent=fallback)
    db.session.add_all(
        [
            CategoryCommission(category_id=root.id, rate_bp=100),
            CategoryCommission(category_id=mid.id, rate_bp=200),
            CategoryCommission(category_id=leaf.id, rate_bp=300),
            CategoryCommission(category_id=fallback.id, rate_bp=900),
        ]
    )
    db.session.commit()
    _setting(ledger.COMMISSION_SETTING, "650")
    a = ms.merchant("甲", commission_category_id=fallback_child.id)
    c = ms.merchant("丙")
    products = [
        ms.product(m, price=1000, category=cat) for m in (a, c) for cat in (root, mid, leaf, leaf2, bare, under, None)
    ]
    [payment] = place(buyer, [(p.skus[0].id, 1) for p in products], addr)
    got = {}
    for order in _orders(payment):
        rates = _rates(order)
        for line in order.lines:
            got[line.product_id] = rates[line.id]
    want = {p.id: ledger.current_rate(p.seller_id, p.category_id) for p in products}
    assert got == want
    assert [got[p.id] for p in products] == [100, 200, 300, 200, 900, 900, 900, 100, 200, 300, 200, 650, 650, 650]


def test_checkout_adds_one_insert(app, factory, ms, queries):
    """MS11 / bench / issue 20: freezing rates adds ONE batched INSERT ..
    SELECT per checkout, resolving the rates itself (a lookup statement
    before it until issue 20), whatever the number of merchants; none
    without merchant lines."""
    buyer = factory.user()
    addr = factory.address(buyer)
    merchants = [ms.merchant() for _ in range(4)]
    items = []
    for m in merchants:
        for _ in range(3):
            items.append((ms.product(m, price=500).skus[0].id, 1))
    self_item = (factory.product(price=500).skus[0].id, 1)
    with queries() as q:
        place(buyer, items, addr)
    mine = [s for s in q.statements if "multistore_line_commissions" in s or "multistore_category_commissions" in s]
    assert len(mine) == 1, mine
    assert mine[0].lstrip().upper().startswith("INSERT")
    assert db.session.scalar(select(db.func.count()).select_from(LineCommission)) == 12
    # it ran from its SQL held per dialect (jishi.loaders), not through
    # SQLAlchemy's execute: its order ids in two INs under one name kept it
    # out of the held SQL for a sitting (~10 % of a placement's CPU)
    form = ledger._FREEZE_RATES_SQL[db.session.connection().dialect]
    assert form is not None and form.sized({"default_bp": 1, "numbers": ["1", "2", "3"]})[0] is not None
    with queries() as q:
        place(buyer, [self_item], addr)
    assert not [s for s in q.statements if "multistore_line_commissions" in s or "multistore_category_commissions" in s]


@pytest.mark.skipif(not is_postgres(), reason="PostgreSQL's round trips (psycopg's pipeline)")
def test_rates_are_frozen_in_the_placements_round_trip(app, factory, ms, api, tmp_path):
    """MS11 / issue 20: the commission rates' INSERT .. SELECT goes to the
    server with the placement's own INSERTs and stock UPDATE (the kernel's
    ``order_placing_writes``), finding the orders by their numbers: one
    round trip, and the rates written are the merchants'."""
    buyer = factory.user()
    addr = factory.address(buyer)
    merchants = [ms.merchant() for _ in range(2)]
    merchants[0].commission_bp = 700
    db.session.commit()
    items = [(ms.product(m, price=500).skus[0].id, 1) for m in merchants for _ in range(2)]
    api.headers(buyer)  # the token issued outside the traced block
    with libpq_trips(db.engine, tmp_path) as trips:
        placed = flows.place_api(api, buyer, items, addr)
    writing = [t for t in trips if any("INSERT INTO multistore_line_commissions" in line for line in t)]
    assert len(writing) == 1, "\n\n".join("\n".join(t) for t in trips)
    parsed = [line.split("\t")[3] for line in writing[0] if line.split("\t")[2] == "Parse"]
    assert any("INSERT INTO orders " in p for p in parsed) and any("UPDATE skus " in p for p in parsed), parsed
    assert [line.split("\t")[2] for line in writing[0]].count("Sync") == 1
    rates = {o["seller_id"]: sorted(_rates(db.session.get(Order, o["id"])).values()) for o in placed["orders"]}
    assert rates == {merchants[0].id: [700, 700], merchants[1].id: [ledger.current_rate(merchants[1].id, None)] * 2}


def test_online_order_pay_complete_commission(app, factory, ms):
    """MS11: paid online -> non-withdrawable; completed -> withdrawable after
    commission; the delivery fee goes to the merchant without commission."""
    _setting(ledger.COMMISSION_SETTING, 1000)  # 10%
    _setting("delivery.flat_fee", 600)
    _setting("delivery.free_over", 0)
    buyer = factory.user()
    addr = factory.address(buyer)
    m = ms.merchant()
    p = ms.product(m, price=2345)
    [payment] = place(buyer, [(p.skus[0].id, 2)], addr)
    order = _orders(payment)[0]
    assert balances(m.id)[ledger.PENDING] == 0  # nothing before payment
    pay(payment)
    order = fetch(order.id)
    total = order.pay_amount
    assert total == 4690 + order.delivery_fee
    assert balances(m.id) == {**dict.fromkeys(ledger.MERCHANT_ACCOUNTS, 0), ledger.PENDING: total}
    complete(order)
    commission = (4690 * 1000 + 5000) // 10000  # 469
    bal = balances(m.id)
    assert bal[ledger.PENDING] == 0
    assert bal[ledger.AVAILABLE] == total - commission
    plat = ledger.platform_balances()
    assert plat[ledger.COMMISSION] == commission
    assert plat[ledger.CASH] == -total
    assert set(journal_sums().values()) == {0}
    lc = db.session.execute(select(LineCommission).where(LineCommission.order_id == order.id)).scalar_one()
    assert (lc.base, lc.amount, lc.rate_bp) == (4690, commission, 1000)


def test_seed_allocation_platform_bears_its_discount(app, factory, ms):
    """MS9/MS11: 100-10 platform reduction on A 20 + B 30 + C 50 pays 18/27/45;
    each merchant is still owed its full 20/30/50 (the platform bears 10);
    a merchant-funded discount reduces only that merchant's amount."""
    _setting("delivery.flat_fee", 0)
    buyer = factory.user()
    addr = factory.address(buyer)
    shops = [ms.merchant(n) for n in ("A", "B", "C")]
    prods = [ms.product(s, price=price) for s, price in zip(shops, (2000, 3000, 5000))]
    [payment] = place(
        buyer,
        [(p.skus[0].id, 1) for p in prods],
        addr,
        discounts=[(1000, "platform", None), (300, "seller", shops[2].id)],
    )
    orders = {o.seller_id: o for o in _orders(payment)}
    pay(payment)
    paid = {sid: fetch(o.id).pay_amount for sid, o in orders.items()}
    assert [paid[s.id] for s in shops] == [1800, 2700, 4500 - 300]
    assert [balances(s.id)[ledger.PENDING] for s in shops] == [2000, 3000, 4700]
    assert ledger.platform_balances()[ledger.SUBSIDY] == -1000
    for s in shops:
        complete(orders[s.id])
    assert [balances(s.id)[ledger.AVAILABLE] for s in shops] == [2000, 3000, 4700]  # default commission 0


def test_refunds_before_and_after_completion(app, factory, ms):
    """MS11: a refund before completion comes out of non-withdrawable; after
    completion reversing entries, with the commission given back in
    proportion; a full refund reverses exactly the recorded commission."""
    _setting(ledger.COMMISSION_SETTING, 333)
    _setting("delivery.flat_fee", 0)
    buyer = factory.user()
    addr = factory.address(buyer)
    m = ms.merchant()
    other = ms.merchant()
    p = ms.product(m, price=1001)
    q = ms.product(other, price=4000)
    [payment] = place(buyer, [(p.skus[0].id, 7), (q.skus[0].id, 1)], addr, discounts=[(999, "platform", None)])
    order = next(o for o in _orders(payment) if o.seller_id == m.id)
    pay(payment)
    order = fetch(order.id)
    line = order.lines[0]
    earned = balances(m.id)[ledger.PENDING]
    assert earned == 7007
    r1 = refund(order, [(line.id, 1)])
    after_r1 = balances(m.id)[ledger.PENDING]
    assert 0 < after_r1 < earned
    order = complete(order)
    lc = db.session.execute(select(LineCommission).where(LineCommission.order_line_id == line.id)).scalar_one()
    assert lc.base == after_r1 and lc.amount == (after_r1 * 333 + 5000) // 10000
    available = balances(m.id)[ledger.AVAILABLE]
    assert available == after_r1 - lc.amount
    for qty in (2, 1, 3):  # the rest of the line, in three refunds
        refund(order, [(line.id, qty)])
        assert set(journal_sums().values()) == {0}
    bal = balances(m.id)
    assert bal == dict.fromkeys(ledger.MERCHANT_ACCOUNTS, 0)
    plat = ledger.platform_balances()
    # What other merchant's order left: its pending share; commission of m fully reversed.
    assert plat[ledger.COMMISSION] == 0
    assert r1.amount > 0


def test_refund_after_withdrawal_is_refused_when_balance_is_gone(app, factory, ms):
    """MS11: a refund after completion that the merchant's withdrawable balance
    cannot cover is refused (409 merchant_balance); nothing is written."""
    from jishi.errors import DomainError
    from jishi_multistore import withdrawals

    buyer = factory.user()
    addr = factory.address(buyer)
    m = ms.merchant()
    p = ms.product(m, price=3000)
    [payment] = place(buyer, [(p.skus[0].id, 1)], addr)
    pay(payment)
    order = complete(_orders(payment)[0])
    available = balances(m.id)[ledger.AVAILABLE]
    withdrawals.request_withdrawal(
        m, ms.admin_of(m), available, method="alipay", account={"name": "张三", "account": "a@b.c"}
    )
    db.session.commit()
    before = journal_count()
    with pytest.raises(DomainError) as info:
        refund(order, [(order.lines[0].id, 1)])
    assert info.value.code == "merchant_balance" and info.value.status == 409
    db.session.rollback()
    assert journal_count() == before
    assert fetch(order.id).refunded_amount == 0


def test_cash_on_delivery_settles_without_withdrawal(app, factory, ms):
    """MS11: COD orders never become withdrawable; completion records the cash
    the merchant collected (shown on the data page); a later refund reverses it."""
    _setting(ledger.COMMISSION_SETTING, 500)
    buyer = factory.user()
    addr = factory.address(buyer)
    m = ms.merchant()
    p = ms.product(m, price=1500)
    [payment] = place(buyer, [(p.skus[0].id, 2)], addr)
    pay_cod(payment)
    order = fetch(_orders(payment)[0].id)
    assert order.payment_method == "cod"
    assert journal_count() == 0
    order = complete(order)
    bal = balances(m.id)
    assert bal[ledger.AVAILABLE] == 0 and bal[ledger.PENDING] == 0
    assert bal[ledger.COD_COLLECTED] == order.pay_amount
    refund(order, [(order.lines[0].id, 1)])
    assert balances(m.id)[ledger.COD_COLLECTED] == order.pay_amount - 1500
    assert set(journal_sums().values()) == {0}


def test_unpaid_closed_and_self_operated_orders_post_nothing(app, factory, ms):
    """MS11: an order closed before payment and the platform's own orders post nothing."""
    from jishi.orders import service

    buyer = factory.user()
    addr = factory.address(buyer)
    m = ms.merchant()
    [payment] = place(buyer, [(ms.product(m).skus[0].id, 1)], addr)
    service.cancel(_orders(payment)[0], actor_kind="buyer")
    [own] = place(buyer, [(factory.product(price=800).skus[0].id, 1)], addr)
    pay(own)
    complete(_orders(own)[0])
    assert journal_count() == 0


def test_platform_close_of_paid_order_releases_pending(app, factory, ms):
    """MS10/MS11: the platform closing a paid merchant order (no refund through
    after-sales) moves its money out of non-withdrawable, owed to the buyer."""
    from jishi.orders import state

    _setting("delivery.flat_fee", 0)
    buyer = factory.user()
    addr = factory.address(buyer)
    m = ms.merchant()
    [payment] = place(buyer, [(ms.product(m, price=900).skus[0].id, 1)], addr, discounts=[(100, "platform", None)])
    pay(payment)
    order = fetch(_orders(payment)[0].id)
    state.transition(order, "close", actor_kind="platform")
    db.session.commit()
    assert balances(m.id)[ledger.PENDING] == 0
    plat = ledger.platform_balances()
    assert plat[ledger.REFUND_DUE] == 800 and plat[ledger.SUBSIDY] == 0
    assert set(journal_sums().values()) == {0}


def test_replaying_hooks_posts_nothing(app, factory, ms):
    """MS11: calling every hook again for the same event changes nothing."""
    from jishi_multistore import finance

    buyer = factory.user()
    addr = factory.address(buyer)
    m = ms.merchant()
    [payment] = place(buyer, [(ms.product(m, price=1200).skus[0].id, 3)], addr)
    pay(payment)
    order = fetch(_orders(payment)[0].id)
    r = refund(order, [(order.lines[0].id, 1)])
    order = complete(order)
    r2 = refund(order, [(order.lines[0].id, 1)])
    n, bal = journal_count(), balances(m.id)
    from jishi.aftersales.models import Refund

    finance.order_transitioned(order=order, name="pay", from_status="pending_payment", actor_kind="system")
    finance.settle_order(order=order)
    finance.settle_refund(refund=db.session.get(Refund, r.id))
    finance.settle_refund(refund=db.session.get(Refund, r2.id))
    db.session.commit()
    assert journal_count() == n and balances(m.id) == bal
    kinds = sorted(j.kind for j in db.session.execute(select(LedgerJournal)).scalars())
    assert kinds == ["completed", "paid", "refund", "refund"]
