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


def make_ladder(*rungs) -> list:
    """The member level ladder: ``(name, threshold, discount_bp, member_price, points_percent)``
    per level (default: 普通 0, 银卡 1000 5% off, 金卡 5000 member price 1.5× points), committed."""
    from jishi_points import levels

    made = []
    for name, threshold, discount_bp, member_price, pct in rungs or (
        ("普通会员", 0, 0, False, 100),
        ("银卡", 1000, 500, False, 120),
        ("金卡", 5000, 0, True, 150),
    ):
        made.append(
            levels.save_level(
                {
                    "name": name,
                    "threshold": threshold,
                    "discount_bp": discount_bp,
                    "member_price": member_price,
                    "points_percent": pct,
                }
            )
        )
    commit()
    return made
