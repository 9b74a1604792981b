"""Issue 17 "Commissions" (DS): a merchant's opted-in product (platform
setting ``merchant_products``) with multistore: the commission is funded by
the merchant, booked in multistore's ledger against its share
(``jishi_multistore.ledger.charge``): the merchant is settled exactly the
commission less (both levels), each refund gives back exactly what it
reverses, and the platform's own commission income is unchanged (compared
with the same order bought without a promoter)."""

from __future__ import annotations

import pytest
from jishi import settings
from jishi.db import commit, db
from jishi.testing import flows
from jishi_distribution.models import ProductRule
from jishi_multistore import ledger as ms_ledger
from jishi_multistore.models import LedgerEntry, LedgerJournal
from sqlalchemy import func, select

from .helpers import balances, buyer_of, commissions, configure, promoter

pytestmark = pytest.mark.jishi_plugins("multistore", "distribution")


def _order_accounts(order_id: int) -> dict[str, int]:
    """{account: fen} of every entry of the order's journals (merchant
    accounts prefixed ``m.``)."""
    rows = db.session.execute(
        select(LedgerEntry.merchant_id.isnot(None), LedgerEntry.account, func.sum(LedgerEntry.amount))
        .join(LedgerJournal, LedgerJournal.id == LedgerEntry.journal_id)
        .where(LedgerJournal.order_id == order_id)
        .group_by(LedgerEntry.merchant_id.isnot(None), LedgerEntry.account)
    ).all()
    return {("m." if merchant else "") + account: int(total) for merchant, account, total in rows if total}


def _setup(factory, ms):
    configure(merchant_products=True)
    settings.set_many({ms_ledger.COMMISSION_SETTING: 500})  # the platform keeps 5%
    commit()
    a = promoter(factory)
    b = promoter(factory, upline=a)
    c = buyer_of(factory, b)
    stranger = factory.user()
    m = ms.merchant()
    tea = ms.product(m, price=3333, stock=20)
    db.session.add(ProductRule(product_id=tea.id, enabled=True))
    commit()
    return a, b, c, stranger, m, tea


def _buy(factory, buyer, product, qty):
    [payment] = flows.place(buyer, [(product.skus[0], qty)], factory.address(buyer))
    flows.pay(payment)
    db.session.expire_all()
    [order] = [flows.fetch(o) for o in payment.orders]
    return order


def _open(order_id: int) -> int:
    """What of the merchant's commissions on the order is still charged."""
    return sum(r.amount - r.reversed for r in commissions(order_id) if r.status != "cancelled")


def test_merchant_funded_commission_reduces_settlement_exactly(app, factory, ms):
    """Issue 17/Commissions (DS): charged at payment (both levels) against
    the order's pending money; partial refunds before and after completion
    give back exactly what each reverses; the merchant ends exactly the open
    commission below the same order without a promoter, the platform's
    commission income equal."""
    a, b, c, stranger, m, tea = _setup(factory, ms)
    funded = _buy(factory, c, tea, 3)
    control = _buy(factory, stranger, tea, 3)
    rows = commissions(funded.id)
    assert [(r.level, r.funded_by) for r in rows] == [(1, "merchant"), (2, "merchant")]
    charged = sum(r.amount for r in rows)
    assert charged == funded.pay_amount * 1000 // 10000 + funded.pay_amount * 500 // 10000
    got, ctl = _order_accounts(funded.id), _order_accounts(control.id)
    assert got["m.pending"] == ctl["m.pending"] - charged
    assert got["charges"] == charged

    # one unit refunded before completion: both levels give back exactly
    for order in (funded, control):
        flows.refund(order, [(order.lines[0].id, 1)])
    got, ctl = _order_accounts(funded.id), _order_accounts(control.id)
    assert 0 < _open(funded.id) < charged
    assert got["charges"] == _open(funded.id)
    assert got["m.pending"] == ctl["m.pending"] - _open(funded.id)

    # completion: the merchant is settled the open commission less; the
    # platform's commission is the same as without a promoter
    for order in (funded, control):
        flows.complete(order)
    got, ctl = _order_accounts(funded.id), _order_accounts(control.id)
    assert got.get("m.pending", 0) == ctl.get("m.pending", 0) == 0
    assert got["commission"] == ctl["commission"] > 0
    assert got["m.available"] == ctl["m.available"] - _open(funded.id)

    # another unit after completion: again exact, income still equal
    for order in (funded, control):
        flows.refund(flows.fetch(order), [(order.lines[0].id, 1)])
    got, ctl = _order_accounts(funded.id), _order_accounts(control.id)
    assert got["charges"] == _open(funded.id) > 0
    assert got["commission"] == ctl["commission"]
    assert got["m.available"] == ctl["m.available"] - _open(funded.id)
    assert ms_ledger.platform_balances()[ms_ledger.CHARGES] == _open(funded.id)
    assert balances(b)["frozen"] + balances(a)["frozen"] == _open(funded.id)

    # the rest refunded: everything given back
    flows.refund(flows.fetch(funded), [(funded.lines[0].id, 1)])
    got = _order_accounts(funded.id)
    assert _open(funded.id) == 0 and got.get("charges", 0) == 0


def test_platform_closing_a_paid_order_gives_every_fen_back(app, factory, ms):
    """Issue 17/Commissions (DS): the platform closes a paid order (refunded
    in full): the commissions reverse in full, the merchant gets the charge
    back and nothing stays in ``charges`` or with the merchant."""
    from jishi.orders import service as orders

    _a, _b, c, _s, m, tea = _setup(factory, ms)
    order = _buy(factory, c, tea, 2)
    assert _order_accounts(order.id)["charges"] > 0
    orders.close_paid(flows.fetch(order), note="test")
    commit()
    got = _order_accounts(order.id)
    assert got.get("m.pending", 0) == 0 and got.get("charges", 0) == 0
    assert all(r.status == "reversed" for r in commissions(order.id))


def test_charge_after_settlement_is_a_debit_and_owed_beyond_the_balance(app, factory, ms):
    """Issue 17/Commissions (DS): ``charge`` on a completed order takes the
    merchant's withdrawable balance and what it cannot cover becomes owed;
    ``charge_back`` pays the debt off first; both idempotent by their key."""
    _a, _b, _c, stranger, m, tea = _setup(factory, ms)
    configure(merchant_products=False)  # no commission on this order
    order = flows.complete(_buy(factory, stranger, tea, 1))
    commit()
    have = ms_ledger.withdrawable(ms_ledger.balances(m.id))
    assert have > 0
    ms_ledger.charge(m.id, order.id, have + 100, source_type="test", source_id=1)
    assert ms_ledger.charge(m.id, order.id, have + 100, source_type="test", source_id=1) is None
    bal = ms_ledger.balances(m.id)
    assert (bal["available"], bal["owed"]) == (0, -100)
    ms_ledger.charge_back(m.id, order.id, 150, source_type="test", source_id=1)
    ms_ledger.charge_back(m.id, order.id, 150, source_type="test", source_id=1)
    commit()
    bal = ms_ledger.balances(m.id)
    assert (bal["available"], bal["owed"]) == (50, 0)
    assert ms_ledger.platform_balances()[ms_ledger.CHARGES] == have + 100 - 150
