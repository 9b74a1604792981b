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
