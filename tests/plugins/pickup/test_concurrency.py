"""PU5: two clerks verify the same code at the same moment: exactly one
succeeds (conditional UPDATE on the code row). Each clerk runs in its own
thread with its own app context, session and connection: truly concurrent
transactions on PostgreSQL; serialised writers on SQLite, which must also
stay correct."""

from __future__ import annotations

import pytest
from jishi.db import db
from jishi.models import Order, OrderEvent, User
from jishi.testing import parallel_config, run_parallel


@pytest.fixture
def app_config():
    return parallel_config()


def _run_parallel(app, n, fn):
    return run_parallel(app, n, fn, request={"method": "POST"})


@pytest.mark.jishi_plugins("multistore", "pickup")
@pytest.mark.parametrize("clerks", [2, 6])
def test_same_code_verified_once(app, factory, pk, ms, clerks):
    """PU5: N clerks of the merchant submit the same code at once: one 'picked
    up', the others 'already used'; one hand-over, one completion."""
    from jishi.sellers import SellerScope
    from jishi_pickup import service

    m = ms.merchant("茶庄")
    pt = pk.point(m.id)
    order, code = pk.paid_pickup_order(factory, seller_id=m.id, product=ms.product(m, price=3000), pt=pt)
    clerk_ids = [ms.clerk(m).id for _ in range(clerks)]
    scope = SellerScope(
        seller_id=m.id, name=m.name, role="clerk", permissions=frozenset({"orders"}), console="merchant"
    )
    text, order_id = code.code, order.id

    def verify(i):
        user = db.session.get(User, clerk_ids[i])
        try:
            service.verify(scope, user, text)
            db.session.commit()
            return "ok"
        except service.PickupError as exc:
            db.session.rollback()
            return exc.code

    results, errors = _run_parallel(app, clerks, verify)
    assert not errors, errors
    assert results.count("ok") == 1, results
    assert all(r in ("ok", "code_used", "not_awaiting_pickup") for r in results), results
    db.session.expire_all()
    assert db.session.get(Order, order_id).status == "completed"
    moves = db.session.execute(db.select(OrderEvent.to_status).where(OrderEvent.order_id == order_id)).scalars().all()
    assert moves.count("received") == 1 and moves.count("completed") == 1
    from jishi_pickup.models import PickupCode

    row = db.session.execute(db.select(PickupCode).where(PickupCode.order_id == order_id)).scalar_one()
    assert row.status == "used" and row.used_by in clerk_ids
