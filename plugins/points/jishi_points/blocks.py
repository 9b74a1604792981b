"""The points entrance (``points.entrance``), a block of the page designer
(``page_block_types``; offered only while the points plugin is enabled):
links to 积分中心, 签到 and 积分商城, each shown or hidden by a setting, with
the signed-in buyer's balance (one statement for the page, none for a
visitor). Platform pages only: points are the platform's.
"""

from __future__ import annotations

from collections.abc import Sequence

from jishi.db import db
from jishi.hookspecs import BlockContext, BlockField, BlockType, PageBlock
from jishi.i18n import gettext as _
from sqlalchemy import select

from jishi_points.models import PointsAccount


def block_types() -> list[BlockType]:
    return [
        BlockType(
            "points.entrance",
            _("Points entrance"),
            (
                BlockField("title", _("Title"), max_length=20),
                BlockField("centre", _("Show the points centre"), kind="bool", default=True),
                BlockField("signin", _("Show the daily sign-in"), kind="bool", default=True),
                BlockField("exchange", _("Show the points mall"), kind="bool", default=True),
            ),
            resolve=resolve,
            template="points/blocks/entrance.html",
            icon="🪙",
            sort=260,
            sellers=False,
        )
    ]


def resolve(blocks: Sequence[PageBlock], context: BlockContext) -> list[dict]:
    """The buyer's balance (None for a visitor), the same for every block."""
    balance = None
    user = context.user
    if user is not None and getattr(user, "is_authenticated", True) and getattr(user, "id", None):
        balance = db.session.scalar(select(PointsAccount.balance).where(PointsAccount.user_id == user.id)) or 0
    return [{"balance": balance} for _b in blocks]
