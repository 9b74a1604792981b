"""Shared helpers of the points tests."""

from __future__ import annotations

from jishi.db import commit
from jishi_points import ledger
from jishi_points.ledger import Post
from jishi_points.models import ADJUSTED, SOURCE_ADJUSTMENT


def give(user, points: int) -> None:
    """Adjust ``user``'s usable points by ``points`` (an ``adjusted`` entry) and commit."""
    ledger.post(user.id, Post(ADJUSTED, SOURCE_ADJUSTMENT, None, delta=points, reason="test"))
    commit()


def balance(user) -> tuple[int, int]:
    """(usable, frozen), checked equal to the ledger's sums."""
    got = ledger.balance(user.id)
    assert got == ledger.ledger_sums(user.id), (got, ledger.ledger_sums(user.id))
    return got


def goods_paid(order) -> int:
    """What the order's goods lines paid (points are earned on it, not on the delivery fee)."""
    return order.pay_amount - order.delivery_fee


def exchange_item(sku=None, *, commit_it: bool = True, **values):
    """A points-exchange item through the service (a product item of ``sku``
    by default: 100 points + ¥9.90, stock 10, 2 per buyer; ``kind="coupon"``
    with ``coupon_template_id`` for a coupon item). Committed."""
    from jishi_points import exchange

    data = {"kind": "product", "title": "换购", "points": 100, "cash": 990, "stock": 10, "per_user_limit": 2}
    if sku is not None:
        data["sku_id"] = sku if isinstance(sku, int) else sku.id
    data.update(values)
    item = exchange.save_item(data)
    if commit_it:
        commit()
    return item


def coupon_template(**values):
    """A live platform coupon template of the coupons plugin (¥5 off, no threshold)."""
    from datetime import timedelta

    from jishi.db import utcnow
    from jishi_coupons import service as coupons

    now = utcnow()
    data = {
        "name": "5元券",
        "kind": "fixed",
        "threshold": 0,
        "amount": 500,
        "scope": "all",
        "total_quantity": 100,
        "per_user_limit": 5,
        "starts_at": now - timedelta(days=1),
        "ends_at": now + timedelta(days=30),
    }
    data.update(values)
    return coupons.create_template(None, data)
