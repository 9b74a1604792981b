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


def panel_form() -> dict:
    """The console's "points" settings form as posted with every field at its
    default (the console saves a whole panel at once); override what a test sets."""
    from flask import current_app

    [panel] = [p for p in current_app.extensions["jishi"].settings_panels() if p.key == "points"]
    form = {"panel": "points"}
    for f in panel.fields:
        form[f.key] = str(f.default / 100) if f.kind == "percent" else str(f.default)
    return form


def lots(user) -> list:
    """The buyer's lots, oldest first, as (amount, remaining, expires_at); the
    invariant ``sum(remaining) == max(0, balance)`` checked on the way."""
    from jishi.db import db
    from jishi_points.models import PointsLot
    from sqlalchemy import select

    rows = db.session.execute(
        select(PointsLot.amount, PointsLot.remaining, PointsLot.expires_at)
        .where(PointsLot.user_id == user.id)
        .order_by(PointsLot.id)
    ).all()
    usable = ledger.balance(user.id)[0]
    assert sum(r[1] for r in rows) == max(0, usable), (rows, usable)
    return [tuple(r) for r in rows]


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
